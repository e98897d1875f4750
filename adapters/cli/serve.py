"""`supportbot run`: the enabled chat adapters, started in one process around one bot."""

from __future__ import annotations

import asyncio
import sys

from rich.console import Console

from adapters.cli.knowledge_commands import UsageError
from adapters.start_error import StartError
from bot.config import Settings
from bot.wiring import Bot, Knowledge

err = Console(stderr=True)


def serve(settings: Settings, platform: str | None) -> None:
    enabled = [name for name in ("slack", "discord") if getattr(settings, name) is not None]
    chosen = [platform] if platform else enabled
    for name in chosen:
        if name not in ("slack", "discord"):
            raise UsageError(f"Unknown platform {name!r}: use slack or discord.")
        if name not in enabled:
            raise UsageError(f"{name} is not enabled: add a `{name}:` section to the config.")
    if not chosen:
        raise UsageError("No chat adapter is enabled: add a `slack:` or `discord:` section to the config.")
    knowledge = Knowledge(settings, progress=lambda line: err.print(line, highlight=False))
    bot = Bot(knowledge, warn=lambda line: err.print(line, style="yellow", highlight=False, markup=False))
    try:
        asyncio.run(_serve_all(bot, settings, chosen))
    except StartError as error:
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(1)


async def _serve_all(bot: Bot, settings: Settings, chosen: list[str]) -> None:
    """Every chosen adapter in one event loop around one bot; the first to fail stops the rest."""
    runs = []
    if "slack" in chosen and settings.slack is not None:
        from adapters.slack.run import run_slack

        runs.append(run_slack(bot, settings.slack))
    if "discord" in chosen and settings.discord is not None:
        from adapters.discord.run import run_discord

        runs.append(run_discord(bot, settings.discord))
    await asyncio.gather(*runs)
