"""Answers learned from people, on Discord: an admin (`discord.admin_users`, `discord.admin_roles`) or a helper
(`discord.helper_role`) reacts ✅ to a person's reply in a thread the bot could not answer, and it becomes a draft
for review (bot/learning.py); once approved and synced, the thread is told (adapters/notices.py). Anyone else's ✅
is ignored. Reactions come with the default intents (GUILD_MESSAGE_REACTIONS), no privileged one."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from adapters.discord.translate import matches
from adapters.notices import Notices
from bot.desk import Origin, Reply, say

if TYPE_CHECKING:
    from adapters.discord.client import SupportClient

log = logging.getLogger(__name__)

CHECK_MARKS = {"✅", "☑️", "✔️"}


def may_save(client: SupportClient, member: discord.Member) -> bool:
    config = client.config
    return matches(member.id, None, config.admin_users) or any(
        matches(role.id, role.name, [*config.admin_roles, *([config.helper_role] if config.helper_role else [])])
        for role in member.roles
    )


async def on_reaction(client: SupportClient, event: discord.RawReactionActionEvent) -> None:
    member = event.member  # set in servers only: a DM has no helpers
    if str(event.emoji) not in CHECK_MARKS or member is None or member.bot or not may_save(client, member):
        return
    thread = client.get_channel(event.channel_id) or await client.fetch_channel(event.channel_id)
    if not isinstance(thread, discord.Thread):
        return  # the bot answers in threads: a reply to learn from is in one
    message = await thread.fetch_message(event.message_id)
    if message.author.bot or not message.content or message.id == thread.id:
        return  # the bot's own answer, another bot, or the question that started the thread
    reply = Reply(
        origin=Origin("discord", str(thread.parent_id), str(thread.id)), key=f"{thread.id}:{message.id}",
        text=message.content, author=message.author.display_name, marked_by=member.display_name,
        link=message.jump_url, written=message.created_at,
    )  # fmt: skip
    saved = await client.desk.save_reply(reply)
    if saved.draft is not None:
        log.info("Reply %s saved as draft %s for review", reply.key, saved.draft.id)
        await message.reply(say("saved_for_review", saved.draft.language), mention_author=False)


def notices(client: SupportClient) -> Notices:
    """Tells a thread when the reply saved from it is learned; posts the weekly digest (started with the client)."""

    async def post(channel: str, thread: str | None, text: str) -> None:
        where = int(thread or channel)
        target = client.get_channel(where) or await client.fetch_channel(where)
        await target.send(text)  # type: ignore[union-attr]

    return Notices(client.desk, "discord", post, bold="**")
