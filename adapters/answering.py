"""The one loop that turns an answer's events into what a platform shows: every adapter (Slack, Discord, its
/ask, the terminal) only says how to show each step, in a small view.

The loop calls `start` at once (a sign of life before any work), `queued` with the place in line, `preview`
with the pages' own words while the model reads, `write` with everything written so far (at most once per
`view.every` seconds, the platform's calm rate of edits; a preview counts as one), `finish` with the answer and
all the text written (the last pieces may not have been shown yet), and `fail` if anything went wrong on the
way (the store, the model, the platform): the view apologises, or raises where there is nobody to apologise to.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Protocol

from bot.messages import Answer, AnswerEvent, Finished, Preview, Queued, Started, Text


class View(Protocol):
    every: float  # seconds between two writes (0: every piece at once)

    async def start(self) -> None: ...

    async def queued(self, position: int) -> None: ...

    async def preview(self, preview: Preview) -> None: ...

    async def write(self, text: str) -> None: ...

    async def finish(self, answer: Answer, text: str) -> None: ...

    async def fail(self, error: Exception) -> None: ...


async def show_answer(view: View, events: AsyncIterator[AnswerEvent]) -> Answer | None:
    """Drive `view` through the events; the answer, or None when it failed (the view has said so)."""
    text, last = "", time.monotonic()
    try:
        async for event in events:
            if isinstance(event, Started):
                await view.start()
            elif isinstance(event, Queued):
                await view.queued(event.position)
            elif isinstance(event, Preview):
                await view.preview(event)
                last = time.monotonic()
            elif isinstance(event, Text):
                text += event.piece
                if time.monotonic() - last >= view.every:
                    last = time.monotonic()
                    await view.write(text)
            elif isinstance(event, Finished):
                await view.finish(event.answer, text)
                return event.answer
        raise RuntimeError("the answer stream ended without an answer")
    except Exception as error:
        await view.fail(error)
        return None
