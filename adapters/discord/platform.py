"""Discord as a plug-in of supportbot (adapters/__init__.py): its section, its run, its token check, and
`supportbot discord invite-url`."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from adapters import ChatPlatform, SettingsOf
from adapters.discord.config import DiscordConfig

if TYPE_CHECKING:
    from bot.desk import Desk


async def run(desk: Desk, config: DiscordConfig) -> None:
    from adapters.discord.run import run_discord  # discord.py is imported only when Discord runs

    await run_discord(desk, config)


def whoami(config: DiscordConfig) -> tuple[bool, str]:
    """/users/@me with DISCORD_TOKEN."""
    request = urllib.request.Request(config.api_base_url.rstrip("/") + "/users/@me")
    request.add_header("Authorization", f"Bot {os.environ['DISCORD_TOKEN']}")
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read() or b"{}")
    return True, str(body.get("username") or "accepted")


def commands(settings_of: SettingsOf) -> typer.Typer:
    helpers = typer.Typer(no_args_is_help=True, help="Discord set-up helpers.")

    @helpers.command("invite-url")
    def invite_url_command(
        client_id: Annotated[
            str | None, typer.Option("--client-id", help="The application id (default: ask Discord).")
        ] = None,
        config: Annotated[
            Path | None,
            typer.Option(
                "--config", "-c", help="Config file (default: $SUPPORTBOT_CONFIG, else config/supportbot.yaml)."
            ),
        ] = None,
        verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens, to stderr.")] = False,
    ) -> None:
        """Print the URL that adds the bot to a server with exactly the permissions it needs."""
        from adapters.discord.invite import application_id, invite_url

        section = settings_of(config, verbose).platforms.get("discord")
        base = section.api_base_url if isinstance(section, DiscordConfig) else "https://discord.com/api/v10"
        print(invite_url(client_id or application_id(base)))

    return helpers


PLATFORM = ChatPlatform(
    name="discord", title="Discord", config=DiscordConfig, run=run, whoami=whoami, commands=commands
)
