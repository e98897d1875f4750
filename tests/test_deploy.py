"""deploy/: the compose file parses, its services run commands that exist with configs that load, the fleet's
shards cover Discord's shard space once, and the README's fleet section names keys that exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from adapters.cli.main import app
from bot.config import load_settings
from tests.conftest import REPO

DEPLOY = REPO / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return parsed


def config_of(service: dict[str, Any]) -> Path:
    inside = Path(service["environment"]["SUPPORTBOT_CONFIG"])
    assert inside.parent == Path("/etc/supportbot") and "./config:/etc/supportbot:ro" in service["volumes"]
    return DEPLOY / "config" / inside.name


def test_the_fleet_has_its_database_store_model_server_and_two_bots(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "chroma", "model", "migrate", "bot-0", "bot-1"} <= set(services)
    assert services["chroma"]["command"][0] == "run" and services["chroma"]["entrypoint"] == ["chroma"]
    assert services["model"]["build"]["target"] == "model-server"
    for name in ("bot-0", "bot-1"):
        assert services[name].get("command", ["run"]) == ["run"]  # the image's CMD
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_every_supportbot_command_in_the_fleet_exists(compose: dict[str, Any]) -> None:
    cli: Any = typer.main.get_command(app)
    for name, service in compose["services"].items():
        if service.get("image") != "supportbot" or service.get("entrypoint"):
            continue
        words, command = list(service.get("command", ["run"])), cli
        while hasattr(command, "commands"):  # a group (`db`) holds commands (`upgrade`)
            command = command.commands.get(words.pop(0))
            assert command is not None, f"{name}: no such supportbot command"


def test_the_bots_configs_load_and_their_shards_cover_discord_once(compose: dict[str, Any]) -> None:
    bots = [s for name, s in compose["services"].items() if name.startswith("bot-")]
    settings = [load_settings(config_of(service)) for service in bots]
    shards = sorted(i for s in settings for i in (s.discord.shard_ids or []))  # type: ignore[union-attr]
    assert shards == list(range(settings[0].discord.shard_count or 0)) and len(shards) == len(bots)  # type: ignore[union-attr]
    for one in settings:
        assert one.database.url and one.database.url.startswith("postgresql://supportbot@postgres/")
        assert one.chroma.url == "http://chroma:8000" and one.generator.backend == "openai"
        assert one.generator.base_url == "http://model:8080/v1"
    grace = {int(s["stop_grace_period"].removesuffix("s")) for s in bots}
    assert min(grace) > max(s.server.drain_seconds for s in settings)  # docker must not kill a draining bot


def test_the_image_installs_the_cpu_extra_with_torch_pinned() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"pip install .*'\.\[cpu,slack,discord\]'", dockerfile)
    assert '"torch==2.13.0"' in (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert "FROM python:3.11-slim AS model-server" in dockerfile
    server = dockerfile.split("AS model-server", 1)[1]
    assert 'ENTRYPOINT ["python", "-m", "bot.engines.llamacpp.server"]' in server
    copied = {path for line in re.findall(r"^COPY (.+)$", server, re.M) for path in line.split()[:-1]}
    assert all((REPO / path).is_file() for path in copied)
    # What `python -m bot.engines.llamacpp.server` imports of supportbot, its packages' __init__ files included.
    needed, modules = set(), ["bot.engines.llamacpp.server"]
    while modules:
        parts = modules.pop().split(".")
        needed |= {"/".join(parts[:i]) + "/__init__.py" for i in range(1, len(parts))} | {"/".join(parts) + ".py"}
        source = (REPO / ("/".join(parts) + ".py")).read_text(encoding="utf-8")
        modules += re.findall(r"^from (bot[\w.]*) import", source, re.M)
    assert needed <= copied, needed - copied


def test_the_readme_fleet_section_names_commands_and_keys_that_exist(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running for a whole company", 1)[1].split("\n## ", 1)[0]
    for command in ("supportbot db upgrade", "chroma run", "vllm serve", "python -m bot.engines.llamacpp.server",
                    "supportbot run"):  # fmt: skip
        assert command in section
    example = yaml.safe_load(section.split("```yaml", 1)[1].split("```", 1)[0])
    (tmp_path / "fleet.yaml").write_text(yaml.safe_dump(example))
    settings = load_settings(tmp_path / "fleet.yaml")
    assert settings.generator.backend == "openai" and settings.discord and settings.discord.shard_ids == [0]
