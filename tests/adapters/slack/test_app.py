"""The Slack adapter end to end: the real slack-bolt app in HTTP mode, signed requests, a fake Web API on
loopback, the real knowledge store, and the stand-in model answering."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import ClientSession, WSMsgType, web
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from adapters.slack.app import SlackAdapter, SlackStartError
from adapters.slack.run import run_slack
from bot.desk import BotDesk
from bot.history import SqlThreadHistory, ThreadKey
from bot.inflight import InFlight
from bot.messages import Answer, IncomingMessage
from bot.records import claims_table, vector_of
from bot.wiring import Bot
from tests.adapters.slack.fake_slack import FakeSlack, interactivity_body, load_payload, serving, signed_request
from tests.conftest import BrokenModel, fresh_bot, quoting, synced_example_config

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
MENTION_TS = "1700000000.000100"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, minilm_path: Path, embedder) -> Path:  # type: ignore[no-untyped-def]
    return synced_example_config(
        tmp_path_factory.mktemp("slack"), minilm_path=minilm_path, embedder=embedder,
        extra_yaml="channels: {C_PUBLIC: {visibility: public}}\n"
        "slack: {mode: http, admins: [UADMIN], escalation_group: SHELP, auto_answer_channels: [C_AUTO]}\n",
    )  # fmt: skip


@pytest.fixture
def bot(config: Path, embedder, smollm2_generator, tmp_path: Path) -> Bot:  # type: ignore[no-untyped-def]
    return fresh_bot(config, data_dir=tmp_path / "data", embedder=embedder, generator=smollm2_generator)


class Slack:
    """The adapter served on loopback, and a way to deliver what Slack would send it."""

    def __init__(self, base: str, fake: FakeSlack, adapter: SlackAdapter) -> None:
        self.base, self.fake, self.adapter = base, fake, adapter

    async def event(self, payload: dict[str, Any], *, retry: int | None = None, secret: str = SECRET) -> int:
        body = json.dumps(payload)
        return await self._post(body, signed_request(body, secret=secret, retry_num=retry))

    async def form(self, fields: dict[str, str]) -> tuple[int, str]:
        body = urlencode(fields)
        headers = signed_request(body, secret=SECRET, content_type="application/x-www-form-urlencoded")
        async with ClientSession() as http, http.post(f"{self.base}/slack/events", data=body, headers=headers) as r:
            return r.status, await r.text()

    async def click(self, payload: dict[str, Any]) -> int:
        body = interactivity_body(payload)
        return await self._post(
            body, signed_request(body, secret=SECRET, content_type="application/x-www-form-urlencoded")
        )

    async def _post(self, body: str, headers: dict[str, str]) -> int:
        async with ClientSession() as http, http.post(f"{self.base}/slack/events", data=body, headers=headers) as r:
            return r.status

    async def answers(self, count: int = 1) -> list[dict[str, Any]]:
        """The finished answers, however they grew (streamed natively, or a placeholder updated in place):
        a message gets its blocks (sources, buttons) only when it is done."""
        return await self.until(lambda: sorted((m for m in self.fake.messages() if m.get("blocks")),
                                               key=lambda m: m["ts"]), count)  # fmt: skip

    async def until(self, found: Any, count: int = 1) -> Any:
        for _ in range(600):
            if len(result := found()) >= count:
                return result
            await asyncio.sleep(0.1)
        raise AssertionError(f"{count} expected; calls so far: {[c.method for c in self.fake.calls]}")


def scenario(bot: Bot, fake: FakeSlack, steps: Any) -> Any:
    async def run() -> Any:
        adapter = adapter_for(bot, fake, TOKEN)
        await adapter.identify()
        async with serving(adapter.build().web_app(path="/slack/events")) as base:
            return await steps(Slack(base, fake, adapter))

    return asyncio.run(run())


def adapter_for(bot: Bot, fake: FakeSlack, token: str) -> SlackAdapter:
    """The adapter exactly as `supportbot run slack` builds it, with slack.api_base_url at the fake."""
    assert bot.knowledge.settings.slack is not None
    config = bot.knowledge.settings.slack.model_copy(update={"api_base_url": fake.url})
    return SlackAdapter(
        desk=BotDesk(bot), config=config, client=SlackAdapter.client(config, token), signing_secret=SECRET
    )


def mention(text: str = "<@UBOT> What port does the VPN server use?", **event: Any) -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("app_mention"))
    payload["event"].update(text=text, **event)
    payload["event_id"] = f"Ev{event.get('ts', MENTION_TS)}{event.get('channel', '')}"
    return payload


def message(text: str, **event: Any) -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("message_thread_reply"))
    payload["event"].update(text=text, **event)
    payload["event_id"] = f"Ev{event.get('ts')}"
    return payload


def blocks_of(update: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [b for b in update["blocks"] if b["type"] == kind]


@pytest.mark.parametrize("mode", ["native", "placeholder", "refused"])
def test_mention_is_answered_in_its_thread_with_sources_and_buttons(
    config: Path, embedder: Any, smollm2_generator: Any, tmp_path: Path, fake: FakeSlack, mode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """native: an AI app streams (chat.startStream…stopStream); placeholder: not an AI app, so a placeholder
    grows by chat.update; refused: streaming refused mid-answer, the placeholder takes over, nothing lost. With no
    excerpt shown first (bot.preview: none): an excerpt needs a message the answer can replace (the preview test)."""
    monkeypatch.setattr("adapters.slack.answering.UPDATE_EVERY", 0.05)  # several updates even for a short answer
    bot = fresh_bot(config, data_dir=tmp_path / "data", embedder=embedder, generator=smollm2_generator, preview="none")
    if mode == "placeholder":
        fake.fail("assistant.threads.setStatus", "not_allowed")
    if mode == "refused":
        fake.disable_streaming()

    async def steps(slack: Slack) -> list[dict[str, Any]]:
        assert await slack.event(mention()) == 200
        return await slack.answers()

    (final,) = scenario(bot, fake, steps)
    assert final["thread_ts"] == MENTION_TS and final["channel"] == "C1" and "1194" in final["text"]
    sources = " ".join(e["text"] for e in blocks_of(final, "context")[0]["elements"])
    assert "vpn.md" in sources and "SmolLM2-135M-Instruct (offline stand-in)" in sources
    actions = [e["action_id"] for e in blocks_of(final, "actions")[0]["elements"]]
    assert actions == ["feedback_helpful", "feedback_not_helpful", "ask_human"]
    first = next(c for c in fake.calls if c.method != "auth.test")  # the sign of life
    if mode == "placeholder":  # the status was refused (not an AI app): a placeholder right after
        assert [c.method for c in fake.calls if c.method != "auth.test"][:2] == [
            "assistant.threads.setStatus", "chat.postMessage"]  # fmt: skip
        assert not fake.calls_to("chat.startStream")
        assert len(fake.calls_to("chat.update")) >= 2  # grew in place, then the final blocks
    else:
        assert first.method == "assistant.threads.setStatus" and first.params["thread_ts"] == MENTION_TS
    if mode == "native":
        # Streamed natively (a one-sentence answer may come whole with the stream's start), never by chat.update.
        assert fake.calls_to("chat.startStream") and fake.calls_to("chat.stopStream")
        assert not fake.calls_to("chat.update")
        assert blocks_of(final, "section") == []  # the text was streamed; the blocks are the footer
    if mode == "refused":
        assert fake.calls_to("chat.startStream") and fake.calls_to("chat.update")


def test_follow_up_needs_no_mention_but_plain_chat_is_ignored(bot: Bot, fake: FakeSlack) -> None:
    async def steps(slack: Slack) -> None:
        await slack.event(mention())
        await slack.answers(1)
        await slack.event(message("Hello all, lunch at noon?", ts="1700000150.000100", thread_ts=None))
        await slack.event(message("And which protocol, UDP or TCP?", ts="1700000200.000300", thread_ts=MENTION_TS))
        await slack.answers(2)

    scenario(bot, fake, steps)
    assert [m["thread_ts"] for m in fake.messages()] == [MENTION_TS, MENTION_TS]  # nothing for the lunch message


def test_in_its_thread_the_bot_answers_the_asker_not_a_colleague_and_keeps_out_once_a_person_is_asked_for(
    bot: Bot, fake: FakeSlack
) -> None:
    async def steps(slack: Slack) -> None:
        await slack.event(mention())
        (first,) = await slack.answers(1)
        # A colleague chimes in: talking to the asker, not asking the bot.
        await slack.event(message("Same here, it worked after a restart", ts="1700000150.000100", user="U2"))
        await slack.event(message("And which protocol, UDP or TCP?", ts="1700000200.000300"))  # the asker: answered
        await slack.answers(2)
        click = copy.deepcopy(load_payload("block_actions_feedback"))
        click["actions"][0].update(action_id="ask_human", value=blocks_of(first, "actions")[0]["elements"][0]["value"])
        assert await slack.click(click) == 200
        await slack.until(lambda: [m for m in slack.fake.messages() if "subteam" in m.get("text", "")])
        # A person was asked for: the helper's reply and the asker's thanks are theirs to have.
        await slack.event(message("Try the TCP fallback on port 443", ts="1700000300.000100", user="UHELPER"))
        await slack.event(message("Thanks, that did it", ts="1700000400.000100"))
        await asyncio.sleep(1.5)
        # A mention is still a question to the bot.
        await slack.event(mention("<@UBOT> Which port does the TCP fallback use?", ts="1700000500.000100",
                                  thread_ts=MENTION_TS, user="UHELPER"))  # fmt: skip
        await slack.answers(3)
        await asyncio.sleep(1.0)

    scenario(bot, fake, steps)
    history = SqlThreadHistory(bot.knowledge.manifest.engine)
    asked = [t.text for t in history.recent(ThreadKey("slack", "C1", MENTION_TS), budget=10_000, count_tokens=len)
             if t.role == "user"]  # fmt: skip
    assert asked == ["What port does the VPN server use?", "And which protocol, UDP or TCP?",
                     "Which port does the TCP fallback use?"]  # fmt: skip
    assert len([m for m in fake.messages() if m.get("blocks")]) == 3


def test_dm_is_answered_in_the_dm(bot: Bot, fake: FakeSlack) -> None:
    async def steps(slack: Slack) -> list[dict[str, Any]]:
        await slack.event(load_payload("message_im"))
        return await slack.answers()

    (final,) = scenario(bot, fake, steps)
    assert final["channel"].startswith("D") and not final.get("thread_ts")  # a plain DM: answered in the DM


def test_a_retried_or_doubled_event_is_answered_once(bot: Bot, fake: FakeSlack) -> None:
    async def steps(slack: Slack) -> None:
        payload = mention()
        await slack.event(payload)
        await slack.event(payload, retry=1)  # Slack's retry: same event_id
        as_message = message(payload["event"]["text"], ts=MENTION_TS, thread_ts=None)  # the same message, again
        await slack.event(as_message)
        await slack.answers(1)
        await asyncio.sleep(1.5)

    scenario(bot, fake, steps)
    assert len(fake.messages()) == 1 and len(fake.calls_to("assistant.threads.setStatus")) == 1


def test_own_and_other_bots_edits_and_joins_are_ignored(bot: Bot, fake: FakeSlack) -> None:
    async def steps(slack: Slack) -> None:
        for name in ("message_bot", "message_changed", "channel_join"):
            assert await slack.event(load_payload(name)) == 200
        await asyncio.sleep(1.5)

    scenario(bot, fake, steps)
    assert fake.messages() == [] and {c.method for c in fake.calls} == {"auth.test"}


def test_a_bad_signature_is_rejected(bot: Bot, fake: FakeSlack) -> None:
    async def steps(slack: Slack) -> int:
        return await slack.event(mention(), secret="not-the-secret")

    assert scenario(bot, fake, steps) == 401
    assert fake.messages() == []


def test_rate_limited_post_is_retried_and_nothing_is_lost(bot: Bot, fake: FakeSlack) -> None:
    fake.rate_limit("assistant.threads.setStatus", times=1, retry_after=0)

    async def steps(slack: Slack) -> list[dict[str, Any]]:
        await slack.event(mention())
        return await slack.answers()

    (final,) = scenario(bot, fake, steps)
    assert len(fake.calls_to("assistant.threads.setStatus")) == 2 and "1194" in final["text"]


def test_feedback_is_stored_and_ask_a_human_mentions_the_group(bot: Bot, fake: FakeSlack) -> None:
    async def steps(slack: Slack) -> None:
        await slack.event(mention())
        (final,) = await slack.answers()
        answer_id = blocks_of(final, "actions")[0]["elements"][0]["value"]
        click = copy.deepcopy(load_payload("block_actions_feedback"))
        click["actions"][0].update(action_id="feedback_not_helpful", value=answer_id)
        assert await slack.click(click) == 200
        await slack.fake.wait_for_async("chat.postEphemeral")
        click["actions"][0].update(action_id="ask_human", value=answer_id)
        assert await slack.click(click) == 200
        await slack.until(lambda: [m for m in slack.fake.messages() if "subteam" in m.get("text", "")])
        assert bot.records.feedback(answer_id) == {click["user"]["id"]: "not_helpful"}
        assert bot.records.escalations(answer_id) == [click["user"]["id"]]  # for the report
        stored = bot.records.answer(answer_id)
        assert stored and stored["question"] == "What port does the VPN server use?"
        # what the report needs: the retrieval's best cosine, the question's vector, the collections asked
        assert stored["best_score"] is not None and vector_of(stored["embedding"]) is not None
        assert "handbook" in str(stored["collections"]) and stored["total_seconds"] > 0

    scenario(bot, fake, steps)
    (human,) = [m for m in fake.messages() if "subteam" in m.get("text", "")]
    assert "<!subteam^SHELP>" in human["text"] and human["thread_ts"] == MENTION_TS


def test_kb_is_refused_to_non_admins_and_works_for_admins(bot: Bot, fake: FakeSlack) -> None:
    command = load_payload("slash_kb")

    async def steps(slack: Slack) -> tuple[int, str]:
        assert (await slack.form({**command, "user_id": "U1"}))[0] == 200
        await slack.fake.wait_for_async("chat.postEphemeral")
        assert (await slack.form({**command, "user_id": "UADMIN"}))[0] == 200
        await slack.fake.wait_for_async("chat.postEphemeral", count=2)
        synced = await slack.form({**command, "user_id": "UADMIN", "text": "sync handbook"})
        await slack.fake.wait_for_async("chat.postMessage")
        return synced

    status, body = scenario(bot, fake, steps)
    refusal, report = (c.params["text"] for c in fake.calls_to("chat.postEphemeral"))
    assert "only knowledge base admins" in refusal
    assert "*handbook* (internal)" in report and "*community* (public)" in report
    assert status == 200 and "Syncing handbook" in body
    assert "0 added" in fake.calls_to("chat.postMessage")[0].params["text"]


def test_kb_sync_while_another_sync_runs_says_who_started_it(bot: Bot, fake: FakeSlack) -> None:
    command = {**load_payload("slash_kb"), "user_id": "UADMIN", "text": "sync handbook"}
    held = bot.knowledge.sync_locks.take("handbook", holder="discord:ada")

    async def steps(slack: Slack) -> None:
        await slack.form(command)
        await slack.fake.wait_for_async("chat.postMessage")

    scenario(bot, fake, steps)
    held.release()
    text = fake.calls_to("chat.postMessage")[0].params["text"]
    assert text.startswith("A sync of handbook is already running (started by discord:ada at ")


def test_a_public_channel_never_gets_internal_passages(bot: Bot, fake: FakeSlack) -> None:
    async def steps(slack: Slack) -> list[dict[str, Any]]:
        await slack.event(mention("<@UBOT> How do I connect to the VPN?", channel="C_PUBLIC"))
        await slack.event(mention("<@UBOT> Where is the community forum?", channel="C_PUBLIC", ts="1700000300.000100"))
        return await slack.answers(2)

    finals = scenario(bot, fake, steps)
    assert len(finals) == 2
    for final in finals:
        for context in blocks_of(final, "context"):
            assert "handbook" not in json.dumps(context) and "vpn.md" not in json.dumps(context)


def test_a_channel_shared_with_another_organisation_reads_public_pages_unless_mapped(bot: Bot, fake: FakeSlack) -> None:
    """Slack Connect (the event says is_ext_shared_channel): people of other organisations are in the channel, so
    with no `channels:` entry it reads public collections only; the same question in an internal channel is
    answered from the internal handbook."""

    def shared(text: str, ts: str) -> dict[str, Any]:
        return mention(text, channel="C_CONNECT", ts=ts) | {"is_ext_shared_channel": True}

    async def steps(slack: Slack) -> list[dict[str, Any]]:
        await slack.event(shared("<@UBOT> What port does the VPN server use?", "1700000400.000100"))
        await slack.event(shared("<@UBOT> Where is the community forum?", "1700000500.000100"))
        await slack.event(mention(ts="1700000600.000100"))  # C1: an internal channel of the organisation
        return await slack.answers(3)

    answers = {final["thread_ts"]: final for final in scenario(bot, fake, steps)}
    vpn, forum, internal = (answers[ts] for ts in ("1700000400.000100", "1700000500.000100", "1700000600.000100"))
    assert "1194" not in json.dumps(vpn) and "vpn.md" not in json.dumps(vpn) and "handbook" not in json.dumps(vpn)
    assert "forum.example.org" in forum["text"] and "handbook" not in json.dumps(forum)
    assert "1194" in internal["text"] and "vpn.md" in json.dumps(blocks_of(internal, "context"))


def test_a_thread_joined_late_is_seeded(bot: Bot, fake: FakeSlack) -> None:
    fake.set_replies("C1", "1699999000.000100", [
        {"ts": "1699999000.000100", "user": "U2", "text": "My VPN keeps dropping on the train."},
        {"ts": "1699999001.000100", "user": "U3", "text": "Same here since Monday."},
    ])  # fmt: skip

    async def steps(slack: Slack) -> None:
        await slack.event(mention("<@UBOT> any idea?", ts="1699999002.000100", thread_ts="1699999000.000100"))
        await slack.answers()

    scenario(bot, fake, steps)
    history = SqlThreadHistory(bot.knowledge.manifest.engine)
    turns = history.recent(ThreadKey("slack", "C1", "1699999000.000100"), budget=10_000, count_tokens=len)
    assert [t.text for t in turns][:3] == [
        "My VPN keeps dropping on the train.",
        "Same here since Monday.",
        "any idea?",
    ]


def test_a_bad_token_is_one_clear_error(bot: Bot, fake: FakeSlack) -> None:
    fake.invalid_tokens.add("xoxb-revoked")

    async def start() -> None:
        await adapter_for(bot, fake, "xoxb-revoked").identify()

    with pytest.raises(SlackStartError, match="invalid_auth"):
        asyncio.run(start())


def test_a_failing_model_gets_the_asker_an_apology(bot: Bot, fake: FakeSlack) -> None:
    broken = Bot(bot.knowledge, warn=print, prebuilt_generator=BrokenModel())

    async def steps(slack: Slack) -> list[dict[str, Any]]:
        await slack.event(mention())
        return await slack.answers()

    (final,) = scenario(broken, fake, steps)
    assert final["thread_ts"] == MENTION_TS and "something went wrong" in final["text"]
    assert blocks_of(final, "actions") == []  # nothing to rate


def test_an_extractive_answer_quotes_the_page_and_says_no_model_wrote_it(bot: Bot, fake: FakeSlack) -> None:
    quoting_bot = quoting(bot.knowledge)

    async def steps(slack: Slack) -> list[dict[str, Any]]:
        await slack.event(mention())
        return await slack.answers()

    (final,) = scenario(quoting_bot, fake, steps)
    assert final["thread_ts"] == MENTION_TS and "1194" in final["text"]
    sources = " ".join(e["text"] for e in blocks_of(final, "context")[0]["elements"])
    assert "vpn.md" in sources and "Answered by extractive (no language model)" in sources


class Watching:
    """The real model, noting which Slack calls the asker had already seen when it was first called."""

    def __init__(self, generator: Any, fake: FakeSlack) -> None:
        self._generator, self._fake = generator, fake
        self.seen_before: list[list[str]] = []
        self.messages_before: list[list[str]] = []  # the texts of the messages posted so far, as they stood
        self.name = generator.name

    def stream(self, messages: Any, *, max_new_tokens: int) -> Iterator[str]:
        self.seen_before.append([c.method for c in self._fake.calls])
        self.messages_before.append([str(m.get("text", "")) for m in self._fake.messages()])
        yield from self._generator.stream(messages, max_new_tokens=max_new_tokens)

    def count_tokens(self, text: str) -> int:
        return int(self._generator.count_tokens(text))


class Reading(Watching):
    """The real model with a prefill: its first words come once the thread shows `until` (or 10 s passed), as an
    LFM2 reading a long prompt on a CPU gives the adapter seconds; what the thread showed then is noted."""

    def __init__(self, generator: Any, fake: FakeSlack, *, until: str) -> None:
        super().__init__(generator, fake)
        self._until = until

    def stream(self, messages: Any, *, max_new_tokens: int) -> Iterator[str]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(self._until in str(m.get("text")) for m in self._fake.messages()):
            time.sleep(0.02)
        self.seen_before.append([c.method for c in self._fake.calls])
        self.messages_before.append([str(m.get("text", "")) for m in self._fake.messages()])
        yield from self._generator.stream(messages, max_new_tokens=max_new_tokens)


@pytest.mark.parametrize("mode", ["native", "placeholder"])
def test_the_asker_sees_a_sign_of_life_before_the_model_starts(bot: Bot, fake: FakeSlack, mode: str) -> None:
    """The status (or placeholder) goes out before the model is called; the bot's "received" (Queued(0))
    is never shown as a place in line."""
    if mode == "placeholder":
        fake.fail("assistant.threads.setStatus", "not_allowed")
    model = Watching(bot.generator, fake)
    watched = Bot(bot.knowledge, warn=print, prebuilt_generator=model)

    async def steps(slack: Slack) -> list[dict[str, Any]]:
        await slack.event(mention())
        return await slack.answers()

    (final,) = scenario(watched, fake, steps)
    assert "1194" in final["text"] and len(model.seen_before) == 1
    assert ("assistant.threads.setStatus" if mode == "native" else "chat.postMessage") in model.seen_before[0]
    shown = [str(c.params.get("text") or c.params.get("status") or "") for c in fake.calls]
    assert not any("in line" in text for text in shown)


@pytest.mark.parametrize("mode", ["native", "placeholder"])
def test_the_pages_own_words_show_while_the_model_reads_then_its_answer_takes_their_place(
    bot: Bot, fake: FakeSlack, mode: str
) -> None:
    """bot.preview on auto (the stand-in runs on a CPU): before the model is called, the thread already shows the
    VPN page's own sentence with the port, labelled as an excerpt, with the page's link; the model's answer then
    replaces that message (one reply in the thread, the model's), whether the app may stream natively or not."""
    if mode == "placeholder":
        fake.fail("assistant.threads.setStatus", "not_allowed")
    model = Reading(bot.generator, fake, until="Excerpt from the knowledge base")
    watched = Bot(bot.knowledge, warn=print, prebuilt_generator=model)

    async def steps(slack: Slack) -> list[dict[str, Any]]:
        await slack.event(mention())
        return await slack.answers()

    (final,) = scenario(watched, fake, steps)
    (excerpt,) = [text for text in model.messages_before[0] if "Excerpt from the knowledge base" in text]
    assert "1194" in excerpt and "vpn.md" in excerpt
    lines = excerpt.splitlines()  # the page's words as a Slack quote (a ">" escaped at a line's start is none)
    assert any(line.startswith("> ") for line in lines) and not any(line.startswith("&gt;") for line in lines)
    assert "1194" in final["text"] and "Excerpt from the knowledge base" not in final["text"]
    assert len(fake.calls_to("chat.postMessage")) == 1  # replaced in place, not a second message
    sources = " ".join(e["text"] for e in blocks_of(final, "context")[0]["elements"])
    assert "SmolLM2-135M-Instruct (offline stand-in)" in sources  # the model's answer, not the excerpt


def dead_claim(bot: Bot, text: str, *, ts: str, ago: timedelta = timedelta(seconds=5)) -> IncomingMessage:
    """What a process killed mid-answer leaves: a claim of the question, under a lease that has lapsed."""
    asked = IncomingMessage("slack", "T1", "C1", ts, "U1", text)
    then = datetime.now(UTC) - ago
    dead = InFlight(bot.knowledge.manifest.engine, lease=timedelta(seconds=1), holder="gone:ns:1:dead",
                    clock=lambda: then)  # fmt: skip
    assert dead.claim("slack", f"C1:{ts}", message=asked, reply={"channel": "C1", "thread_ts": ts})
    return asked


def unfinished(bot: Bot) -> list[str]:
    with bot.knowledge.manifest.engine.connect() as db:
        return [r.event_key for r in db.execute(select(claims_table).where(claims_table.c.state != "answered"))]


@pytest.mark.parametrize("noted", [True, False])
def test_a_question_whose_process_died_is_answered_once_in_place_of_its_placeholder(
    bot: Bot, fake: FakeSlack, noted: bool
) -> None:
    """noted: the dead process noted its placeholder's ts; not noted: it died between posting it and noting it,
    and the thread shows it (the bot's newest unfinished message after the question)."""
    dead_claim(bot, "What port does the VPN server use?", ts=MENTION_TS)

    async def steps() -> tuple[int, ...]:
        adapter = adapter_for(bot, fake, TOKEN)
        await adapter.identify()
        client = AsyncWebClient(token=TOKEN, base_url=fake.url)  # the dead process's placeholder
        posted = await client.chat_postMessage(channel="C1", thread_ts=MENTION_TS, text="is looking…")
        if noted:
            InFlight(bot.knowledge.manifest.engine).placed("slack", f"C1:{MENTION_TS}", posted["ts"])
        # Two rounds at once (two processes would be two; a race all the same): one takes it over.
        return await asyncio.gather(adapter.recovery().once(), adapter.recovery().once())

    assert sorted(asyncio.run(steps())) == [0, 1]
    (final,) = fake.messages()  # the placeholder, replaced: no second message in the thread
    assert final["thread_ts"] == MENTION_TS and final["text"].startswith("Sorry for the wait, I restarted:")
    assert "1194" in final["text"] and "vpn.md" in json.dumps(blocks_of(final, "context"))
    assert unfinished(bot) == []
    assert asyncio.run(adapter_for(bot, fake, TOKEN).recovery().once()) == 0  # answered: never again


def test_an_answer_written_before_the_process_died_is_posted_and_an_old_question_gets_an_apology(
    bot: Bot, fake: FakeSlack
) -> None:
    broken = Bot(bot.knowledge, warn=print, prebuilt_generator=BrokenModel())  # no model call may be needed
    asked = dead_claim(broken, "What port does the VPN server use?", ts="1700000700.000100")
    broken.records.record_answer(asked, Answer("The VPN server listens on port 1194.", (), "en", "answered", "m"))
    dead_claim(broken, "Welchen Port verwendet der VPN-Server?", ts="1700000800.000100", ago=timedelta(hours=2))
    assert asyncio.run(adapter_for(broken, fake, TOKEN).recovery().once()) == 2
    old, written = sorted(fake.messages(), key=lambda m: m["thread_ts"], reverse=True)
    assert written["text"] == "Sorry for the wait, I restarted:\n\nThe VPN server listens on port 1194."
    assert old["thread_ts"] == "1700000800.000100" and "zu lange gewartet" in old["text"]  # German, no answer
    assert unfinished(broken) == []


def test_socket_mode_the_default_answers_a_mention_and_acknowledges_its_envelope(
    bot: Bot, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:  # fmt: skip
    """`supportbot run slack` as deployed by default: apps.connections.open with the app-level token, the real
    slack-bolt Socket Mode client on a WebSocket served on loopback, the event acknowledged by its envelope id, the
    answer posted in the mention's thread through the Web API; stopping it closes the connection."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test-token")
    assert bot.knowledge.settings.slack is not None
    config = bot.knowledge.settings.slack.model_copy(update={"api_base_url": fake.url, "mode": "socket"})
    acknowledged: list[dict[str, Any]] = []
    closed = asyncio.Event()

    async def link(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})
        await socket.send_json({"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False,
                                "retry_attempt": 0, "retry_reason": "", "payload": mention()})  # fmt: skip
        async for received in socket:
            if received.type == WSMsgType.TEXT:
                acknowledged.append(json.loads(received.data))
        closed.set()
        return socket

    async def run() -> list[dict[str, Any]]:
        server = web.Application()
        server.router.add_get("/link", link)
        async with serving(server) as base:
            fake.socket_url = base.replace("http://", "ws://") + "/link"
            running = asyncio.create_task(run_slack(BotDesk(bot), config))
            try:
                found = await Slack(base, fake, None).answers()  # type: ignore[arg-type]
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
            await asyncio.wait_for(closed.wait(), 30)  # the bot said goodbye: the server saw the socket close
            return found

    (final,) = asyncio.run(run())
    assert [call.token for call in fake.calls_to("apps.connections.open")] == ["xapp-test-token"]
    assert {"envelope_id": "env-1"} in acknowledged
    assert final["thread_ts"] == MENTION_TS and final["channel"] == "C1" and "1194" in final["text"]
