"""Platform adapters (the terminal, Slack, Discord): translate platform events to and from the bot's types.

The chat platforms are plug-ins: each `adapters/<platform>/` brings a `ChatPlatform` (its config section, how to
run it, how `doctor` checks its token, its set-up commands), named by an entry point of group
"supportbot.platforms" (pyproject.toml; a package of its own can add one the same way). `platforms()` lists the
installed ones; `supportbot run`, `doctor` and the settings iterate over it and name no platform themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from bot.config import PlatformConfig, Settings, installed_platforms

if TYPE_CHECKING:
    import typer

    from bot.desk import Desk

SettingsOf = Callable[[Path | None, bool], Settings]  # (--config, --verbose) → the settings, logging set up


@dataclass(frozen=True)
class ChatPlatform:
    name: str  # its config section's key and `supportbot run NAME`
    title: str  # how people write it: "Slack"
    config: type[PlatformConfig]
    # Connects and answers until stopped (the desk is its door into the bot; the section is `config`'s type).
    run: Callable[[Desk, Any], Awaitable[None]]
    # `doctor --online`: asks the platform whose token it is: (True, the bot's name) or (False, what it said);
    # raises when the platform cannot be reached. Never shows the token.
    whoami: Callable[[Any], tuple[bool, str]] | None = None
    # Set-up commands under `supportbot NAME …` (an invite link, a manifest), given how to read the settings.
    commands: Callable[[SettingsOf], typer.Typer] | None = None


def platforms() -> Mapping[str, ChatPlatform]:
    """The installed chat platforms, by name."""
    return cast(Mapping[str, ChatPlatform], installed_platforms())
