"""Slack as a plug-in of supportbot (adapters/__init__.py): its section, its run, its token check."""

from __future__ import annotations

import json
import os
import urllib.request
from typing import TYPE_CHECKING

from adapters import ChatPlatform
from adapters.slack.config import SlackConfig

if TYPE_CHECKING:
    from bot.desk import Desk


async def run(desk: Desk, config: SlackConfig) -> None:
    from adapters.slack.run import run_slack  # slack-bolt is imported only when Slack runs

    await run_slack(desk, config)


def whoami(config: SlackConfig) -> tuple[bool, str]:
    """auth.test with SLACK_BOT_TOKEN."""
    request = urllib.request.Request(config.api_base_url.rstrip("/") + "/auth.test", data=b"", method="POST")
    request.add_header("Authorization", f"Bearer {os.environ['SLACK_BOT_TOKEN']}")
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read() or b"{}")
    if not body.get("ok"):
        return False, f"auth.test says {body.get('error', 'not ok')}"
    return True, str(body.get("user") or "accepted")


PLATFORM = ChatPlatform(name="slack", title="Slack", config=SlackConfig, run=run, whoami=whoami)
