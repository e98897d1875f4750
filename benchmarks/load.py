"""Load: 20 questions pushed at once through the conversation manager, as the bot is built from its config.

    python -m benchmarks.load [--questions 20] [--max-waiting N] [--data-dir /tmp/supportbot-load-bench] [--json]

The bot is built by `bot.wiring` (Bot over Knowledge) on the bundled example knowledge base with the config's
defaults: the default embedding model, hybrid retrieval, and the default generator backend, which here (no
Hugging Face Hub) falls back to the bundled stand-in SmolLM2-135M. The store is synced once under --data-dir;
each run starts with fresh history. Every question gets its own thread and its own worker thread, all released
at one barrier, and `Conversations.stream` is read as an adapter reads it.

Checked, and printed: none lost (each question ends in exactly one Answer, recorded once in the answer log, its
thread holding its one question); queue positions reported in order (each question's places count down; the
model takes questions in the order they joined the line). `bot.max_waiting` is the config default unless
--max-waiting is given: questions beyond it get a polite "busy" answer, counted apart.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import REPO
from bot.config import Settings
from bot.engines import Generator
from bot.history import SqlThreadHistory, ThreadKey
from bot.messages import Answer, IncomingMessage
from bot.queue import Queued
from bot.wiring import Bot, Knowledge

EXAMPLES = REPO / "examples"


def open_bot(data_dir: Path, *, max_waiting: int | None = None, generator: Generator | None = None,
             preview: str = "auto", sentence_weight: float | None = None,
             keep_vectors: bool = False) -> Bot:  # fmt: skip
    """The bot as `supportbot` builds it over the example knowledge base, synced once (a rerun writes nothing).
    Without LFM2 in the cache, a language model still writes: the bundled stand-in (the default offline fallback,
    the extractive answerer, has no model to queue for or to wait on). Its pages' sentences are embedded anew (the
    vectors an earlier run kept on disk are deleted) unless `keep_vectors`: a bot's first questions are timed as
    they are before its warm-up."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if not keep_vectors:
        shutil.rmtree(data_dir / "vectors", ignore_errors=True)
    bot_config: dict[str, Any] = {"preview": preview} | ({} if max_waiting is None else {"max_waiting": max_waiting})
    settings = Settings.model_validate({
        "data_dir": str(data_dir.resolve()),
        "database": {"auto_upgrade": True},  # a store synced by an older supportbot
        "collections": [{"name": "handbook", "paths": [str(EXAMPLES / "knowledge")]}],
        "bot": bot_config,
        "generator": {"fallback": "bundled:smollm2-135m-instruct"},
        "retrieval": {} if sentence_weight is None else {"sentence_weight": sentence_weight},
    })  # fmt: skip
    knowledge = Knowledge(settings, progress=lambda line: print(line, file=sys.stderr))
    knowledge.syncer.sync(settings.collection("handbook"))
    return Bot(knowledge, warn=lambda line: print(line, file=sys.stderr), prebuilt_generator=generator)


def questions(count: int) -> list[str]:
    lines = (EXAMPLES / "questions.jsonl").read_text().splitlines()
    asked = [json.loads(line)["question"] for line in lines if line.strip()]
    return [asked[i % len(asked)] for i in range(count)]


RUN = f"{time.time_ns():x}"  # every run's threads are new, so each starts with empty history


def message(text: str, number: int) -> IncomingMessage:
    return IncomingMessage("bench", "W1", "C1", thread(number), f"U{number}", text)


def thread(number: int) -> str:
    return f"load-{RUN}-{number:03d}"


@dataclass
class Trace:
    """What one asker saw, with times from entering Conversations.stream."""

    text: str
    places: list[int] = field(default_factory=list)
    first_event: float | None = None
    first_token: float | None = None
    answers: list[Answer] = field(default_factory=list)
    done: float | None = None
    joined_at: float | None = None  # when it first heard its place in line

    def follow(self, stream: Any, started: float) -> None:
        for item in stream:
            now = time.perf_counter() - started
            self.first_event = self.first_event if self.first_event is not None else now
            if isinstance(item, Queued):
                self.places.append(item.position)
                self.joined_at = now if item.position and self.joined_at is None else self.joined_at
            elif isinstance(item, Answer):
                self.answers.append(item)
                self.done = now
            elif isinstance(item, str) and self.first_token is None:  # a Preview is not the model's first token
                self.first_token = now


def push(bot: Bot, texts: list[str]) -> tuple[list[Trace], float]:
    """All questions at once: one worker thread each, released together."""
    traces = [Trace(text) for text in texts]
    gate = threading.Barrier(len(texts) + 1)
    started = 0.0

    def ask(number: int) -> None:
        gate.wait()
        traces[number].follow(bot.conversations.stream(message(texts[number], number)), started)

    workers = [threading.Thread(target=ask, args=(n,)) for n in range(len(texts))]
    for worker in workers:
        worker.start()
    started = time.perf_counter()
    gate.wait()
    for worker in workers:
        worker.join()
    return traces, time.perf_counter() - started


def check(bot: Bot, traces: list[Trace]) -> dict[str, Any]:
    """None lost, each answered once, places in order: the failures, named."""
    problems: list[str] = []
    history = SqlThreadHistory(bot.knowledge.manifest.engine)
    for number, trace in enumerate(traces):
        if len(trace.answers) != 1:
            problems.append(f"question {number} ended with {len(trace.answers)} answers")
            continue
        answer = trace.answers[0]
        if answer.id is None or bot.records.answer(answer.id) is None:
            problems.append(f"question {number}'s answer is not in the answer log")
        turns = history.recent(ThreadKey("bench", "C1", thread(number)), budget=100_000, count_tokens=len)
        if [t.text for t in turns if t.role == "user"] != [trace.text]:
            problems.append(f"question {number}'s thread holds {len(turns)} turns")
        countdown = list(range(trace.places[1], 0, -1)) if len(trace.places) > 1 else []
        if trace.places[:1] != [0] or trace.places[1:] != countdown:
            problems.append(f"question {number}'s places did not count down by one to 1: {trace.places}")
    # First come, first served: of two questions that joined the line at clearly different moments (5 ms
    # apart; closer, the order is not visible from outside), the earlier one gets the model first.
    queued = sorted((t for t in traces if t.joined_at is not None and t.first_token is not None),
                    key=lambda t: t.joined_at or 0.0)  # fmt: skip
    for index, earlier in enumerate(queued):
        for later in queued[index + 1 :]:
            joined_later = (later.joined_at or 0) - (earlier.joined_at or 0) > 0.005
            if joined_later and (later.first_token or 0) < (earlier.first_token or 0):
                problems.append(f"{later.text!r} joined after {earlier.text!r} but reached the model first")
    ids = [t.answers[0].id for t in traces if len(t.answers) == 1]
    if len(set(ids)) != len(ids):
        problems.append("an answer was recorded twice")
    return {"ok": not problems, "problems": problems}


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"p50_s": round(values[0], 3) if values else float("nan"), "p95_s": float("nan")}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_s": round(cuts[49], 3), "p95_s": round(cuts[94], 3), "max_s": round(max(values), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--max-waiting", type=int, default=None, help="bot.max_waiting (default: the config's)")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/supportbot-load-bench"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    bot = open_bot(args.data_dir, max_waiting=args.max_waiting)
    bot.conversations  # noqa: B018 - load the models before the clock starts, as `supportbot run` does
    traces, wall = push(bot, questions(args.questions))
    statuses = Counter(t.answers[0].status for t in traces if t.answers)
    busy = sum(1 for t in traces if t.answers and t.answers[0].status == "failed" and t.places == [0])
    result = {
        "questions": len(traces),
        "model": bot.generator.name,
        "max_waiting": bot.knowledge.settings.bot.max_waiting,
        "wall_s": round(wall, 2),
        "throughput_per_min": round(len(traces) / wall * 60, 2),
        "statuses": dict(statuses),
        "refused_busy": busy,
        "latency": percentiles([t.done for t in traces if t.done is not None]),
        "first_event": percentiles([t.first_event for t in traces if t.first_event is not None]),
        "first_token": percentiles([t.first_token for t in traces if t.first_token is not None]),
        "max_place": max((max(t.places) for t in traces if t.places), default=0),
        "places": [t.places for t in traces],
        "check": check(bot, traces),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['questions']} questions at once, model {result['model']}, bot.max_waiting {result['max_waiting']}")
    print(f"wall {wall:.1f} s, throughput {result['throughput_per_min']} answers/min, statuses {dict(statuses)}")
    for name in ("latency", "first_event", "first_token"):
        figures = result[name]
        print(
            f"{name:<12} p50 {figures['p50_s']:.3f} s  p95 {figures['p95_s']:.3f} s  max {figures.get('max_s', 0):.3f}"
        )
    print(f"longest line {result['max_place']}; checks: {'all passed' if result['check']['ok'] else 'FAILED'}")
    for problem in result["check"]["problems"]:
        print(f"  - {problem}")


if __name__ == "__main__":
    main()
