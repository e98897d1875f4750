"""`supportbot run slack` as a real process behind the fake Slack, answering through a held model server:
SIGTERM turns new questions away, lets those in flight finish within server.drain_seconds or tells their askers
they were interrupted, and exits 0; health on server.port; JSON log lines that never hold a question's words."""

from __future__ import annotations

import contextlib
import copy
import json
import re
import shutil
import signal
import sqlite3
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.language import say
from tests.adapters.slack.fake_slack import FakeSlack, load_payload, signed_request
from tests.conftest import REPO, synced_example_config
from tests.fixtures.cli import started
from tests.fixtures.held_model import HeldModel
from tests.fixtures.ports import free_port, listening

SECRET, TOKEN = "serve-signing-secret", "xoxb-serve-test-token-123456"
VPN = "How do I connect to the VPN from home?"
# What the held model writes: words of the VPN page (its title), so the support check lets the answer through.
GROUNDED = {"first": "Connect to the VPN with ", "rest": "Acme Connect."}
ADMIN_TOKEN = "admin-token-for-the-serve-tests"
WAIT = 300  # seconds; a generous bound for start-up on a shared machine, never a speed claim

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory, minilm_path: Path, embedder) -> Path:  # type: ignore[no-untyped-def]
    return synced_example_config(tmp_path_factory.mktemp("serve"), minilm_path=minilm_path, embedder=embedder,
                                 extra_yaml="")  # fmt: skip


class Running:
    """One `supportbot run slack` process (this checkout's code, forked from the tests' zygote with its imports
    done), its ports and its stderr."""

    def __init__(self, synced: Path, tmp_path: Path, *, slack: FakeSlack, model: HeldModel, drain: float,
                 data: Path | None = None, bot: dict[str, Any] | None = None,
                 admin_token: str | None = None):  # fmt: skip
        """`data`: another process's data folder (its database), shared as a fleet or a restart would."""
        values = yaml.safe_load(synced.read_text())
        tmp_path.mkdir(parents=True, exist_ok=True)
        if data is None:
            data = tmp_path / "data"
            shutil.copytree(values["data_dir"], data)
        self.data = data
        self.slack_port, self.ops_port = free_port(), free_port()
        values |= {
            "data_dir": str(data),
            "bot": {**values.get("bot", {}), **(bot or {})},
            "generator": {"backend": "openai", "base_url": model.url, "model": "held", "max_new_tokens": 40},
            "slack": {"mode": "http", "port": self.slack_port, "api_base_url": slack.url},
            "server": {"port": self.ops_port, "host": "127.0.0.1", "drain_seconds": drain},
        }
        config = tmp_path / "supportbot.yaml"
        config.write_text(yaml.safe_dump(values))
        self.stderr = tmp_path / "stderr.log"
        self.stderr.touch()
        env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET}
        if admin_token:
            env["SUPPORTBOT_ADMIN_TOKEN"] = admin_token
        self.process = started("run", "slack", "--config", str(config), "--log-format", "json", env=env,
                               stderr=self.stderr, cwd=REPO)  # fmt: skip

    def healthz(self) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ops_port}/healthz", timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def wait_ready(self) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            try:
                status, body = self.healthz()
            except OSError:
                return None
            return body if status == 200 else None

        body = until(ready, self, "the process to answer /healthz with 200")
        assert listening(self.slack_port)  # ready means Slack's events port takes questions, not models loaded
        return body

    def ask(self, text: str, *, ts: str) -> None:
        payload = copy.deepcopy(load_payload("app_mention"))
        payload["event"].update(text=f"<@UBOT> {text}", ts=ts, event_ts=ts)
        payload["event_id"] = f"Ev{ts}"
        body = json.dumps(payload)
        request = urllib.request.Request(f"http://127.0.0.1:{self.slack_port}/slack/events", data=body.encode(),
                                         headers=signed_request(body, secret=SECRET))  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200

    def log_lines(self) -> list[dict[str, Any]]:
        text = self.stderr.read_text()
        assert TOKEN not in text and SECRET not in text and VPN not in text  # words only at debug; secrets never
        assert ADMIN_TOKEN not in text
        return [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is one JSON object

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def until(found: Callable[[], Any], running: Running, what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if (result := found()) is not None:
            return result
        if running.process.poll() is not None:
            raise AssertionError(f"exited with {running.process.returncode} before {what}:\n"
                                 f"{running.stderr.read_text()[-3000:]}")  # fmt: skip
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {WAIT} s:\n{running.stderr.read_text()[-3000:]}")


def answers_logged(data: Path) -> int:
    with contextlib.closing(sqlite3.connect(data / "supportbot.db")) as db:
        return int(db.execute("SELECT count(*) FROM answers").fetchone()[0])


def until_stopping(running: Running) -> None:
    until(lambda: (lambda s: s if s[0] == 503 else None)(running.healthz()), running, "a 503 while stopping")


def ask_and_hold(running: Running, model: HeldModel, *, ts: str) -> None:
    """The VPN question asked, and in the model's hands until the test releases it (or never)."""
    running.ask(VPN, ts=ts)
    assert model.streaming.wait(WAIT), "the question never reached the model"


def posted(slack: FakeSlack, words: str) -> Callable[[], dict[str, Any] | None]:
    return lambda: next((m for m in slack.messages() if words in (m.get("text") or "")), None)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_turns_new_questions_away_and_finishes_the_one_in_flight(  # type: ignore[no-untyped-def]
    synced, tmp_path, slack, number
) -> None:
    """SIGTERM as docker stop sends it, SIGINT as Ctrl-C does: both drain."""
    with HeldModel(**GROUNDED) as model:
        running = Running(synced, tmp_path, slack=slack, model=model, drain=120)
        try:
            health = running.wait_ready()
            assert set(health["checks"]) == {"process", "store", "database", "model"}
            ask_and_hold(running, model, ts="1700000001.000100")
            running.process.send_signal(number)
            until_stopping(running)
            running.ask("What is the expense limit?", ts="1700000002.000100")
            turned_away = until(posted(slack, say("restarting", "en")), running, "the restarting notice")
            assert turned_away["thread_ts"] == "1700000002.000100"
            model.release()  # the question in flight may now finish
            assert running.process.wait(WAIT) == 0
        finally:
            running.stop()
    answer = posted(slack, model.first + model.rest)()
    assert answer is not None and answer["thread_ts"] == "1700000001.000100"
    lines = running.log_lines()
    about = [line for line in lines if "question_id" in line]
    assert len({line["question_id"] for line in about}) == 2  # both questions, each line with its own id
    assert any(number.name in line["message"] for line in lines)
    assert any("embedding model runs on 1 CPU thread" in line["message"] for line in lines)  # the model has the rest


def test_sigterm_tells_the_asker_whose_question_could_not_finish_and_exits_0(  # type: ignore[no-untyped-def]
    synced, tmp_path, slack
) -> None:
    with HeldModel(**GROUNDED) as model:  # never released: the answer cannot finish
        running = Running(synced, tmp_path, slack=slack, model=model, drain=0.5)
        try:
            running.wait_ready()
            ask_and_hold(running, model, ts="1700000003.000100")
            running.process.send_signal(signal.SIGTERM)
            assert running.process.wait(WAIT) == 0
        finally:
            running.stop()
    interrupted = posted(slack, say("interrupted", "en"))()
    assert interrupted is not None and interrupted["thread_ts"] == "1700000003.000100"
    assert any(line["level"] == "warning" and "interrupted" in line["message"] for line in running.log_lines())


def test_a_second_ctrl_c_stops_without_waiting_and_still_tells_the_asker(  # type: ignore[no-untyped-def]
    synced, tmp_path, slack
) -> None:
    with HeldModel(**GROUNDED) as model:  # never released: only the second Ctrl-C can end the drain before its 120 s
        running = Running(synced, tmp_path, slack=slack, model=model, drain=120)
        try:
            running.wait_ready()
            ask_and_hold(running, model, ts="1700000004.000100")
            running.process.send_signal(signal.SIGINT)
            until_stopping(running)
            running.process.send_signal(signal.SIGINT)
            assert running.process.wait(WAIT) == 0
        finally:
            running.stop()
    interrupted = posted(slack, say("interrupted", "en"))()
    assert interrupted is not None and interrupted["thread_ts"] == "1700000004.000100"
    assert any("SIGINT again" in line["message"] for line in running.log_lines())


def test_a_collection_never_synced_is_said_at_start_up_and_in_healthz(  # type: ignore[no-untyped-def]
    synced: Path, tmp_path: Path, slack: FakeSlack
) -> None:
    """A configured collection whose first sync never completed (killed, or never run): the process still starts
    and answers from the others, but says so in its log at start-up and in /healthz."""
    config = yaml.safe_load(synced.read_text())
    (tmp_path / "wiki").mkdir()
    config["collections"].append({"name": "wiki", "paths": [str(tmp_path / "wiki")]})
    with_wiki = tmp_path / "with-wiki.yaml"
    with_wiki.write_text(yaml.safe_dump(config))
    with HeldModel(**GROUNDED) as model:
        running = Running(with_wiki, tmp_path, slack=slack, model=model, drain=5)
        try:
            body = running.wait_ready()
        finally:
            running.stop()
    assert "never completed a sync: wiki" in body["checks"]["store"]["detail"] and body["checks"]["store"]["ok"]
    said = [line["message"] for line in running.log_lines() if line.get("level") == "warning"]
    assert any(m.startswith("Collection wiki has never completed a sync") for m in said), said


@pytest.mark.parametrize("late", [False, True])
def test_a_question_whose_process_was_killed_mid_answer_is_answered_once_after_a_restart(  # type: ignore[no-untyped-def]
    synced: Path, tmp_path: Path, slack: FakeSlack, late: bool
) -> None:
    """SIGKILL while the model writes (an OOM kill, a node lost): the question stays claimed, with its placeholder;
    the process started again answers it in place of the placeholder, once, or (asked too long ago) apologises."""
    ts = "1700000005.000100"
    with HeldModel(**GROUNDED) as held:  # never released: the first process dies with the answer unwritten
        first = Running(synced, tmp_path / "first", slack=slack, model=held, drain=5)
        try:
            first.wait_ready()
            ask_and_hold(first, held, ts=ts)
            until(lambda: [m for m in slack.messages() if m.get("thread_ts") == ts] or None, first, "a placeholder")
            first.process.send_signal(signal.SIGKILL)
            first.process.wait(WAIT)
        finally:
            first.stop()
    assert not [m for m in slack.messages() if m.get("blocks")]  # no answer: the asker sees a placeholder only
    recover = {"recover_after_seconds": 2} | ({"recover_max_age_minutes": 0.001} if late else {})
    with HeldModel(**GROUNDED, hold=False) as model:
        second = Running(synced, tmp_path / "second", slack=slack, model=model, drain=5, data=first.data, bot=recover)
        try:
            second.wait_ready()
            final = until(lambda: next((m for m in slack.messages() if m.get("blocks")), None), second, "the answer")
            time.sleep(3)  # several more rounds of recovery: none may answer again
        finally:
            second.stop()
    in_thread = [m for m in slack.messages() if m.get("thread_ts") == ts]
    assert in_thread == [final]  # the placeholder itself, replaced: one message in the thread
    if late:
        assert final["text"] == say("too_late", "en") and not model.requests
    else:
        assert final["text"].startswith(say("restarted", "en")) and "Acme Connect" in final["text"]
        assert len(model.requests) == 1
    assert any("which is gone; answering it here" in line["message"] for line in second.log_lines())


def test_the_admin_page_is_served_beside_health_and_metrics_with_the_token_only(  # type: ignore[no-untyped-def]
    synced: Path, tmp_path: Path, slack: FakeSlack
) -> None:
    with HeldModel(hold=False, **GROUNDED) as model:
        running = Running(synced, tmp_path, slack=slack, model=model, drain=5, admin_token=ADMIN_TOKEN)
        try:
            running.wait_ready()
            running.ask(VPN, ts="1700000000.000100")
            until(lambda: answers_logged(running.data) or None, running, "the answer in the answer log")
            admin = f"http://127.0.0.1:{running.ops_port}/admin"
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(admin, timeout=30)
            assert refused.value.code == 401
            request = urllib.request.Request(admin, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            with urllib.request.urlopen(request, timeout=WAIT) as response:
                html = response.read().decode()
        finally:
            running.stop()
    assert "Knowledge gaps" in html and "handbook" in html and ADMIN_TOKEN not in html
    asked = re.search(r'data-total="questions"><b>(\d+)</b>', html)
    assert asked is not None and asked[1] == "1", html[html.find('id="totals"') :][:600]  # the question just answered
    running.log_lines()  # the token in no log line
