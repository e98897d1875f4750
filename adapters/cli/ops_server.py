"""`supportbot run`'s HTTP endpoints for operators: GET /healthz (JSON, 200 or 503), GET /metrics (Prometheus) and,
with an admin token, /admin (the report, adapters/cli/admin_page.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Protocol

from aiohttp import web

from adapters.start_error import StartError
from bot.operations.health import Check
from bot.operations.metrics import PrometheusMetrics

log = logging.getLogger(__name__)
Checks = Mapping[str, Callable[[], Check]]  # by name, each a blocking call (bot/operations/health.py)
CHECK_TIMEOUT = 8.0  # below the usual 10 s probe timeout of load balancers and Kubernetes


async def healthz(checks: Checks) -> tuple[int, dict[str, object]]:
    """Every check at once, each in a worker thread under a timeout: a hung store fails its check, not the probe."""

    async def run(name: str) -> Check:
        try:
            return await asyncio.wait_for(asyncio.to_thread(checks[name]), CHECK_TIMEOUT)
        except TimeoutError:
            return Check(name, False, f"no answer within {CHECK_TIMEOUT:g} s")

    results = await asyncio.gather(*(run(name) for name in checks))
    healthy = all(check.ok for check in results)
    body: dict[str, object] = {"status": "ok" if healthy else "unhealthy",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in results}}  # fmt: skip
    return (200 if healthy else 503), body


class Routes(Protocol):
    def add_routes(self, app: web.Application) -> None: ...


def ops_app(checks: Checks, metrics: PrometheusMetrics, admin: Routes | None = None) -> web.Application:
    async def health(_: web.Request) -> web.Response:
        status, body = await healthz(checks)
        return web.Response(status=status, text=json.dumps(body), content_type="application/json")

    async def prometheus(_: web.Request) -> web.Response:
        response = web.Response(body=metrics.render())
        response.headers["Content-Type"] = metrics.content_type  # aiohttp's content_type= refuses parameters
        return response

    app = web.Application()
    app.router.add_get("/healthz", health)
    app.router.add_get("/metrics", prometheus)
    if admin is not None:
        admin.add_routes(app)
    return app


@asynccontextmanager
async def serving_ops(checks: Checks, metrics: PrometheusMetrics, *, host: str, port: int | None,
                      admin: Routes | None = None) -> AsyncIterator[None]:  # fmt: skip
    """The endpoints for the duration of the block; port None serves nothing. /healthz is 200 when every check
    passes (its process check fails while a chat platform does not take questions yet, and while stopping)."""
    if port is None:
        yield
        return
    runner = web.AppRunner(ops_app(checks, metrics, admin), access_log=None)  # probes every few s would drown the log
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        raise StartError(f"server.port {port} on {host} cannot be served ({error.strerror}); "
                         "choose a free port, or null for no health and metrics endpoints.") from None  # fmt: skip
    log.info("Health and metrics: http://%s:%d/healthz and /metrics%s", host, port, " and /admin" if admin else "")
    try:
        yield
    finally:
        await runner.cleanup()
