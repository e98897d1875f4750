"""Reaction time: from a question entering Conversations.stream to its first event, with a deliberately slow model.

    python benchmarks/reaction.py [--prefill 5] [--per-token 0.05] [--pieces 100] [--repeats 5]
                                  [--data-dir /tmp/supportbot-load-bench] [--json]

The bot is the one benchmarks/load.py builds (bot.wiring over the example knowledge base, the config's default
generator: the stand-in SmolLM2-135M here), its generator wrapped so that it is slow like LFM2-1.2B on a CPU:
the real model writes every piece, and the wrapper waits --prefill seconds before the first (LFM2's prefill of
a 1,500-token prompt took 10-17 s here) and --per-token seconds before each next one; answers stop at --pieces
tokens.

Three cases, each --repeats times: "cold" (a bot's first question: lazily built parts such as the BM25 index
and the language detector come up during it), "idle" (nothing else running), "busy" (the model is writing
another, long answer). For each: the first event (since `Queued(0)` comes first: when the asker's reaction is
shown), the first event that is not `Queued(0)` (what the stream yielded first before `Queued(0)` existed: the
code in front of it is unchanged), and the first token. Target: first event within 1 s in every case.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling, when imported rather than run

from load import message, open_bot

from bot.generator import Generator
from bot.prompt import ChatMessage
from bot.queue import Queued
from bot.wiring import Bot

LONG = "How do I connect to the VPN, install its client on Windows, macOS and Linux, and what if it fails?"
SHORT = "Which port does the VPN use?"


class SlowGenerator:
    """The real model, slowed down: a long wait before the first piece (the prefill), a short one before each
    next piece (decoding)."""

    def __init__(self, generator: Generator, *, prefill: float, per_token: float, pieces: int) -> None:
        self._generator, self._prefill, self._per_token, self._pieces = generator, prefill, per_token, pieces
        self.name = f"{getattr(generator, 'name', 'model')} (slowed)"
        self.writing = threading.Event()  # set while a piece has come and the answer is not finished

    def stream(self, messages: Sequence[ChatMessage], *, max_new_tokens: int) -> Iterator[str]:
        try:
            limit = min(max_new_tokens, self._pieces)  # a long answer, but not the stand-in's 512-token rambles
            for number, piece in enumerate(self._generator.stream(messages, max_new_tokens=limit)):
                time.sleep(self._prefill if number == 0 else self._per_token)
                self.writing.set()
                yield piece
        finally:
            self.writing.clear()

    def count_tokens(self, text: str) -> int:
        return self._generator.count_tokens(text)


def first_events(bot: Bot, text: str, number: int) -> dict[str, float | None]:
    """Seconds from entering the stream to its first event, its first event other than Queued(0), its first
    token; the stream is then read to its end."""
    started = time.perf_counter()
    seen: dict[str, float | None] = {"first_event": None, "first_not_received": None, "first_token": None}
    for item in bot.conversations.stream(message(text, number)):
        now = time.perf_counter() - started
        seen["first_event"] = seen["first_event"] if seen["first_event"] is not None else now
        if item != Queued(0) and seen["first_not_received"] is None:
            seen["first_not_received"] = now
        if isinstance(item, str) and seen["first_token"] is None:
            seen["first_token"] = now
    return seen


def while_busy(bot: Bot, slow: SlowGenerator, number: int) -> dict[str, float | None]:
    """A question asked while the model writes another, long answer."""
    other = threading.Thread(target=first_events, args=(bot, LONG, number + 10_000))
    other.start()
    if not slow.writing.wait(timeout=600):
        raise RuntimeError("the long answer never started")
    try:
        return first_events(bot, SHORT, number)
    finally:
        other.join()


def summary(runs: list[dict[str, float | None]]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for key in ("first_event", "first_not_received", "first_token"):
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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    model = open_bot(args.data_dir).generator  # the config's default generator, loaded once
    cases: dict[str, list[dict[str, float | None]]] = {"cold": [], "idle": [], "busy": []}
    for repeat in range(args.repeats):
        slow = SlowGenerator(model, prefill=args.prefill, per_token=args.per_token, pieces=args.pieces)
        bot = open_bot(args.data_dir, generator=slow)
        bot.conversations  # noqa: B018 - models loaded before the first question, as `supportbot run` does
        cases["cold"].append(first_events(bot, SHORT, 3 * repeat))
        cases["idle"].append(first_events(bot, SHORT, 3 * repeat + 1))
        cases["busy"].append(while_busy(bot, slow, 3 * repeat + 2))
    result = {
        "model": model.name if hasattr(model, "name") else "model",
        "prefill_s": args.prefill,
        "per_token_s": args.per_token,
        "max_pieces": args.pieces,
        "repeats": args.repeats,
        "cases": {name: summary(runs) for name, runs in cases.items()},
        "within_1s": all(r["first_event"] is not None and r["first_event"] <= 1.0 for rs in cases.values() for r in rs),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"model {result['model']}, slowed: {args.prefill:g} s before the first piece, {args.per_token:g} s a piece")
    print(f"{'case':<6} {'first event':>18} {'first not Queued(0)':>22} {'first token':>18}   (median / max, s)")
    for name, figures in result["cases"].items():
        cells = [f"{f['median_s']:.3f} / {f['max_s']:.3f}" if f else "-" for f in figures.values()]
        print(f"{name:<6} {cells[0]:>18} {cells[1]:>22} {cells[2]:>18}")
    print(f"first event within 1 s in every run: {'yes' if result['within_1s'] else 'NO'}")


if __name__ == "__main__":
    main()
