"""Wiring to slack-bolt: which events are questions, buttons and /kb; Socket Mode or the Events API."""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.recovery import Recovery
from adapters.slack.answering import NativeStreaming, answer_in_slack, post_recovered
from adapters.slack.commands import KbCommand
from adapters.slack.config import SlackConfig
from adapters.slack.learning import SAVE_SHORTCUT, SlackLearning
from adapters.slack.translate import ASK_HUMAN, FEEDBACK_HELPFUL, FEEDBACK_NOT_HELPFUL, incoming, reply_thread
from adapters.start_error import StartError
from bot.desk import Claim, Desk, Rating, Turn
from bot.messages import Answer, IncomingMessage

log = logging.getLogger(__name__)


class SlackStartError(StartError):
    """Slack refused the app at start-up (a bad token, a missing secret); one sentence says which."""


class SlackAdapter:
    def __init__(self, *, desk: Desk, config: SlackConfig, client: AsyncWebClient, signing_secret: str | None) -> None:
        self._desk = desk
        self._config = config
        self._client = client
        self._signing_secret = signing_secret
        self._bot_user = ""
        self._team = ""
        self._native = NativeStreaming()

    @staticmethod
    def client(config: SlackConfig, token: str) -> AsyncWebClient:
        """A Web API client that backs off on 429 (Retry-After) and retries dropped connections."""
        handlers = [AsyncRateLimitErrorRetryHandler(max_retry_count=5), AsyncConnectionErrorRetryHandler()]
        return AsyncWebClient(token=token, base_url=config.api_base_url, retry_handlers=handlers)

    async def identify(self) -> None:
        """auth.test once at start: who the bot is, and a clear error instead of a traceback for a bad token."""
        try:
            found = await self._client.auth_test()
        except Exception as error:
            reason = getattr(getattr(error, "response", None), "data", {}).get("error") or type(error).__name__
            raise SlackStartError(
                f"Slack refused SLACK_BOT_TOKEN ({reason}); check the token and the app's install."
            ) from None
        self._bot_user, self._team = str(found["user_id"]), str(found.get("team_id", ""))

    def build(self) -> AsyncApp:
        app = AsyncApp(
            client=self._client,
            signing_secret=self._signing_secret,
            request_verification_enabled=self._signing_secret is not None,
        )
        app.event("app_mention")(self._on_mention)
        app.event("message")(self._on_message)
        app.action(FEEDBACK_HELPFUL)(self._on_feedback)
        app.action(FEEDBACK_NOT_HELPFUL)(self._on_feedback)
        app.action(ASK_HUMAN)(self._on_ask_human)
        app.command("/kb")(KbCommand(desk=self._desk, admins=self._config.admins).handle)
        app.event("reaction_added")(self.learning.on_reaction)
        app.shortcut(SAVE_SHORTCUT)(self.learning.on_shortcut)
        return app

    @cached_property
    def learning(self) -> SlackLearning:
        """Replies marked ✅ by admins and helpers become drafts; their threads are told once they are learned (made
        at build(), after identify(): it knows the bot's own user)."""
        return SlackLearning(desk=self._desk, config=self._config, client=self._client, bot_user=self._bot_user)

    async def _on_mention(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        await self._maybe_answer(event, mentioned=True, shared=bool(body.get("is_ext_shared_channel")))

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        mentioned = f"<@{self._bot_user}" in (event.get("text") or "")
        await self._maybe_answer(event, mentioned=mentioned, shared=bool(body.get("is_ext_shared_channel")))

    async def _maybe_answer(self, event: dict[str, Any], *, mentioned: bool, shared: bool) -> None:
        """`shared`: a Slack Connect channel (other organisations in it), which reads public collections unless
        `channels:` maps it."""
        message = incoming(event, team=self._team, bot_user=self._bot_user, shared=shared)
        if message is None or not (mentioned or await self._unprompted(event, message)):
            return
        # A mention arrives twice (app_mention and message) and Slack retries what it thinks was missed:
        # claiming the message itself, atomically, answers it exactly once whichever copy comes first. The claim
        # keeps the question and where to answer it until the answer is posted: if this process dies meanwhile,
        # another one (or this one, restarted) answers it (adapters/recovery.py).
        key, thread_ts = f"{event['channel']}:{event['ts']}", reply_thread(event)
        reply = {"channel": event["channel"], "thread_ts": thread_ts or ""}

        async def earlier() -> list[Turn]:
            return await self._earlier(event)

        joined_late = bool(event.get("thread_ts")) and mentioned
        async with self._desk.ask(message, key=key, reply=reply, earlier=earlier if joined_late else None) as asking:
            if asking is not None:
                await answer_in_slack(
                    client=self._client, channel=event["channel"], thread_ts=thread_ts, message=message,
                    events=asking.events, can_escalate=self._config.escalation_group is not None,
                    native=self._native, placed=asking.placed,
                )  # fmt: skip

    def recovery(self) -> Recovery:
        """Answers the questions of Slack processes that died mid-answer (run it with `forever()`)."""

        async def post(claim: Claim, answer: Answer) -> None:
            thread_ts = claim.reply.get("thread_ts") or None
            placeholder = claim.placeholder or await self._left_placeholder(claim, thread_ts)
            await post_recovered(
                self._client, channel=claim.reply["channel"], thread_ts=thread_ts, placeholder=placeholder,
                answer=answer, can_escalate=self._config.escalation_group is not None,
            )  # fmt: skip

        return Recovery(self._desk, "slack", post)

    async def _left_placeholder(self, claim: Claim, thread_ts: str | None) -> str | None:
        """A placeholder the dead process posted but did not live to note: its newest unfinished message (no
        blocks yet) in the thread after the question."""
        if not thread_ts:
            return None
        asked = float(claim.event_key.rsplit(":", 1)[1])
        found = await self._client.conversations_replies(channel=claim.reply["channel"], ts=thread_ts, limit=200)
        messages: list[dict[str, Any]] = found.get("messages", [])
        mine = [
            m for m in messages if m.get("user") == self._bot_user and float(m["ts"]) > asked and not m.get("blocks")
        ]
        return str(mine[-1]["ts"]) if mine else None

    async def _unprompted(self, event: dict[str, Any], message: IncomingMessage) -> bool:
        """Without a mention: DMs, new questions in auto-answer channels, follow-ups in the bot's threads from the
        people it answered there, until one of them asks for a person."""
        if message.is_direct:
            return True
        if event["channel"] in self._config.auto_answer_channels and not event.get("thread_ts"):
            return True
        return bool(event.get("thread_ts")) and await self._desk.follows_up(message)

    async def _earlier(self, event: dict[str, Any]) -> list[Turn]:
        """Joined late: what the thread said before the mention becomes the conversation's history."""
        replies = await self._client.conversations_replies(channel=event["channel"], ts=event["thread_ts"], limit=50)
        messages: list[dict[str, Any]] = replies.get("messages", [])
        return [
            Turn("assistant" if reply.get("user") == self._bot_user or reply.get("bot_id") else "user", reply["text"])
            for reply in messages
            if reply.get("ts") != event["ts"] and reply.get("text")
        ]

    async def _on_feedback(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        rating: Rating = "helpful" if action["action_id"] == FEEDBACK_HELPFUL else "not_helpful"
        user, channel = body["user"]["id"], body["channel"]["id"]
        stored = await self._desk.feedback(action["value"], user=user, rating=rating)
        text = "Thanks for the feedback!" if stored else "That answer is too old to rate, sorry."
        await self._client.chat_postEphemeral(channel=channel, user=user, text=text)

    async def _on_ask_human(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await self._desk.escalate(action["value"], user=body["user"]["id"])  # the report; the bot keeps out
        group = self._config.escalation_group
        container = body.get("container", {})
        thread = body.get("message", {}).get("thread_ts") or container.get("message_ts")
        await self._client.chat_postMessage(
            channel=body["channel"]["id"], thread_ts=thread,
            text=f"<!subteam^{group}> <@{body['user']['id']}> would like a person to help with this question.",
        )  # fmt: skip
