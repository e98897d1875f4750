"""The bot's blocking answer stream run in a worker thread, its items handed to an adapter's event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from bot.messages import Answer, IncomingMessage, Preview
from bot.queue import Queued


async def in_background(
    stream: Callable[[IncomingMessage], Iterator[str | Queued | Preview | Answer]], message: IncomingMessage
) -> AsyncIterator[str | Queued | Preview | Answer]:
    """The bot's blocking stream, run in a worker thread, its items handed to the event loop as they come."""
    loop = asyncio.get_running_loop()
    items: asyncio.Queue[Any] = asyncio.Queue()
    done = object()

    def produce() -> None:
        try:
            for item in stream(message):
                loop.call_soon_threadsafe(items.put_nowait, item)
        except BaseException as error:
            loop.call_soon_threadsafe(items.put_nowait, error)
        finally:
            loop.call_soon_threadsafe(items.put_nowait, done)

    # A thread of its own, not the loop's shared executor: a stream waits in line for the model for minutes,
    # and a burst of questions would fill the executor's few threads (cores + 4), keeping later questions from
    # even taking their place in line and the quick work (event claims, history reads) waiting behind them.
    threading.Thread(target=produce, name=f"answer-{message.platform}-{message.thread}", daemon=True).start()
    while (item := await items.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item
