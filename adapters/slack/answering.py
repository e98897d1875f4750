"""One question answered in Slack: a sign of life at once, the answer growing in place, then its blocks.

Where the app may stream natively (an AI app: the assistant status and chat.startStream work), the text is
streamed; elsewhere a placeholder message is posted and updated. The first refusal switches to the placeholder
for the rest of the process, without losing what was already written. An excerpt of the pages shown while the
model reads (a Preview) needs a message the answer can replace: that answer grows in a placeholder.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from adapters.answering import show_answer
from adapters.slack.translate import answer_blocks, notification_text, preview_text, progress_text, queued_text
from bot.desk import say
from bot.messages import Answer, AnswerEvent, IncomingMessage, Preview

log = logging.getLogger(__name__)

# Slack allows about one update a second per message: a calm rate that still reads as typing.
UPDATE_EVERY = 1.0
THINKING = "is looking in the knowledge base…"


class NativeStreaming:
    """Whether this workspace lets the app stream natively; the first refusal turns it off for the process."""

    def __init__(self) -> None:
        self.allowed = True


async def answer_in_slack(
    *,
    client: Any,
    channel: str,
    thread_ts: str | None,
    message: IncomingMessage,
    events: AsyncIterator[AnswerEvent],
    can_escalate: bool,
    native: NativeStreaming,
    placed: Callable[[str], Awaitable[None]] | None = None,
) -> Answer | None:
    """`placed` hears the ts of the message that stands for the answer, once posted (bot/inflight.py keeps it, to be
    replaced if this process dies before the answer is in)."""
    view = _GrowingAnswer(client, channel=channel, thread_ts=thread_ts, message=message, native=native,
                          placed=placed, can_escalate=can_escalate)  # fmt: skip
    return await show_answer(view, events)


class _GrowingAnswer:
    every = UPDATE_EVERY

    def __init__(self, client: Any, *, channel: str, thread_ts: str | None, message: IncomingMessage,
                 native: NativeStreaming, placed: Callable[[str], Awaitable[None]] | None = None,
                 can_escalate: bool = False) -> None:  # fmt: skip
        self._client, self._channel, self._thread, self._message = client, channel, thread_ts, message
        self._placed, self._can_escalate = placed, can_escalate
        self._native = native if thread_ts else None  # Slack streams only into threads
        self._ts: str | None = None  # the placeholder, or the streamed message once started
        self._streaming = False
        self._text = ""  # everything written so far
        self._preview: Preview | None = None  # the pages' own words, shown until the model's first text
        self._sent = 0  # how much of it Slack has

    async def start(self) -> None:
        if self._native is not None and self._native.allowed:
            try:
                await self._status(THINKING)
                return
            except SlackApiError as error:
                self._refused(error)
        await self._post_placeholder()

    async def queued(self, position: int) -> None:
        if self._ts is None and self._native is not None and self._native.allowed:
            await self._status(queued_text(position).rstrip(" ▍"))
        elif self._ts is not None and not self._streaming:
            text = preview_text(self._preview, position=position) if self._preview and not self._text else None
            await self._client.chat_update(channel=self._channel, ts=self._ts, text=text or queued_text(position))

    async def preview(self, preview: Preview) -> None:
        """The excerpt in the placeholder (posted now if only a status was shown), until the model writes."""
        self._preview = preview
        if self._ts is None:
            await self._post_placeholder(preview_text(preview))
        else:
            await self._client.chat_update(channel=self._channel, ts=self._ts, text=preview_text(preview))

    async def write(self, text: str) -> None:
        self._text = text
        await self._flush()

    async def finish(self, answer: Answer, text: str) -> None:
        self._text = text
        blocks = answer_blocks(answer, answer_id=answer.id or "", can_escalate=self._can_escalate)
        if self._streaming:
            footer = [b for b in blocks if b["type"] != "section"]  # the text is already there, streamed
            rest = self._text[self._sent :]
            if answer.status != "answered":  # cut short (interrupted, timed out): say so under what was written
                rest += f"\n\n{answer.text}"
            await self._client.chat_stopStream(
                channel=self._channel, ts=self._ts, markdown_text=rest or None, blocks=footer or None
            )
        elif self._ts is not None:
            await self._client.chat_update(
                channel=self._channel, ts=self._ts, text=notification_text(answer), blocks=blocks
            )
        else:  # nothing was written (an abstention, an apology): the whole answer in one message
            await self._client.chat_postMessage(
                channel=self._channel, thread_ts=self._thread, text=notification_text(answer), blocks=blocks
            )

    async def fail(self, error: Exception) -> None:
        """The store or Slack failed: the asker still gets an apology, the log gets the cause."""
        log.error("Answering question %s in Slack channel %s failed", self._message.id, self._channel,
                  exc_info=error, extra={"question_id": self._message.id})  # fmt: skip
        await self._client.chat_postMessage(channel=self._channel, thread_ts=self._thread, text=say("failed", "en"))

    async def _flush(self) -> None:
        if self._ts is None and self._native is not None and self._native.allowed:
            try:
                started = await self._client.chat_startStream(
                    channel=self._channel, thread_ts=self._thread, markdown_text=self._text,
                    recipient_team_id=self._message.workspace, recipient_user_id=self._message.user,
                )  # fmt: skip
                self._ts, self._streaming, self._sent = started["ts"], True, len(self._text)
                await self._noted()
                return
            except SlackApiError as error:
                self._refused(error)
                await self._post_placeholder()
        if self._streaming:
            await self._client.chat_appendStream(
                channel=self._channel, ts=self._ts, markdown_text=self._text[self._sent :]
            )
            self._sent = len(self._text)
        elif self._ts is not None:
            await self._client.chat_update(channel=self._channel, ts=self._ts, text=progress_text(self._text))

    async def _status(self, status: str) -> None:
        await self._client.assistant_threads_setStatus(channel_id=self._channel, thread_ts=self._thread, status=status)

    async def _post_placeholder(self, text: str | None = None) -> None:
        posted = await self._client.chat_postMessage(
            channel=self._channel, thread_ts=self._thread, text=text or progress_text(self._text)
        )
        self._ts = posted["ts"]
        await self._noted()

    async def _noted(self) -> None:
        if self._placed is not None and self._ts is not None:
            await self._placed(self._ts)

    def _refused(self, error: SlackApiError) -> None:
        if error.response.status_code == 429 or error.response.get("error") in {"ratelimited", "invalid_auth"}:
            raise error
        log.info(
            "Slack refused native streaming (%s); answers grow by updating a placeholder", error.response.get("error")
        )
        assert self._native is not None
        self._native.allowed = False


async def post_recovered(client: Any, *, channel: str, thread_ts: str | None, placeholder: str | None, answer: Answer,
                         can_escalate: bool) -> None:  # fmt: skip
    """The answer to a question whose process died, in place of the placeholder it left (a new message in the
    thread if it left none, or if Slack will not update it)."""
    blocks = answer_blocks(answer, answer_id=answer.id or "", can_escalate=can_escalate)
    if placeholder:
        try:
            await client.chat_update(channel=channel, ts=placeholder, text=notification_text(answer), blocks=blocks)
            return
        except SlackApiError as error:
            log.info("Could not replace the placeholder %s (%s); posting the answer anew", placeholder,
                     error.response.get("error"))  # fmt: skip
    await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=notification_text(answer), blocks=blocks)
