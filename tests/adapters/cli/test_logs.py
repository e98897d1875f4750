"""Log lines: secrets from the environment never reach one, not even inside a traceback; text or JSON lines,
each carrying the id of the question it is about."""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path

import pytest

from adapters.cli.logs import JsonLines, RedactSecrets, TextLines


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


def emit(monkeypatch: pytest.MonkeyPatch, formatter: logging.Formatter) -> list[str]:
    """Three lines through the CLI's handler set-up: one about a question, a secret in a message and a traceback."""
    monkeypatch.setenv("DISCORD_TOKEN", "MTIz.discord-token-abcdef")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(formatter)
    logger = logging.getLogger("test.lines")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("Question %s answered", "q1", extra={"question_id": "q1"})
        logger.warning("login with %s", "MTIz.discord-token-abcdef")
        try:
            raise RuntimeError("gateway refused MTIz.discord-token-abcdef")
        except RuntimeError:
            logger.exception("connect failed", extra={"question_id": "q2"})
    finally:
        logger.removeHandler(handler)
    return stream.getvalue().splitlines()


def test_json_lines_are_one_object_a_line_with_the_question_id_and_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = emit(monkeypatch, JsonLines())
    assert len(lines) == 3  # the traceback stays inside its line's object
    entries = [json.loads(line) for line in lines]
    assert [e["level"] for e in entries] == ["info", "warning", "error"]
    assert entries[0]["question_id"] == "q1" and entries[0]["message"] == "Question q1 answered"
    assert "question_id" not in entries[1] and entries[1]["message"] == "login with [secret]"
    assert entries[2]["question_id"] == "q2" and "RuntimeError: gateway refused [secret]" in entries[2]["exception"]
    assert all(e["logger"] == "test.lines" and e["time"].endswith("+00:00") for e in entries)
    assert "discord-token" not in "\n".join(lines)


def test_text_lines_name_the_question_too(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = emit(monkeypatch, TextLines())
    assert lines[0].endswith("INFO test.lines: Question q1 answered [question=q1]")
    assert lines[1].endswith("login with [secret]") and "discord-token" not in "\n".join(lines)


@pytest.mark.parametrize("where", ["global", "environment", "default"])
def test_log_format_json_reaches_every_command(tmp_path: Path, where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`supportbot --log-format json <command>` or $SUPPORTBOT_LOG_FORMAT=json: the command's log handler writes
    JSON lines; otherwise text."""
    from typer.testing import CliRunner

    from adapters.cli.main import LOG_FORMAT_ENV, app

    monkeypatch.delenv(LOG_FORMAT_ENV, raising=False)
    config = tmp_path / "supportbot.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    option = ["--log-format", "json"] if where == "global" else []
    env = {LOG_FORMAT_ENV: "json"} if where == "environment" else {}
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        done = CliRunner().invoke(app, [*option, "kb", "status", "--config", str(config)], env=env)
        assert done.exit_code == 0, done.output
        formatter = root.handlers[0].formatter
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        os.environ.pop(LOG_FORMAT_ENV, None)
    assert isinstance(formatter, TextLines if where == "default" else JsonLines)


def redaction_of_a_command(config: Path) -> RedactSecrets:
    """The secret filter `supportbot kb status` installs once it has read this config."""
    from typer.testing import CliRunner

    from adapters.cli.main import app

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        done = CliRunner().invoke(app, ["kb", "status", "--config", str(config)])
        assert done.exit_code == 0, done.output
        return next(f for f in root.handlers[0].filters if isinstance(f, RedactSecrets))
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_the_model_servers_key_is_masked_under_whatever_variable_the_config_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """generator.api_key_env may name any variable: once the config is read, its value is masked like the chat
    platforms' tokens (which each installed platform declares)."""
    monkeypatch.setenv("ACME_MODEL_KEY", "sk-acme-model-key-123456")
    monkeypatch.setenv("DISCORD_TOKEN", "MTIz.discord-token-abcdef")
    config = tmp_path / "supportbot.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\ngenerator:\n  api_key_env: ACME_MODEL_KEY\n")
    redact = redaction_of_a_command(config)
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "key %s, token %s", None, None)
    record.args = ("sk-acme-model-key-123456", "MTIz.discord-token-abcdef")
    redact.filter(record)
    assert record.getMessage() == "key [secret], token [secret]"


@pytest.mark.parametrize("where", ["environment", "file"])
def test_the_admin_token_is_masked_wherever_it_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    token = "admin-token-0123456789abcdef"
    config = tmp_path / "supportbot.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\n" + (f"server: {{admin_token: {token}}}\n" if where == "file" else "")
    )
    if where == "environment":
        monkeypatch.setenv("SUPPORTBOT_ADMIN_TOKEN", token)
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "token %s", (token,), None)
    redaction_of_a_command(config).filter(record)
    assert record.getMessage() == "token [secret]"
