"""`supportbot run`: the enabled chat adapters, started in one process around one bot, with the operators'
endpoints beside them; SIGTERM or Ctrl-C drains the questions in flight (a second one stops sooner, their
askers still told), then the process exits 0."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from rich.console import Console

from adapters import ChatPlatform, platforms
from adapters.cli.admin_page import AdminPage
from adapters.cli.knowledge_commands import UsageError
from adapters.cli.ops_server import serving_ops
from adapters.start_error import StartError
from bot.config import PlatformConfig, Settings
from bot.desk import Desk
from bot.drain import Drain
from bot.host import Host
from bot.operations.metrics import PrometheusMetrics

err = Console(stderr=True)
log = logging.getLogger(__name__)
# After the drain deadline the questions left stop at their next piece of text; posting "interrupted" takes
# a request or two per platform.
INTERRUPT_GRACE = 15.0


def serve(settings: Settings, platform: str | None) -> None:
    known = platforms()
    enabled = [name for name in known if name in settings.platforms]
    chosen = [platform] if platform else enabled
    for name in chosen:
        if name not in known:
            raise UsageError(f"Unknown platform {name!r}: use {' or '.join(known)}.")
        if name not in enabled:
            raise UsageError(f"{name} is not enabled: add a `{name}:` section to the config.")
    if not chosen:
        sections = " or ".join(f"`{name}:`" for name in known)
        raise UsageError(f"No chat adapter is enabled: add a {sections} section to the config.")
    metrics = PrometheusMetrics()  # this process's registry, passed down; nothing global
    host = Host.open(settings, progress=lambda line: err.print(line, highlight=False),
                     warn=lambda line: err.print(line, style="yellow", highlight=False, markup=False),
                     observer=metrics, serving=True)  # fmt: skip
    metrics.watch_drafts(lambda: len(host.drafts.waiting()))  # read at each scrape: the CLI approves elsewhere
    for name in host.never_synced([c.name for c in settings.collections]):  # logged: JSON stays JSON
        log.warning("Collection %s has never completed a sync (none was run, or the first one died): the bot cannot "
                    "answer from it until `supportbot sync %s` completes.", name, name)  # fmt: skip
    try:
        asyncio.run(_serve_all(host, metrics, settings, chosen))
    except StartError as error:
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(1)


async def _serve_all(host: Host, metrics: PrometheusMetrics, settings: Settings, chosen: list[str]) -> None:
    """Every chosen adapter in one event loop around one bot; the first to fail stops the rest; SIGTERM or Ctrl-C
    drains, and a second one cuts the drain short (those in flight are still told)."""
    stopping = asyncio.Event()
    received: list[str] = []

    def on_signal(number: signal.Signals) -> None:
        received.append(number.name)
        if stopping.is_set():
            log.warning("%s again: not waiting for the questions in flight any longer", number.name)
            host.drain.hurry()
        stopping.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(number, on_signal, number)
    server = settings.server
    # The leases of the questions this process answers, renewed while it lives: once it dies they lapse, and
    # another process of the fleet (or this one, restarted) answers them (adapters/recovery.py).
    stop_renewing = host.keep_alive()
    stop_warming = host.warm_up()  # the pages' sentences embedded while no question is in flight
    try:
        desk = host.desk

        def starting() -> list[str]:  # the platforms not taking questions yet: /healthz is not ready meanwhile
            return [name for name in chosen if name not in desk.up]

        admin = AdminPage(host, server.admin_token.get_secret_value()) if server.admin_token else None
        async with serving_ops(host.health_checks(starting), metrics, host=server.host, port=server.port,
                               admin=admin):  # fmt: skip
            adapters: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*_runs(desk, settings, chosen)))
            stop: asyncio.Future[Any] = asyncio.ensure_future(stopping.wait())
            await asyncio.wait({adapters, stop}, return_when=asyncio.FIRST_COMPLETED)
            if adapters.done():
                stop.cancel()
                adapters.result()  # a start-up error, told by serve()
                return
            await drain(host.drain, seconds=server.drain_seconds, why=received[0])
            adapters.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await adapters
    finally:
        stop_warming()
        stop_renewing()
    log.info("Stopped.")


def _runs(desk: Desk, settings: Settings, chosen: list[str]) -> list[Coroutine[Any, Any, None]]:
    known = platforms()
    return [_run(known[name], desk, settings.platforms[name]) for name in chosen]


async def _run(platform: ChatPlatform, desk: Desk, section: PlatformConfig) -> None:
    await platform.run(desk, section)


async def drain(questions: Drain, *, seconds: float, why: str = "SIGTERM") -> None:
    """No new questions; those in flight get `seconds` to finish (or until `questions.hurry()`), then the rest are
    told they were interrupted. The waits run in a thread so the event loop goes on posting the answers meanwhile."""
    questions.close()
    log.info("%s: taking no new questions; %d in flight get up to %g s to finish (again to stop sooner)",
             why, questions.in_flight(), seconds)  # fmt: skip
    if await asyncio.to_thread(questions.wait_idle, seconds, or_hurried=True):
        return
    log.warning("%d questions still in flight after %g s: telling their askers they were interrupted",
                questions.in_flight(), seconds)  # fmt: skip
    questions.interrupt()
    if not await asyncio.to_thread(questions.wait_idle, INTERRUPT_GRACE):
        log.error("%d questions could not be told of the stop within %g s", questions.in_flight(), INTERRUPT_GRACE)
