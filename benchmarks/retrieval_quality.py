"""Retrieval judged on real questions, not on page titles: every retrieval option on every question set, recall@1,
recall@5 and MRR per language, in one table.

    python -m benchmarks.retrieval_quality [--sets real titles arabic examples] [--options NAME ...]
                                           [--titles-per-language N] [--model M] [--work DIR] [--json]

The sets:
- **real**: data/gnome_real.jsonl, 30 questions about GNOME's help as people ask them (a symptom, a how-to in their
  own words, not the page's title), each written in en, de, fr, es, pt, ja, ko, zh and ar; gold: the page that
  answers it. gnome-help's English pages are the knowledge base (benchmarks/gnome_help.py indexes them).
- **titles**: gnome-help's translated page titles and descriptions asked as questions (gnome_questions.py), the
  set the title signal was tuned on; `--titles-per-language` samples it (evenly over the pages) for a quicker run.
- **terms**: the product, command and file names that occur in one gnome-help page only, asked bare (as someone
  pastes an error or a command): what the lexical ranking is for.
- **arabic**: data/gnome_arabic.jsonl, questions written in Arabic for gnome-help pages (gnome-help has no Arabic).
- **examples**: the example knowledge base's own questions (examples/questions.jsonl), indexed from examples/knowledge.
- **examples-real**: the same pages; questions as people ask them (data/examples_real.jsonl: 15 in English, 8 in each
  of de, es, fr, ja and pt), most of them answered by a page in another language than theirs.
- **same-language**: the real questions in de, ja, ko and zh against gnome-help's own translation in that language,
  each indexed on its own: where the lexical ranking reads the asker's script.

The options change how the one index is searched, never the index: `defaults` is what the config's defaults do
today; the others each turn one signal off or up (see OPTIONS).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.common import DATA, EXAMPLES
from benchmarks.gnome_help import index
from benchmarks.gnome_questions import term_questions, translated_questions
from bot.config import Settings
from bot.wiring import Knowledge
from knowledge.evaluation import DEPTH, Evaluation, Question, evaluate, read_questions
from knowledge.roles import Embedder

OPTIONS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "title_weight 0": {"title_weight": 0},
    "title_weight 0.25": {"title_weight": 0.25},
    "title_weight 0.5": {"title_weight": 0.5},
    "title_weight 0.75": {"title_weight": 0.75},
    "hybrid off": {"hybrid": False},
    "hybrid off, title_weight 0": {"hybrid": False, "title_weight": 0},
    "per_source 5": {"per_source": 5},
    "sentences 0.5": {"sentence_weight": 0.5},
    "sentences off": {"sentence_weight": 0},
    "hubs off": {"hub_weight": 0},
    "hubs 0.5": {"hub_weight": 0.5},
    "hubs 1.5": {"hub_weight": 1.5},
}
SETS = ("real", "titles", "terms", "arabic", "examples", "examples-real", "same-language")
LANGUAGES = ("en", "de", "fr", "es", "pt", "ja", "ko", "zh", "ar")


def language(code: str) -> str:
    """gnome-help's folder names as the nine languages' codes: zh_CN is zh, pt_BR is pt."""
    return code.split("_")[0]


def sample(questions: list[Question], per_language: int | None) -> list[Question]:
    """At most `per_language` questions of each language, spread evenly over the pages (which group by topic)."""
    if per_language is None:
        return questions
    chosen: list[Question] = []
    for code in dict.fromkeys(q.language for q in questions):
        own = [q for q in questions if q.language == code]
        step = max(len(own) / per_language, 1)
        chosen += [own[int(i * step)] for i in range(min(per_language, len(own)))]
    return chosen


def examples_knowledge(work: Path, model: str, embedder: Embedder) -> dict[str, Any]:
    """The example knowledge base synced under the work folder (incrementally), sharing the loaded model."""
    config = {
        "data_dir": str((work / "examples-data").resolve()),
        "database": {"auto_upgrade": True},  # a cache left by an older supportbot
        "embedding": {"model": model},
        "collections": [{"name": "handbook", "paths": [str(EXAMPLES / "knowledge")]}],
    }
    knowledge = Knowledge(Settings.model_validate(config), prebuilt_embedder=embedder)
    knowledge.syncer.sync(knowledge.settings.collection("handbook"))
    return config


TRANSLATED = {"de": "de", "ja": "ja", "ko": "ko", "zh": "zh_CN"}  # gnome-help's folder for each language


def translated_knowledge(work: Path, model: str, embedder: Embedder, help_dir: Path, code: str) -> dict[str, Any]:
    """gnome-help's pages in one language (its own translation, partly untranslated in ja and zh) synced under the
    work folder on their own, sharing the loaded model."""
    pages = work / f"gnome-help-{code}"
    if not pages.is_dir():
        pages.mkdir(parents=True)
        for page in (help_dir / TRANSLATED[code] / "gnome-help").glob("*.page"):
            shutil.copy2(page, pages / page.name)
    config = {
        "data_dir": str((work / f"{code}-data").resolve()),
        "database": {"auto_upgrade": True},
        "embedding": {"model": model},
        "collections": [{"name": "gnome-help", "paths": [str(pages.resolve())]}],
    }
    knowledge = Knowledge(Settings.model_validate(config), prebuilt_embedder=embedder)
    knowledge.syncer.sync(knowledge.settings.collection("gnome-help"))
    return config


def measure(config: dict[str, Any], option: dict[str, Any], embedder: Embedder, questions: list[Question],
            collection: str) -> Evaluation:  # fmt: skip
    settings = Settings.model_validate({**config, "retrieval": option})
    retriever = Knowledge(settings, prebuilt_embedder=embedder).retriever
    asked = [Question(q.question, language(q.language), q.gold) for q in questions]
    languages = {q.question: q.language for q in asked}

    def search(text: str) -> list[str]:  # in the asker's language, as a translated page is cited to the asker
        hits = retriever.search(text, collections=[collection], k=DEPTH, language=languages.get(text))
        return [hit.path for hit in hits]

    return evaluate(asked, search=search)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--options", nargs="+", choices=list(OPTIONS), default=list(OPTIONS))
    parser.add_argument("--titles-per-language", type=int, default=None, help="sample the titles set")
    parser.add_argument("--model", default="bundled:multilingual-e5-small", help="embedding model (as in config)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "supportbot-gnome-help")
    parser.add_argument("--json", action="store_true", help="print {set: {option: evaluation}} as JSON")
    args = parser.parse_args()

    gnome = index(args.model, limit=None, work=args.work)
    embedder = gnome.knowledge.embedder
    known = set(gnome.kept)
    questions: dict[str, tuple[dict[str, Any], str, list[Question]]] = {}
    if "real" in args.sets:
        questions["real"] = (gnome.config, "gnome-help", read_questions(DATA / "gnome_real.jsonl"))
    if "titles" in args.sets:
        titles, _ = translated_questions(gnome.help_dir, gnome.kept)
        questions["titles"] = (gnome.config, "gnome-help", sample(titles, args.titles_per_language))
    if "terms" in args.sets:
        questions["terms"] = (gnome.config, "gnome-help", term_questions(gnome.run / "gnome-help", gnome.kept))
    if "arabic" in args.sets:
        questions["arabic"] = (gnome.config, "gnome-help", read_questions(DATA / "gnome_arabic.jsonl"))
    for name, path in (("examples", EXAMPLES / "questions.jsonl"), ("examples-real", DATA / "examples_real.jsonl")):
        if name in args.sets:
            config = examples_knowledge(gnome.run, args.model, embedder)  # the model's own folder: one index a model
            questions[name] = (config, "handbook", read_questions(path))
    if "same-language" in args.sets:  # the real questions against the pages in the asker's own language
        real = read_questions(DATA / "gnome_real.jsonl")
        for code in TRANSLATED:
            config = translated_knowledge(gnome.run, args.model, embedder, gnome.help_dir, code)
            questions[f"same-language {code}"] = (config, "gnome-help", [q for q in real if q.language == code])
    for name, (_, collection, asked) in questions.items():
        unknown = sorted({q.gold for q in asked} - known) if collection == "gnome-help" else []
        if unknown:
            sys.exit(f"{name}: gold pages not indexed: {', '.join(unknown)}")

    results: dict[str, dict[str, Evaluation]] = {}
    for name, (config, collection, asked) in questions.items():
        for option in args.options:
            print(f"{name}: {option}…", file=sys.stderr)
            results.setdefault(name, {})[option] = measure(config, OPTIONS[option], embedder, asked, collection)
    if args.json:
        print(json.dumps({name: {option: e.as_dict() for option, e in by.items()} for name, by in results.items()},
                         ensure_ascii=False, indent=2))  # fmt: skip
        return
    print_table(results, args.model, Console())


def print_table(results: dict[str, dict[str, Evaluation]], model: str, console: Console) -> None:
    """One row a set and option; a cell a language: recall@1 / recall@5 / MRR, the best recall@5 of the set bold."""
    seen = {code for by in results.values() for e in by.values() for code, _ in e.per_language}
    codes = [c for c in LANGUAGES if c in seen] + sorted(seen - set(LANGUAGES))
    table = Table("set", "option", *codes, "all", title=f"recall@1 / recall@5 / MRR, {model}")
    for name, by in results.items():
        best = {c: max((dict(e.per_language).get(c) or e.overall).recall_at_5 for e in by.values()) for c in codes}
        for option, evaluation in by.items():
            scores = dict(evaluation.per_language)
            cells = [cell(scores.get(c), best[c]) for c in codes]
            table.add_row(name, option, *cells, cell(evaluation.overall, None))
        table.add_section()
    console.print(table)


def cell(scores: Any, best: float | None, fmt: Callable[[float], str] = lambda v: f"{v:.2f}") -> str:
    if scores is None:
        return "–"
    recall = fmt(scores.recall_at_5)
    if best is not None and scores.recall_at_5 >= best:
        recall = f"[bold]{recall}[/]"
    return f"{fmt(scores.recall_at_1)} / {recall} / {fmt(scores.mrr)}"


if __name__ == "__main__":
    main()
