"""Metrics (and the log lines about questions) come from the one place every platform's questions pass (the
conversation manager), into a registry the process owns, and read back in Prometheus' text format as a scraper
would."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.desk import BotDesk
from bot.messages import IncomingMessage
from bot.operations.metrics import PrometheusMetrics
from tests.bot.test_drain import bot_over
from tests.conftest import synced_example_config
from tests.fixtures.held_model import HeldModel


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory, minilm_path: Path, embedder) -> Path:  # type: ignore[no-untyped-def]
    return synced_example_config(tmp_path_factory.mktemp("metrics"), minilm_path=minilm_path, embedder=embedder,
                                 extra_yaml="")  # fmt: skip


def samples(metrics: PrometheusMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, keyed by name and sorted labels, parsed by prometheus-client's parser."""
    text = metrics.render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_questions_latency_queue_model_and_syncs_are_counted(synced, tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    metrics = PrometheusMetrics()
    model = HeldModel(hold=False).start()
    bot = bot_over(synced, tmp_path, embedder, model, metrics)
    ask = bot.conversations.answer
    try:
        vpn_port = IncomingMessage("slack", "T1", "C1", "a", "U1", "Which port does the VPN server use?")
        answered = ask(vpn_port)
        assert answered.status == "answered" and answered.id  # "The VPN server listens on port 1194."
        off_topic = IncomingMessage("discord", "G1", "42", "b", "7", "Who won the 1998 football world cup?")
        assert ask(off_topic).status == "abstained"
    finally:
        model.stop()
    assert ask(IncomingMessage("slack", "T1", "C1", "c", "U1", "What port does the VPN use?")).status == "failed"
    asyncio.run(BotDesk(bot).kb_sync(["handbook"], bold="*", holder="test"))
    desk = BotDesk(bot)
    for user, rating in (("U1", "helpful"), ("U2", "helpful"), ("U3", "not_helpful")):
        assert asyncio.run(desk.feedback(answered.id, user=user, rating=rating))  # type: ignore[arg-type]
    assert not asyncio.run(desk.feedback("0" * 32, user="U1", rating="helpful"))  # unknown: not counted
    assert asyncio.run(desk.escalate(answered.id, user="U3"))

    found = samples(metrics)
    assert found[("supportbot_questions_total", (("platform", "slack"), ("status", "answered")))] == 1
    assert found[("supportbot_questions_total", (("platform", "discord"), ("status", "abstained")))] == 1
    assert found[("supportbot_questions_total", (("platform", "slack"), ("status", "failed")))] == 1
    assert found[("supportbot_answer_seconds_count", (("platform", "slack"),))] == 2
    assert found[("supportbot_first_token_seconds_count", (("platform", "slack"),))] == 1  # only one got a token
    assert found[("supportbot_queue_depth", ())] == 0
    assert found[("supportbot_answer_sentences_total", (("supported", "yes"),))] == 1  # "… listens on port 1194."
    assert found[("supportbot_answer_sentences_total", (("supported", "invented"),))] == 0
    assert found[("supportbot_model", (("supportbot_model", "loaded"),))] == 1
    assert found[("supportbot_sync_runs_total", (("collection", "handbook"),))] == 1
    assert ("supportbot_sync_failures_total", (("collection", "handbook"),)) not in found
    assert found[("supportbot_feedback_total", (("rating", "helpful"),))] == 2
    assert found[("supportbot_feedback_total", (("rating", "not_helpful"),))] == 1
    assert found[("supportbot_escalations_total", ())] == 1


def test_two_processes_worth_of_metrics_never_mix() -> None:
    """No default global registry: each wiring owns one (two bots in one test process count apart)."""
    first, second = PrometheusMetrics(), PrometheusMetrics()
    first.synced("handbook", ok=False)
    assert samples(first)[("supportbot_sync_failures_total", (("collection", "handbook"),))] == 1
    assert ("supportbot_sync_runs_total", (("collection", "handbook"),)) not in samples(second)


def test_log_lines_about_a_question_carry_its_id_and_its_words_only_at_debug(  # type: ignore[no-untyped-def]
    synced, tmp_path, embedder, caplog: pytest.LogCaptureFixture
) -> None:
    with HeldModel(hold=False) as model:
        bot = bot_over(synced, tmp_path, embedder, model)
        words = "How do I connect to the VPN from home?"
        with caplog.at_level(logging.INFO, logger="bot"):
            asked = IncomingMessage("slack", "T1", "C1", "a", "U1", words)
            bot.conversations.answer(asked)
        about = [r for r in caplog.records if r.name == "bot.conversations"]
        assert len(about) >= 2 and all(getattr(r, "question_id", None) == asked.id for r in about)
        assert words not in caplog.text
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="bot"):
            bot.conversations.answer(IncomingMessage("slack", "T1", "C1", "b", "U1", words))
        assert words in caplog.text
