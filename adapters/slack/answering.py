"""One question answered in Slack: a placeholder at once, the answer growing in place, the final blocks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from adapters.slack.translate import answer_blocks, notification_text, progress_text, queued_text
from bot.language import say
from bot.messages import Answer, IncomingMessage
from bot.queue import Queued

log = logging.getLogger(__name__)

# Slack allows about one chat.update a second per message: a calm rate that still reads as typing.
UPDATE_EVERY = 1.0


async def answer_in_slack(
    *,
    client: Any,
    channel: str,
    thread_ts: str | None,
    message: IncomingMessage,
    stream: Callable[[IncomingMessage], Iterator[str | Queued | Answer]],
    can_escalate: bool,
) -> Answer | None:
    """Post a placeholder within a second, grow it as the model writes, replace it with the answer."""
    posted = await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=progress_text(""))
    placeholder = posted["ts"]
    answer: Answer | None = None
    partial = ""
    last_update = time.monotonic()
    try:
        async for item in _in_background(stream, message):
            if isinstance(item, Answer):
                answer = item
            elif isinstance(item, Queued):
                await client.chat_update(channel=channel, ts=placeholder, text=queued_text(item.position))
            else:
                partial += item
                if time.monotonic() - last_update >= UPDATE_EVERY:
                    last_update = time.monotonic()
                    await client.chat_update(channel=channel, ts=placeholder, text=progress_text(partial))
    except Exception:  # the store or Slack failed: the asker still gets an apology, the log gets the cause
        log.exception("Answering %s in Slack channel %s failed", message.thread, channel)
        await client.chat_update(channel=channel, ts=placeholder, text=say("failed", "en"))
        return None
    assert answer is not None
    blocks = answer_blocks(answer, answer_id=answer.id or "", can_escalate=can_escalate)
    await client.chat_update(channel=channel, ts=placeholder, text=notification_text(answer), blocks=blocks)
    return answer


async def _in_background(
    stream: Callable[[IncomingMessage], Iterator[str | Queued | Answer]], message: IncomingMessage
) -> Any:
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
