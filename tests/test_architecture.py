"""The shape of shared/STYLE.md, checked by reading imports: adapters -> bot -> knowledge, chromadb in one place."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO


def imports(package: str) -> list[tuple[Path, str]]:
    found = []
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(path, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module))
    return found


@pytest.mark.parametrize(("package", "forbidden"), [("knowledge", ("bot", "adapters")), ("bot", ("adapters",))])
def test_dependencies_point_one_way(package: str, forbidden: tuple[str, ...]) -> None:
    wrong = [f"{p.relative_to(REPO)}: {m}" for p, m in imports(package) if m.split(".")[0] in forbidden]
    assert not wrong


def test_only_the_store_module_imports_chromadb() -> None:
    users = {
        p.relative_to(REPO).as_posix()
        for package in ("knowledge", "bot", "adapters")
        for p, m in imports(package)
        if m.split(".")[0] == "chromadb"
    }
    assert users == {"knowledge/store.py"}


def test_only_the_wiring_and_the_engine_choice_name_a_concrete_model_engine() -> None:
    """bot/engines/ holds the engines; the choice among them (bot/engines/choice.py) is asked by the wiring and by
    doctor. The extractive answerer is also the conversation's excerpt-maker (bot.preview), so the conversation and
    its citations may name it; no one else outside bot/engines/ names an engine."""
    concrete = ("bot.engines.transformers", "bot.engines.openai", "bot.engines.llamacpp")
    allowed = {"bot.engines.extractive": {"bot/wiring.py", "bot/conversations.py", "bot/checks/citations.py"}}
    wrong = []
    for package in ("knowledge", "bot", "adapters"):
        for path, module in imports(package):
            where = path.relative_to(REPO).as_posix()
            if where.startswith("bot/engines/"):
                continue
            if module.startswith(concrete) or where not in allowed.get(module, {where}):
                wrong.append(f"{where}: {module}")
    assert not wrong


def test_chat_platforms_reach_the_bot_only_through_the_desk() -> None:
    """Slack, Discord and what they share (the answer loop, recovery) see the desk (bot/desk.py), the messages they
    exchange and their config types; never the wiring, the conversation, the records or the store behind it."""
    allowed = {"bot.desk", "bot.messages", "bot.config"}
    wrong = [
        f"{where}: {module}"
        for path, module in imports("adapters")
        if not (where := path.relative_to(REPO).as_posix()).startswith("adapters/cli/")
        and module.split(".")[0] in ("bot", "knowledge")
        and module not in allowed
    ]
    assert not wrong


def test_no_adapter_imports_the_wiring() -> None:
    """The wiring (bot/wiring.py) is where the bot is built; adapters see it through doors: the chat platforms
    through the desk (bot/desk.py), the process host (the CLI, `supportbot run`, its ops endpoints) through
    bot/host.py."""
    wrong = [f"{p.relative_to(REPO)}: {m}" for p, m in imports("adapters") if m == "bot.wiring"]
    assert not wrong


def test_the_bot_and_the_knowledge_name_no_chat_platform() -> None:
    """Platforms are plug-ins (adapters/__init__.py): bot/ and knowledge/ work for any of them, and say so by not
    naming one, in code, comments or data."""
    from adapters import platforms

    names = {"slack", "discord", *platforms()}
    pattern = re.compile("|".join(sorted(names)), re.IGNORECASE)
    wrong = [
        f"{path.relative_to(REPO)}: {match.group()}"
        for package in ("bot", "knowledge")
        for path in (REPO / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
        for match in pattern.finditer(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not wrong


def test_the_command_starts_without_the_heavy_libraries_only_some_commands_need() -> None:
    """Every `supportbot` command imports adapters.cli.main first: torch (embedding, generation) and scikit-learn
    (the report's grouping of gaps) are imported where they are used, so `--help`, `kb status` or a config error
    answer without them (scikit-learn alone took 0.7 s of a 2 s start)."""
    import subprocess
    import sys

    script = "import sys, adapters.cli.main; print(sorted({'torch', 'sklearn', 'transformers'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
