"""`supportbot discord invite-url`: the link that adds the bot with exactly the scopes and permissions it uses."""

from __future__ import annotations

import json
import os
import urllib.request

import discord

from adapters.start_error import StartError

# What the adapter does and nothing more: read the channels it answers in, start threads on questions and
# post in them, edit its answers as they grow, show sources as embeds, read a thread's history when it
# joins late.
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    read_message_history=True,
)
SCOPES = ("bot", "applications.commands")


def invite_url(client_id: str) -> str:
    return discord.utils.oauth_url(client_id, permissions=PERMISSIONS, scopes=SCOPES)


def application_id(api_base_url: str) -> str:
    """The application's id, asked of the API with DISCORD_TOKEN (a bot's token never leaves this request)."""
    token = os.environ.get("DISCORD_TOKEN", "")
    if not token:
        raise StartError("DISCORD_TOKEN is not set; pass --client-id, or export the bot's token.")
    request = urllib.request.Request(
        f"{api_base_url.rstrip('/')}/oauth2/applications/@me", headers={"Authorization": f"Bot {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(json.loads(response.read())["id"])
    except Exception as error:
        raise StartError(
            f"Discord did not tell the application id ({type(error).__name__}); pass --client-id."
        ) from None
