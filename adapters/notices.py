"""What the bot posts of its own accord, the same for every platform, which only says how to post a line:
- the thread a reply was learned from is told once the approved reply is in the index ("Saved; I will answer this
  from now on", in the asker's language);
- the weekly digest, in `report.digest_channel`, at `report.digest_cron` (bot/report/digest.py).

Every `every` seconds each notice due is claimed in the database, so that one process of a fleet posts it. A learned
notice the platform refuses is given back for any process's next round; a digest it refuses is tried again by this
process at its next rounds (MAX_TRIES in all).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.desk import Learning, Notice, say

log = logging.getLogger(__name__)

Post = Callable[[str, str | None, str], Awaitable[None]]  # (channel, thread or None, text)
EVERY = 30.0
MAX_TRIES = 10


class Notices:
    def __init__(self, desk: Learning, platform: str, post: Post, *, bold: str, every: float = EVERY) -> None:
        self._desk, self._platform, self._post, self._bold = desk, platform, post, bold
        self.every = every
        self._retry: dict[Notice, int] = {}  # digests the platform refused, with their tries so far

    async def forever(self) -> None:
        while True:
            try:
                await self.once()
            except Exception:  # the database is away for a moment: the next round tries again
                log.exception("Posting the bot's notices on %s failed", self._platform)
            await asyncio.sleep(self.every)

    async def once(self) -> int:
        """One round; how many notices were posted. The learned replies and the digests fail apart: a page the bot
        cannot read delays no digest."""
        posted = 0
        try:
            posted += await self._learned()
        finally:
            posted += await self._digests()
        return posted

    async def _learned(self) -> int:
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

    async def _digests(self) -> int:
        posted = 0
        due = list(self._retry) + await self._desk.digests(self._platform, bold=self._bold)
        for notice in due:
            try:
                await self._post(notice.channel, None, notice.text)
            except Exception:
                tries = self._retry.get(notice, 0) + 1
                log.exception("Posting the weekly digest in %s failed (try %d of %d)", notice.channel, tries, MAX_TRIES)
                self._retry[notice] = tries
                if tries >= MAX_TRIES:
                    del self._retry[notice]
                continue
            self._retry.pop(notice, None)
            posted += 1
        return posted
