"""`supportbot run discord`: DISCORD_TOKEN from the environment, the API (and its gateway) from the config."""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.request

import discord
import yarl

from adapters.discord.client import support_client
from adapters.discord.config import DiscordConfig
from adapters.start_error import StartError
from bot.desk import Desk

DEFAULT_API = "https://discord.com/api/v10"
REFUSED = "Discord refused DISCORD_TOKEN; check the token in the developer portal."


class DiscordStartError(StartError):
    """Discord refused the bot at start-up; one sentence says why and what to do."""


def point_at(api_base_url: str, token: str) -> None:
    """discord.py has no option for another API: its REST base and first gateway URL are class attributes,
    read when used, so they are set before login (a proxy, or a Discord served on loopback in tests)."""
    if api_base_url.rstrip("/") == DEFAULT_API:
        return
    discord.http.Route.BASE = api_base_url.rstrip("/")
    request = urllib.request.Request(f"{api_base_url.rstrip('/')}/gateway", headers={"Authorization": f"Bot {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            gateway = json.loads(response.read())["url"]
    except urllib.error.HTTPError as error:
        if error.code == 401:
            raise DiscordStartError(REFUSED) from None
        raise DiscordStartError(f"The Discord API at {api_base_url} answered {error.code} for /gateway.") from None
    except (OSError, ValueError, KeyError) as error:
        raise DiscordStartError(f"The Discord API at {api_base_url} cannot be reached ({error}).") from None
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


async def run_discord(desk: Desk, config: DiscordConfig) -> None:
    token = os.environ.get("DISCORD_TOKEN", "")
    if not token:
        raise DiscordStartError("DISCORD_TOKEN is not set; export the bot's token from the developer portal.")
    await asyncio.to_thread(point_at, config.api_base_url, token)
    await desk.ready()  # load the models before the first question
    client = support_client(desk=desk, config=config)
    try:
        async with client:
            await client.start(token)
    except discord.LoginFailure:
        raise DiscordStartError(REFUSED) from None
    except discord.PrivilegedIntentsRequired:
        raise DiscordStartError(
            "The Message Content intent is not enabled for this bot: turn it on in the developer portal "
            "(Bot → Privileged Gateway Intents → Message Content)."
        ) from None
