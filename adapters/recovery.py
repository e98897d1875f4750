"""Questions whose process died mid-answer, answered by this one (bot/inflight.py, bot/desk.py): the same for every
platform, which only says how to post the answer in place of the stale placeholder.

Every `every` seconds the stale claims of the platform are looked up; each one this process wins the taking-over
of is answered once: with the answer the dead process had already written and logged, if it got that far, or
afresh; "Sorry for the wait, I restarted:" (in the asker's language) comes first. A question older than
`bot.recover_max_age_minutes` gets a short apology instead: a late answer to a question asked long ago helps
nobody and might surprise. A stopping process takes over nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.desk import Claim, TakeOver
from bot.messages import Answer

log = logging.getLogger(__name__)

Post = Callable[[Claim, Answer], Awaitable[None]]


class Recovery:
    def __init__(self, desk: TakeOver, platform: str, post: Post) -> None:
        self._desk, self._platform, self._post = desk, platform, post
        self.every = desk.recover_every

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
        won = await self._desk.stale(self._platform)
        results = await asyncio.gather(*(self._recover(claim) for claim in won), return_exceptions=True)
        for claim, result in zip(won, results, strict=True):
            if isinstance(result, BaseException):  # given back: a later round tries again
                log.error("Recovering question %s failed", claim.message.id, exc_info=result,
                          extra={"question_id": claim.message.id})  # fmt: skip
        return sum(1 for result in results if not isinstance(result, BaseException))

    async def _recover(self, claim: Claim) -> None:
        log.warning("Question %s was claimed by %s, which is gone; answering it here", claim.message.id,
                    claim.holder, extra={"question_id": claim.message.id})  # fmt: skip
        async with self._desk.recovering(claim) as answer:
            await self._post(claim, answer)
