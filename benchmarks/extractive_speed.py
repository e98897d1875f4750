"""How long the extractive answerer takes after retrieval, on every example question: the time a person waits
for an answer when no language model is present (issue 18's target: under 0.5 s after retrieval).

    python -m benchmarks.extractive_speed [--passes 2] [--data-dir /tmp/supportbot-load-bench] [--json]

The bot is the one benchmarks/load.py builds over the example knowledge base (the bundled multilingual-e5-small),
answering with `generator.backend: extractive`. Each question is asked through the conversation manager in a
thread of its own; an answer's timings split retrieval (with the abstention decision) from what follows it (the
excerpt, its rendering, the answer log). Pass 1 starts with nothing embedded (each page's sentences are embedded
the first time a question reaches them); later passes find them embedded, as a running bot does after a while.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from benchmarks.load import EXAMPLES, message, open_bot
from bot.wiring import Bot

TARGET_SECONDS = 0.5


def figures(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_s": round(statistics.median(ordered), 3),
        "p95_s": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 3),
        "max_s": round(ordered[-1], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/supportbot-load-bench"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    built = open_bot(args.data_dir)
    bot = Bot(built.knowledge, warn=lambda line: print(line, file=sys.stderr), prebuilt_generator=built.extractive())
    conversations = bot.conversations
    lines = (EXAMPLES / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    asked = [json.loads(line)["question"] for line in lines if line.strip()]
    passes: list[dict[str, Any]] = []
    for number in range(args.passes):
        after, retrieval = [], []
        for index, text in enumerate(asked):
            answer = conversations.answer(message(text, 100_000 * (number + 1) + index))
            if answer.status == "answered":  # an abstention does no extractive work
                after.append(answer.timings.generation)
                retrieval.append(answer.timings.retrieval)
        passes.append({"pass": number + 1, "answered": len(after), "after_retrieval": figures(after),
                       "retrieval": figures(retrieval)})  # fmt: skip
    result = {"questions": len(asked), "target_s": TARGET_SECONDS, "passes": passes,
              "within_target": all(p["after_retrieval"]["max_s"] <= TARGET_SECONDS for p in passes)}  # fmt: skip
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{len(asked)} example questions, extractive answerer, seconds (p50 / p95 / max)")
    print(f"{'pass':<6} {'answered':>9} {'after retrieval':>24} {'retrieval':>24}")
    for p in passes:
        cells = [
            " / ".join(f"{p[kind][f]:.3f}" for f in ("p50_s", "p95_s", "max_s"))
            for kind in ("after_retrieval", "retrieval")
        ]
        print(f"{p['pass']:<6} {p['answered']:>9} {cells[0]:>24} {cells[1]:>24}")
    print(f"every answer within {TARGET_SECONDS} s after retrieval: {'yes' if result['within_target'] else 'NO'}")


if __name__ == "__main__":
    main()
