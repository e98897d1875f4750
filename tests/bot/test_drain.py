"""Stopping without dropping anyone, at the conversation manager: new questions turned away politely, those in
flight interrupted (even while the model is silent) with a message in the asker's language."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.drain import Drain
from bot.engines.openai import OpenAIGenerator
from bot.language import say
from bot.messages import Answer, IncomingMessage
from bot.operations.metrics import PrometheusMetrics
from bot.wiring import Bot, Knowledge
from tests.conftest import synced_example_config
from tests.fixtures.held_model import HeldModel


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory, minilm_path: Path, embedder) -> Path:  # type: ignore[no-untyped-def]
    return synced_example_config(tmp_path_factory.mktemp("drain"), minilm_path=minilm_path, embedder=embedder,
                                 extra_yaml="")  # fmt: skip


@pytest.fixture
def held() -> Iterator[HeldModel]:
    with HeldModel() as server:
        yield server


def bot_over(synced: Path, tmp_path: Path, embedder, model: HeldModel, metrics=None) -> Bot:  # type: ignore[no-untyped-def]
    """A bot over a copy of the synced store, answering through the OpenAI backend from `model`."""
    settings = load_settings(synced)
    shutil.copytree(settings.data_dir, tmp_path / "data")
    generator = settings.generator.model_copy(update={"backend": "openai", "base_url": model.url, "model": "held"})
    settings = settings.model_copy(update={"data_dir": tmp_path / "data", "generator": generator})
    knowledge = Knowledge(settings, prebuilt_embedder=embedder, observer=metrics or PrometheusMetrics())
    return Bot(knowledge, warn=print, prebuilt_generator=OpenAIGenerator(base_url=model.url, model="held"))


def question(text: str, thread: str = "t1") -> IncomingMessage:
    return IncomingMessage("slack", "T1", "C1", thread, "U1", text)


def test_a_question_in_flight_is_interrupted_while_the_model_is_silent(  # type: ignore[no-untyped-def]
    synced, tmp_path, embedder, held
) -> None:
    bot = bot_over(synced, tmp_path, embedder, held)
    items: list[object] = []
    stream = bot.conversations.stream(question("Wie verbinde ich mich mit dem VPN?"))
    reader = threading.Thread(target=lambda: items.extend(stream))
    reader.start()
    assert held.streaming.wait(60)  # the model wrote half a sentence and is now silent (held)
    bot.drain.interrupt()
    reader.join(60)
    assert not reader.is_alive()
    # Half a sentence is never shown: whole sentences only, each checked against the passages first.
    assert not [item for item in items if isinstance(item, str)]
    answer = items[-1]
    assert isinstance(answer, Answer)
    assert answer.status == "failed" and answer.language == "de" and answer.text == say("interrupted", "de")
    assert answer.sources == () and answer.id is not None  # recorded like any answer


def test_once_closing_a_new_question_is_turned_away_in_its_language_without_the_model(  # type: ignore[no-untyped-def]
    synced, tmp_path, embedder, held
) -> None:
    bot = bot_over(synced, tmp_path, embedder, held)
    bot.drain.close()
    answer = bot.conversations.answer(question("Comment puis-je me connecter au VPN depuis la maison ?"))
    assert answer.status == "failed" and answer.text == say("restarting", "fr")
    assert held.requests == []


def test_questions_in_flight_are_counted_until_the_adapter_is_done() -> None:
    drain = Drain()
    inside, leave = threading.Event(), threading.Event()

    def adapter() -> None:
        with drain.question():
            inside.set()
            leave.wait(10)

    worker = threading.Thread(target=adapter)
    worker.start()
    inside.wait(10)
    assert drain.in_flight() == 1 and not drain.wait_idle(0.05)
    leave.set()
    assert drain.wait_idle(10) and drain.in_flight() == 0
    worker.join()


def test_interrupting_raises_only_after_interrupt() -> None:
    drain = Drain()
    drain.check()
    drain.close()
    drain.check()  # closing turns new questions away; those in flight go on
    drain.interrupt()
    with pytest.raises(Exception, match="stopping"):
        drain.check()


def test_hurry_cuts_short_only_a_wait_that_asks_for_it() -> None:
    drain = Drain()
    with drain.question():
        drain.hurry()
        assert not drain.wait_idle(0.05)  # a plain wait still waits out its time...
        results: list[bool] = []
        waited = threading.Thread(target=lambda: results.append(drain.wait_idle(600, or_hurried=True)))
        waited.start()
        waited.join(timeout=60)  # ...one that asks for it returns at once, though a question is still in flight
        assert results == [False]
    assert drain.wait_idle(1, or_hurried=True)
