"""The one loop every adapter's view is driven by (adapters/answering.py), with a view that writes down what it is
asked to show."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

from adapters.answering import show_answer
from bot.messages import Answer, AnswerEvent, Finished, Preview, Queued, Started, Text, answer_events

ANSWER = Answer("Port 1194.", (), "en", "answered", "m")
PREVIEW = Preview("Here is what the knowledge base says: 1194", (), "en")


class Recording:
    def __init__(self, every: float) -> None:
        self.every = every
        self.shown: list[tuple[str, Any]] = []

    async def start(self) -> None:
        self.shown.append(("start", None))

    async def queued(self, position: int) -> None:
        self.shown.append(("queued", position))

    async def preview(self, preview: Preview) -> None:
        self.shown.append(("preview", preview.text))

    async def write(self, text: str) -> None:
        self.shown.append(("write", text))

    async def finish(self, answer: Answer, text: str) -> None:
        self.shown.append(("finish", (answer.text, text)))

    async def fail(self, error: Exception) -> None:
        self.shown.append(("fail", str(error)))


async def each(events: Iterable[AnswerEvent], error: Exception | None = None) -> AsyncIterator[AnswerEvent]:
    for event in events:
        yield event
    if error is not None:
        raise error


def test_the_stream_becomes_typed_events_with_started_first_and_received_folded_into_it() -> None:
    stream = [Queued(0), PREVIEW, Queued(2), Queued(1), "Port ", "1194.", ANSWER]
    assert list(answer_events(stream)) == [
        Started(), PREVIEW, Queued(2), Queued(1), Text("Port "), Text("1194."), Finished(ANSWER)
    ]  # fmt: skip


def test_every_step_reaches_the_view_and_the_text_grows_whole() -> None:
    view = Recording(every=0)
    events = answer_events([Queued(0), PREVIEW, Queued(1), "Port ", "1194.", ANSWER])
    assert asyncio.run(show_answer(view, each(events))) == ANSWER
    assert view.shown == [
        ("start", None), ("preview", PREVIEW.text), ("queued", 1), ("write", "Port "), ("write", "Port 1194."),
        ("finish", ("Port 1194.", "Port 1194.")),
    ]  # fmt: skip


def test_a_calm_view_is_written_to_at_its_pace_and_finishes_with_all_the_text() -> None:
    view = Recording(every=3600)
    asyncio.run(show_answer(view, each(answer_events(["Port ", "1194.", ANSWER]))))
    assert view.shown == [("start", None), ("finish", ("Port 1194.", "Port 1194."))]


def test_a_failure_on_the_way_reaches_the_view_and_no_answer_is_returned() -> None:
    view = Recording(every=0)
    assert asyncio.run(show_answer(view, each(answer_events(["Port "]), RuntimeError("the store is away")))) is None
    assert view.shown == [("start", None), ("write", "Port "), ("fail", "the store is away")]


def test_a_stream_that_ends_without_an_answer_is_a_failure() -> None:
    view = Recording(every=0)
    assert asyncio.run(show_answer(view, each(answer_events([Queued(0)])))) is None
    assert view.shown == [("start", None), ("fail", "the answer stream ended without an answer")]
