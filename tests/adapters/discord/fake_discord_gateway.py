"""The fake Discord gateway: the websocket discord.py identifies or resumes on, then receives events from."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.adapters.discord.fake_discord_payloads import BOT, GUILD_ID, Payload, application

HEARTBEAT_MS = 41_250
GUILD_MESSAGES, DIRECT_MESSAGES, MESSAGE_CONTENT = 1 << 9, 1 << 12, 1 << 15
MEMBERS, PRESENCES = 1 << 1, 1 << 8
GUILD_MESSAGE_REACTIONS, DIRECT_MESSAGE_REACTIONS = 1 << 10, 1 << 13
CONTENT_FIELDS = {"content": "", "embeds": [], "attachments": [], "components": []}


@dataclass(frozen=True)
class Frame:
    """One gateway frame the client sent (op 1 heartbeat, 2 identify, 6 resume, 8 request members, …)."""

    op: int
    d: Any
    path: str = field(default="/")


def visible(intents: int, event: str, data: Payload) -> Payload | None:
    """What Discord sends a bot with these intents: nothing, a message with its content blanked, fewer members."""
    if event == "GUILD_CREATE" and not intents & MEMBERS:  # the member list is privileged: only the bot itself
        return data | {"members": [m for m in data["members"] if int(m["user"]["id"]) == BOT.id]}
    if event.startswith("MESSAGE_REACTION_"):
        wanted = GUILD_MESSAGE_REACTIONS if data.get("guild_id") else DIRECT_MESSAGE_REACTIONS
        return data if intents & wanted else None
    if event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
        return data
    in_guild = data.get("guild_id") is not None
    if not intents & (GUILD_MESSAGES if in_guild else DIRECT_MESSAGES):
        return None
    mentions_bot = any(int(u["id"]) == BOT.id for u in data.get("mentions", []))
    if intents & MESSAGE_CONTENT or not in_guild or mentions_bot or int(data["author"]["id"]) == BOT.id:
        return data
    return data | CONTENT_FIELDS  # the privileged intent is off: no error, just empty messages


class Gateway:
    """One bot session at a time: HELLO → IDENTIFY → READY + GUILD_CREATE, heartbeats, RECONNECT → RESUME."""

    def __init__(
        self, *, token: str, enabled_intents: int, guild: Callable[[], Payload], resume_url: Callable[[], str]
    ):
        self._token, self._enabled, self._guild, self._resume_url = token, enabled_intents, guild, resume_url
        self.frames: list[Frame] = []
        self.intents: int | None = None
        self.session_id: str | None = None
        self._seq = 0
        self._log: list[Payload] = []  # this session's dispatches, replayed on RESUME
        self._ws: web.WebSocketResponse | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._redeliver = 0
        self._resumed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_MS}, "s": None, "t": None})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    frame = json.loads(msg.data)
                    self.frames.append(Frame(frame["op"], frame.get("d"), request.path))
                    await self._receive(ws, frame["op"], frame.get("d"))
        finally:
            self._sockets.discard(ws)
            if self._ws is ws:
                self._ws = None
        return ws

    async def _receive(self, ws: web.WebSocketResponse, op: int, d: Any) -> None:
        if op == 1:
            await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(ws, d)
        elif op == 6:
            await self._resume(ws, d)
        elif op == 8:
            members = self._guild()["members"]
            chunk = {"guild_id": str(GUILD_ID), "members": members, "chunk_index": 0, "chunk_count": 1,
                     "not_found": [], "presences": [], "nonce": d.get("nonce")}  # fmt: skip
            await self.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    async def _identify(self, ws: web.WebSocketResponse, d: Payload) -> None:
        if d.get("token") != self._token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(d.get("intents", 0))
        if intents & (MEMBERS | PRESENCES | MESSAGE_CONTENT) & ~self._enabled:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        self.intents, self.session_id, self._seq, self._log, self._ws = intents, uuid.uuid4().hex, 0, [], ws
        await self.dispatch("READY", self._ready(d))
        await self.dispatch("GUILD_CREATE", self._guild())

    def _ready(self, identify: Payload) -> Payload:
        app = application()
        ready = {"v": 10, "user": BOT.user() | {"verified": True, "mfa_enabled": False, "flags": 0, "email": None},
                 "guilds": [{"id": str(GUILD_ID), "unavailable": True}], "session_id": self.session_id,
                 "session_type": "normal", "resume_gateway_url": self._resume_url(), "private_channels": [],
                 "relationships": [], "presences": [], "guild_join_requests": [], "geo_ordered_rtc_regions": [],
                 "user_settings": {}, "application": {"id": app["id"], "flags": app["flags"]},
                 "_trace": ['["gateway-fake",{"micros":0}]']}  # fmt: skip
        return ready | ({"shard": identify["shard"]} if "shard" in identify else {})

    async def _resume(self, ws: web.WebSocketResponse, d: Payload) -> None:
        if d.get("token") != self._token or d.get("session_id") != self.session_id:
            await ws.send_json({"op": 9, "d": False, "s": None, "t": None})  # not resumable: identify again
            return
        self._ws = ws
        since = int(d.get("seq") or 0) - self._redeliver  # Discord may redeliver what the bot already saw
        self._redeliver = 0
        for frame in [f for f in self._log if f["s"] > since]:
            await ws.send_json(frame)
        self._seq += 1
        await ws.send_json({"op": 0, "t": "RESUMED", "s": self._seq, "d": {"_trace": ['["gateway-fake",{}]']}})
        self._resumed.set()

    async def dispatch(self, event: str, data: Payload) -> int | None:
        """Send an event with the next sequence number; None when the bot's intents keep it from the bot."""
        if self.session_id is None:
            return None
        shown = visible(self.intents or 0, event, data)
        if shown is None:
            return None
        self._seq += 1
        frame = {"op": 0, "t": event, "s": self._seq, "d": shown}
        self._log.append(frame)
        if self._ws is not None and not self._ws.closed:  # between RECONNECT and RESUME it waits in the log
            await self._ws.send_json(frame)
        return self._seq

    async def reconnect(self, *, redeliver: int = 0, timeout: float = 5.0) -> None:
        """Send op 7 RECONNECT and wait for the bot's RESUME, then replay (and redeliver the last N events)."""
        if self._ws is None:
            raise RuntimeError("no bot is connected to the fake gateway")
        self._redeliver, self._resumed = redeliver, asyncio.Event()
        await self._ws.send_json({"op": 7, "d": None, "s": None, "t": None})
        await asyncio.wait_for(self._resumed.wait(), timeout)

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"fake Discord stopping")
