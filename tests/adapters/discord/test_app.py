"""The Discord adapter end to end: the real discord.py against a Discord API and gateway on loopback, the
real knowledge store, and the stand-in model answering."""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

pytest.importorskip("discord")

from adapters.discord.answering import post_recovered
from adapters.discord.client import SupportClient
from adapters.recovery import Recovery
from bot.desk import BotDesk
from bot.history import SqlThreadHistory, ThreadKey
from bot.inflight import InFlight
from bot.language import say
from bot.messages import IncomingMessage
from bot.records import claims_table
from bot.wiring import Bot, Knowledge
from tests.adapters.discord.fake_discord import FakeDiscord, connected, point_discord_at
from tests.adapters.discord.fake_discord_gateway import MESSAGE_CONTENT
from tests.adapters.discord.fake_discord_payloads import (
    ADA,
    ALICE,
    GENERAL_ID,
    GUILD_ID,
    HANA,
    HELP_ID,
    HELPERS_ROLE_ID,
    QUESTIONS_ID,
)
from tests.conftest import BrokenModel, fresh_bot, quoting, synced_example_config


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, minilm_path: Path, embedder) -> Path:  # type: ignore[no-untyped-def]
    return synced_example_config(
        tmp_path_factory.mktemp("discord"), minilm_path=minilm_path, embedder=embedder,
        extra_yaml=f"channels: {{'{GENERAL_ID}': {{visibility: public}}}}\n"
        "discord: {answer_channels: [help], auto_answer_channels: [general], forum_channels: [questions],"
        " admin_roles: [admins], helper_role: helpers, default_visibility: internal}\n",
    )  # fmt: skip


@pytest.fixture
def community_bot(config: Path, embedder, smollm2_generator, tmp_path: Path) -> Bot:  # type: ignore[no-untyped-def]
    """The same server with Discord's default: channels and DMs not under `channels:` read public collections."""
    bot = fresh_bot(config, data_dir=tmp_path / "data", embedder=embedder, generator=smollm2_generator)
    settings = bot.knowledge.settings
    assert settings.discord is not None
    discord = settings.discord.model_copy(update={"default_visibility": "public"})
    public = settings.model_copy(update={"discord": discord})
    return Bot(Knowledge(public, prebuilt_embedder=embedder), warn=print, prebuilt_generator=smollm2_generator)


@pytest.fixture
def bot(config: Path, embedder, smollm2_generator, tmp_path: Path) -> Bot:  # type: ignore[no-untyped-def]
    return fresh_bot(config, data_dir=tmp_path / "data", embedder=embedder, generator=smollm2_generator)


def run(bot: Bot, steps: Callable[[FakeDiscord], Awaitable[Any]], *, restarts: int = 0) -> Any:
    """Serve the adapter against a fresh fake Discord, as `supportbot run discord` would, and run `steps`."""

    async def scenario() -> Any:
        async with FakeDiscord(privileged_intents=MESSAGE_CONTENT) as fake:
            with point_discord_at(fake):
                client = SupportClient(
                    desk=BotDesk(bot), config=bot.knowledge.settings.discord, guild_ready_timeout=0.05
                )  # type: ignore[arg-type]
                async with connected(client, fake):
                    return await steps(fake)

    return asyncio.run(scenario())


async def final(fake: FakeDiscord, channel_id: int, *, count: int = 1) -> list[dict[str, Any]]:
    """The answers in a channel once finished: a message that got its buttons (or its last edit)."""
    for _ in range(600):
        done = [m for m in fake.messages_in(channel_id) if m.get("components") or m.get("embeds")]
        if len(done) >= count:
            return done
        await asyncio.sleep(0.1)
    raise AssertionError(f"no finished answer in {channel_id}: {fake.messages_in(channel_id)}")


async def settled(fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    """The bot's messages in a channel once it has stopped writing (no cursor left), whatever it said."""
    for _ in range(600):
        mine = [m for m in fake.messages_in(channel_id) if m["author"]["username"] == "supportbot"]
        if mine and all("▍" not in m["content"] for m in mine):
            return mine
        await asyncio.sleep(0.1)
    raise AssertionError(f"the bot never finished in {channel_id}: {fake.messages_in(channel_id)}")


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components", []) for c in row["components"]]


def test_mention_opens_a_thread_and_answers_there_with_sources_and_buttons(bot: Bot) -> None:
    async def steps(fake: FakeDiscord) -> tuple[int, list[dict[str, Any]]]:
        asked = await fake.message(HELP_ID, "What port does the VPN server use?", mentions_bot=True)
        return asked.id, await final(fake, asked.id)

    asked_id, (answer,) = run(bot, steps)
    assert int(answer["channel_id"]) == asked_id  # the thread started on the question has the question's id
    assert "1194" in answer["content"]
    embed = answer["embeds"][0]
    assert embed["title"] == "Sources" and "vpn.md" in embed["description"]
    assert embed["footer"]["text"] == "Answered by SmolLM2-135M-Instruct (offline stand-in)"
    assert [i.split(":")[1] for i in custom_ids(answer)] == ["helpful", "not_helpful", "human"]


def test_follow_up_without_mention_and_plain_chat_ignored(bot: Bot) -> None:
    async def steps(fake: FakeDiscord) -> list[dict[str, Any]]:
        await fake.message(HELP_ID, "anyone up for lunch?")
        asked = await fake.message(HELP_ID, "How do I install the VPN client?", mentions_bot=True)
        await final(fake, asked.id)
        await fake.message(HELP_ID, "and on Mac?", thread=asked.id)
        return await final(fake, asked.id, count=2)

    answers = run(bot, steps)
    assert len(answers) == 2
    history = SqlThreadHistory(bot.knowledge.manifest.engine)
    turns = history.recent(ThreadKey("discord", str(HELP_ID), str(
        int(answers[0]["channel_id"]))), budget=10_000, count_tokens=len)  # fmt: skip
    assert [t.text for t in turns if t.role == "user"] == ["How do I install the VPN client?", "and on Mac?"]


def test_in_its_thread_the_bot_answers_the_asker_and_not_another_member(bot: Bot) -> None:
    async def steps(fake: FakeDiscord) -> list[dict[str, Any]]:
        asked = await fake.message(HELP_ID, "How do I install the VPN client?", mentions_bot=True)
        await final(fake, asked.id)
        await fake.message(HELP_ID, "Same question here, following", author=HANA, thread=asked.id)
        await fake.message(HELP_ID, "and on Mac?", thread=asked.id)  # the asker: answered
        answers = await final(fake, asked.id, count=2)
        await asyncio.sleep(1.5)
        return answers

    answers = run(bot, steps)
    history = SqlThreadHistory(bot.knowledge.manifest.engine)
    turns = history.recent(ThreadKey("discord", str(HELP_ID), str(
        int(answers[0]["channel_id"]))), budget=10_000, count_tokens=len)  # fmt: skip
    assert [t.text for t in turns if t.role == "user"] == ["How do I install the VPN client?", "and on Mac?"]


def test_forum_post_is_answered_inside_the_post(bot: Bot) -> None:
    async def steps(fake: FakeDiscord) -> list[dict[str, Any]]:
        post = await fake.forum_post(QUESTIONS_ID, "VPN port", "Which port does the VPN server use?")
        return await final(fake, post.id)

    (answer,) = run(bot, steps)
    assert answer["embeds"][0]["title"] == "Sources"


def test_dm_is_answered_in_the_dm(bot: Bot) -> None:
    async def steps(fake: FakeDiscord) -> list[dict[str, Any]]:
        said = await fake.dm("What port does the VPN server use?")
        return await final(fake, int(said.data["channel_id"]))

    (answer,) = run(bot, steps)
    assert "1194" in answer["content"]


def test_feedback_is_stored_ask_a_human_mentions_the_role_and_buttons_survive_a_restart(bot: Bot) -> None:
    async def scenario() -> tuple[str, list[Any]]:
        async with FakeDiscord(privileged_intents=MESSAGE_CONTENT) as fake:
            with point_discord_at(fake):
                first = SupportClient(
                    desk=BotDesk(bot), config=bot.knowledge.settings.discord, guild_ready_timeout=0.05
                )  # type: ignore[arg-type]
                async with connected(first, fake):
                    asked = await fake.message(HELP_ID, "What port does the VPN server use?", mentions_bot=True)
                    (answer,) = await final(fake, asked.id)
                # The bot restarts: a new process, a new connection; the answer's buttons are still there.
                second = SupportClient(
                    desk=BotDesk(bot), config=bot.knowledge.settings.discord, guild_ready_timeout=0.05
                )  # type: ignore[arg-type]
                async with connected(second, fake):
                    helpful, _, human = custom_ids(answer)
                    await fake.click(int(answer["id"]), helpful, user=ALICE)
                    await fake.click(int(answer["id"]), human, user=ALICE)
                    await fake.wait_for("POST", "/interactions/{id}/{token}/callback", count=2)
                return helpful.split(":")[2], [
                    c.json for c in fake.calls_to("POST", "/interactions/{id}/{token}/callback")
                ]

    answer_id, replies = asyncio.run(scenario())
    assert bot.records.feedback(answer_id) == {str(ALICE.id): "helpful"}
    assert bot.records.escalations(answer_id) == [str(ALICE.id)]  # for the report
    contents = sorted(reply["data"]["content"] for reply in replies)  # the two clicks are handled side by side
    assert contents[0].startswith(f"<@&{HELPERS_ROLE_ID}>") and contents[1] == "Thanks for the feedback!"


def test_ask_command_is_deferred_then_answered_in_place_of_the_excerpt(bot: Bot) -> None:
    """Deferred at once; the pages' own words fill the deferred reply while the model reads; the answer, with its
    sources, then takes their place (the same message, no second one)."""

    async def steps(fake: FakeDiscord) -> tuple[Any, list[Any], list[Any]]:
        await fake.slash("ask", {"question": "What port does the VPN server use?"})
        edits = "/webhooks/{app}/{token}/messages/{id}"
        for _ in range(600):
            if any((c.json or {}).get("embeds") for c in fake.calls_to("PATCH", edits)):
                break
            await asyncio.sleep(0.1)
        deferred = fake.calls_to("POST", "/interactions/{id}/{token}/callback")[0].json
        return deferred, [c.json for c in fake.calls_to("PATCH", edits)], fake.calls_to("POST", "/webhooks/{a}/{t}")

    deferred, edits, followups = run(bot, steps)
    assert deferred["type"] == 5  # "thinking…" within Discord's 3 seconds
    excerpt, final = edits[0], edits[-1]
    assert excerpt["content"].startswith("Excerpt from the knowledge base") and "vpn.md" in excerpt["content"]
    assert "1194" in final["content"] and final["embeds"][0]["title"] == "Sources" and not followups


def test_kb_is_refused_to_non_admins_and_works_for_admins(bot: Bot) -> None:
    async def steps(fake: FakeDiscord) -> list[Any]:
        await fake.slash("kb", subcommand="status", user=ALICE)
        await fake.slash("kb", subcommand="status", user=ADA)
        await fake.wait_for("POST", "/interactions/{id}/{token}/callback", count=2)
        return [c.json for c in fake.calls_to("POST", "/interactions/{id}/{token}/callback")]

    refusal, status = run(bot, steps)
    assert "only knowledge base admins" in refusal["data"]["content"] and refusal["data"]["flags"] == 64
    assert "**handbook** (internal)" in status["data"]["content"]


def test_a_message_delivered_twice_is_answered_once(bot: Bot) -> None:
    async def steps(fake: FakeDiscord) -> list[dict[str, Any]]:
        asked = await fake.message(HELP_ID, "What port does the VPN server use?", mentions_bot=True)
        await fake.reconnect(redeliver=3)  # Discord resends what the bot already had
        await fake.message(HELP_ID, "What port does the VPN server use?", mentions_bot=True, message_id=asked.id)
        answers = await final(fake, asked.id)
        await asyncio.sleep(1.5)
        return [c.json for c in fake.calls_to("POST", "/channels/{id}/messages/{mid}/threads")] + answers

    created_then_answers = run(bot, steps)
    assert len(created_then_answers) == 2  # one thread, one answer


def test_a_public_channel_never_gets_internal_passages(bot: Bot) -> None:
    async def steps(fake: FakeDiscord) -> list[dict[str, Any]]:
        asked = await fake.message(GENERAL_ID, "How do I connect to the VPN?", mentions_bot=True)
        await asyncio.sleep(0.5)
        for _ in range(300):
            if any("▍" not in m["content"] for m in fake.messages_in(asked.id)):
                break
            await asyncio.sleep(0.1)
        return fake.messages_in(asked.id)

    messages = run(bot, steps)
    shown = " ".join(str(m) for m in messages)
    assert "handbook" not in shown and "vpn.md" not in shown and "Acme Connect" not in shown


class LongModel:
    """A deterministic long answer (3 × 1,500 characters with a code block) to check the 2,000 split. Its first
    sentence and its code are the VPN page's own words, and no part has a number: the support check drops a
    sentence with a number, command or name that no passage holds."""

    name = "long"

    def stream(self, messages: Any, *, max_new_tokens: int) -> Iterator[str]:
        yield "The VPN client is Acme Connect.\n\n"
        for part in "ABC":
            yield f"Part {part}: " + "word " * 250 + "\n\n```\n" + "Acme Connect\n" * 20 + "```\n\n"

    def count_tokens(self, text: str) -> int:
        return len(text) // 4


def test_a_long_answer_is_split_within_2000_characters(bot: Bot) -> None:
    long_bot = Bot(bot.knowledge, warn=print, prebuilt_generator=LongModel())

    async def steps(fake: FakeDiscord) -> list[dict[str, Any]]:
        asked = await fake.message(HELP_ID, "What port does the VPN server use?", mentions_bot=True)
        await final(fake, asked.id)
        return fake.messages_in(asked.id)

    parts = run(long_bot, steps)
    assert len(parts) >= 3 and all(len(p["content"]) <= 2000 for p in parts)
    assert all(p["content"].count("```") % 2 == 0 for p in parts)
    assert parts[-1]["components"] and not parts[0].get("components")  # buttons under the last part


@pytest.mark.parametrize(("intents", "token", "expected"), [
    (0, "good", "Message Content intent is not enabled"),
    (MESSAGE_CONTENT, "wrong-token", "Discord refused DISCORD_TOKEN"),
])  # fmt: skip
def test_start_up_problems_are_one_clear_sentence(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, intents: int, token: str, expected: str
) -> None:
    from adapters.discord.run import DiscordStartError, run_discord
    from tests.adapters.discord.fake_discord import TOKEN

    monkeypatch.setenv("DISCORD_TOKEN", TOKEN if token == "good" else token)

    async def scenario() -> None:
        async with FakeDiscord(privileged_intents=intents) as fake:
            with point_discord_at(fake):  # restores discord.py's URLs afterwards; run_discord sets them itself
                config = bot.knowledge.settings.discord.model_copy(update={"api_base_url": fake.api_url})  # type: ignore[union-attr]
                await asyncio.wait_for(run_discord(BotDesk(bot), config), timeout=30)

    with pytest.raises(DiscordStartError, match=expected):
        asyncio.run(scenario())


def test_a_thread_joined_late_is_seeded_with_what_was_said(bot: Bot) -> None:
    async def steps(fake: FakeDiscord) -> int:
        question, _ = await fake.state.say(
            channel_id=HELP_ID, author=ALICE, content="My VPN keeps dropping on the train."
        )
        thread_id = int(question["id"])
        await fake.state.start_thread(parent_id=HELP_ID, thread_id=thread_id, owner=ALICE, name="VPN drops")
        await fake.message(HELP_ID, "Same here since Monday.", author=HANA, thread=thread_id)
        await fake.message(HELP_ID, "any idea?", mentions_bot=True, thread=thread_id)
        await settled(fake, thread_id)
        return thread_id

    thread_id = run(bot, steps)
    history = SqlThreadHistory(bot.knowledge.manifest.engine)
    turns = history.recent(ThreadKey("discord", str(HELP_ID), str(thread_id)), budget=10_000, count_tokens=len)
    assert [t.text for t in turns][:3] == [
        "My VPN keeps dropping on the train.",
        "Same here since Monday.",
        "any idea?",
    ]


def test_auto_answer_channel_answers_every_new_message_in_a_thread(bot: Bot) -> None:
    async def steps(fake: FakeDiscord) -> list[dict[str, Any]]:
        asked = await fake.message(GENERAL_ID, "Where is the community forum?")  # no mention needed here
        return await final(fake, asked.id)

    (answer,) = run(bot, steps)
    assert "community:forum.md" in answer["embeds"][0]["description"]


def test_a_failing_model_gets_the_asker_an_apology(bot: Bot) -> None:
    broken = Bot(bot.knowledge, warn=print, prebuilt_generator=BrokenModel())

    async def steps(fake: FakeDiscord) -> list[dict[str, Any]]:
        asked = await fake.message(HELP_ID, "What port does the VPN server use?", mentions_bot=True)
        return await settled(fake, asked.id)

    (apology,) = [m for m in run(broken, steps) if m["author"]["username"] == "supportbot"]
    assert "something went wrong" in apology["content"] and not apology.get("components")


class Watching:
    """The real model, noting which requests the bot had already made when it was first called."""

    def __init__(self, generator: Any) -> None:
        self._generator = generator
        self.name = generator.name
        self.fake: FakeDiscord | None = None
        self.seen_before: list[list[tuple[str, str]]] = []

    def stream(self, messages: Any, *, max_new_tokens: int) -> Iterator[str]:
        assert self.fake is not None
        self.seen_before.append([(c.method, c.path) for c in self.fake.calls])
        yield from self._generator.stream(messages, max_new_tokens=max_new_tokens)

    def count_tokens(self, text: str) -> int:
        return int(self._generator.count_tokens(text))


def test_an_extractive_answer_quotes_the_page_and_says_no_model_wrote_it(bot: Bot) -> None:
    quoting_bot = quoting(bot.knowledge)

    async def steps(fake: FakeDiscord) -> list[dict[str, Any]]:
        asked = await fake.message(HELP_ID, "What port does the VPN server use?", mentions_bot=True)
        return await final(fake, asked.id)

    (answer,) = run(quoting_bot, steps)
    assert "1194" in answer["content"]
    embed = answer["embeds"][0]
    assert "vpn.md" in embed["description"] and embed["footer"]["text"] == "Answered by extractive (no language model)"


def test_the_asker_sees_typing_and_a_placeholder_before_the_model_starts(bot: Bot) -> None:
    """Both go out before the model is called; the bot's "received" (Queued(0)) never shows as a place in line."""
    model = Watching(bot.generator)
    watched = Bot(bot.knowledge, warn=print, prebuilt_generator=model)

    async def steps(fake: FakeDiscord) -> tuple[int, list[dict[str, Any]], list[Any]]:
        model.fake = fake
        asked = await fake.message(HELP_ID, "What port does the VPN server use?", mentions_bot=True)
        return asked.id, await final(fake, asked.id), fake.calls

    thread, (answer,), calls = run(watched, steps)
    assert "1194" in answer["content"] and len(model.seen_before) == 1
    before = model.seen_before[0]
    assert ("POST", f"/channels/{thread}/typing") in before and ("POST", f"/channels/{thread}/messages") in before
    assert not any("in line" in str(c.json.get("content", "")) for c in calls if isinstance(c.json, dict))


def test_invite_url_has_exactly_the_needed_permissions() -> None:
    import discord

    from tests.adapters.cli.test_main import supportbot

    result = supportbot("discord", "invite-url", "--client-id", "123456789012345678")
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert "client_id=123456789012345678" in url and "scope=bot+applications.commands" in url
    granted = discord.Permissions(int(url.split("permissions=")[1].split("&")[0]))
    needed = discord.Permissions(
        view_channel=True, send_messages=True, send_messages_in_threads=True, create_public_threads=True,
        embed_links=True, read_message_history=True,
    )  # fmt: skip
    assert granted == needed and not granted.administrator


class Reading(Watching):
    """The real model with a prefill: its first words come once the bot has sent `until` (or 10 s passed), as an
    LFM2 reading a long prompt on a CPU gives the adapter seconds; the contents sent by then are noted."""

    def __init__(self, generator: Any, *, until: str) -> None:
        super().__init__(generator)
        self._until = until
        self.sent_before: list[str] = []

    def stream(self, messages: Any, *, max_new_tokens: int) -> Iterator[str]:
        assert self.fake is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(self._until in text for text in self._sent()):
            time.sleep(0.02)
        self.sent_before = self._sent()
        yield from super().stream(messages, max_new_tokens=max_new_tokens)

    def _sent(self) -> list[str]:
        assert self.fake is not None
        return [str(c.json.get("content", "")) for c in list(self.fake.calls) if isinstance(c.json, dict)]


def test_the_pages_own_words_show_while_the_model_reads_then_its_answer_takes_their_place(bot: Bot) -> None:
    """bot.preview on auto (the stand-in runs on a CPU): before the model writes, the placeholder shows the VPN
    page's own sentence with the port, labelled as an excerpt, with the page; the model's answer then replaces it
    (one message of the bot's in the thread, the model's, with its sources)."""
    model = Reading(bot.generator, until="Excerpt from the knowledge base")
    watched = Bot(bot.knowledge, warn=print, prebuilt_generator=model)

    async def steps(fake: FakeDiscord) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        model.fake = fake
        asked = await fake.message(HELP_ID, "What port does the VPN server use?", mentions_bot=True)
        return await final(fake, asked.id), await settled(fake, asked.id)

    (answer,), mine = run(watched, steps)
    (excerpt,) = [text for text in model.sent_before if "Excerpt from the knowledge base" in text]
    assert "1194" in excerpt and "vpn.md" in excerpt
    assert "\n> " in excerpt  # the page's words as a Discord quote
    assert "1194" in answer["content"] and "Excerpt from the knowledge base" not in answer["content"]
    assert [m["id"] for m in mine] == [answer["id"]]  # replaced in place, not a second message
    assert answer["embeds"][0]["footer"]["text"] == "Answered by SmolLM2-135M-Instruct (offline stand-in)"


class Prompted:
    """The real model, keeping every prompt it was given."""

    def __init__(self, generator: Any) -> None:
        self._generator, self.name, self.prompts = generator, generator.name, []  # type: ignore[var-annotated]

    def stream(self, messages: Any, *, max_new_tokens: int) -> Iterator[str]:
        self.prompts.append("\n".join(m.content for m in messages))
        yield from self._generator.stream(messages, max_new_tokens=max_new_tokens)

    def count_tokens(self, text: str) -> int:
        return int(self._generator.count_tokens(text))


def test_by_default_an_unmapped_channel_and_a_dm_never_read_internal_pages(community_bot: Bot) -> None:
    """No `channels:` entry for the help channel nor for DMs, discord.default_visibility left at public: an
    internal-only fact (the VPN port, in the internal handbook) reaches neither the model nor the asker, by a
    mention or a DM, while a fact of the public collection is answered."""
    model = Prompted(community_bot.generator)
    bot = Bot(community_bot.knowledge, warn=print, prebuilt_generator=model)

    async def steps(fake: FakeDiscord) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        asked = await fake.message(HELP_ID, "What port does the VPN server use?", mentions_bot=True)
        in_channel = await settled(fake, asked.id)
        said = await fake.dm("What port does the VPN server use?")
        in_dm = await settled(fake, int(said.data["channel_id"]))
        public = await fake.message(HELP_ID, "Where does the community forum live?", mentions_bot=True)
        return in_channel, in_dm, await final(fake, public.id)

    in_channel, in_dm, (forum,) = run(bot, steps)

    def visible(messages: list[dict[str, Any]]) -> str:  # what a member reads; ids and timestamps hold any digits
        return " ".join(str([m.get("content"), m.get("embeds"), m.get("components")]) for m in messages)

    for shown in (visible(in_channel), visible(in_dm)):
        assert "1194" not in shown and "vpn.md" not in shown and "handbook" not in shown
    assert not any("1194" in prompt or "Acme Connect" in prompt for prompt in model.prompts)
    assert "forum.example.org" in forum["content"] and "forum.md" in forum["embeds"][0]["description"]


class Hanging:
    """A model whose process is about to die: it never writes (released only to end the test)."""

    name = "hanging"

    def __init__(self) -> None:
        self.released = threading.Event()

    def stream(self, messages: Any, *, max_new_tokens: int) -> Iterator[str]:
        self.released.wait(120)
        raise RuntimeError("the process is gone")
        yield ""

    def count_tokens(self, text: str) -> int:
        return len(text) // 4


@pytest.mark.parametrize("placeholder", [True, False])
def test_a_question_whose_process_died_is_answered_once_by_another(bot: Bot, placeholder: bool) -> None:
    """placeholder: the dying process opened the thread and posted its placeholder, then its model never wrote
    (and its lease, never renewed, lapsed); otherwise it died right after claiming the question. Another process
    answers in place of the placeholder, or opens the thread itself; a second round answers nothing."""
    engine = bot.knowledge.manifest.engine
    hung = Hanging()
    dying = Bot(bot.knowledge, warn=print, prebuilt_generator=hung)
    dying.inflight = InFlight(engine, lease=timedelta(seconds=0.5), holder="dying:ns:1:x")  # type: ignore[misc]
    survivor = Bot(bot.knowledge, warn=print, prebuilt_generator=bot.generator)
    survivor.inflight = InFlight(engine, holder="survivor:ns:2:y")  # type: ignore[misc]
    question = "What port does the VPN server use?"

    async def scenario() -> tuple[int, list[int], list[dict[str, Any]]]:
        async with FakeDiscord(privileged_intents=MESSAGE_CONTENT) as fake:
            client = SupportClient(desk=BotDesk(dying), config=bot.knowledge.settings.discord, guild_ready_timeout=0.05)  # type: ignore[arg-type]
            async with connected(client, fake):
                try:
                    if placeholder:
                        asked = await fake.message(HELP_ID, question, mentions_bot=True)
                        await until_state(engine, f"{HELP_ID}:{asked.id}", "answering")
                    else:  # not for the bot (no mention): the claim a process left the moment it died
                        asked = await fake.message(HELP_ID, question)
                        message = IncomingMessage("discord", str(GUILD_ID), str(HELP_ID), str(asked.id),
                                                  str(ALICE.id), question)  # fmt: skip
                        reply = {"channel": str(HELP_ID), "message": str(asked.id), "open_thread": "1"}
                        dying.inflight.claim("discord", f"{HELP_ID}:{asked.id}", message=message, reply=reply)
                    await asyncio.sleep(0.6)  # the lease lapses
                    recovery = Recovery(
                        BotDesk(survivor), "discord", lambda c, a: post_recovered(client, c, a, can_escalate=True)
                    )
                    rounds = [await recovery.once(), await recovery.once()]
                    return asked.id, rounds, copy.deepcopy(await settled(fake, asked.id))
                finally:
                    hung.released.set()  # (a dead process would say nothing more; this one apologises, then ends)
                    if placeholder:
                        await until_said(fake, asked.id, say("failed", "en"))

    asked_id, rounds, mine = asyncio.run(scenario())
    assert rounds == [1, 0]
    (answer,) = mine  # the placeholder, replaced (or the one message of the thread the survivor opened)
    assert int(answer["channel_id"]) == asked_id and answer["content"].startswith("Sorry for the wait, I restarted:")
    assert "1194" in answer["content"] and "vpn.md" in answer["embeds"][0]["description"]


async def until_state(engine: Any, key: str, state: str) -> None:
    for _ in range(600):
        with engine.connect() as db:
            found = db.execute(select(claims_table.c.state).where(claims_table.c.event_key == key)).scalar()
        if found == state:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"claim {key} never reached {state}")


async def until_said(fake: FakeDiscord, channel_id: int, text: str) -> None:
    for _ in range(600):
        if any(text in m["content"] for m in fake.messages_in(channel_id)):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{text!r} never said in {channel_id}")
