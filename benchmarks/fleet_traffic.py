"""Slack's side of benchmarks/fleet.py: signed app_mention events to the bot processes (some retried onto another
process), a fake Web API that notes when each answer is finished, and the figures."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import math
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession
from sqlalchemy import create_engine, text

from benchmarks.fleet_services import MODEL_NAME, REPO
from tests.adapters.slack.fake_slack import FakeSlack, load_payload, signed_request

POSTING = ("chat.postMessage", "chat.startStream")  # each starts a new bot message in the thread
FINISHING = ("chat.postMessage", "chat.update", "chat.stopStream")  # a finished answer carries its blocks


class TimedSlack(FakeSlack):
    """The fake Web API, also noting per thread every message the bots start and when each answer is finished."""

    def __init__(self) -> None:
        super().__init__()
        self._notes = threading.Lock()
        self.messages_in: dict[str, set[str]] = defaultdict(set)  # thread ts -> bot message ts
        self.finished_at: dict[str, list[float]] = defaultdict(list)  # thread ts -> monotonic times

    def answer(self, path: str, params: dict[str, Any], token: str | None) -> tuple[int, dict[str, str], str]:
        status, headers, body = super().answer(path, params, token)
        method, reply = path.removeprefix("/api/"), json.loads(body)
        if status == 200 and reply.get("ok") and method in POSTING + FINISHING:
            now = time.monotonic()
            posted = self.message(str(params["channel"]), str(reply["ts"])) or {}
            thread = str(posted.get("thread_ts") or params.get("thread_ts") or reply["ts"])
            with self._notes:
                if method in POSTING:
                    self.messages_in[thread].add(str(reply["ts"]))
                if method == "chat.stopStream" or (method in FINISHING and params.get("blocks")):
                    self.finished_at[thread].append(now)
        return status, headers, body

    def finished(self, threads: list[str]) -> int:
        with self._notes:
            return sum(1 for thread in threads if self.finished_at.get(thread))


def question_texts(count: int) -> list[str]:
    """examples/questions.jsonl, cycled (English, German, French, Spanish, Japanese)."""
    lines = (REPO / "examples" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    return list(itertools.islice(itertools.cycle(questions), count))


def thread_of(index: int) -> str:
    """The ts of question `index`'s message: each question starts its own thread."""
    return f"{1800000000 + index}.000100"


def mention(index: int, question: str) -> dict[str, Any]:
    """A recorded app_mention with a distinct event id and message ts."""
    payload = copy.deepcopy(load_payload("app_mention"))
    ts = thread_of(index)
    payload["event"] |= {"text": f"<@UBOT> {question}", "ts": ts, "event_ts": ts, "user": f"U{index % 9 + 1}"}
    payload["event"].pop("blocks", None)
    payload["event"]["client_msg_id"] = f"00000000-0000-4000-8000-{index:012d}"
    payload |= {"event_id": f"EvFLEET{index:06d}", "event_time": 1800000000 + index}
    return payload


@dataclass
class Traffic:
    slack: TimedSlack
    urls: list[str]
    secret: str
    questions: list[str]
    retries: int
    interval: float
    sent_at: dict[str, float] = field(default_factory=dict)  # thread ts -> when its first copy went out
    statuses: Counter[int] = field(default_factory=Counter)
    ended_at: float = 0.0

    @property
    def threads(self) -> list[str]:
        return [thread_of(i) for i in range(len(self.questions))]

    def retried(self) -> dict[int, float]:
        """Question index -> delay of its retry. Spread evenly over the run; alternately at once (a race for the
        claim) and 3 s later (Slack's own timing: it resends what it thinks was not acknowledged in 3 s)."""
        step = len(self.questions) / self.retries if self.retries else 0
        return {math.floor(i * step): 0.0 if i % 2 == 0 else 3.0 for i in range(self.retries)}

    async def send(self) -> None:
        retried = self.retried()
        async with ClientSession() as http:
            jobs = []
            for index, question in enumerate(self.questions):
                jobs.append(asyncio.create_task(self._deliver(http, index, question, retried.get(index))))
                await asyncio.sleep(self.interval)
            await asyncio.gather(*jobs)

    async def _deliver(self, http: ClientSession, index: int, question: str, retry_after: float | None) -> None:
        """The event to one process; a retried one also, `retry_after` seconds later, to the next process."""
        payload = mention(index, question)
        first, other = self.urls[index % len(self.urls)], self.urls[(index + 1) % len(self.urls)]
        self.sent_at[payload["event"]["ts"]] = time.monotonic()
        copies = [self._post(http, first, payload, retry_num=None)]
        if retry_after is not None:
            copies.append(self._post(http, other, payload, retry_num=1, delay=retry_after))
        await asyncio.gather(*copies)

    async def _post(
        self, http: ClientSession, url: str, payload: dict[str, Any], *, retry_num: int | None, delay: float = 0
    ) -> None:
        await asyncio.sleep(delay)
        body = json.dumps(payload)
        headers = signed_request(body, secret=self.secret, retry_num=retry_num)
        async with http.post(url, data=body, headers=headers) as response:
            self.statuses[response.status] += 1

    def wait_for_answers(self, *, stall: float, grace: float = 5.0) -> None:
        """Until every question has a finished answer, or none was finished for `stall` seconds (the rest are
        lost: a slow, busy machine still finishes one now and then); then a little longer for late duplicates."""
        done, progress = 0, time.monotonic()
        while done < len(self.questions) and time.monotonic() - progress < stall:
            time.sleep(0.2)
            if (now_done := self.slack.finished(self.threads)) > done:
                done, progress = now_done, time.monotonic()
        finished = [min(times) for times in self.slack.finished_at.values() if times]
        self.ended_at = max(finished, default=time.monotonic())
        time.sleep(grace)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def database_counts(url: str) -> tuple[Counter[str], int]:
    """The answer log in PostgreSQL: answers by status, threads the model answered more than once, and questions
    another process took over."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as db:
            rows = db.execute(text("SELECT status, count(*) FROM answers GROUP BY status"))
            statuses = Counter({str(status): int(count) for status, count in rows})
            repeated = "SELECT channel, thread FROM answers GROUP BY channel, thread HAVING count(*) > 1"
            twice = db.execute(text(f"SELECT count(*) FROM ({repeated}) AS t")).scalar_one()
            recovered = db.execute(text("SELECT count(*) FROM handled_events WHERE attempts > 0")).scalar_one()
    finally:
        engine.dispose()
    return statuses, int(twice), int(recovered)


def summary(traffic: Traffic, *, database_url: str, bots: int) -> dict[str, Any]:
    slack, threads = traffic.slack, traffic.threads
    finished = {t: slack.finished_at.get(t, []) for t in threads}
    duplicated = sum(1 for t in threads if len(finished[t]) > 1 or len(slack.messages_in.get(t, ())) > 1)
    latencies = [min(finished[t]) - traffic.sent_at[t] for t in threads if finished[t]]
    first_sent = min(traffic.sent_at.values())
    elapsed = traffic.ended_at - first_sent
    statuses, answered_twice, recovered = database_counts(database_url)
    answered = len(latencies)
    return {
        "questions": len(threads),
        "retried": traffic.retries,
        "bot_processes": bots,
        "answered": answered,
        "duplicated": max(duplicated, answered_twice),
        "lost": len(threads) - answered,
        "recovered": recovered,  # answered by another process than the one that claimed them (it died)
        "throughput_qps": round(answered / elapsed, 3) if elapsed > 0 else None,
        "latency_p50_s": round(percentile(latencies, 0.50), 2),
        "latency_p95_s": round(percentile(latencies, 0.95), 2),
        "wall_seconds": round(elapsed, 1),
        "answer_statuses": dict(statuses),
        "http_statuses": {str(code): count for code, count in sorted(traffic.statuses.items())},
        "model": MODEL_NAME,
    }
