"""Answers learned from people, on Discord, end to end: the real discord.py against the fake API and gateway, the
real store and the extractive answerer. A question the bot cannot answer, a colleague's reply in its thread, a
helper's ✅ (anyone else's is ignored), the approval, `/kb sync learned`, and the same question asked in another
thread is answered from the learned page, citing it; the first thread is told "Saved; I will answer this from now
on"."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("discord")

from adapters.discord.client import SupportClient
from adapters.discord.learning import notices
from bot.desk import BotDesk
from bot.learning import drafts_for
from bot.wiring import Bot
from tests.adapters.discord.fake_discord import FakeDiscord, connected, point_discord_at
from tests.adapters.discord.fake_discord_gateway import MESSAGE_CONTENT
from tests.adapters.discord.fake_discord_payloads import ADA, ALICE, HANA, HELP_ID
from tests.adapters.discord.test_app import final, settled
from tests.conftest import fresh_bot, quoting, synced_example_config

QUESTION = "Can I bring my dog to the office?"
REPLY = "Yes: dogs are welcome on Fridays, on a lead. See https://intranet.example/pets for the pets policy."


@pytest.fixture
def bot(tmp_path: Path, minilm_path: Path, embedder) -> Bot:  # type: ignore[no-untyped-def]
    config = synced_example_config(
        tmp_path / "kb", minilm_path=minilm_path, embedder=embedder, learned=True,
        extra_yaml="discord: {answer_channels: [help], admin_roles: [admins], helper_role: helpers,"
        " default_visibility: internal}\n",
    )  # fmt: skip
    knowledge = fresh_bot(config, data_dir=tmp_path / "data", embedder=embedder, generator=None).knowledge
    return quoting(knowledge)


async def until(found: Any) -> Any:
    for _ in range(600):
        if result := found():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("never happened")


async def scenario(bot: Bot, steps: Any) -> Any:
    """The adapter as `supportbot run discord` serves it, against a fresh fake Discord."""
    async with FakeDiscord(privileged_intents=MESSAGE_CONTENT) as fake:
        with point_discord_at(fake):
            client = SupportClient(desk=BotDesk(bot), config=bot.knowledge.settings.discord,  # type: ignore[arg-type]
                                   guild_ready_timeout=0.05)  # fmt: skip
            async with connected(client, fake):
                return await steps(fake, client)


def test_a_helpers_check_mark_teaches_the_bot_after_approval_and_sync(bot: Bot) -> None:
    drafts = drafts_for(bot.knowledge.settings)

    async def steps(fake: FakeDiscord, client: SupportClient) -> dict[str, Any]:
        asked = await fake.message(HELP_ID, QUESTION, mentions_bot=True)
        (first,) = await settled(fake, asked.id)
        assert "couldn't find" in first["content"]
        reply = (await fake.message(HELP_ID, REPLY, author=ALICE, thread=asked.id)).data

        await fake.react(reply, "✅", user=ALICE)  # the writer is no helper: her own ✅ teaches nothing
        await fake.react(reply, "👍", user=HANA)  # nor does another emoji
        await fake.react(first, "✅", user=HANA)  # nor the bot's own answer
        await fake.react(reply, "✅", user=HANA)  # the helper's does
        saved = await until(lambda: [m for m in fake.messages_in(asked.id) if "once an admin approves" in m["content"]])
        assert str(saved[0]["message_reference"]["message_id"]) == reply["id"]
        await fake.react(reply, "✅", user=ADA)  # an admin's second mark: still one draft
        await asyncio.sleep(0.5)
        (draft,) = drafts.waiting()
        assert (draft.question, draft.reply, draft.author, draft.marked_by) == (QUESTION, REPLY, "Alice", "Hana")
        assert draft.link and draft.link.endswith(f"/{asked.id}/{reply['id']}")

        drafts.approve(draft.id)
        posts = notices(client)
        assert await posts.once() == 0  # not indexed yet
        await fake.slash("kb", {"collection": "learned"}, subcommand="sync", user=ADA)
        await until(lambda: [c for c in fake.calls if "**learned**: 1 added" in str(c.json)])
        assert await posts.once() == 1
        assert await posts.once() == 0
        told = [m for m in fake.messages_in(asked.id) if m["content"] == "Saved; I will answer this from now on."]
        assert len(told) == 1

        again = await fake.message(HELP_ID, QUESTION, mentions_bot=True, author=HANA)
        (answer,) = await final(fake, again.id)
        return answer

    answer = asyncio.run(scenario(bot, steps))
    assert "Yes: dogs are welcome on Fridays, on a lead." in answer["content"]
    assert "can-i-bring-my-dog-to-the-office-" in answer["embeds"][0]["description"]
    assert drafts.waiting() == []


def test_the_save_command_saves_for_helpers_and_says_why_not_to_others(bot: Bot) -> None:
    async def steps(fake: FakeDiscord, client: SupportClient) -> list[str]:
        assert any(c["name"] == "Save to knowledge base" and c["type"] == 3 for c in fake.interactions.commands[None])
        asked = await fake.message(HELP_ID, QUESTION, mentions_bot=True)
        (first,) = await settled(fake, asked.id)
        reply = (await fake.message(HELP_ID, REPLY, author=ALICE, thread=asked.id)).data
        told = []
        for target, user in [(reply, ALICE), (first, HANA), (reply, HANA), (reply, ADA)]:
            await fake.message_command("Save to knowledge base", target, user=user)
            await fake.wait_for("POST", "/interactions/{id}/{token}/callback", count=len(told) + 1)
            told.append(fake.calls_to("POST", "/interactions/{id}/{token}/callback")[-1].json["data"])
        assert all(t["flags"] == 64 for t in told)  # seen by whoever ran it alone
        return [t["content"] for t in told]

    told = asyncio.run(scenario(bot, steps))
    assert told[0] == "Only the knowledge base's admins and helpers can save answers to it."
    assert told[1].startswith("Save a person's reply in a thread where I could not answer")  # the bot's answer
    assert "once an admin approves it" in told[2]
    assert told[3] == "This reply is saved already."
    (draft,) = drafts_for(bot.knowledge.settings).waiting()
    assert (draft.question, draft.reply, draft.marked_by) == (QUESTION, REPLY, "Hana")
