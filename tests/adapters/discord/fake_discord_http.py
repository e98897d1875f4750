"""The fake Discord's HTTP plumbing: a request read into a recorded Call, routed by path template, answered."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

Handler = Callable[..., Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]
UNAUTHENTICATED = re.compile(r"/interactions/.*|/webhooks/\d+/[^/]+(/.*)?")  # the token is in the path


@dataclass(frozen=True)
class Upload:
    """A file discord.py sent as a multipart part named `files[n]`."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Call:
    """One request the bot made, as the fake received it. `path` is below /api/v10."""

    method: str
    path: str
    json: Any  # the JSON body, or a multipart request's `payload_json`; None without a body
    query: Mapping[str, str] = field(default_factory=dict)
    auth: str | None = None  # the Authorization header; interaction and webhook routes send none
    files: tuple[Upload, ...] = ()
    status: int = 0  # what the fake answered: 200, 204, or Discord's 4xx for a mistake


def path_regex(pattern: str) -> re.Pattern[str]:
    """`/channels/{channel_id}/messages` → a regex where each `{name}` is one path segment."""
    parts = re.split(r"\{(\w+)\}", pattern)
    literal = [re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts)]
    return re.compile("".join(literal))


async def read_call(request: web.Request, path: str) -> Call:
    """Read the body the way discord.py sends it: JSON, or multipart with `payload_json` and `files[n]` parts."""
    body: Any = None
    files: list[Upload] = []
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            data = await part.read()
            if part.name == "payload_json":
                body = json.loads(data)
            else:
                content_type = part.headers.get("Content-Type", "application/octet-stream")
                files.append(Upload(part.name or "", part.filename or "", content_type, bytes(data)))
    elif request.can_read_body:
        text = await request.text()
        body = json.loads(text) if text else None
    auth = request.headers.get("Authorization")
    return Call(request.method, path, body, dict(request.query), auth, tuple(files))


def json_response(data: Any, status: int = 200) -> web.Response:
    # Exactly `application/json`: discord.py reads any other content type (even with `; charset=utf-8`) as text.
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def error(status: int, code: int, message: str) -> web.Response:
    """Discord's error body: a JSON code (10003 Unknown Channel, 40060 already acknowledged, …) and message."""
    return json_response({"message": message, "code": code}, status=status)


def no_content() -> web.Response:
    return web.Response(status=204)


class Router:
    """Routes a method and a path below /api/v10 to a handler, passing the `{name}` segments as keywords."""

    def __init__(self, routes: list[Route]) -> None:
        self._routes = [(method, path_regex(pattern), handler) for method, pattern, handler in routes]

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        for route_method, regex, handler in self._routes:
            found = regex.fullmatch(path)
            if found and route_method == method:
                return handler, found.groupdict()
        return None


def matches(pattern: str, path: str) -> bool:
    return path_regex(pattern).fullmatch(path) is not None


class CallLog:
    """Answers every request under /api/v10 and records it once answered, with the status it got."""

    def __init__(self, *, routes: list[Route], token: str) -> None:
        self._router, self._token = Router(routes), token
        self.calls: list[Call] = []
        self._changed = asyncio.Condition()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        call = await read_call(request, "/" + request.match_info["path"])
        response: web.StreamResponse = not_found()
        try:
            found = self._router.match(call.method, call.path)
            if call.auth != f"Bot {self._token}" and not UNAUTHENTICATED.fullmatch(call.path):
                response = unauthorized()
            elif found is not None:
                handler, params = found
                response = await handler(call, **params)
            return response
        finally:  # recorded once answered, so a waiting test sees the state and the echo the call caused
            async with self._changed:
                self.calls.append(dataclasses.replace(call, status=response.status))
                self._changed.notify_all()

    def calls_to(self, method: str, path_pattern: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and matches(path_pattern, c.path)]

    async def wait_for(self, method: str, path_pattern: str, *, count: int, timeout: float) -> Call:
        try:
            async with self._changed:
                predicate = lambda: len(self.calls_to(method, path_pattern)) >= count  # noqa: E731
                await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
        except TimeoutError:
            seen = "".join(f"\n  {c.method} {c.path} → {c.status}" for c in self.calls)
            raise AssertionError(f"no call #{count} to {method} {path_pattern} in {timeout} s; saw:{seen}") from None
        return self.calls_to(method, path_pattern)[count - 1]


def query_int(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    return int(value) if value else None


def unauthorized() -> web.Response:
    return error(401, 0, "401: Unauthorized")


def not_found() -> web.Response:
    return error(404, 0, "404: Not Found")


def bad_request(message: str, code: int = 50035) -> web.Response:
    return error(400, code, message)


def as_mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}
