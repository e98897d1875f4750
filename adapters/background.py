"""The bot's blocking answer stream run in a worker thread, its items handed to an adapter's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from bot.messages import Answer, IncomingMessage
from bot.queue import Queued


async def in_background(
    stream: Callable[[IncomingMessage], Iterator[str | Queued | Answer]], message: IncomingMessage
) -> AsyncIterator[str | Queued | Answer]:
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

    worker = loop.run_in_executor(None, produce)
    while (item := await items.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item
    await worker
