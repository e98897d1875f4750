"""What the bot posts of its own accord, the same for every platform, which only says how to post a line: the
thread a reply was learned from is told once the approved reply is in the index ("Saved; I will answer this from
now on", in the asker's language).

Every `every` seconds each notice due is claimed in the database, so that one process of a fleet posts it; one the
platform refuses is given back for the next round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.desk import Learning, say

log = logging.getLogger(__name__)

Post = Callable[[str, str | None, str], Awaitable[None]]  # (channel, thread or None, text)
EVERY = 30.0


class Notices:
    def __init__(self, desk: Learning, platform: str, post: Post, *, every: float = EVERY) -> None:
        self._desk, self._platform, self._post = desk, platform, post
        self.every = every

    async def forever(self) -> None:
        while True:
            try:
                await self.once()
            except Exception:  # the database is away for a moment: the next round tries again
                log.exception("Posting the bot's notices on %s failed", self._platform)
            await asyncio.sleep(self.every)

    async def once(self) -> int:
        """One round; how many notices were posted."""
        posted = 0
        for learned in await self._desk.learned(self._platform):
            origin = learned.origin
            try:
                await self._post(origin.channel, origin.thread, say("learned", learned.language))
            except Exception:
                log.exception("Telling thread %s that its answer was learned failed", origin.thread)
                await self._desk.give_back(self._platform, learned.key)
                continue
            posted += 1
        return posted
