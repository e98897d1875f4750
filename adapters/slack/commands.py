"""`/kb sync [collection]` and `/kb status` in Slack, for the configured admins only."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.desk import KbAdmin

log = logging.getLogger(__name__)

USAGE = "Usage: `/kb sync [collection]` or `/kb status`."


class KbCommand:
    def __init__(self, *, desk: KbAdmin, admins: list[str]) -> None:
        self._desk = desk
        self._admins = set(admins)
        self._running: set[asyncio.Task[None]] = set()

    async def handle(self, ack: Any, command: dict[str, Any], client: Any) -> None:
        """Acknowledged at once (Slack's 3 seconds); a sync runs after, and posts its summary when done."""
        user, channel = command["user_id"], command["channel_id"]
        words = (command.get("text") or "").split()
        if user not in self._admins:
            await ack()
            await client.chat_postEphemeral(
                channel=channel, user=user, text="Sorry, only knowledge base admins may use /kb."
            )
            return
        if words[:1] == ["status"]:
            await ack()
            await client.chat_postEphemeral(
                channel=channel,
                user=user,
                text="\n".join(await self._desk.kb_status(bold="*")),
            )
        elif words[:1] == ["sync"] and len(words) <= 2:
            names = words[1:] or self._desk.collections
            known = set(self._desk.collections)
            if not set(names) <= known:
                await ack(text=f"Unknown collection {names[0]!r}; known: {', '.join(sorted(known))}.")
                return
            await ack(text=f"Syncing {', '.join(names)}… the summary will follow here.")
            task = asyncio.create_task(self._sync(client, channel, names, user=user))
            self._running.add(task)  # keep a reference: a task nobody holds may be collected mid-sync
            task.add_done_callback(self._running.discard)
        else:
            await ack(text=USAGE)

    async def _sync(self, client: Any, channel: str, names: list[str], *, user: str) -> None:
        try:
            lines = await self._desk.kb_sync(names, bold="*", holder=f"slack:{user}", failures_shown=20)
        except Exception as error:
            log.exception("/kb sync failed")
            lines = [f"The sync failed: {error}"]
        await client.chat_postMessage(channel=channel, text="\n".join(lines))
