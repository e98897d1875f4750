"""Application commands: /ask (deferred at once, the pages' own words while the model reads, then the answer in
their place), /kb sync|status for admins, and the message command "Save to knowledge base" (learning.py)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from adapters.answering import show_answer
from adapters.discord.buttons import answer_view
from adapters.discord.learning import SAVE_COMMAND, on_save_command
from adapters.discord.translate import answer_parts, incoming, is_admin, preview_text, sources_embed
from bot.desk import say
from bot.messages import Answer, IncomingMessage, Preview

if TYPE_CHECKING:
    from adapters.discord.client import SupportClient

log = logging.getLogger(__name__)


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
        async with client.desk.ask(message) as asking:  # an interaction comes once: nothing to claim
            assert asking is not None
            await show_answer(_DeferredAnswer(client, interaction, message), asking.events)

    kb = app_commands.Group(name="kb", description="Knowledge base administration")

    @kb.command(name="status", description="Files, chunks, last sync and failures per collection")
    async def status(interaction: discord.Interaction[Any]) -> None:
        if not await _admin_or_refuse(client, interaction):
            return
        await interaction.response.send_message("\n".join(await client.desk.kb_status(bold="**")), ephemeral=True)

    @kb.command(name="sync", description="Sync the knowledge base now")
    @app_commands.describe(collection="One collection (default: all)")
    async def sync(interaction: discord.Interaction[Any], collection: str | None = None) -> None:
        if not await _admin_or_refuse(client, interaction):
            return
        known = client.desk.collections
        if collection is not None and collection not in known:
            await interaction.response.send_message(f"Unknown collection; known: {', '.join(known)}.", ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        names = [collection] if collection else known
        holder = f"discord:{interaction.user.name}"
        lines = await client.desk.kb_sync(names, bold="**", holder=holder)
        await interaction.followup.send("\n".join(lines)[:2000])

    tree.add_command(kb)

    async def save_to_knowledge(interaction: discord.Interaction[Any], message: discord.Message) -> None:
        await on_save_command(client, interaction, message)

    tree.add_command(app_commands.ContextMenu(name=SAVE_COMMAND, callback=save_to_knowledge))


async def _admin_or_refuse(client: SupportClient, interaction: discord.Interaction[Any]) -> bool:
    allowed = is_admin(client.config, interaction.user)
    if not allowed:
        await interaction.response.send_message("Sorry, only knowledge base admins may use /kb.", ephemeral=True)
    return allowed


class _DeferredAnswer:
    """The deferred reply ("thinking…") shows the pages' own words while the model reads, then becomes the answer's
    first part; longer answers go on in followups, the sources and buttons with the last part."""

    every = 0.0  # nothing is shown of the text until the answer is whole

    def __init__(self, client: SupportClient, interaction: discord.Interaction[Any], message: IncomingMessage) -> None:
        self._client, self._interaction, self._message = client, interaction, message
        self._shown: Preview | None = None  # the excerpt in the deferred reply, until the answer takes its place

    async def start(self) -> None:  # deferred already, within Discord's 3 seconds
        pass

    async def queued(self, position: int) -> None:
        if self._shown is not None:
            await self._interaction.edit_original_response(content=preview_text(self._shown, position=position))

    async def preview(self, preview: Preview) -> None:
        self._shown = preview
        await self._interaction.edit_original_response(content=preview_text(preview))

    async def write(self, text: str) -> None:
        pass

    async def finish(self, answer: Answer, text: str) -> None:
        data = sources_embed(answer)
        parts = answer_parts(answer)
        escalate = self._client.config.helper_role is not None
        view = answer_view(answer.id, can_escalate=escalate) if answer.id else None
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            extra: dict[str, Any] = {}
            if last and data:
                extra["embed"] = discord.Embed.from_dict(data)
            if last and view and answer.status == "answered":
                extra["view"] = view
            if index == 0:
                await self._interaction.edit_original_response(content=part, **extra)
            else:
                await self._interaction.followup.send(part, **extra)

    async def fail(self, error: Exception) -> None:
        log.error("Answering /ask %s failed", self._message.id, exc_info=error,
                  extra={"question_id": self._message.id})  # fmt: skip
        await self._interaction.edit_original_response(content=say("failed", "en"))
