"""Secrets from the environment never reach a log line, not even inside a traceback."""

from __future__ import annotations

import io
import logging

import pytest

from adapters.cli.logs import RedactSecrets


def test_secret_values_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1111-2222-abcdefsecret")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    try:
        logger.warning("calling Slack with %s", "xoxb-1111-2222-abcdefsecret")
        try:
            raise RuntimeError("auth failed for token xoxb-1111-2222-abcdefsecret")
        except RuntimeError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "abcdefsecret" not in output
    assert "calling Slack with [secret]" in output and "RuntimeError: auth failed for token [secret]" in output
