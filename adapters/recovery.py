"""Questions whose process died mid-answer, answered by this one (bot/inflight.py): the same for every platform,
which only says how to post the answer in place of the stale placeholder.

Every `every` seconds the stale claims of the platform are looked up; each one this process wins the taking-over
of is answered once: with the answer the dead process had already written and logged, if it got that far, or
afresh; "Sorry for the wait, I restarted:" (in the asker's language) comes first. A question older than
`bot.recover_max_age_minutes` gets a short apology instead: a late answer to a question asked long ago helps
nobody and might surprise. A stopping process takes over nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.inflight import Claim, InFlight
from bot.language import say
from bot.messages import Answer
from bot.wiring import Bot

log = logging.getLogger(__name__)

Post = Callable[[Claim, Answer], Awaitable[None]]


@contextlib.asynccontextmanager
async def finishing(inflight: InFlight, platform: str, event_key: str) -> AsyncIterator[None]:
    """Around answering a claimed question: done once posted; given back if posting failed or was cut short
    (the platform refused even the apology, the process is stopping), for a later round to answer."""
    try:
        yield
    except BaseException:
        await asyncio.shield(asyncio.to_thread(inflight.release, platform, event_key))
        raise
    await asyncio.to_thread(inflight.done, platform, event_key)


class Recovery:
    def __init__(self, bot: Bot, platform: str, post: Post) -> None:
        self._bot, self._platform, self._post = bot, platform, post
        settings = bot.knowledge.settings.bot
        self.every = min(max(settings.recover_after_seconds / 4, 0.5), 15.0)
        self.max_age = timedelta(minutes=settings.recover_max_age_minutes)

    async def forever(self) -> None:
        while True:
            try:
                await self.once()
            except Exception:  # the database or the platform is away for a moment: the next round tries again
                log.exception("Looking for questions to recover on %s failed", self._platform)
            await asyncio.sleep(self.every)

    async def once(self) -> int:
        """One round: every stale claim this process wins is answered, all at once (the generation queue puts
        them in line, as any questions); how many were answered for a dead process."""
        inflight, drain = self._bot.inflight, self._bot.drain
        if drain.closing:
            return 0
        won = [claim for claim in await asyncio.to_thread(inflight.stale, [self._platform])
               if not drain.closing and await asyncio.to_thread(inflight.take_over, claim)]  # fmt: skip
        results = await asyncio.gather(*(self._recover(claim) for claim in won), return_exceptions=True)
        for claim, result in zip(won, results, strict=True):
            if isinstance(result, BaseException):  # given back (finishing): a later round tries again
                log.error("Recovering question %s failed", claim.message.id, exc_info=result,
                          extra={"question_id": claim.message.id})  # fmt: skip
        return sum(1 for result in results if not isinstance(result, BaseException))

    async def _recover(self, claim: Claim) -> None:
        log.warning("Question %s was claimed by %s, which is gone; answering it here", claim.message.id,
                    claim.holder, extra={"question_id": claim.message.id})  # fmt: skip
        async with finishing(self._bot.inflight, claim.platform, claim.event_key):
            with self._bot.drain.question():
                await self._post(claim, await self._answer(claim))

    async def _answer(self, claim: Claim) -> Answer:
        conversations = self._bot.conversations
        if datetime.now(UTC) - claim.claimed_at > self.max_age:
            language = await asyncio.to_thread(conversations.language, claim.message)
            return Answer(say("too_late", language), (), language, "failed", None)
        answer = await asyncio.to_thread(self._bot.records.recorded, claim.message, since=claim.claimed_at)
        if answer is None:
            answer = await asyncio.to_thread(conversations.answer_again, claim.message)
        return replace(answer, text=f"{say('restarted', answer.language)}\n\n{answer.text}")
