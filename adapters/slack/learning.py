"""Answers learned from people, on Slack: an admin (`slack.admins`) or a helper (a member of
`slack.escalation_group`) marks a person's reply in a thread the bot could not answer, with a ✅ reaction or the
"Save to knowledge base" message shortcut, and it becomes a draft for review (bot/learning.py); once approved and
synced, the thread is told (adapters/notices.py). Anyone else's ✅ is ignored.

The app needs the `reactions:read` scope and the `reaction_added` event, `usergroups:read` for the helpers, and a
message shortcut with the callback id `save_to_knowledge` (all in config/slack-manifest.yaml)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.notices import Notices
from adapters.slack.config import SlackConfig
from adapters.slack.mrkdwn import from_mrkdwn
from bot.desk import Desk, Origin, Reply, Saved, say

log = logging.getLogger(__name__)

SAVE_SHORTCUT = "save_to_knowledge"
CHECK_MARKS = {"white_check_mark", "heavy_check_mark", "ballot_box_with_check"}
HELPERS_TTL = 300.0  # seconds the helper group's members are kept: ✅ is a common reaction, the call rate-limited


class SlackLearning:
    def __init__(self, *, desk: Desk, config: SlackConfig, client: AsyncWebClient, bot_user: str) -> None:
        self._desk, self._config, self._client, self._bot_user = desk, config, client, bot_user
        self._helpers: tuple[float, frozenset[str]] | None = None  # (when read, the group's members)

    async def on_reaction(self, event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if event.get("reaction") not in CHECK_MARKS or item.get("type") != "message":
            return
        if not await self._may_save(event["user"]):
            return  # anyone may react ✅; only the admins' and helpers' marks teach the bot
        message = await self._message(item["channel"], item["ts"])
        if message is not None:
            saved = await self._save(item["channel"], message, marked_by=event["user"])
            if saved.outcome == "saved":
                await self._tell(item["channel"], event["user"], message, saved)

    async def on_shortcut(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        user, channel, message = body["user"]["id"], body["channel"]["id"], body.get("message") or {}
        if not await self._may_save(user):
            text = "Only the knowledge base's admins and helpers can save answers to it."
        elif not self._in_thread(message):
            text = "Save a reply in a thread where I could not answer: this message is not one."
        else:
            saved = await self._save(channel, message, marked_by=user)
            if saved.outcome == "saved":
                await self._tell(channel, user, message, saved)
                return
            text = {
                "already_saved": "This reply is saved already.",
                "nothing_to_learn": "I answered this thread and nobody said the answer fell short: nothing to learn.",
            }[saved.outcome]
        await self._client.chat_postEphemeral(channel=channel, user=user, text=text,
                                              thread_ts=message.get("thread_ts"))  # fmt: skip

    def notices(self) -> Notices:
        """Tells a thread when the reply saved from it is learned; posts the weekly digest (run with `forever()`)."""

        async def post(channel: str, thread: str | None, text: str) -> None:
            await self._client.chat_postMessage(channel=channel, thread_ts=thread, text=text)

        return Notices(self._desk, "slack", post, bold="*")

    async def _may_save(self, user: str) -> bool:
        if user in self._config.admins:
            return True
        group = self._config.escalation_group
        if not group:
            return False
        if self._helpers is None or time.monotonic() - self._helpers[0] > HELPERS_TTL:
            found = await self._client.usergroups_users_list(usergroup=group)
            self._helpers = (time.monotonic(), frozenset(found.get("users") or []))
        return user in self._helpers[1]

    def _in_thread(self, message: dict[str, Any]) -> bool:
        """A reply in a thread, by a person (not the bot's own answer, not another bot)."""
        thread = message.get("thread_ts")
        mine = message.get("user") == self._bot_user or message.get("bot_id")
        return bool(thread) and thread != message.get("ts") and not mine and bool(message.get("text"))

    async def _message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The reacted-to message, when it is a person's reply in a thread."""
        found = await self._client.conversations_replies(channel=channel, ts=ts, latest=ts, inclusive=True)
        messages: list[dict[str, Any]] = found.get("messages") or []
        message = next((m for m in messages if m.get("ts") == ts), None)
        return message if message is not None and self._in_thread(message) else None

    async def _save(self, channel: str, message: dict[str, Any], *, marked_by: str) -> Saved:
        link = await self._client.chat_getPermalink(channel=channel, message_ts=message["ts"])
        reply = Reply(
            origin=Origin("slack", channel, str(message["thread_ts"])), key=f"{channel}:{message['ts']}",
            text=from_mrkdwn(message["text"]), author=await self._name(str(message.get("user", ""))),
            marked_by=await self._name(marked_by), link=link.get("permalink"),
            written=datetime.fromtimestamp(float(message["ts"]), UTC),
        )  # fmt: skip
        saved = await self._desk.save_reply(reply)
        if saved.draft is not None:
            log.info("Reply %s saved as draft %s for review", reply.key, saved.draft.id)
        return saved

    async def _name(self, user: str) -> str:
        if not user:
            return "someone"
        found = await self._client.users_info(user=user)
        person = found.get("user") or {}
        profile = person.get("profile") or {}
        return str(profile.get("display_name") or person.get("real_name") or person.get("name") or user)

    async def _tell(self, channel: str, user: str, message: dict[str, Any], saved: Saved) -> None:
        assert saved.draft is not None
        await self._client.chat_postEphemeral(channel=channel, user=user, thread_ts=message["thread_ts"],
                                              text=say("saved_for_review", saved.draft.language))  # fmt: skip
