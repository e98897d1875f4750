"""Wiring to discord.py: which messages are questions (mentions, forum posts, follow-ups, DMs), where the
answer goes (a thread on the question), and the commands and buttons registered at start-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord.answering import answer_in_discord, post_recovered
from adapters.discord.buttons import AnswerButton
from adapters.discord.commands import register_commands
from adapters.discord.config import DiscordConfig
from adapters.discord.learning import notices, on_reaction
from adapters.discord.translate import incoming, matches, thread_name
from adapters.recovery import Recovery
from bot.desk import Claim, Desk, Turn
from bot.messages import Answer, IncomingMessage

log = logging.getLogger(__name__)
_ASKING_TYPES = {discord.MessageType.default, discord.MessageType.reply}


class SupportClient(discord.Client):
    def __init__(self, *, desk: Desk, config: DiscordConfig, **options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # follow-ups arrive empty without it (enable it in the developer portal)
        super().__init__(intents=intents, **options)
        self.desk, self.config = desk, config
        self.tree = app_commands.CommandTree(self)
        self._tasks: set[asyncio.Task[Any]] = set()

    async def setup_hook(self) -> None:
        """Buttons of answers given before a restart keep working; commands are registered."""
        self.add_dynamic_items(AnswerButton)
        register_commands(self)
        await self.tree.sync()
        info = await self.application_info()
        flags = info.flags
        if not (flags.gateway_message_content or flags.gateway_message_content_limited):
            log.warning(
                "The Message Content intent is off for this application: enable it in the Discord developer "
                "portal (Bot → Privileged Gateway Intents), or follow-ups arrive empty."
            )
        self._tasks.add(asyncio.create_task(self.recovery().forever()))  # questions of processes that died
        self._tasks.add(asyncio.create_task(notices(self).forever()))  # the bot's own posts: answers learned

    async def on_ready(self) -> None:
        """Connected, and every shard of this process with its servers: questions come now."""
        self.desk.serving("discord")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await super().close()

    def helper_mention(self, guild: discord.Guild | None) -> str | None:
        if guild is None or not self.config.helper_role:
            return None
        role = next((r for r in guild.roles if matches(r.id, r.name, [self.config.helper_role])), None)
        return role.mention if role else None

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.type not in _ASKING_TYPES:
            return  # our own echoes, other bots, joins, pins, "thread created" notices
        target, thread, channel = await self._route(message)
        if target is None:
            return
        question = incoming(
            guild=str(message.guild.id) if message.guild else None, channel=channel, thread=thread,
            user=str(message.author.id), content=message.content, bot_user=str(self.user.id if self.user else ""),
            is_direct=message.guild is None, default_visibility=self.config.default_visibility,
        )  # fmt: skip
        if question is None:
            return
        # The gateway may deliver a message again after a reconnect: an atomic claim answers it once. The claim
        # keeps the question and where to answer it until the answer is posted: if this process dies meanwhile,
        # another one (or this one, restarted) answers it (adapters/recovery.py).
        key = f"{message.channel.id}:{message.id}"
        open_thread = not isinstance(target, discord.Thread | discord.DMChannel)
        reply = {
            "channel": str(message.channel.id),
            "message": str(message.id),
            "open_thread": "1" if open_thread else "",
        }
        joined_late = isinstance(message.channel, discord.Thread) and self.user in message.mentions

        async def earlier() -> list[Turn]:
            return await self._earlier(message.channel, message)  # type: ignore[arg-type]

        async with self.desk.ask(question, key=key, reply=reply, earlier=earlier if joined_late else None) as asking:
            if asking is not None:
                if open_thread:
                    target = await message.create_thread(name=thread_name(question.text))
                await answer_in_discord(
                    target=target, message=question, events=asking.events,
                    can_escalate=self.config.helper_role is not None, placed=asking.placed,
                )  # fmt: skip

    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        """An admin's or helper's ✅ on a person's reply saves it for review (adapters/discord/learning.py)."""
        await on_reaction(self, event)

    def recovery(self) -> Recovery:
        """Answers the questions of Discord processes that died mid-answer (started with the client)."""

        async def post(claim: Claim, answer: Answer) -> None:
            await post_recovered(self, claim, answer, can_escalate=self.config.helper_role is not None)

        return Recovery(self.desk, "discord", post)

    async def _route(self, message: discord.Message) -> tuple[Any, str, str]:
        """(where to answer, thread key, the channel whose scope applies), or (None, …) to stay quiet."""
        channel = message.channel
        mentioned = self.user in message.mentions
        if message.guild is None:
            return channel, "dm", str(channel.id)
        if isinstance(channel, discord.Thread):
            parent = channel.parent
            parent_id, parent_name = channel.parent_id, getattr(parent, "name", None)
            starter = message.id == channel.id
            if (
                starter
                and isinstance(parent, discord.ForumChannel)
                and matches(parent_id, parent_name, self.config.forum_channels)
            ):
                return channel, str(channel.id), str(parent_id)
            configured = self.config.answer_channels + self.config.auto_answer_channels + self.config.forum_channels
            if mentioned and matches(parent_id, parent_name, configured):
                return channel, str(channel.id), str(parent_id)
            probe = IncomingMessage("discord", "", str(parent_id), str(channel.id), str(message.author.id), "")
            if await self.desk.follows_up(probe):
                return channel, str(channel.id), str(parent_id)
            return None, "", ""
        name = getattr(channel, "name", None)
        if (mentioned and matches(channel.id, name, self.config.answer_channels)) or matches(
            channel.id, name, self.config.auto_answer_channels
        ):
            return channel, str(message.id), str(channel.id)  # a thread started on a message has its id
        return None, "", ""

    async def _earlier(self, thread: discord.Thread, message: discord.Message) -> list[Turn]:
        """Joined late: the thread's starter and earlier messages become the conversation's history."""
        earlier: list[discord.Message] = []
        if isinstance(thread.parent, discord.TextChannel):
            with contextlib.suppress(discord.HTTPException):  # a thread not started from a message has none
                earlier.append(await thread.parent.fetch_message(thread.id))
        earlier += [m async for m in thread.history(limit=50, before=message, oldest_first=True) if m.id != thread.id]
        return [Turn("assistant" if m.author == self.user else "user", m.content) for m in earlier if m.content]


class ShardedSupportClient(SupportClient, discord.AutoShardedClient):
    """The same bot on some of the fleet's shards: Discord sends a server's events to shard
    (server id >> 22) % shard_count only, so N processes with disjoint shard_ids share the servers between them."""


def support_client(*, desk: Desk, config: DiscordConfig, **options: Any) -> SupportClient:
    """One connection for everything, or the shards discord.shard_count / discord.shard_ids name (all of them
    when shard_ids is null)."""
    if config.shard_count is None:
        return SupportClient(desk=desk, config=config, **options)
    return ShardedSupportClient(
        desk=desk, config=config, shard_count=config.shard_count, shard_ids=config.shard_ids, **options
    )
