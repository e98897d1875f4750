"""One question answered in Discord: typing at once, the pages' own words while the model reads (a Preview), the
answer growing by edits in their place, then its embed and buttons."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import discord

from adapters.answering import show_answer
from adapters.discord.buttons import answer_view
from adapters.discord.translate import (
    answer_parts,
    preview_text,
    progress_text,
    queued_text,
    sources_embed,
    thread_name,
)
from bot.desk import Claim, say
from bot.messages import Answer, AnswerEvent, IncomingMessage, Preview

log = logging.getLogger(__name__)

# Discord rate-limits edits of one message to about five in five seconds: one a second stays well inside.
EDIT_EVERY = 1.0


async def answer_in_discord(
    *,
    target: discord.abc.Messageable,
    message: IncomingMessage,
    events: AsyncIterator[AnswerEvent],
    can_escalate: bool,
    placed: Callable[[str], Awaitable[None]] | None = None,
) -> Answer | None:
    """Post the answer into `target` (a thread or a DM) as it grows; never leave the asker in silence. `placed`
    hears "channel id:message id" of the placeholder once posted (kept to be replaced if this process dies)."""
    view = _GrowingAnswer(target, message, can_escalate=can_escalate, placed=placed)
    try:
        return await show_answer(view, events)
    finally:  # also when cut short (the process stops): the typing indicator ends with the answer
        await view.stop_typing()


class _GrowingAnswer:
    """Typing at once and a placeholder, the excerpt in it while the model reads, the answer by edits in its place,
    then its embed and buttons."""

    every = EDIT_EVERY

    def __init__(self, target: discord.abc.Messageable, message: IncomingMessage, *, can_escalate: bool,
                 placed: Callable[[str], Awaitable[None]] | None) -> None:  # fmt: skip
        self._target, self._message, self._can_escalate, self._placed = target, message, can_escalate, placed
        self._typing: contextlib.AbstractAsyncContextManager[None] | None = None
        self._placeholder: discord.Message | None = None
        self._shown: Preview | None = None  # the excerpt in the placeholder, until the model writes

    async def start(self) -> None:
        self._typing = self._target.typing()
        await self._typing.__aenter__()
        self._placeholder = await self._target.send(progress_text(""))
        if self._placed is not None:
            await self._placed(f"{self._placeholder.channel.id}:{self._placeholder.id}")

    async def queued(self, position: int) -> None:
        waiting = preview_text(self._shown, position=position) if self._shown else queued_text(position)
        await self._edit(waiting)

    async def preview(self, preview: Preview) -> None:
        self._shown = preview
        await self._edit(preview_text(preview))

    async def write(self, text: str) -> None:
        await self._edit(progress_text(text))

    async def finish(self, answer: Answer, text: str) -> None:
        await self.stop_typing()
        assert self._placeholder is not None
        await _finish(self._target, self._placeholder, answer, can_escalate=self._can_escalate)

    async def fail(self, error: Exception) -> None:
        """The store, the model worker or Discord failed: an apology, and the cause in the log."""
        log.error("Answering question %s in Discord channel %s failed", self._message.id, self._message.channel,
                  exc_info=error, extra={"question_id": self._message.id})  # fmt: skip
        await self.stop_typing()
        apology = say("failed", "en")
        if self._placeholder is not None:
            await self._placeholder.edit(content=apology)
        else:
            await self._target.send(apology)

    async def _edit(self, content: str) -> None:
        assert self._placeholder is not None
        await self._placeholder.edit(content=content)

    async def stop_typing(self) -> None:
        if self._typing is not None:
            typing, self._typing = self._typing, None
            await typing.__aexit__(None, None, None)


async def _finish(target: discord.abc.Messageable, placeholder: discord.Message | discord.PartialMessage,
                  answer: Answer, *, can_escalate: bool) -> None:  # fmt: skip
    """The placeholder becomes the first part; longer answers continue in new messages; the sources and
    buttons go with the last part."""
    parts = answer_parts(answer)
    data = sources_embed(answer)
    embed = discord.Embed.from_dict(data) if data else None
    view = answer_view(answer.id, can_escalate=can_escalate) if answer.status == "answered" and answer.id else None
    last = len(parts) - 1
    await placeholder.edit(content=parts[0], embed=embed if last == 0 else None, view=view if last == 0 else None)
    for index, part in enumerate(parts[1:], 1):
        extra: dict[str, Any] = {"embed": embed, "view": view} if index == last else {}
        await target.send(part, **{k: v for k, v in extra.items() if v is not None})


async def post_recovered(client: discord.Client, claim: Claim, answer: Answer, *, can_escalate: bool) -> None:
    """The answer to a question whose process died, in place of the placeholder it left; where it left none, in
    the thread on the question (opened now if it did not live to open it) or the DM."""
    if claim.placeholder:
        channel_id, message_id = (int(part) for part in claim.placeholder.split(":"))
        target = client.get_partial_messageable(channel_id)
        await _finish(target, target.get_partial_message(message_id), answer, can_escalate=can_escalate)
        return
    guild = claim.message.workspace
    channel = client.get_partial_messageable(
        int(claim.reply["channel"]), guild_id=int(guild) if guild.isdigit() else None
    )
    into: discord.abc.Messageable = channel
    if claim.reply.get("open_thread"):  # a thread on a message in a server's text channel
        question = channel.get_partial_message(int(claim.reply["message"]))
        try:
            into = await question.create_thread(name=thread_name(claim.message.text))
        except discord.HTTPException as error:  # the dead process opened it: a thread on a message has its id
            log.info("The thread on question %s exists already (%s)", claim.message.id, error.text)
            into = client.get_partial_messageable(question.id)
    placeholder = await into.send(progress_text(""))
    await _finish(into, placeholder, answer, can_escalate=can_escalate)
