"""Logging for the command line: to stderr, as text or one JSON object a line, every secret from the
environment masked wherever it appears: each installed chat platform's tokens, the model server's key."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal

from bot.config import ADMIN_TOKEN_ENV

DEFAULT_KEY_ENV = "OPENAI_API_KEY"  # generator.api_key_env's usual name; the config's own is added once read
_MASK = "[secret]"
LogFormat = Literal["text", "json"]


class RedactSecrets(logging.Filter):
    """Replaces the values of secret environment variables in every log record, tracebacks included."""

    def __init__(self, names: Iterable[str] | None = None) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self.protect(secret_env() if names is None else names)

    def protect(self, names: Iterable[str], values: Iterable[str] = ()) -> None:
        """Masks these environment variables' values too (e.g. the config's generator.api_key_env), and these
        values (a secret written in the config file)."""
        found = [*(os.environ.get(name, "") for name in names), *values]
        self._secrets += [value for value in found if len(value) >= 6 and value not in self._secrets]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self._secrets:
            message = message.replace(secret, _MASK)
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, _MASK)
        record.msg, record.args = message, None
        return True


def secret_env() -> list[str]:
    """The installed chat platforms' secret variables and the model server's usual key variable."""
    from adapters import platforms

    return [DEFAULT_KEY_ENV, ADMIN_TOKEN_ENV, *(name for p in platforms().values() for name in p.config.secret_env)]


def protect_secrets(names: Iterable[str], values: Iterable[str] = ()) -> None:
    """Masks these variables' values, and these values, in the lines of the handlers setup_logging installed."""
    values = list(values)
    for handler in logging.getLogger().handlers:
        for found in handler.filters:
            if isinstance(found, RedactSecrets):
                found.protect(names, values)


class TextLines(logging.Formatter):
    """`time LEVEL logger: message [question=id]` for people reading a terminal or `journalctl`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        question = getattr(record, "question_id", None)
        return f"{line} [question={question}]" if question else line


class JsonLines(logging.Formatter):
    """One JSON object a line for log collectors: time, level, logger, message, question_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        question = getattr(record, "question_id", None)
        if question:
            entry["question_id"] = question
        if record.exc_info and not record.exc_text:  # RedactSecrets has already set (and masked) it when on
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(verbose: bool, *, log_format: LogFormat = "text", level: int = logging.WARNING) -> None:
    """`level` is what the command shows without --verbose (a server shows INFO, a one-shot command warnings)."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactSecrets())
    handler.setFormatter(JsonLines() if log_format == "json" else TextLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else level)
    for noisy in ("chromadb", "httpx", "huggingface_hub", "sentence_transformers", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.ERROR)
