"""The buttons under every answer: helpful / not helpful / Ask a human. Dynamic items, registered in
setup_hook, so a button on an answer from before a restart still works: its custom_id carries the answer."""

from __future__ import annotations

import re
from typing import Any

import discord

ACTIONS = {
    "helpful": ("Helpful", "👍", discord.ButtonStyle.secondary),
    "not_helpful": ("Not helpful", "👎", discord.ButtonStyle.secondary),
    "human": ("Ask a human", "🙋", discord.ButtonStyle.primary),
}


class AnswerButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"sb:(?P<action>helpful|not_helpful|human):(?P<answer>[0-9a-f]{32})",
):
    def __init__(self, action: str, answer_id: str) -> None:
        label, emoji, style = ACTIONS[action]
        super().__init__(discord.ui.Button(label=label, emoji=emoji, style=style, custom_id=f"sb:{action}:{answer_id}"))
        self.action, self.answer_id = action, answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> AnswerButton:
        return cls(match["action"], match["answer"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        client = interaction.client
        if self.action == "human":
            await client.desk.escalate(self.answer_id, user=str(interaction.user.id))  # the report; the bot keeps out
            role = getattr(client, "helper_mention", lambda guild: None)(interaction.guild)
            who = role or "a helper"
            await interaction.response.send_message(
                f"{who}: {interaction.user.mention} would like a person to help with this question.",
                allowed_mentions=discord.AllowedMentions(roles=True, users=True),
            )
            return
        stored = await client.desk.feedback(self.answer_id, user=str(interaction.user.id), rating=self.action)
        text = "Thanks for the feedback!" if stored else "That answer is too old to rate, sorry."
        await interaction.response.send_message(text, ephemeral=True)


def answer_view(answer_id: str, *, can_escalate: bool) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in ("helpful", "not_helpful", *(("human",) if can_escalate else ())):
        view.add_item(AnswerButton(action, answer_id))
    return view
