"""The model behind an OpenAI-compatible server (vLLM, llama.cpp's server, Ollama), streamed over SSE."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from bot.config import GeneratorConfig
from bot.engines import GeneratorUnavailable
from bot.prompt import ChatMessage


class ModelServerError(GeneratorUnavailable):
    """The model server could not be reached or answered wrongly; one line naming its URL, never the key."""


class OpenAIGenerator:
    """`/v1/chat/completions` with `stream: true` and `temperature: 0` (greedy, as the model card asks).

    The server applies the model's own chat template, so the messages go over as they are.
    """

    def __init__(self, *, base_url: str, model: str, api_key: str | None = None, timeout_seconds: float = 120) -> None:
        self.name = model
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._key = api_key
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # The read timeout is the longest silence between two pieces; the first one waits for the whole
        # prefill, which takes seconds on a CPU server for a prompt of a few thousand tokens.
        timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 10.0))
        self._client = httpx.Client(headers=headers, timeout=timeout)

    @classmethod
    def from_config(cls, config: GeneratorConfig) -> OpenAIGenerator:
        if not config.base_url:
            raise GeneratorUnavailable(
                "generator.backend is openai but generator.base_url is not set; "
                "set it to the server's OpenAI-compatible URL, e.g. http://127.0.0.1:8080/v1."
            )
        key = None
        if config.api_key_env:
            key = os.environ.get(config.api_key_env)
            if not key:
                raise GeneratorUnavailable(
                    f"generator.api_key_env names ${config.api_key_env}, which is not set; "
                    "export the server's API key there, or remove api_key_env if the server needs none."
                )
        return cls(base_url=config.base_url, model=config.model, api_key=key, timeout_seconds=config.timeout_seconds)

    def count_tokens(self, text: str) -> int:
        """An estimate: the server's tokenizer is out of reach, and a round trip per passage would be slow.

        English prose runs at about 4 characters a token; 3.5 leans high (1.03-1.23x SmolLM2's real count on
        the English example documents). Scripts far from ASCII (Arabic, CJK, Hangul) take fewer characters a
        token, so each non-ASCII character counts as one. SmolLM2's English-centric vocabulary needs more
        than that for German or Japanese (the estimate is 0.6-0.9x there); LFM2's multilingual one should need
        less, unmeasured. The budgets sit far inside a 32k context, so a low estimate costs prefill time only.
        """
        other = sum(1 for c in text if not c.isascii())
        return math.ceil((len(text) - other) / 3.5 + other)

    def stream(self, messages: Sequence[ChatMessage], *, max_new_tokens: int) -> Iterator[str]:
        """Text as the server sends it. Closing the iterator early closes the connection, which stops the
        server generating on for nobody (llama-cpp-python's checked: it stops at the disconnect)."""
        body = {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "temperature": 0,
            # Not in OpenAI's API, but llama-cpp-python's server otherwise adds a 1.1 repeat penalty to
            # "greedy"; llama.cpp's own server takes it too, and vLLM and Ollama ignore it.
            "repeat_penalty": 1.0,
            "max_tokens": max_new_tokens,
        }
        try:
            with self._client.stream("POST", self._url, json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._error(f"answered HTTP {response.status_code}: {_reason(response)}")
                yield from self._pieces(response.iter_lines())
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise self._error(f"cannot be reached ({error or 'timed out'}); is the server running?") from None
        except httpx.TimeoutException:
            raise self._error(f"sent nothing for {self._client.timeout.read:g} s (generator.timeout_seconds)") from None
        except httpx.HTTPError as error:  # the connection dropped mid-answer, a bad URL, …
            raise self._error(f"failed ({type(error).__name__}: {error})") from None

    def _pieces(self, lines: Iterator[str]) -> Iterator[str]:
        for line in lines:
            if line.startswith("error:"):  # llama.cpp's own server reports a failure mid-stream so
                raise self._error(f"failed mid-answer: {line.removeprefix('error:').strip()[:200]}")
            if not line.startswith("data:"):
                continue  # blank separators, ": ping" comments, "event:" lines
            data = line.removeprefix("data:").strip()
            if data == "[DONE]":
                return
            try:
                chunk = json.loads(data)
                if "error" in chunk:  # vLLM (and OpenAI) report a failure mid-stream so
                    raise self._error(f"failed mid-answer: {_message(chunk)}")
                piece = chunk["choices"][0]["delta"].get("content") if chunk["choices"] else None
            except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                raise self._error(f"sent a malformed stream line: {data[:80]!r}") from None
            if piece:
                yield piece
        raise self._error("closed the stream before the answer was complete (no [DONE])")

    def _error(self, what: str) -> ModelServerError:
        message = f"The model server at {self._url} {what}".replace("\n", " ")
        if self._key:
            message = message.replace(self._key, "***")  # a server may echo what it was sent
        return ModelServerError(message)


def _reason(response: httpx.Response) -> str:
    try:
        return _message(response.json())
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase


def _message(payload: Any) -> str:
    """The error text from OpenAI's {"error": {"message"}}, FastAPI's {"detail"} or a bare string."""
    if isinstance(payload, dict):
        inner = payload.get("error", payload.get("detail", payload))
        if isinstance(inner, dict):
            inner = inner.get("message", inner)
        return str(inner)[:200]
    return str(payload)[:200]
