"""How long the extractive answerer takes after retrieval, on every example question: the time a person waits
for an answer when no language model is present (issue 18's target: under 0.5 s after retrieval).

    python -m benchmarks.extractive_speed [--data-dir /tmp/supportbot-load-bench] [--json]

The bot is the one benchmarks/load.py builds over the example knowledge base (the bundled multilingual-e5-small),
answering with `generator.backend: extractive`. Each question is asked through the conversation manager in a
thread of its own; an answer's timings split retrieval (with the sentence re-ranking and the abstention decision)
from what follows it (the excerpt, its rendering, the answer log). Three bots over one knowledge base, one after the
other, each asking every question once:
- cold: nothing embedded (each page's sentences are embedded the first time a question reaches them);
- restarted: a new process over the same data directory, its memory empty; the sentences the cold run embedded are
  read from disk (data_dir/vectors);
- warmed up: nothing embedded, then the warm-up (bot/warmup.py) runs to its end, as a serving bot does while no
  question is in flight, before the questions come. Its own duration is printed.
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


def ask_all(bot: Bot, asked: list[str], base: int) -> dict[str, Any]:
    after, retrieval = [], []
    for index, text in enumerate(asked):
        answer = bot.conversations.answer(message(text, base + index))
        if answer.status == "answered":  # an abstention does no extractive work
            after.append(answer.timings.generation)
            retrieval.append(answer.timings.retrieval)
    return {"answered": len(after), "after_retrieval": figures(after), "retrieval": figures(retrieval)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/supportbot-load-bench"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    lines = (EXAMPLES / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    asked = [json.loads(line)["question"] for line in lines if line.strip()]

    def fresh_bot(*, forget: bool) -> Bot:
        built = open_bot(args.data_dir, keep_vectors=not forget)
        bot = Bot(
            built.knowledge, warn=lambda line: print(line, file=sys.stderr), prebuilt_generator=built.extractive()
        )
        bot.conversations  # noqa: B018 - models and indexes loaded before any question is timed
        return bot

    runs: list[dict[str, Any]] = []
    runs.append({"run": "cold"} | ask_all(fresh_bot(forget=True), asked, 100_000))
    runs.append({"run": "restarted"} | ask_all(fresh_bot(forget=False), asked, 200_000))
    bot = fresh_bot(forget=True)
    warmed = bot.warmup.run()
    runs.append({"run": "warmed up", "warm_up": {"texts": warmed.texts, "embedded": warmed.embedded,
                                                 "seconds": round(warmed.seconds, 1)}}
                | ask_all(bot, asked, 300_000))  # fmt: skip
    ready = [r for r in runs if r["run"] != "cold"]
    result = {"questions": len(asked), "target_s": TARGET_SECONDS, "runs": runs,
              "within_target_once_embedded": all(r["after_retrieval"]["max_s"] <= TARGET_SECONDS
                                                 for r in ready)}  # fmt: skip
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{len(asked)} example questions, extractive answerer, seconds (p50 / p95 / max)")
    print(f"{'run':<10} {'answered':>9} {'after retrieval':>24} {'retrieval':>24}")
    for r in runs:
        cells = [
            " / ".join(f"{r[kind][f]:.3f}" for f in ("p50_s", "p95_s", "max_s"))
            for kind in ("after_retrieval", "retrieval")
        ]
        print(f"{r['run']:<10} {r['answered']:>9} {cells[0]:>24} {cells[1]:>24}")
    w = runs[-1]["warm_up"]
    print(f"the warm-up: {w['embedded']} of {w['texts']} page texts embedded in {w['seconds']:.1f} s")
    verdict = "yes" if result["within_target_once_embedded"] else "NO"
    print(f"every answer within {TARGET_SECONDS} s after retrieval, restarted and warmed up: {verdict}")


if __name__ == "__main__":
    main()
