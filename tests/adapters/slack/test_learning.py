"""Answers learned from people, on Slack, end to end: the real slack-bolt app in HTTP mode, the fake Web API, the
real store and the extractive answerer. A question the bot cannot answer, a colleague's reply in its thread, a
helper's ✅, the approval, `/kb sync learned`, and the same question asked in another thread is answered from the
learned page, citing it; the first thread is told "Saved; I will answer this from now on"."""

from __future__ import annotations

import asyncio
import copy
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.desk import BotDesk
from bot.learning import Origin, Reply, drafts_for
from bot.messages import Answer, IncomingMessage
from bot.wiring import Bot, Knowledge
from tests.adapters.slack.fake_slack import FakeSlack, load_payload
from tests.adapters.slack.test_app import MENTION_TS, TOKEN, Slack, adapter_for, blocks_of, mention, scenario
from tests.conftest import fresh_bot, quoting, synced_example_config
from tests.fixtures.report_records import fill

QUESTION = "Can I bring my dog to the office?"
REPLY_TS = f"{int(time.time()) + 3600}.000400"  # written after the bot's answer, as a colleague's reply is
REPLY = "Yes: dogs are welcome on Fridays, on a lead. See <https://intranet.example/pets|the pets policy>."
AGAIN_TS = "1700000900.000900"


@pytest.fixture
def bot(tmp_path: Path, minilm_path: Path, embedder) -> Bot:  # type: ignore[no-untyped-def]
    config = synced_example_config(
        tmp_path / "kb", minilm_path=minilm_path, embedder=embedder, learned=True,
        extra_yaml="slack: {mode: http, admins: [UADMIN], escalation_group: SHELP}\n",
    )  # fmt: skip
    bot = fresh_bot(config, data_dir=tmp_path / "data", embedder=embedder, generator=None)
    knowledge = bot.knowledge
    return quoting(knowledge)


def reaction(user: str, *, ts: str = REPLY_TS, name: str = "white_check_mark") -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("reaction_added"))
    payload["event"].update(user=user, reaction=name, item={"type": "message", "channel": "C1", "ts": ts})
    payload["event_id"] = f"Ev{user}{name}{ts}"
    return payload


def thread_with_reply(fake: FakeSlack) -> None:
    asked = {"type": "message", "user": "U1", "text": f"<@UBOT> {QUESTION}", "ts": MENTION_TS}
    answered = {"type": "message", "user": "UDANA", "text": REPLY, "ts": REPLY_TS, "thread_ts": MENTION_TS,
                "parent_user_id": "U1"}  # fmt: skip
    fake.set_replies("C1", MENTION_TS, [asked | {"thread_ts": MENTION_TS}, answered])
    fake.set_user("UDANA", real_name="Dana Scully", profile={"display_name": "Dana"})
    fake.set_usergroup("SHELP", ["UHELPER"])


def test_a_helpers_check_mark_teaches_the_bot_after_approval_and_sync(bot: Bot, fake: FakeSlack) -> None:
    thread_with_reply(fake)
    drafts = drafts_for(bot.knowledge.settings)

    async def steps(slack: Slack) -> Any:
        await slack.event(mention(f"<@UBOT> {QUESTION}"))
        (first,) = await slack.answers()
        assert "couldn't find" in first["text"]  # the bot abstains: this is what a colleague's reply can teach

        await slack.event(reaction("U1"))  # the asker's ✅ (not an admin, not a helper) teaches nothing
        await slack.event(reaction("UHELPER", name="thumbsup"))  # nor does another emoji
        await slack.fake.wait_for_async("usergroups.users.list")
        await slack.event(reaction("UHELPER"))
        (told,) = await slack.fake.wait_for_async("chat.postEphemeral")
        assert told.params["user"] == "UHELPER" and told.params["thread_ts"] == MENTION_TS
        assert "once an admin approves it" in told.params["text"]
        await slack.event(reaction("UADMIN"))  # a second mark of the same reply: still one draft
        await slack.fake.wait_for_async("chat.getPermalink", count=2)
        await slack.until(lambda: [c for c in slack.fake.calls if c.method == "users.info"], count=4)

        (draft,) = drafts.waiting()
        assert (draft.question, draft.author, draft.marked_by) == (QUESTION, "Dana", "uhelper")
        assert "[the pets policy](https://intranet.example/pets)" in draft.reply  # Slack's link, as Markdown
        assert draft.link == f"https://acme.slack.com/archives/C1/p{REPLY_TS.replace('.', '')}"
        notices = slack.adapter.learning.notices()
        assert await notices.once() == 0  # nothing approved yet

        drafts.approve(draft.id)
        assert await notices.once() == 0  # approved, not yet indexed: "I will answer this" would not hold yet
        sync = {**load_payload("slash_kb"), "user_id": "UADMIN", "text": "sync learned"}
        await slack.form(sync)
        await slack.until(lambda: [m for m in slack.fake.messages() if "1 added" in m.get("text", "")])
        assert await notices.once() == 1
        assert await notices.once() == 0  # told once

        await slack.event(mention(f"<@UBOT> {QUESTION}", ts=AGAIN_TS, channel="C2"))
        return (await slack.answers(2))[-1]

    again = scenario(bot, fake, steps)
    assert again["thread_ts"] == AGAIN_TS and "Yes: dogs are welcome on Fridays, on a lead." in again["text"]
    sources = " ".join(e["text"] for e in blocks_of(again, "context")[0]["elements"])
    assert "can-i-bring-my-dog-to-the-office-" in sources
    (saved,) = [m for m in fake.messages() if m.get("text") == "Saved; I will answer this from now on."]
    assert saved["channel"] == "C1" and saved["thread_ts"] == MENTION_TS
    assert drafts.waiting() == []  # the admin's second ✅ wrote no second draft
    (learned,) = Path(bot.knowledge.settings.collection("learned").paths[0]).glob("*.md")
    page = learned.read_text()
    assert page.startswith("---\ntitle: Can I bring my dog to the office?\n") and "\nauthor: Dana\n" in page


def test_the_weekly_digest_is_posted_once_by_a_fleet_of_two(tmp_path: Path, minilm_path: Path, embedder,  # type: ignore[no-untyped-def]
                                                             fake: FakeSlack) -> None:  # fmt: skip
    now = datetime.now(ZoneInfo("Europe/Paris"))
    due = now - timedelta(minutes=2)  # the schedule's last run: a process that starts now still posts it
    config = synced_example_config(
        tmp_path / "kb", minilm_path=minilm_path, embedder=embedder,
        extra_yaml="slack: {mode: http, admins: [UADMIN]}\n"
        f"report: {{digest_channel: [slack:CDIGEST, 'discord:1234'], digest_cron: '{due.minute} {due.hour} * * *',"
        " timezone: Europe/Paris, admin_url: 'https://bot.example/admin'}\n",
    )  # fmt: skip
    one = fresh_bot(config, data_dir=tmp_path / "data", embedder=embedder, generator=None)
    two = Bot(Knowledge(one.knowledge.settings, prebuilt_embedder=embedder), warn=print)  # the same database
    filled = fill(one.knowledge.manifest.engine, embedder.embed_queries, model=one.knowledge.settings.embedding.model,
                  now=due - timedelta(minutes=1), languages=("en",))  # fmt: skip

    async def rounds() -> list[int]:
        fleet = [adapter_for(bot, fake, TOKEN).learning.notices() for bot in (one, two)]
        return [await notices.once() for notices in fleet] + [await fleet[0].once(), await fleet[0].once()]

    fake.fail("chat.postMessage", "fatal_error", times=1)  # Slack refuses the first post: the next round posts it
    # One process of the fleet posts it, once; the other finds it claimed.
    assert asyncio.run(rounds()) == [0, 0, 1, 0]
    refused, posted = fake.calls_to("chat.postMessage")
    text = posted.params["text"]
    assert refused.params["text"] == text
    assert posted.params["channel"] == "CDIGEST" and "thread_ts" not in posted.params
    abstained = sum(status == "abstained" for status in filled.status.values())
    assert f"{len(filled.status)} questions · " in text and f" · {abstained} not found · " in text
    assert "*Top gaps*" in text and "1. “" in text and "The full report: https://bot.example/admin" in text
    assert text.count("\n1. ") == 1 and "\n6. " not in text  # the top five gaps at most


def test_the_save_shortcut_saves_for_helpers_and_says_why_not_to_others(bot: Bot, fake: FakeSlack) -> None:
    thread_with_reply(fake)
    shortcut = load_payload("message_action_save")
    shortcut["message"] |= {"ts": REPLY_TS, "text": REPLY}

    async def steps(slack: Slack) -> list[str]:
        await slack.event(mention(f"<@UBOT> {QUESTION}"))
        await slack.answers()
        marks = [("U1", {}), ("UHELPER", {"thread_ts": None}), ("UHELPER", {}), ("UADMIN", {})]
        for count, (user, message) in enumerate(marks, start=1):
            click = copy.deepcopy(shortcut)
            click["user"]["id"] = user
            click["message"] |= message
            assert await slack.click(click) == 200
            await slack.fake.wait_for_async("chat.postEphemeral", count=count)  # one at a time: in this order
        return [call.params["text"] for call in slack.fake.calls_to("chat.postEphemeral")]

    told = scenario(bot, fake, steps)
    assert told[0] == "Only the knowledge base's admins and helpers can save answers to it."
    assert told[1].startswith("Save a reply in a thread where I could not answer")  # a message outside a thread
    assert "once an admin approves it" in told[2]
    assert told[3] == "This reply is saved already."
    (draft,) = drafts_for(bot.knowledge.settings).waiting()
    assert draft.question == QUESTION and "Fridays" in draft.reply


def test_a_reply_that_could_not_be_written_is_saved_at_the_next_mark(bot: Bot, tmp_path: Path) -> None:
    asked = IncomingMessage("slack", "T1", "C1", MENTION_TS, "U1", QUESTION)
    bot.records.record_answer(asked, Answer("I couldn't find this in the knowledge base.", (), "en", "abstained", None))
    reply = Reply(Origin("slack", "C1", MENTION_TS), key=f"C1:{REPLY_TS}", text="On Fridays.", author="Dana",
                  marked_by="Hana", link=None)  # fmt: skip
    blocked = bot.knowledge.settings.data_dir / "drafts"
    blocked.write_text("a file where the drafts folder should be")
    desk = BotDesk(bot)
    with pytest.raises(OSError):
        asyncio.run(desk.save_reply(reply))
    blocked.unlink()
    saved = asyncio.run(desk.save_reply(reply))  # the failed mark did not keep the reply's claim
    assert saved.outcome == "saved" and saved.draft is not None and saved.draft.question == QUESTION
    assert asyncio.run(desk.save_reply(reply)).outcome == "already_saved"
