"""Answer streams run each in a thread of its own: a burst of waiting questions never starves the event loop's
executor, which the adapters' quick work (event claims, history reads) shares."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

from bot.desk import in_background
from bot.messages import IncomingMessage
from bot.queue import Queued


def test_more_waiting_streams_than_executor_threads_all_start_and_quick_work_still_runs() -> None:
    burst = min(32, (os.cpu_count() or 1) + 4) + 4  # more than the default executor holds
    release = threading.Event()
    started = threading.Semaphore(0)

    def stream(message: IncomingMessage) -> Iterator[str | Queued]:
        yield Queued(0)
        started.release()
        release.wait(timeout=60)  # waiting in line for the model
        yield message.text

    async def scenario() -> list[list[object]]:
        async def collect(n: int) -> list[object]:
            message = IncomingMessage("slack", "T1", "C1", f"t{n}", "U1", f"question {n}")
            return [item async for item in in_background(stream, message)]

        tasks = [asyncio.create_task(collect(n)) for n in range(burst)]
        try:
            # Every stream reaches its wait, none held back by a full executor; the executor's quick work still runs.
            await asyncio.wait_for(asyncio.to_thread(lambda: [started.acquire() for _ in range(burst)]), 10)
            assert await asyncio.wait_for(asyncio.to_thread(lambda: "claimed"), 10) == "claimed"
        finally:
            release.set()
        return await asyncio.gather(*tasks)

    results = asyncio.run(scenario())
    assert results == [[Queued(0), f"question {n}"] for n in range(burst)]


def test_a_failing_stream_raises_in_the_adapter() -> None:
    def stream(message: IncomingMessage) -> Iterator[str]:
        yield "partial"
        raise RuntimeError("model crashed")

    async def scenario() -> list[object]:
        seen: list[object] = []
        try:
            async for item in in_background(stream, IncomingMessage("slack", "T1", "C1", "t", "U1", "q")):
                seen.append(item)
        except RuntimeError as error:
            seen.append(str(error))
        return seen

    assert asyncio.run(scenario()) == ["partial", "model crashed"]


def test_a_stream_still_writing_when_the_event_loop_closes_ends_quietly_and_runs_its_endings() -> None:
    """A stop closes the event loop while an answer is still being written in its thread: the thread used to die
    on "Event loop is closed" (an unhandled exception in the log); it now stops the stream, whose endings run."""
    started, ended, thread_errors = threading.Event(), threading.Event(), []
    release = threading.Event()

    def stream(message: IncomingMessage) -> Iterator[str]:
        try:
            yield "first"
            started.set()
            release.wait(10)  # the model writes on after the loop is gone
            yield "second"
            yield "third"
        finally:
            ended.set()

    async def scenario() -> None:
        answers = in_background(stream, IncomingMessage("slack", "T1", "C1", "t", "U1", "q"))
        assert await answers.__anext__() == "first"

    previous = threading.excepthook
    threading.excepthook = lambda args: thread_errors.append(args.exc_value)
    try:
        asyncio.run(scenario())  # returns with the stream unfinished; asyncio.run closes the loop
        assert started.wait(10)
        release.set()
        assert ended.wait(10)
        for thread in threading.enumerate():
            if thread.name == "answer-slack-t":
                thread.join(10)
    finally:
        threading.excepthook = previous
    assert thread_errors == []
