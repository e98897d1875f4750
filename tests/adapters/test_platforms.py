"""Chat platforms are plug-ins (adapters/__init__.py): a package of its own, installed beside supportbot, adds a
platform — its config section, its run, its doctor line — and `supportbot run` and `doctor` pick it up with no
change to supportbot. The package here is a line-based console: one question a line on stdin, answers on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from adapters import platforms
from tests.conftest import REPO, synced_example_config
from tests.fixtures.ports import free_port

pytestmark = pytest.mark.slow

CONSOLE_PLATFORM = '''
"""A line-based console chat platform: a plug-in of supportbot, installed on its own."""

import asyncio
import sys

from adapters import ChatPlatform
from adapters.answering import show_answer
from bot.config import PlatformConfig
from bot.messages import IncomingMessage


class ConsoleConfig(PlatformConfig):
    user: str = "tester"


class Lines:
    every = 3600.0  # the answer in one line, once whole

    async def start(self): pass
    async def queued(self, position): pass
    async def preview(self, preview): pass
    async def write(self, text): pass

    async def finish(self, answer, text):
        sources = ",".join(source.path for source in answer.sources)
        print(f"{answer.status}|{sources}|{answer.text}".replace("\\n", " "), flush=True)

    async def fail(self, error):
        print(f"failed|{error}", flush=True)


async def run(desk, config):
    await desk.ready()
    number = 0
    while line := await asyncio.to_thread(sys.stdin.readline):
        number += 1
        message = IncomingMessage("console", "local", "console", f"line-{number}", config.user, line.strip())
        async with desk.ask(message) as asking:  # a line comes once: nothing to claim
            await show_answer(Lines(), asking.events)


PLATFORM = ChatPlatform(name="console", title="Console", config=ConsoleConfig, run=run)
'''


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The console platform as a separately installed distribution: a module and its .dist-info with the entry
    point, on the path as site-packages would be."""
    site = tmp_path_factory.mktemp("site")
    (site / "console_platform.py").write_text(CONSOLE_PLATFORM)
    info = site / "console_platform-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: console-platform\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[supportbot.platforms]\nconsole = console_platform:PLATFORM\n")
    return site


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, minilm_path: Path, embedder) -> Path:  # type: ignore[no-untyped-def]
    path = synced_example_config(tmp_path_factory.mktemp("console"), minilm_path=minilm_path, embedder=embedder,
                                 extra_yaml="")  # fmt: skip
    values = yaml.safe_load(path.read_text())  # enabled once synced: this process has no console platform
    values |= {"generator": {"backend": "extractive"}, "server": {"port": free_port(), "host": "127.0.0.1"},
               "console": {"user": "alice"}}  # fmt: skip
    path.write_text(yaml.safe_dump(values))
    return path


def supportbot(installed: Path | str | None, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`installed`: where plug-ins are installed (a path list, as PYTHONPATH takes it)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if installed is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(installed), env.get("PYTHONPATH", "")) if p)
    return subprocess.run([sys.executable, "-m", "adapters.cli", *args], cwd=REPO, env=env, input=stdin,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def test_supportbot_itself_registers_slack_and_discord_the_same_way() -> None:
    assert {"slack", "discord"} <= set(platforms())
    assert all(name == platform.name for name, platform in platforms().items())


def test_an_installed_platform_runs_and_answers_with_no_change_to_supportbot(installed: Path, config: Path) -> None:
    questions = "What port does the VPN server use?\nWhere does the community forum live?\n"
    done = supportbot(installed, "run", "console", "--config", str(config), stdin=questions)
    assert done.returncode == 0, done.stderr[-3000:]
    vpn, forum = [line.split("|", 2) for line in done.stdout.splitlines() if "|" in line]
    assert vpn[0] == "answered" and "vpn.md" in vpn[1] and "1194" in vpn[2]
    assert forum[0] == "answered" and "forum.md" in forum[1] and "forum.example.org" in forum[2]


def test_doctor_checks_the_installed_platform(installed: Path, config: Path) -> None:
    checks = {
        c["name"]: c
        for c in json.loads(supportbot(installed, "doctor", "--json", "--config", str(config)).stdout)["checks"]
    }
    assert checks["console"] == {"name": "console", "status": "ok", "detail": "no token needed", "advice": ""}
    assert checks["slack"]["detail"] == "not enabled in the config"


def test_without_the_plugin_its_section_is_an_unknown_key(config: Path) -> None:
    done = supportbot(None, "run", "console", "--config", str(config))
    assert done.returncode == 2 and "console: unknown key" in done.stderr


def test_a_broken_plugin_costs_its_own_platform_only(installed: Path, config: Path, tmp_path: Path) -> None:
    info = tmp_path / "broken_platform-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-platform\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[supportbot.platforms]\nbroken = no_such_module:PLATFORM\n")
    both = os.pathsep.join((str(installed), str(tmp_path)))
    done = supportbot(both, "doctor", "--json", "--config", str(config))
    assert "broken" in done.stderr and "cannot be loaded" in done.stderr
    assert {c["name"] for c in json.loads(done.stdout)["checks"]} >= {"console", "slack", "discord"}
