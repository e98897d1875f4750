"""Reaction time: from a question entering Conversations.stream to its first event, with a deliberately slow model.

    python -m benchmarks.reaction [--prefill 5] [--per-token 0.05] [--pieces 100] [--repeats 5]
                                  [--data-dir /tmp/supportbot-load-bench] [--json]

The bot is the one benchmarks/load.py builds (bot.wiring over the example knowledge base, the config's default
generator: the stand-in SmolLM2-135M here), its generator wrapped so that it is slow like LFM2-1.2B on a CPU:
the real model writes every piece, and the wrapper waits --prefill seconds before the first (LFM2's prefill of
a 1,500-token prompt took 10-17 s here) and --per-token seconds before each next one; answers stop at --pieces
tokens.

Three cases, each --repeats times: "cold" (a bot's first question: lazily built parts such as the BM25 index
and the language detector come up during it), "idle" (nothing else running), "busy" (the model is writing
another, long answer), each with a question of its own from examples/questions.jsonl (so no excerpt of it was
embedded before, and the data directory's kept vectors are deleted first; `--warm-up` runs the warm-up before
them). For each: the first event (since `Queued(0)` comes first: when the asker's reaction is
shown), the first event that is not `Queued(0)` (what the stream yielded first before `Queued(0)` existed: the
code in front of it is unchanged), the first usable words (the excerpt of the pages shown while the model reads,
`bot.preview`, or the model's first token, whichever comes first) and the first token. Targets: first event
within 1 s and first usable words within 1 s, in every run. `--preview none` measures without the excerpt.
The slow model waits by computing on every core (as LFM2 on a CPU does while it reads or writes), so a busy
model slows what the excerpt needs; `--sleep` makes it wait idle.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.load import message, open_bot, questions
from bot import wiring
from bot.engines import Generator
from bot.messages import Preview
from bot.prompt import ChatMessage
from bot.queue import Queued
from bot.wiring import Bot

BURN = np.random.default_rng(0).random((192, 192))  # about a millisecond of matrix product a time
FIGURES = ("first_event", "first_not_received", "first_words", "first_token")
LONG = "How do I connect to the VPN, install its client on Windows, macOS and Linux, and what if it fails?"


class SlowGenerator:
    """The real model, slowed down: a long wait before the first piece (the prefill), a short one before each
    next piece (decoding)."""

    def __init__(self, generator: Generator, *, prefill: float, per_token: float, pieces: int,
                 burn: bool = True) -> None:  # fmt: skip
        self._generator, self._prefill, self._per_token, self._pieces = generator, prefill, per_token, pieces
        self._burn = burn  # wait by computing on every core, as a model reading or writing on a CPU does
        self.name = f"{getattr(generator, 'name', 'model')} (slowed)"
        self.writing = threading.Event()  # set while a piece has come and the answer is not finished

    def stream(self, messages: Sequence[ChatMessage], *, max_new_tokens: int) -> Iterator[str]:
        try:
            limit = min(max_new_tokens, self._pieces)  # a long answer, but not the stand-in's 512-token rambles
            for number, piece in enumerate(self._generator.stream(messages, max_new_tokens=limit)):
                self._wait(self._prefill if number == 0 else self._per_token)
                self.writing.set()
                yield piece
        finally:
            self.writing.clear()

    def count_tokens(self, text: str) -> int:
        return self._generator.count_tokens(text)

    def _wait(self, seconds: float) -> None:
        if not self._burn:
            time.sleep(seconds)
            return
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:  # BLAS threads on every core, the GIL released: the cores are taken
            np.dot(BURN, BURN)


def first_events(bot: Bot, text: str, number: int) -> dict[str, float | None]:
    """Seconds from entering the stream to its first event, its first event other than Queued(0), its first
    token; the stream is then read to its end."""
    started = time.perf_counter()
    seen: dict[str, float | None] = dict.fromkeys(FIGURES)
    for item in bot.conversations.stream(message(text, number)):
        now = time.perf_counter() - started
        seen["first_event"] = seen["first_event"] if seen["first_event"] is not None else now
        if item != Queued(0) and seen["first_not_received"] is None:
            seen["first_not_received"] = now
        if isinstance(item, (str, Preview)) and seen["first_words"] is None:
            seen["first_words"] = now
        if isinstance(item, str) and seen["first_token"] is None:
            seen["first_token"] = now
    return seen


def while_busy(bot: Bot, slow: SlowGenerator, text: str, number: int) -> dict[str, float | None]:
    """A question asked while the model writes another, long answer."""
    other = threading.Thread(target=first_events, args=(bot, LONG, number + 10_000))
    other.start()
    if not slow.writing.wait(timeout=600):
        raise RuntimeError("the long answer never started")
    try:
        return first_events(bot, text, number)
    finally:
        other.join()


def summary(runs: list[dict[str, float | None]]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for key in FIGURES:
        values = [r[key] for r in runs if r[key] is not None]
        figures[key] = (
            {"median_s": round(statistics.median(values), 3), "max_s": round(max(values), 3)} if values else None
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prefill", type=float, default=5.0, help="seconds before the first piece")
    parser.add_argument("--per-token", type=float, default=0.05, help="seconds before each next piece")
    parser.add_argument("--pieces", type=int, default=100, help="the longest answer, in the model's tokens")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/supportbot-load-bench"))
    parser.add_argument("--sleep", action="store_true", help="the slow model waits idle instead of using the cores")
    parser.add_argument("--preview", choices=["auto", "excerpt", "none"], default="auto", help="bot.preview")
    parser.add_argument("--sentence-weight", type=float, default=None, help="retrieval.sentence_weight (0: off)")
    parser.add_argument(
        "--preview-units",
        type=int,
        default=None,
        help="units the excerpt may embed (default: bot.engines.extractive.PREVIEW_EMBEDDED)",
    )
    parser.add_argument(
        "--warm-up",
        action="store_true",
        help="the warm-up runs before the questions, as a "
        "serving bot's does while no question is in flight (bot/warmup.py)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.preview_units is not None:
        wiring.PREVIEW_EMBEDDED = args.preview_units
    model = open_bot(args.data_dir).generator  # the config's default generator, loaded once
    cases: dict[str, list[dict[str, float | None]]] = {"cold": [], "idle": [], "busy": []}
    asked = [q for q in questions(35) if q != LONG]  # the example questions, in their five languages
    for repeat in range(args.repeats):
        slow = SlowGenerator(
            model, prefill=args.prefill, per_token=args.per_token, pieces=args.pieces, burn=not args.sleep
        )
        bot = open_bot(args.data_dir, generator=slow, preview=args.preview, sentence_weight=args.sentence_weight)
        bot.conversations  # noqa: B018 - models loaded before the first question, as `supportbot run` does
        if args.warm_up:
            bot.warmup.run()
        cold, idle, busy = asked[3 * repeat : 3 * repeat + 3]  # a question each: no excerpt was embedded before
        cases["cold"].append(first_events(bot, cold, 3 * repeat))
        cases["idle"].append(first_events(bot, idle, 3 * repeat + 1))
        cases["busy"].append(while_busy(bot, slow, busy, 3 * repeat + 2))
    result = {
        "model": model.name if hasattr(model, "name") else "model",
        "prefill_s": args.prefill,
        "per_token_s": args.per_token,
        "max_pieces": args.pieces,
        "repeats": args.repeats,
        "cases": {name: summary(runs) for name, runs in cases.items()},
        "preview": args.preview,
        "preview_units": wiring.PREVIEW_EMBEDDED,
        "cpu_taken_while_waiting": not args.sleep,
        "warmed_up": args.warm_up,
        "within_1s": all(r["first_event"] is not None and r["first_event"] <= 1.0 for rs in cases.values() for r in rs),
        "words_within_1s": all(
            r["first_words"] is not None and r["first_words"] <= 1.0 for rs in cases.values() for r in rs
        ),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"model {result['model']}, slowed: {args.prefill:g} s before the first piece, {args.per_token:g} s a piece")
    waiting = "sleeps" if args.sleep else "keeps the cores busy"
    warmed = "; warmed up before the questions" if args.warm_up else ""
    print(f"bot.preview: {args.preview} (up to {wiring.PREVIEW_EMBEDDED} units embedded); the slow model {waiting}"
          f"{warmed}")  # fmt: skip
    print(f"{'case':<6} {'first event':>16} {'first not Queued(0)':>20} {'first usable words':>19} {'first token':>16}"
          "   (median / max, s)")  # fmt: skip
    for name, figures in result["cases"].items():
        cells = [f"{f['median_s']:.3f} / {f['max_s']:.3f}" if f else "-" for f in figures.values()]
        print(f"{name:<6} {cells[0]:>16} {cells[1]:>20} {cells[2]:>19} {cells[3]:>16}")
    print(f"first event within 1 s in every run: {'yes' if result['within_1s'] else 'NO'}")
    print(f"first usable words within 1 s in every run: {'yes' if result['words_within_1s'] else 'NO'}")


if __name__ == "__main__":
    main()
