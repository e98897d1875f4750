"""The fake Discord's interactions: slash-command registration, injected clicks and commands, and their responses."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

from tests.adapters.discord.fake_discord_http import (
    Call,
    Route,
    as_mapping,
    bad_request,
    error,
    json_response,
    no_content,
)
from tests.adapters.discord.fake_discord_payloads import BOT, GUILD_ID, Payload, Person, interaction_payload
from tests.adapters.discord.fake_discord_state import DiscordState

OptionValue = str | int | float | bool
RESPONSE_TYPES = {4: "message", 5: "deferred message", 6: "deferred update", 7: "update message", 9: "modal"}
LOADING, EPHEMERAL = 128, 64


@dataclass
class Pending:
    """An interaction the fake sent, and how the bot has answered it so far."""

    id: int
    kind: int  # 2 application command, 3 component
    channel_id: int
    user: Person
    created: float
    message_id: int | None = None  # the message whose component was clicked
    response_type: int | None = None
    original_id: int | None = None
    ephemeral: dict[int, Payload] = field(default_factory=dict)


def option_type(value: OptionValue) -> int:
    """Discord's option types: 5 boolean, 4 integer, 10 number, 3 string."""
    return 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 10 if isinstance(value, float) else 3


class Interactions:
    """Tokens of the interactions sent, the commands `tree.sync()` registered, and the response routes."""

    def __init__(self, *, state: DiscordState, deadline: float) -> None:
        self._state, self._deadline = state, deadline
        self._pending: dict[str, Pending] = {}
        self.commands: dict[int | None, list[Payload]] = {}  # None: global commands

    def routes(self) -> list[Route]:
        return [
            ("GET", "/applications/{application_id}/commands", self.registered),
            ("PUT", "/applications/{application_id}/commands", self.register),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self.registered),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self.register),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self.callback),
            ("POST", "/webhooks/{application_id}/{token}", self.followup),
            ("GET", "/webhooks/{application_id}/{token}/messages/{message_id}", self.webhook_message),
            ("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}", self.webhook_message),
        ]

    def create(
        self, *, kind: int, channel_id: int, user: Person, data: Payload, message: Payload | None = None
    ) -> Payload:
        """An INTERACTION_CREATE body with a fresh id and token; the 3-second clock starts now."""
        channel = self._state.channel(channel_id)
        if channel is None:
            raise ValueError(f"the fake Discord has no channel {channel_id}")
        interaction_id = self._state.ids.next()
        token = f"interaction-token-{interaction_id}"
        payload = interaction_payload(
            interaction_id=interaction_id, token=token, kind=kind, channel=channel, user=user, data=data
        )
        if message is not None:
            payload["message"] = message
        self._pending[token] = Pending(interaction_id, kind, channel_id, user, time.monotonic(),
                                       message_id=int(message["id"]) if message else None)  # fmt: skip
        return payload

    def command_data(self, name: str, options: Mapping[str, OptionValue], subcommand: str | None) -> Payload:
        """`data` of a slash command; `guild_id` only when the command was registered in the guild."""
        in_guild = next((c for c in self.commands.get(GUILD_ID, []) if c["name"] == name), None)
        registered = in_guild or next((c for c in self.commands.get(None, []) if c["name"] == name), None)
        data: Payload = {"id": registered["id"] if registered else str(self._state.ids.next()), "name": name, "type": 1}
        values: list[Payload] = [{"name": k, "type": option_type(v), "value": v} for k, v in options.items()]
        if subcommand is not None:
            values = [{"name": subcommand, "type": 1, "options": values}]
        return data | ({"options": values} if values else {}) | ({"guild_id": str(GUILD_ID)} if in_guild else {})

    def message_command_data(self, name: str, target: Payload) -> Payload:
        """`data` of a message command (right-click → Apps): type 3, the message resolved in full."""
        data = self.command_data(name, {}, None) | {"type": 3, "target_id": target["id"]}
        return data | {"resolved": {"messages": {target["id"]: target}}}

    async def registered(self, call: Call, application_id: str, guild_id: str | None = None) -> web.Response:
        return json_response(self.commands.get(int(guild_id) if guild_id else None, []))

    async def register(self, call: Call, application_id: str, guild_id: str | None = None) -> web.Response:
        """Bulk overwrite, as `tree.sync()` sends it: a command keeps its id when its name stays."""
        scope = int(guild_id) if guild_id else None
        previous = {c["name"]: c["id"] for c in self.commands.get(scope, [])}
        defaults: Payload = {
            "type": 1,
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
        }
        ids = self._state.ids
        saved = [defaults | c | {"id": previous.get(c["name"]) or str(ids.next()), "application_id": application_id,
                                 "version": str(ids.next())} | ({"guild_id": guild_id} if guild_id else {})
                 for c in call.json or []]  # fmt: skip
        self.commands[scope] = saved
        return json_response(saved)

    async def callback(self, call: Call, interaction_id: str, token: str) -> web.Response:
        """The one response Discord allows, within 3 s; the reply is `{"interaction", "resource"}` JSON."""
        pending, kind = self._pending.get(token), int(as_mapping(call.json).get("type", 0))
        if pending is None or pending.id != int(interaction_id) or time.monotonic() - pending.created > self._deadline:
            return error(404, 10062, "Unknown interaction")
        if pending.response_type is not None:
            return error(400, 40060, "Interaction has already been acknowledged.")
        if kind not in RESPONSE_TYPES or (kind in (6, 7) and pending.message_id is None):
            return bad_request(f"Invalid Form Body: interaction response type {kind} is not valid here.")
        pending.response_type = kind
        message = await self._respond(pending, kind, as_mapping(as_mapping(call.json).get("data")), call)
        interaction = {"id": str(pending.id), "type": pending.kind, "response_message_loading": kind == 5,
                       "response_message_ephemeral": bool(message and message["flags"] & EPHEMERAL)}  # fmt: skip
        if message is not None:
            interaction["response_message_id"] = message["id"]
        resource = {"type": kind} | ({"message": message} if message else {})
        return json_response({"interaction": interaction, "resource": resource})

    async def _respond(self, pending: Pending, kind: int, data: Payload, call: Call) -> Payload | None:
        if kind in (6, 7):  # for a component, the "original" response is the message that carries it
            pending.original_id = pending.message_id
            message = self._state.message(pending.message_id or 0)
            if kind == 6 or message is None:
                return None
            return await self._state.edit(message, data)
        if kind == 9:
            return None
        if kind == 5:  # "thinking": a loading placeholder the first followup or an @original edit fills in
            data = {"content": "", "flags": (int(data.get("flags") or 0) & EPHEMERAL) | LOADING}
        message = await self._post(pending, data, call)
        pending.original_id = int(message["id"])
        return message

    async def _post(self, pending: Pending, body: Payload, call: Call) -> Payload:
        metadata = {"id": str(pending.id), "type": pending.kind, "user": pending.user.user(),
                    "authorizing_integration_owners": {"0": str(GUILD_ID)}}  # fmt: skip
        extra = {"webhook_id": str(BOT.id), "application_id": str(BOT.id), "type": 20 if pending.kind == 2 else 0,
                 "interaction_metadata": metadata}  # fmt: skip
        message = await self._state.post(
            channel_id=pending.channel_id, author=BOT, body=body, uploads=call.files, extra=extra
        )
        if message["flags"] & EPHEMERAL:
            pending.ephemeral[int(message["id"])] = message
        return message

    def _message(self, pending: Pending, message_id: str) -> Payload | None:
        wanted = pending.original_id if message_id == "@original" else int(message_id)
        if wanted is None:
            return None
        return pending.ephemeral.get(wanted) or self._state.message(wanted)

    async def followup(self, call: Call, application_id: str, token: str) -> web.Response:
        """After a defer, the first followup fills in the loading message, as Discord does; later ones are new."""
        pending = self._pending.get(token)
        if pending is None or pending.response_type is None:
            return error(404, 10015, "Unknown Webhook")
        original, body = self._message(pending, "@original"), as_mapping(call.json)
        if pending.response_type == 5 and original is not None and original["flags"] & LOADING:
            message = await self._state.edit(original, body | {"flags": original["flags"] & ~LOADING})
        else:
            message = await self._post(pending, body, call)
        return json_response(message) if call.query.get("wait") in ("1", "true", "True") else no_content()

    async def webhook_message(self, call: Call, application_id: str, token: str, message_id: str) -> web.Response:
        pending = self._pending.get(token)
        if pending is None:
            return error(404, 10015, "Unknown Webhook")
        message = self._message(pending, message_id)
        if message is None:
            return error(404, 10008, "Unknown Message")
        if call.method == "PATCH":
            message = await self._state.edit(message, as_mapping(call.json) | {"flags": message["flags"] & ~LOADING})
        return json_response(message)
