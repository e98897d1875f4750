"""The fake Discord answers the real discord.py as Discord would: login, threads, views, slash commands, resume."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

pytest.importorskip("discord")

import discord
from aiohttp import ClientSession
from discord import app_commands
from discord.ext import commands

from tests.adapters.discord.fake_discord import TOKEN, Call, FakeDiscord, connected
from tests.adapters.discord.fake_discord_gateway import MESSAGE_CONTENT
from tests.adapters.discord.fake_discord_payloads import (
    ALICE,
    ANSWERED_TAG_ID,
    BOT,
    GENERAL_ID,
    GUILD_ID,
    HANA,
    HELP_ID,
    QUESTIONS_ID,
)

HELPFUL = "supportbot:helpful"


class Feedback(discord.ui.View):
    """A persistent view: no timeout and a custom_id on every button, so clicks work after a restart."""

    def __init__(self, clicks: list[tuple[str, int]]) -> None:
        super().__init__(timeout=None)
        self.clicks = clicks

    @discord.ui.button(label="Helpful", style=discord.ButtonStyle.success, custom_id=HELPFUL)
    async def helpful(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.clicks.append((HELPFUL, interaction.user.id))
        await interaction.response.send_message("Thanks for the feedback!", ephemeral=True)

    @discord.ui.button(label="Not helpful", style=discord.ButtonStyle.secondary, custom_id="supportbot:unhelpful")
    async def unhelpful(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.clicks.append(("supportbot:unhelpful", interaction.user.id))
        await interaction.response.edit_message(content="Sorry — a helper will look.", view=None)


class TinyBot(commands.Bot):
    """A bot of the shape supportbot's adapter takes: answers mentions in #help in a thread, a /kb command group."""

    def __init__(self, *, message_content: bool = True) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.05)  # on_ready 2 s sooner
        self.seen: list[discord.Message] = []
        self.threads: list[discord.Thread] = []
        self.clicks: list[tuple[str, int]] = []
        self.resumes = 0
        kb = app_commands.Group(name="kb", description="The knowledge base")
        kb.command(name="sync", description="Sync the knowledge base")(self.kb_sync)
        kb.command(name="status", description="What the knowledge base holds")(self.kb_status)
        self.tree.add_command(kb, guild=discord.Object(GUILD_ID))

    async def setup_hook(self) -> None:
        self.add_view(Feedback(self.clicks))

    async def on_message(self, message: discord.Message) -> None:
        self.seen.append(message)
        if message.author.bot or message.channel.id != HELP_ID or self.user not in message.mentions:
            return
        thread = await message.create_thread(name="Password reset")
        answer = discord.Embed(title="Answer", description="Open *Settings → Security*.")
        await thread.send(embed=answer, view=Feedback(self.clicks))

    async def on_thread_create(self, thread: discord.Thread) -> None:
        self.threads.append(thread)

    async def on_resumed(self) -> None:
        self.resumes += 1

    async def kb_sync(self, interaction: discord.Interaction, collection: str = "kb") -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(f"Synced {collection}: 3 documents.", ephemeral=True)

    async def kb_status(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.followup.send("12 documents, 340 chunks.")


Scenario = Callable[[FakeDiscord, TinyBot], Awaitable[None]]


def run(scenario: Scenario, *, message_content: bool = True, **fake_options: Any) -> TinyBot:
    async def main() -> TinyBot:
        async with FakeDiscord(**fake_options) as fake:
            bot = TinyBot(message_content=message_content)
            async with connected(bot, fake):
                await scenario(fake, bot)
            return bot

    return asyncio.run(main())


async def eventually(check: Callable[[], object], timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def test_the_bot_logs_in_and_gets_ready_with_the_guild() -> None:
    async def scenario(fake: FakeDiscord, bot: TinyBot) -> None:
        guild = bot.get_guild(GUILD_ID)
        assert bot.user is not None and bot.user.id == BOT.id and guild is not None
        assert isinstance(guild.get_channel(HELP_ID), discord.TextChannel)
        forum = guild.get_channel(QUESTIONS_ID)
        assert isinstance(forum, discord.ForumChannel) and [t.id for t in forum.available_tags] == [ANSWERED_TAG_ID]
        assert [r.name for r in guild.roles] == ["@everyone", "helpers", "admins"]
        assert guild.me.id == BOT.id and guild.get_member(HANA.id) is None  # members are privileged: not asked for
        await fake.message(GENERAL_ID, "I can help", author=HANA)
        await eventually(lambda: bot.seen)
        author = bot.seen[0].author  # a Member built from the message's own `member` field
        assert isinstance(author, discord.Member) and [r.name for r in author.roles] == ["@everyone", "helpers"]
        assert fake.intents is not None and fake.intents & MESSAGE_CONTENT
        assert [(c.method, c.path, c.auth) for c in fake.calls[:2]] == [
            ("GET", "/users/@me", f"Bot {TOKEN}"),
            ("GET", "/oauth2/applications/@me", f"Bot {TOKEN}"),
        ]

    run(scenario)


def test_a_mention_in_help_gets_a_thread_on_it_and_an_answer_with_buttons() -> None:
    async def scenario(fake: FakeDiscord, bot: TinyBot) -> None:
        asked = await fake.message(HELP_ID, "how do I reset my password?", mentions_bot=True)
        thread_call = await fake.wait_for("POST", f"/channels/{HELP_ID}/messages/{asked.id}/threads")
        reply = await fake.wait_for("POST", f"/channels/{asked.id}/messages")  # the thread has the message's id
        await eventually(lambda: len(bot.seen) == 2)

        assert asked.data["content"] == f"<@{BOT.id}> how do I reset my password?"
        assert thread_call.json["name"] == "Password reset"
        assert fake.state.channels[asked.id]["parent_id"] == str(HELP_ID)
        assert reply.json["embeds"][0]["title"] == "Answer"
        buttons = reply.json["components"][0]["components"]
        assert [b["custom_id"] for b in buttons] == [HELPFUL, "supportbot:unhelpful"]
        echoed = bot.seen[1]  # Discord echoes the bot's own message; TinyBot ignores it by author
        assert echoed.author == bot.user and isinstance(echoed.channel, discord.Thread)
        assert [t.id for t in bot.threads] == [asked.id]
        thread = bot.get_channel(asked.id)  # a late joiner seeds from history: a type-21 starter, then the answer
        assert isinstance(thread, discord.Thread)
        history = [m async for m in thread.history(oldest_first=True)]
        assert [m.type for m in history] == [discord.MessageType.thread_starter_message, discord.MessageType.default]
        question = history[0].reference.resolved if history[0].reference else None
        assert isinstance(question, discord.Message) and question.content == asked.data["content"]

    run(scenario)


def test_a_click_reaches_the_persistent_view_even_after_a_restart() -> None:
    async def main() -> tuple[TinyBot, FakeDiscord, Call, int]:
        async with FakeDiscord() as fake:
            first = TinyBot()
            async with connected(first, fake):
                asked = await fake.message(HELP_ID, "reset?", mentions_bot=True)
                await fake.wait_for("POST", f"/channels/{asked.id}/messages")
            reply_id = int(fake.messages_in(asked.id)[-1]["id"])
            restarted = TinyBot()  # a new process: only add_view() in setup_hook knows the buttons
            async with connected(restarted, fake):
                helpful = await fake.click(reply_id, HELPFUL, user=HANA)
                response = await fake.wait_for("POST", f"/interactions/{helpful.id}/{helpful.token}/callback")
                unhelpful = await fake.click(reply_id, "supportbot:unhelpful")
                await fake.wait_for("POST", f"/interactions/{unhelpful.id}/{unhelpful.token}/callback")
            return restarted, fake, response, reply_id

    restarted, fake, response, reply_id = asyncio.run(main())
    assert restarted.clicks == [(HELPFUL, HANA.id), ("supportbot:unhelpful", ALICE.id)]
    assert response.auth is None and response.query == {"with_response": "1"}  # the token in the path is the auth
    assert (response.status, response.json["type"], response.json["data"]["flags"]) == (200, 4, 64)  # ephemeral
    edited = fake.state.message(reply_id)  # type 7 "update message" replaced the buttons
    assert edited is not None and edited["content"] == "Sorry — a helper will look." and edited["components"] == []


def test_slash_commands_sync_then_defer_and_follow_up() -> None:
    async def scenario(fake: FakeDiscord, bot: TinyBot) -> None:
        await bot.tree.sync(guild=discord.Object(GUILD_ID))
        status = await fake.slash("kb", subcommand="status", user=HANA)
        followup = await fake.wait_for("POST", f"/webhooks/{BOT.id}/{status.token}")
        synced = await fake.slash("kb", {"collection": "docs"}, subcommand="sync")
        await fake.wait_for("POST", f"/webhooks/{BOT.id}/{synced.token}")

        registered = fake.calls_to("PUT", f"/applications/{BOT.id}/guilds/{GUILD_ID}/commands")[0].json
        assert [(c["name"], [o["name"] for o in c["options"]]) for c in registered] == [("kb", ["sync", "status"])]
        assert status.data["data"]["guild_id"] == str(GUILD_ID)
        deferred = fake.calls_to("POST", "/interactions/{id}/{token}/callback")
        assert [c.json for c in deferred] == [{"type": 5}, {"type": 5, "data": {"flags": 64}}]
        assert followup.json["content"] == "12 documents, 340 chunks." and followup.query["wait"] == "1"
        answer = fake.messages_in(HELP_ID)[-1]  # the first followup fills in the "thinking" message
        assert answer["content"] == "12 documents, 340 chunks." and answer["flags"] == 0 and answer["type"] == 20
        assert len(fake.messages_in(HELP_ID)) == 1  # the ephemeral /kb sync answer stays out of the channel

    run(scenario)


def test_a_late_or_second_interaction_response_is_refused_as_discord_does() -> None:
    async def scenario(fake: FakeDiscord, bot: TinyBot) -> None:
        await bot.tree.sync(guild=discord.Object(GUILD_ID))  # else Discord would not offer the command at all
        clicked = await fake.slash("kb", subcommand="status")
        late = await fake.wait_for("POST", f"/interactions/{clicked.id}/{clicked.token}/callback")
        assert (late.status, late.json) == (404, {"type": 5})
        async with ClientSession() as http:
            url = f"{fake.api_url}/interactions/{clicked.id}/{clicked.token}/callback"
            async with http.post(url, json={"type": 4, "data": {"content": "x"}}) as answered:
                assert (answered.status, (await answered.json())["code"]) == (404, 10062)

    run(scenario, interaction_deadline=0.0)


def test_a_forum_post_arrives_as_a_new_thread_and_its_starter_message() -> None:
    async def scenario(fake: FakeDiscord, bot: TinyBot) -> None:
        post = await fake.forum_post(QUESTIONS_ID, "No reset mail", "I waited an hour.", tags=[ANSWERED_TAG_ID])
        await eventually(lambda: bot.seen)
        thread, starter = bot.threads[0], bot.seen[0]
        assert thread.id == post.id and isinstance(thread.parent, discord.ForumChannel)
        assert [t.name for t in thread.applied_tags] == ["answered"]
        assert starter.id == thread.id and starter.channel == thread and starter.content == "I waited an hour."
        fetched = await bot.fetch_channel(post.id)
        assert isinstance(fetched, discord.Thread) and fetched.parent_id == QUESTIONS_ID
        assert (await thread.fetch_message(post.id)).content == "I waited an hour."

    run(scenario)


def test_history_of_a_thread_is_newest_first_and_pages_with_before() -> None:
    async def scenario(fake: FakeDiscord, bot: TinyBot) -> None:
        post = await fake.forum_post(QUESTIONS_ID, "Billing", "first")
        for text in ("second", "third", "fourth"):
            await fake.message(QUESTIONS_ID, text, thread=post.id)
        await eventually(lambda: len(bot.seen) == 4)
        thread = bot.get_channel(post.id)
        assert isinstance(thread, discord.Thread)
        newest = [m.content async for m in thread.history(limit=3)]
        third = discord.Object(fake.messages_in(post.id)[2]["id"])
        older = [m.content async for m in thread.history(limit=10, before=third)]
        assert (newest, older) == (["fourth", "third", "second"], ["second", "first"])
        assert fake.calls_to("GET", f"/channels/{post.id}/messages")[0].query["limit"] == "3"

    run(scenario)


def test_a_reconnect_resumes_and_a_redelivered_message_is_seen_twice() -> None:
    async def scenario(fake: FakeDiscord, bot: TinyBot) -> None:
        said = await fake.message(GENERAL_ID, "is anyone here?")
        await eventually(lambda: bot.seen)
        await fake.reconnect(redeliver=1)  # Discord may resend what the bot already had
        await eventually(lambda: len(bot.seen) == 2 and bot.resumes == 1)

        assert [m.id for m in bot.seen] == [said.id, said.id]  # the real bot must deduplicate by id
        resume = [f for f in fake.gateway.frames if f.op == 6]
        assert len(resume) == 1 and resume[0].path == "/resume" and resume[0].d["seq"] == said.seq

    run(scenario)


def test_a_dm_arrives_in_a_dm_channel_and_the_bot_can_open_one() -> None:
    async def scenario(fake: FakeDiscord, bot: TinyBot) -> None:
        said = await fake.dm("hello?")
        await eventually(lambda: bot.seen)
        assert isinstance(bot.seen[0].channel, discord.DMChannel) and bot.seen[0].guild is None
        await bot.seen[0].channel.send("Hi! Ask me anything.")
        opened = await bot.create_dm(discord.Object(HANA.id))
        await opened.send("A helper asked me to follow up.")
        assert fake.state.channels[int(said.data["channel_id"])]["type"] == 1
        assert fake.calls_to("POST", "/users/@me/channels")[0].json == {"recipient_id": HANA.id}
        assert fake.messages_in(opened.id)[0]["content"] == "A helper asked me to follow up."

    run(scenario)


def test_without_the_message_content_intent_only_mentions_keep_their_text() -> None:
    async def scenario(fake: FakeDiscord, bot: TinyBot) -> None:
        await fake.message(GENERAL_ID, "plain question")
        await fake.message(GENERAL_ID, "mentioning you", mentions_bot=True)
        await eventually(lambda: len(bot.seen) == 2)
        assert [m.content for m in bot.seen] == ["", f"<@{BOT.id}> mentioning you"]

    run(scenario, message_content=False)


def test_asking_for_an_intent_the_portal_has_not_enabled_fails_with_4014() -> None:
    async def main() -> None:
        async with FakeDiscord(privileged_intents=0) as fake, connected(TinyBot(), fake):
            pass

    with pytest.raises(discord.PrivilegedIntentsRequired):
        asyncio.run(main())


def test_files_go_as_multipart_and_come_back_as_attachments() -> None:
    async def scenario(fake: FakeDiscord, bot: TinyBot) -> None:
        channel = bot.get_channel(GENERAL_ID)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("The log:", file=discord.File(io.BytesIO(b"line 1\n"), filename="answer.txt"))
        call = fake.calls_to("POST", f"/channels/{GENERAL_ID}/messages")[0]
        assert call.json["content"] == "The log:" and [u.filename for u in call.files] == ["answer.txt"]
        assert await sent.attachments[0].read() == b"line 1\n"

    run(scenario)


def test_unknown_routes_and_missing_tokens_answer_as_discord_does() -> None:
    async def scenario(fake: FakeDiscord, bot: TinyBot) -> None:
        authorized = ClientSession(headers={"Authorization": f"Bot {TOKEN}"})
        async with authorized as http, http.get(f"{fake.api_url}/guilds/{GUILD_ID}/audit-logs") as unknown:
            assert (unknown.status, unknown.headers["Content-Type"]) == (404, "application/json")
        async with ClientSession() as http, http.get(f"{fake.api_url}/channels/{HELP_ID}") as anonymous:
            assert anonymous.status == 401
        with pytest.raises(discord.NotFound):
            await bot.http.get_message(HELP_ID, 1)
        assert [(c.path, c.status) for c in fake.calls[-3:]] == [
            (f"/guilds/{GUILD_ID}/audit-logs", 404),
            (f"/channels/{HELP_ID}", 401),
            (f"/channels/{HELP_ID}/messages/1", 404),
        ]

    run(scenario)
