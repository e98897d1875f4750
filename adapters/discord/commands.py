"""Application commands: /ask (deferred at once, the pages' own words while the model reads, then the answer in
their place) and /kb sync|status for admins."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from adapters.background import in_background
from adapters.discord.buttons import answer_view
from adapters.discord.translate import answer_parts, incoming, matches, preview_text, sources_embed
from adapters.kb_admin import status_lines, sync_lines
from bot.messages import Answer, Preview
from bot.queue import Queued

if TYPE_CHECKING:
    from adapters.discord.client import SupportClient


def register_commands(client: SupportClient) -> None:
    tree = client.tree

    @tree.command(name="ask", description="Ask the knowledge base a question")
    @app_commands.describe(question="Your question")
    async def ask(interaction: discord.Interaction[Any], question: str) -> None:
        await interaction.response.defer(thinking=True)  # Discord's 3 seconds: acknowledged before any work
        channel = interaction.channel
        parent = getattr(channel, "parent_id", None) or getattr(channel, "id", "dm")
        message = incoming(
            guild=str(interaction.guild_id) if interaction.guild_id else None, channel=str(parent),
            thread=f"ask-{interaction.id}", user=str(interaction.user.id), content=question, bot_user="",
            is_direct=interaction.guild_id is None, default_visibility=client.config.default_visibility,
        )  # fmt: skip
        if message is None:
            await interaction.followup.send("Please ask a question.", ephemeral=True)
            return
        with client.bot.drain.question():  # a stop waits for this answer (or tells the asker it was interrupted)
            answer: Answer | None = None
            shown: Preview | None = None  # the excerpt in the deferred reply, until the answer takes its place
            async for item in in_background(client.bot.conversations.stream, message):
                if isinstance(item, Answer):
                    answer = item
                elif isinstance(item, Preview):
                    shown = item
                    await interaction.edit_original_response(content=preview_text(item))
                elif isinstance(item, Queued) and shown is not None and item.position:
                    await interaction.edit_original_response(content=preview_text(shown, position=item.position))
            assert answer is not None
            await _follow_up(client, interaction, answer)

    kb = app_commands.Group(name="kb", description="Knowledge base administration")

    @kb.command(name="status", description="Files, chunks, last sync and failures per collection")
    async def status(interaction: discord.Interaction[Any]) -> None:
        if not await _admin_or_refuse(client, interaction):
            return
        await interaction.response.send_message(
            "\n".join(await asyncio.to_thread(status_lines, client.bot.knowledge, bold="**")), ephemeral=True
        )

    @kb.command(name="sync", description="Sync the knowledge base now")
    @app_commands.describe(collection="One collection (default: all)")
    async def sync(interaction: discord.Interaction[Any], collection: str | None = None) -> None:
        if not await _admin_or_refuse(client, interaction):
            return
        known = [c.name for c in client.bot.knowledge.settings.collections]
        if collection is not None and collection not in known:
            await interaction.response.send_message(f"Unknown collection; known: {', '.join(known)}.", ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        names = [collection] if collection else known
        holder = f"discord:{interaction.user.name}"
        lines = await asyncio.to_thread(sync_lines, client.bot.knowledge, names, bold="**", holder=holder)
        await interaction.followup.send("\n".join(lines)[:2000])

    tree.add_command(kb)


async def _admin_or_refuse(client: SupportClient, interaction: discord.Interaction[Any]) -> bool:
    user = interaction.user
    roles = getattr(user, "roles", [])
    allowed = matches(user.id, None, client.config.admin_users) or any(
        matches(role.id, role.name, client.config.admin_roles) for role in roles
    )
    if not allowed:
        await interaction.response.send_message("Sorry, only knowledge base admins may use /kb.", ephemeral=True)
    return allowed


async def _follow_up(client: SupportClient, interaction: discord.Interaction[Any], answer: Answer) -> None:
    """The deferred reply (a "thinking…" placeholder, or the excerpt) becomes the answer's first part; longer
    answers go on in followups, the sources and buttons with the last part."""
    data = sources_embed(answer)
    parts = answer_parts(answer)
    view = answer_view(answer.id, can_escalate=client.config.helper_role is not None) if answer.id else None
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        extra: dict[str, Any] = {}
        if last and data:
            extra["embed"] = discord.Embed.from_dict(data)
        if last and view and answer.status == "answered":
            extra["view"] = view
        if index == 0:
            await interaction.edit_original_response(content=part, **extra)
        else:
            await interaction.followup.send(part, **extra)
