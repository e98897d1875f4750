"""Logging for the command line: to stderr, and every secret from the environment masked wherever it appears."""

from __future__ import annotations

import logging
import os

SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN", "OPENAI_API_KEY")
_MASK = "[secret]"


class RedactSecrets(logging.Filter):
    """Replaces the values of secret environment variables in every log record, tracebacks included."""

    def __init__(self, names: tuple[str, ...] = SECRET_ENV) -> None:
        super().__init__()
        self._secrets = [v for v in (os.environ.get(n, "") for n in names) if len(v) >= 6]

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


def setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactSecrets())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    for noisy in ("chromadb", "httpx", "sentence_transformers", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.ERROR)
