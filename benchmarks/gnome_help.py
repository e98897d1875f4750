"""Retrieval quality on real documentation: GNOME's English help indexed, its translations asked as questions.

    python -m benchmarks.gnome_help [--model bundled:multilingual-e5-small] [--limit N] [--modes dense hybrid]
                                    [--work DIR] [--json]

Debian's gnome-user-docs package (fetched with `apt-get download`, unpacked with `dpkg-deb -x`, nothing
installed) carries gnome-help as Mallard pages: the English ones (the `C` folder) are the knowledge
collection; each page's title and description (`<desc>`) in de, es, fr, ja, ko, pt and zh_CN, plus English,
are the questions, and the gold answer is the page itself. A translated question counts only where both
its title and its description differ from the English (ja and zh_CN are partly translated). Pages with no
body text (guide pages that are only lists of links) cannot be indexed, so their questions are left out.
A last set, "terms", asks the product, command and file names that occur in one page only (see
gnome_questions.py): what hybrid retrieval is for. `--modes dense hybrid` compares both on one index.

Writes `supportbot-MODE.yaml` and `questions.jsonl` under the work folder, so that
`supportbot eval retrieval --config WORK/.../supportbot-hybrid.yaml --questions WORK/.../questions.jsonl`
reruns the evaluation on the same index. Embedding all ~270 pages on 2 CPU cores takes minutes; sync is
incremental, so a second run reuses the index.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import benchmarks.common  # noqa: F401  (the shared environment)
from adapters.cli.eval_command import print_evaluation
from benchmarks.gnome_questions import term_questions, translated_questions
from bot.config import Settings
from bot.wiring import Knowledge
from knowledge.evaluation import DEPTH, Evaluation, Question, evaluate
from knowledge.sync import SyncReport

PACKAGE = "gnome-user-docs"
MODES = ("dense", "hybrid")


def unpack(cache: Path) -> Path:
    """The gnome-help folder of the package, downloaded and unpacked once into `cache`."""
    help_dir = cache / "root" / "usr" / "share" / "help"
    if not (help_dir / "C" / "gnome-help").is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        debs = sorted(cache.glob(f"{PACKAGE}_*.deb"))
        if not debs:
            # apt-get's progress to stderr too: a benchmark's --json output stays JSON alone
            print(f"Downloading {PACKAGE} with apt-get (run `apt-get update` first if this fails)…", file=sys.stderr)
            subprocess.run(["apt-get", "download", PACKAGE], cwd=cache, check=True, stdout=sys.stderr)
            debs = sorted(cache.glob(f"{PACKAGE}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(cache / "root")], check=True)
    return help_dir


def pick(pages: list[str], limit: int | None) -> list[str]:
    """All pages, or `limit` of them spread evenly over the alphabet (the names group by topic)."""
    if limit is None or limit >= len(pages):
        return pages
    step = len(pages) / limit
    return [pages[int(i * step)] for i in range(limit)]


def prepare(args: argparse.Namespace, help_dir: Path) -> tuple[Path, list[str]]:
    source = help_dir / "C" / "gnome-help"
    names = pick(sorted(p.name for p in source.glob("*.page")), args.limit)
    slug = re.sub(r"[^a-z0-9]+", "-", "-".join(Path(args.model).parts[-2:]).lower()).strip("-")  # parent too: .../model
    run = args.work / f"{slug}-{args.limit or 'all'}"
    pages = run / "gnome-help"
    if pages.exists():
        shutil.rmtree(pages)
    pages.mkdir(parents=True)
    for name in names:
        shutil.copy2(source / name, pages / name)
    (run / "data").mkdir(exist_ok=True)
    shared_models = args.work / "models"  # the bundled model is built once for every run folder
    shared_models.mkdir(parents=True, exist_ok=True)
    if not (run / "data" / "models").exists():
        (run / "data" / "models").symlink_to(shared_models.resolve(), target_is_directory=True)
    return run, names


def measure(knowledge: Knowledge, questions: list[Question]) -> tuple[Evaluation, list[float]]:
    latencies: list[float] = []

    def search(text: str) -> list[str]:
        begun = time.perf_counter()
        hits = knowledge.retriever.search(text, collections=["gnome-help"], k=DEPTH)
        latencies.append(time.perf_counter() - begun)
        return [hit.path for hit in hits]

    return evaluate(questions, search=search), latencies


@dataclass
class GnomeIndex:
    """gnome-help indexed under the work folder (incrementally: a second run reuses it)."""

    help_dir: Path  # the unpacked package's help folder, every language
    run: Path  # this model's (and limit's) folder: the pages, the data directory, the configs
    config: dict[str, Any]  # the settings, as the YAML would hold them
    knowledge: Knowledge
    names: list[str]  # the pages copied
    kept: list[str]  # those indexed (with body text)
    report: SyncReport
    loaded: float  # seconds to load (or build) the model
    synced: float  # seconds to sync


def index(model: str, *, limit: int | None, work: Path) -> GnomeIndex:
    help_dir = unpack(work / "package")
    run, names = prepare(argparse.Namespace(model=model, limit=limit, work=work), help_dir)
    config = {
        "data_dir": str((run / "data").resolve()),
        "database": {"auto_upgrade": True},  # a cache left by an older supportbot
        "embedding": {"model": model},
        "collections": [{"name": "gnome-help", "paths": [str((run / "gnome-help").resolve())]}],
    }
    knowledge = Knowledge(Settings.model_validate(config), progress=lambda line: print(line, file=sys.stderr))
    started = time.perf_counter()
    knowledge.embedder  # noqa: B018 - load (and build, once) the model before the sync clock starts
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    report = knowledge.syncer.sync(knowledge.settings.collection("gnome-help"))
    synced = time.perf_counter() - started
    records = knowledge.manifest.files("gnome-help").values()
    indexed = {r.path for r in records if r.content_hash and r.error is None}
    kept = [name for name in names if name in indexed]
    return GnomeIndex(help_dir, run, config, knowledge, names, kept, report, loaded, synced)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="bundled:multilingual-e5-small", help="embedding model (as in config)")
    parser.add_argument("--limit", type=int, default=None, help="index only N pages (a quick run)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=["dense", "hybrid"], help="retrieval to compare")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "supportbot-gnome-help")
    parser.add_argument("--json", action="store_true", help="print {mode: evaluation} as JSON")
    args = parser.parse_args()
    built = index(args.model, limit=args.limit, work=args.work)
    run, config, knowledge = built.run, built.config, built.knowledge
    asked, untranslated = translated_questions(built.help_dir, built.kept)
    asked += term_questions(run / "gnome-help", built.kept)
    with (run / "questions.jsonl").open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(asdict(q), ensure_ascii=False) + "\n" for q in asked)
    say = partial(print, file=sys.stderr)
    pages, indexed = len(built.names), len(built.kept)
    say(f"model {args.model}: {pages} pages, {indexed} indexed ({pages - indexed} without body text); "
        f"{built.report.chunks_embedded} chunks embedded in this run")  # fmt: skip
    say(f"untranslated pages left out: {json.dumps(untranslated)}")
    say(f"model load {built.loaded:.1f} s; sync {built.synced:.1f} s")
    results = {}
    for mode in args.modes:
        settings = Settings.model_validate({**config, "retrieval": {"hybrid": mode == "hybrid"}})
        (run / f"supportbot-{mode}.yaml").write_text(json.dumps(settings.model_dump(mode="json", exclude_defaults=True),
                                                               indent=2) + "\n", encoding="utf-8")  # fmt: skip
        started = time.perf_counter()
        result, latencies = measure(Knowledge(settings, prebuilt_embedder=knowledge.embedder), asked)
        results[mode] = result
        p50, p95 = statistics.median(latencies), statistics.quantiles(latencies, n=20)[-1]
        say(f"{mode}: {len(asked)} questions in {time.perf_counter() - started:.1f} s "
            f"(search p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms); rerun: supportbot eval retrieval "
            f"--config {run / f'supportbot-{mode}.yaml'} --questions {run / 'questions.jsonl'}")  # fmt: skip
    if args.json:
        print(json.dumps({mode: r.as_dict() for mode, r in results.items()}, ensure_ascii=False, indent=2))
        return
    for mode, result in results.items():
        print(f"\n{mode} retrieval, {args.model}")
        print_evaluation(result)


if __name__ == "__main__":
    main()
