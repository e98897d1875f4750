"""`supportbot run slack`: the tokens from the environment, auth.test, then Socket Mode or the Events API."""

from __future__ import annotations

import asyncio
import os

from adapters.slack.app import SlackAdapter, SlackStartError
from adapters.slack.config import SlackConfig
from bot.desk import Desk


def _env(name: str, why: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SlackStartError(f"{name} is not set; {why}.")
    return value


async def run_slack(desk: Desk, config: SlackConfig) -> None:
    token = _env("SLACK_BOT_TOKEN", "export the app's bot token (xoxb-…)")
    secret = _env("SLACK_SIGNING_SECRET", "HTTP mode verifies every request with it") if config.mode == "http" else None
    adapter = SlackAdapter(desk=desk, config=config, client=SlackAdapter.client(config, token), signing_secret=secret)
    await adapter.identify()
    await desk.ready()  # load the models before the first question, not during it
    app = adapter.build()
    recovery = adapter.recovery()  # runs for as long as the adapter: questions of processes that died mid-answer
    notices = adapter.learning.notices()  # and the bot's own posts: answers learned, the weekly digest

    async def chores() -> None:
        await asyncio.gather(recovery.forever(), notices.forever())

    if config.mode == "socket":
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        app_token = _env("SLACK_APP_TOKEN", "Socket Mode needs the app-level token (xapp-…)")
        handler = AsyncSocketModeHandler(app, app_token)
        await handler.connect_async()
        desk.serving("slack")
        try:
            await chores()  # as long as the connection (the handler reconnects by itself)
        finally:  # stopped (Ctrl-C, SIGTERM): the connection closed, not left to the garbage collector
            await handler.close_async()
        return
    from aiohttp import web

    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", config.port).start()
    desk.serving("slack")
    print(f"Slack events and interactivity: http://0.0.0.0:{config.port}/slack/events")
    await chores()
