"""One question answered in Discord: typing at once, the pages' own words while the model reads (a Preview), the
answer growing by edits in their place, then its embed and buttons."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import discord

from adapters.background import in_background
from adapters.discord.buttons import answer_view
from adapters.discord.translate import (
    answer_parts,
    preview_text,
    progress_text,
    queued_text,
    sources_embed,
    thread_name,
)
from bot.inflight import Claim
from bot.language import say
from bot.messages import Answer, IncomingMessage, Preview
from bot.queue import Queued

log = logging.getLogger(__name__)

# Discord rate-limits edits of one message to about five in five seconds: one a second stays well inside.
EDIT_EVERY = 1.0


async def answer_in_discord(
    *,
    target: discord.abc.Messageable,
    message: IncomingMessage,
    stream: Callable[[IncomingMessage], Iterator[str | Queued | Preview | Answer]],
    can_escalate: bool,
    placed: Callable[[str], Awaitable[None]] | None = None,
) -> Answer | None:
    """Post the answer into `target` (a thread or a DM) as it grows; never leave the asker in silence. `placed`
    hears "channel id:message id" of the placeholder once posted (kept to be replaced if this process dies)."""
    placeholder: discord.Message | None = None
    try:
        async with target.typing():
            placeholder = await target.send(progress_text(""))
            if placed is not None:
                await placed(f"{placeholder.channel.id}:{placeholder.id}")
            answer = await _grow(placeholder, in_background(stream, message))
        await _finish(target, placeholder, answer, can_escalate=can_escalate)
        return answer
    except Exception:  # the store, the model worker or Discord failed: an apology, and the cause in the log
        log.exception("Answering question %s in Discord channel %s failed", message.id, message.channel,
                      extra={"question_id": message.id})  # fmt: skip
        apology = say("failed", "en")
        if placeholder is not None:
            await placeholder.edit(content=apology)
        else:
            await target.send(apology)
        return None


async def _grow(placeholder: discord.Message, items: Any) -> Answer:
    partial = ""
    shown: Preview | None = None  # the excerpt in the placeholder, until the model writes
    last_edit = time.monotonic()
    async for item in items:
        if isinstance(item, Answer):
            return item
        if isinstance(item, Preview):
            shown, last_edit = item, time.monotonic()
            await placeholder.edit(content=preview_text(item))
            continue
        if isinstance(item, Queued):
            if item.position:  # 0 is "received": the placeholder already says the bot is looking
                waiting = preview_text(shown, position=item.position) if shown else queued_text(item.position)
                await placeholder.edit(content=waiting)
            continue
        partial += item
        if time.monotonic() - last_edit >= EDIT_EVERY:
            last_edit = time.monotonic()
            await placeholder.edit(content=progress_text(partial))
    raise RuntimeError("the answer stream ended without an answer")


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
