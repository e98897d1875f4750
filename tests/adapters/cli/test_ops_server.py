"""GET /healthz and GET /metrics of `supportbot run`, served on loopback and asked over HTTP as a probe would."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from adapters.cli.ops_server import serving_ops
from bot.operations.health import health_checks
from bot.operations.metrics import PrometheusMetrics
from bot.wiring import Bot
from tests.bot.test_drain import bot_over
from tests.conftest import synced_example_config
from tests.fixtures.held_model import HeldModel
from tests.fixtures.ports import free_port


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory, minilm_path: Path, embedder) -> Path:  # type: ignore[no-untyped-def]
    return synced_example_config(tmp_path_factory.mktemp("ops"), minilm_path=minilm_path, embedder=embedder,
                                 extra_yaml="")  # fmt: skip


def probe(bot: Bot, metrics: PrometheusMetrics, path: str, starting: list[str] | None = None) -> tuple[int, str, str]:
    async def get() -> tuple[int, str, str]:
        port = free_port()
        async with (
            serving_ops(health_checks(bot, lambda: starting or []), metrics, host="127.0.0.1", port=port),
            ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}{path}") as response,
        ):
            return response.status, response.headers["Content-Type"], await response.text()

    return asyncio.run(get())


def health(bot: Bot, metrics: PrometheusMetrics, starting: list[str] | None = None) -> tuple[int, dict[str, Any]]:
    status, content_type, body = probe(bot, metrics, "/healthz", starting)
    assert content_type.startswith("application/json")
    return status, json.loads(body)


def test_healthz_is_200_with_every_check_when_the_store_database_and_model_answer(synced, tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    metrics = PrometheusMetrics()
    with HeldModel() as model:
        bot = bot_over(synced, tmp_path, embedder, model, metrics)
        starting, body = health(bot, metrics)
        assert starting == 503 and not body["checks"]["model"]["ok"]  # nothing loaded yet: not ready
        bot.conversations  # noqa: B018  (what `supportbot run` does before taking questions)
        status, body = health(bot, metrics)
        waiting, early = health(bot, metrics, starting=["slack"])  # loaded, but Slack's port does not listen yet
    assert status == 200 and body["status"] == "ok", body
    assert waiting == 503 and not early["checks"]["process"]["ok"]
    assert "slack not taking questions yet" in early["checks"]["process"]["detail"]
    assert set(body["checks"]) == {"process", "store", "database", "model"}
    assert "handbook" in body["checks"]["store"]["detail"] and "sqlite" in body["checks"]["database"]["detail"]


def test_healthz_is_503_when_the_model_server_is_down_or_the_process_is_stopping(synced, tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    metrics = PrometheusMetrics()
    with HeldModel() as model:
        bot = bot_over(synced, tmp_path, embedder, model, metrics)
        bot.conversations  # noqa: B018
    status, body = health(bot, metrics)  # the model server is gone now
    assert status == 503 and body["status"] == "unhealthy"
    assert not body["checks"]["model"]["ok"] and "/v1/models" in body["checks"]["model"]["detail"]
    assert body["checks"]["store"]["ok"] and body["checks"]["process"]["ok"]
    bot.drain.close()
    status, body = health(bot, metrics)
    assert status == 503 and "stopping" in body["checks"]["process"]["detail"]


def test_metrics_are_served_in_prometheus_text_format(synced, tmp_path, embedder) -> None:  # type: ignore[no-untyped-def]
    metrics = PrometheusMetrics()
    with HeldModel(hold=False) as model:
        bot = bot_over(synced, tmp_path, embedder, model, metrics)
        bot.conversations  # noqa: B018
        status, content_type, text = probe(bot, metrics, "/metrics")
    assert status == 200 and content_type.startswith("text/plain") and "version=" in content_type
    assert "# TYPE supportbot_questions_total counter" in text and "supportbot_queue_depth 0.0" in text
    assert 'supportbot_model{supportbot_model="loaded"} 1.0' in text


def test_a_port_in_use_is_a_one_line_start_error(tmp_path: Path) -> None:
    from adapters.start_error import StartError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        async def start() -> None:
            async with serving_ops(None, PrometheusMetrics(), host="127.0.0.1", port=port):  # type: ignore[arg-type]
                pass

        with pytest.raises(StartError, match=f"server.port {port} on 127.0.0.1 cannot be served"):
            asyncio.run(start())
