"""A fake Slack Web API on loopback: the real slack_sdk and slack-bolt talk to it, tests read what they sent."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import web

PAYLOADS = Path(__file__).parent / "payloads"
BOT_USER_ID, BOT_ID, TEAM_ID = "UBOT", "BBOT", "T1"
STREAM_METHODS = ("chat.startStream", "chat.appendStream", "chat.stopStream")
Params = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One request as the fake received it: query, form and JSON fields merged; the token kept apart."""

    method: str
    params: Params
    token: str | None


def load_payload(name: str) -> dict[str, Any]:
    """A recorded Slack payload from payloads/, ids scrubbed (T1, C1, D1, U1, UBOT)."""
    payload: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return payload


def signed_request(
    body: str,
    *,
    secret: str,
    timestamp: int | None = None,
    content_type: str = "application/json",
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> dict[str, str]:
    """Headers Slack sends with a request to the app: `v0=` + HMAC-SHA256 of `v0:{ts}:{body}`."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}
    if retry_num is not None:  # Slack resends an event it thinks was missed, same event_id, with these
        headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
    return headers


def interactivity_body(payload: dict[str, Any]) -> str:
    """An interactivity request's body: the JSON payload in one form field named `payload`."""
    return urlencode({"payload": json.dumps(payload)})


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve an aiohttp app (e.g. `AsyncApp.web_app()`) on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def _parse(query: str, body: str, content_type: str) -> Params:
    params: Params = dict(parse_qsl(query))
    if "json" in content_type or body.startswith("{"):
        params |= json.loads(body or "{}")
    else:
        params |= dict(parse_qsl(body))
    return params


def _stream_text(params: Params) -> str:
    chunks = params.get("chunks") or []
    texts = [str(chunk.get("text", "")) for chunk in chunks if chunk.get("type") == "markdown_text"]
    return str(params.get("markdown_text", "")) + "".join(texts)


def _ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def _error(error: str, **fields: Any) -> dict[str, Any]:
    return {"ok": False, "error": error, **fields}


def _require(params: Params, *keys: str) -> None:
    """A missing required argument answers invalid_arguments, as Slack does."""
    missing = [key for key in keys if key not in params]
    if missing:
        raise KeyError(missing[0])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlack

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A test may end, cancelling the app's pending call, between the fake recording it and answering it.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # aiohttp keeps connections alive
    server: _Server

    def do_GET(self) -> None:  # slack_sdk sends reads (conversations.replies, users.info) as GET
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        params = _parse(url.query, body, self.headers.get("Content-Type", ""))
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.pop("token", None)
        status, headers, answer = self.server.fake.answer(url.path, params, token)
        data = answer.encode()
        self.send_response(status)
        for name, value in (headers | {"Content-Type": "application/json; charset=utf-8"}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output for failures
        pass


class FakeSlack:
    """Slack's Web API with memory: answers in Slack's shapes, records every call, fails on request."""

    def __init__(self) -> None:
        self.invalid_tokens: set[str] = set()
        self._cond = threading.Condition()
        self._calls: list[Call] = []
        self._replies: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._usergroups: dict[str, list[str]] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._streaming: set[tuple[str, str]] = set()
        self._rate_limits: dict[str, list[int]] = {}  # method -> [calls left, retry_after]
        self._failures: dict[str, tuple[str, int | None]] = {}  # method -> (error, calls left or None: all)
        self._sent = 0
        self.socket_url: str | None = None  # what apps.connections.open gives: a Socket Mode server's ws:// URL
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeSlack:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-slack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The Web API base URL as slack_sdk wants it (`base_url=`), trailing slash included."""
        return f"{self._origin()}/api/"

    @property
    def response_url(self) -> str:
        """Stands in for a payload's `response_url` (hooks.slack.com); posts there record as `response_url`."""
        return f"{self._origin()}/hooks/response"

    def _origin(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started; call start() or use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def set_replies(self, channel: str, thread_ts: str, messages: list[dict[str, Any]]) -> None:
        with self._cond:
            self._replies[(channel, thread_ts)] = list(messages)

    def set_user(self, user_id: str, **fields: Any) -> None:
        with self._cond:
            self._users[user_id] = fields

    def set_usergroup(self, group_id: str, users: list[str]) -> None:
        with self._cond:
            self._usergroups[group_id] = list(users)

    def set_channel(self, channel_id: str, **fields: Any) -> None:
        with self._cond:
            self._channels[channel_id] = fields

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls to `method` get HTTP 429 with `Retry-After` (whole seconds, as Slack sends)."""
        with self._cond:
            self._rate_limits[method] = [times, retry_after]

    def fail(self, method: str, error: str, *, times: int | None = None) -> None:
        """Calls to `method` answer `{"ok": false, "error": error}`: the next `times`, or all of them."""
        with self._cond:
            self._failures[method] = (error, times)

    def disable_streaming(self, error: str = "not_allowed") -> None:
        """Native streaming unavailable (workspace or plan), so the app must fall back to post + update."""
        for method in STREAM_METHODS:
            self.fail(method, error)

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [call for call in self._calls if call.method == method]

    def messages(self) -> list[dict[str, Any]]:
        """Every message the app posted, as it stands now, each with its `channel`."""
        with self._cond:
            return [copy.deepcopy(m) | {"channel": c} for (c, _), m in self._messages.items()]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """A message the app posted, as it stands after updates, stream appends or deletion (None)."""
        with self._cond:
            return copy.deepcopy(self._messages.get((channel, ts)))

    def wait_for(self, method: str, *, count: int = 1, timeout: float = 60) -> list[Call]:
        """Block until `count` calls to `method` arrived; from inside an event loop use `wait_for_async`."""
        with self._cond:
            if self._cond.wait_for(lambda: len(self.calls_to(method)) >= count, timeout):
                return self.calls_to(method)
            seen = [call.method for call in self._calls]
        raise AssertionError(f"expected {count} call(s) to {method} within {timeout}s; the fake saw {seen}")

    async def wait_for_async(self, method: str, *, count: int = 1, timeout: float = 60) -> list[Call]:
        """`wait_for` off the loop's thread, so the app under test keeps running meanwhile."""
        return await asyncio.to_thread(self.wait_for, method, count=count, timeout=timeout)

    def answer(self, path: str, params: Params, token: str | None) -> tuple[int, dict[str, str], str]:
        """Status, headers and JSON body for one request; serialised under the lock, as other threads edit state."""
        method = path.removeprefix("/api/") if path.startswith("/api/") else "response_url"
        with self._cond:
            self._calls.append(Call(method, params, token))
            self._cond.notify_all()
            limit = self._rate_limits.get(method)
            if limit and limit[0] > 0:
                limit[0] -= 1
                return 429, {"Retry-After": str(limit[1])}, json.dumps(_error("ratelimited"))
            return 200, {}, json.dumps(self._answer(method, params, token))

    def _answer(self, method: str, params: Params, token: str | None) -> dict[str, Any]:
        if method == "response_url":
            return _ok()
        if token is None or token in self.invalid_tokens:
            return _error("not_authed" if token is None else "invalid_auth")
        if method in self._failures:
            error, left = self._failures.pop(method)
            if left is None or left > 1:
                self._failures[method] = (error, None if left is None else left - 1)
            return _error(error)
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        try:
            return handler(params) if handler else _error("unknown_method")
        except KeyError as missing:  # Slack names the missing argument in response_metadata
            messages = [f"[ERROR] missing required field: {missing.args[0]}"]
            return _error("invalid_arguments", response_metadata={"messages": messages})

    def _next_ts(self) -> str:
        self._sent += 1
        return f"{1700000099 + self._sent}.000100"

    def _new_message(self, params: Params, *keys: str) -> dict[str, Any]:
        ts = self._next_ts()
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "app_id": "A1", "team": TEAM_ID, "ts": ts}
        self._messages[(params["channel"], ts)] = message | {key: params[key] for key in keys if key in params}
        return self._messages[(params["channel"], ts)]

    def _api_apps_connections_open(self, _: Params) -> dict[str, Any]:
        return _ok(url=self.socket_url) if self.socket_url else _error("not_allowed_token_type")

    def _api_auth_test(self, _: Params) -> dict[str, Any]:
        return _ok(url="https://acme.slack.com/", team="Acme", user="supportbot", team_id=TEAM_ID,
                   user_id=BOT_USER_ID, bot_id=BOT_ID, is_enterprise_install=False)  # fmt: skip

    def _api_chat_postMessage(self, p: Params) -> dict[str, Any]:
        message = self._new_message(p, "text", "blocks", "thread_ts", "attachments", "metadata")
        return _ok(channel=p["channel"], ts=message["ts"], message=message)

    def _api_chat_update(self, p: Params) -> dict[str, Any]:
        message = self._messages.get((p["channel"], p["ts"]))
        if message is None:
            return _error("message_not_found")
        message |= {key: p[key] for key in ("text", "blocks", "attachments", "metadata") if key in p}
        message["edited"] = {"user": BOT_USER_ID, "ts": p["ts"]}
        return _ok(channel=p["channel"], ts=p["ts"], text=message.get("text", ""), message=message)

    def _api_chat_postEphemeral(self, p: Params) -> dict[str, Any]:
        _require(p, "channel", "user")  # seen by that user only, and never editable: not kept
        return _ok(message_ts=self._next_ts())

    def _api_chat_delete(self, p: Params) -> dict[str, Any]:
        if self._messages.pop((p["channel"], p["ts"]), None) is None:
            return _error("message_not_found")
        return _ok(channel=p["channel"], ts=p["ts"])

    def _api_conversations_replies(self, p: Params) -> dict[str, Any]:
        """The thread as set for the test, and what the bot posted in it since, oldest first (as Slack lists it);
        `ts` may be the thread's parent or any message in it; `latest` (with `inclusive`) ends the list there."""
        channel, ts = p["channel"], p["ts"]
        root = next((thread for (c, thread), listed in self._replies.items()
                     if c == channel and any(m["ts"] == ts for m in listed)), ts)  # fmt: skip
        posted = [m for (c, _), m in self._messages.items() if c == channel and root in (m.get("thread_ts"), m["ts"])]
        messages = sorted(self._replies.get((channel, root), []) + posted, key=lambda m: float(m["ts"]))
        if "latest" in p:
            inclusive = str(p.get("inclusive", "")).lower() in ("1", "true")
            messages = [m for m in messages if float(m["ts"]) < float(p["latest"])
                        or (inclusive and m["ts"] == p["latest"])]  # fmt: skip
        return _ok(messages=messages, has_more=False, response_metadata={"next_cursor": ""})

    def _api_usergroups_users_list(self, p: Params) -> dict[str, Any]:
        if p["usergroup"] not in self._usergroups:
            return _error("no_such_subteam")
        return _ok(users=self._usergroups[p["usergroup"]])

    def _api_chat_getPermalink(self, p: Params) -> dict[str, Any]:
        return _ok(
            channel=p["channel"],
            permalink=f"https://acme.slack.com/archives/{p['channel']}/p{p['message_ts'].replace('.', '')}",
        )

    def _api_reactions_add(self, p: Params) -> dict[str, Any]:
        _require(p, "channel", "timestamp", "name")
        return _ok()

    _api_reactions_remove = _api_reactions_add

    def _api_assistant_threads_setStatus(self, p: Params) -> dict[str, Any]:
        _require(p, "channel_id", "thread_ts", "status")  # status "" clears it
        return _ok()

    def _api_users_info(self, p: Params) -> dict[str, Any]:
        uid, name = p["user"], p["user"].lower()
        user = {"id": uid, "team_id": TEAM_ID, "name": name, "real_name": name, "deleted": False,
                "is_bot": False, "tz": "Europe/Berlin", "locale": "en-US",
                "profile": {"display_name": name, "real_name": name}}  # fmt: skip
        return _ok(user=user | self._users.get(uid, {}))

    def _api_conversations_info(self, p: Params) -> dict[str, Any]:
        cid = p["channel"]
        im, group = cid.startswith("D"), cid.startswith("G")  # Slack's id prefixes: DM, private channel
        channel = {"id": cid, "name": cid.lower(), "is_channel": not im, "is_group": group, "is_im": im,
                   "is_mpim": False, "is_private": group or im, "is_archived": False, "is_member": True,
                   "is_shared": False, "is_ext_shared": False, "context_team_id": TEAM_ID}  # fmt: skip
        return _ok(channel=channel | self._channels.get(cid, {}))

    def _api_chat_startStream(self, p: Params) -> dict[str, Any]:
        _require(p, "channel", "thread_ts")  # Slack streams only as replies in a thread
        message = self._new_message(p, "thread_ts")
        message["text"] = ""
        self._streaming.add((p["channel"], message["ts"]))
        return self._api_chat_appendStream(p | {"ts": message["ts"]})

    def _api_chat_appendStream(self, p: Params) -> dict[str, Any]:
        if (p["channel"], p["ts"]) not in self._streaming:
            return _error("message_not_in_streaming_state")
        self._messages[(p["channel"], p["ts"])]["text"] += _stream_text(p)
        return _ok(channel=p["channel"], ts=p["ts"])

    def _api_chat_stopStream(self, p: Params) -> dict[str, Any]:
        answer = self._api_chat_appendStream(p)
        if answer["ok"]:
            self._streaming.discard((p["channel"], p["ts"]))
            message = self._messages[(p["channel"], p["ts"])]
            message |= {key: p[key] for key in ("blocks", "metadata") if key in p}
            answer["message"] = message
        return answer
