"""Answers learned from people, on Discord: an admin (`discord.admin_users`, `discord.admin_roles`) or a helper
(`discord.helper_role`) reacts ✅ to a person's reply in a thread the bot could not answer, or uses the message
command "Save to knowledge base" on it, and it becomes a draft for review (bot/learning.py); once approved and
synced, the thread is told (adapters/notices.py). Anyone else's ✅ is ignored. Reactions come with the default
intents (GUILD_MESSAGE_REACTIONS), no privileged one."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from adapters.discord.translate import is_admin
from adapters.notices import Notices
from bot.desk import Origin, Reply, Saved, say

if TYPE_CHECKING:
    from adapters.discord.client import SupportClient

log = logging.getLogger(__name__)

CHECK_MARKS = {"✅", "☑️", "✔️"}
SAVE_COMMAND = "Save to knowledge base"


def may_save(client: SupportClient, member: discord.Member) -> bool:
    return is_admin(client.config, member, or_helper=True)


async def on_reaction(client: SupportClient, event: discord.RawReactionActionEvent) -> None:
    member = event.member  # set in servers only: a DM has no helpers
    if str(event.emoji) not in CHECK_MARKS or member is None or member.bot or not may_save(client, member):
        return
    thread = client.get_channel(event.channel_id) or await client.fetch_channel(event.channel_id)
    if not isinstance(thread, discord.Thread):
        return  # the bot answers in threads: a reply to learn from is in one
    message = await thread.fetch_message(event.message_id)
    saved = await save(client, message, marked_by=member)
    if saved is not None and saved.draft is not None:
        await message.reply(say("saved_for_review", saved.draft.language), mention_author=False)


async def on_save_command(
    client: SupportClient, interaction: discord.Interaction[Any], message: discord.Message
) -> None:
    """The message command "Save to knowledge base": the same as a ✅, answered to its user alone."""
    user = interaction.user
    if not isinstance(user, discord.Member) or not may_save(client, user):
        text = "Only the knowledge base's admins and helpers can save answers to it."
    else:
        saved = await save(client, message, marked_by=user)
        if saved is None:
            text = "Save a person's reply in a thread where I could not answer: this message is not one."
        elif saved.draft is not None:
            text = say("saved_for_review", saved.draft.language)
        elif saved.outcome == "already_saved":
            text = "This reply is saved already."
        else:
            text = "I answered this thread and nobody said the answer fell short: nothing to learn."
    await interaction.response.send_message(text, ephemeral=True)


async def save(client: SupportClient, message: discord.Message, *, marked_by: discord.Member) -> Saved | None:
    """A person's reply in a thread, saved for review; None for any other message (the bot's own answer, another
    bot, the question that started the thread, a message outside a thread)."""
    thread = message.channel
    if not isinstance(thread, discord.Thread) or message.author.bot or not message.content or message.id == thread.id:
        return None
    reply = Reply(
        origin=Origin("discord", str(thread.parent_id), str(thread.id)), key=f"{thread.id}:{message.id}",
        text=message.content, author=message.author.display_name, marked_by=marked_by.display_name,
        link=message.jump_url, written=message.created_at,
    )  # fmt: skip
    saved = await client.desk.save_reply(reply)
    if saved.draft is not None:
        log.info("Reply %s saved as draft %s for review", reply.key, saved.draft.id)
    return saved


def notices(client: SupportClient) -> Notices:
    """Tells a thread when the reply saved from it is learned; posts the weekly digest (started with the client)."""

    async def post(channel: str, thread: str | None, text: str) -> None:
        where = int(thread or channel)
        target = client.get_channel(where) or await client.fetch_channel(where)
        await target.send(text)  # type: ignore[union-attr]

    return Notices(client.desk, "discord", post, bold="**")
