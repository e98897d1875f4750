"""The fake Discord's REST routes for login, channels, messages, threads and DMs, answered from DiscordState."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from tests.adapters.discord.fake_discord_http import (
    Call,
    Route,
    as_mapping,
    bad_request,
    error,
    json_response,
    no_content,
    query_int,
)
from tests.adapters.discord.fake_discord_payloads import BOT, application
from tests.adapters.discord.fake_discord_state import THREAD_TYPES, DiscordState

TEXT_TYPES, FORUM_TYPES = (0, 5), (15, 16)


def unknown_channel() -> web.Response:
    return error(404, 10003, "Unknown Channel")


def unknown_message() -> web.Response:
    return error(404, 10008, "Unknown Message")


class Rest:
    """REST endpoints that read or change channels and messages; every change also goes out on the gateway."""

    def __init__(self, *, state: DiscordState, gateway_url: Callable[[], str]) -> None:
        self._state, self._gateway_url = state, gateway_url

    def routes(self) -> list[Route]:
        return [
            ("GET", "/users/@me", self.me),
            ("GET", "/oauth2/applications/@me", self.application),
            ("GET", "/applications/@me", self.application),
            ("GET", "/gateway", self.gateway),
            ("GET", "/gateway/bot", self.gateway),
            ("POST", "/users/@me/channels", self.open_dm),
            ("GET", "/channels/{channel_id}", self.channel),
            ("GET", "/channels/{channel_id}/messages", self.history),
            ("POST", "/channels/{channel_id}/messages", self.post_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self.message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message),
            ("POST", "/channels/{channel_id}/messages/{message_id}/threads", self.thread_from_message),
            ("POST", "/channels/{channel_id}/threads", self.thread),
            ("POST", "/channels/{channel_id}/typing", self.accepted),
            ("PUT", "/channels/{channel_id}/thread-members/@me", self.accepted),
            ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self.accepted),
        ]

    async def me(self, call: Call) -> web.Response:
        return json_response(BOT.user() | {"verified": True, "mfa_enabled": False, "flags": 0, "email": None})

    async def application(self, call: Call) -> web.Response:
        return json_response(application())

    async def gateway(self, call: Call) -> web.Response:
        if not call.path.endswith("/bot"):
            return json_response({"url": self._gateway_url()})
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return json_response({"url": self._gateway_url(), "shards": 1, "session_start_limit": limit})

    async def open_dm(self, call: Call) -> web.Response:
        return json_response(self._state.open_dm(int(as_mapping(call.json)["recipient_id"])))

    async def channel(self, call: Call, channel_id: str) -> web.Response:
        channel = self._state.channel(int(channel_id))
        return unknown_channel() if channel is None else json_response(channel)

    async def history(self, call: Call, channel_id: str) -> web.Response:
        if self._state.channel(int(channel_id)) is None:
            return unknown_channel()
        limit = max(1, min(100, query_int(call.query, "limit") or 50))
        before, after = query_int(call.query, "before"), query_int(call.query, "after")
        return json_response(self._state.history(int(channel_id), limit=limit, before=before, after=after))

    async def post_message(self, call: Call, channel_id: str) -> web.Response:
        if self._state.channel(int(channel_id)) is None:
            return unknown_channel()
        body = as_mapping(call.json)
        if not (body.get("content") or body.get("embeds") or body.get("components") or call.files):
            return bad_request("Cannot send an empty message", code=50006)
        if len(str(body.get("content") or "")) > 2000:  # Discord's limit on a message's text
            return bad_request("Invalid Form Body: content must be 2000 or fewer in length.")
        message = await self._state.post(channel_id=int(channel_id), author=BOT, body=body, uploads=call.files)
        return json_response(message)

    async def message(self, call: Call, channel_id: str, message_id: str) -> web.Response:
        message = self._state.message(int(message_id))
        if message is None or message["channel_id"] != channel_id:
            return unknown_message()
        return json_response(message)

    async def edit_message(self, call: Call, channel_id: str, message_id: str) -> web.Response:
        message = self._state.message(int(message_id))
        if message is None or message["channel_id"] != channel_id:
            return unknown_message()
        if int(message["author"]["id"]) != BOT.id:
            return error(403, 50005, "Cannot edit a message authored by another user")
        return json_response(await self._state.edit(message, as_mapping(call.json)))

    async def thread_from_message(self, call: Call, channel_id: str, message_id: str) -> web.Response:
        """A thread started on a message takes the message's id, as on Discord."""
        channel, message = self._state.channel(int(channel_id)), self._state.message(int(message_id))
        if channel is None:
            return unknown_channel()
        if message is None or message["channel_id"] != channel_id:
            return unknown_message()
        if channel["type"] not in TEXT_TYPES:
            return bad_request("Cannot execute action on this channel type", code=50024)
        if self._state.channel(int(message_id)) is not None:
            return bad_request("A thread has already been created for this message", code=160004)
        body = as_mapping(call.json)
        return json_response(await self._state.thread_on_message(message, name=str(body.get("name", "")), options=body))

    async def thread(self, call: Call, channel_id: str) -> web.Response:
        """A thread without a message in a text channel, or a post (thread + starter message) in a forum."""
        channel, body = self._state.channel(int(channel_id)), as_mapping(call.json)
        if channel is None:
            return unknown_channel()
        if channel["type"] in THREAD_TYPES or channel["type"] not in TEXT_TYPES + FORUM_TYPES:
            return bad_request("Cannot execute action on this channel type", code=50024)
        is_forum = channel["type"] in FORUM_TYPES
        if is_forum and not body.get("message"):
            return bad_request("Invalid Form Body: message is required in a forum channel.")
        options = body if is_forum else {"type": 12} | body  # Discord's default outside forums is a private thread
        thread_id = self._state.ids.next()
        thread, _ = await self._state.start_thread(parent_id=int(channel_id), thread_id=thread_id, owner=BOT,
                                                   name=str(body.get("name", "")), options=options)  # fmt: skip
        if not is_forum:
            return json_response(thread)
        starter = await self._state.post(channel_id=thread_id, author=BOT, body=as_mapping(body["message"]),
                                         uploads=call.files, extra={"id": str(thread_id)})  # fmt: skip
        return json_response(thread | {"message": starter})

    async def accepted(self, call: Call, **ids: str) -> web.Response:
        """Typing, joining a thread, reacting: Discord answers 204 and the bot needs nothing back."""
        if self._state.channel(int(ids["channel_id"])) is None:
            return unknown_channel()
        return no_content()
