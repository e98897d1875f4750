"""A wire-level fake Discord on loopback (REST under /api/v10 + the gateway) that the real discord.py runs against."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import discord
import yarl
from aiohttp import web

from tests.adapters.discord.fake_discord_gateway import MEMBERS, MESSAGE_CONTENT, PRESENCES, Gateway
from tests.adapters.discord.fake_discord_http import Call, CallLog, not_found
from tests.adapters.discord.fake_discord_interactions import Interactions, OptionValue
from tests.adapters.discord.fake_discord_payloads import ALICE, BOT, HELP_ID, Payload, Person, Snowflakes
from tests.adapters.discord.fake_discord_rest import Rest
from tests.adapters.discord.fake_discord_state import DiscordState

TOKEN = "fake-bot-token"

__all__ = ["MEMBERS", "MESSAGE_CONTENT", "PRESENCES", "TOKEN", "Call", "Dispatched", "FakeDiscord", "connected",
           "point_discord_at"]  # fmt: skip


@dataclass(frozen=True)
class Dispatched:
    """An event the fake sent: its name, sequence number (None when the bot's intents hid it) and body."""

    event: str
    seq: int | None
    data: Payload

    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def token(self) -> str:
        """An interaction's token, which its callback and webhook routes carry."""
        return str(self.data["token"])


class FakeDiscord:
    """`async with FakeDiscord() as fake:` serves one guild on 127.0.0.1 and records every REST call."""

    def __init__(
        self, *, token: str = TOKEN, privileged_intents: int = MESSAGE_CONTENT, interaction_deadline: float = 3.0
    ):
        self.token, self.bot, self.origin = token, BOT, ""
        self.gateway = Gateway(token=token, enabled_intents=privileged_intents, guild=lambda: self.state.guild_create(),
                               resume_url=lambda: self.resume_url)  # fmt: skip
        self.state = DiscordState(dispatch=self.gateway.dispatch, ids=Snowflakes(), origin=lambda: self.origin)
        self.interactions = Interactions(state=self.state, deadline=interaction_deadline)
        rest = Rest(state=self.state, gateway_url=lambda: self.gateway_url)
        self._log = CallLog(routes=rest.routes() + self.interactions.routes(), token=token)
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/resume", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._attachment)
        app.router.add_route("*", "/api/v10/{path:.*}", self._log.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.origin = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.origin}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.origin.replace("http://", "ws://") + "/gateway"

    @property
    def resume_url(self) -> str:
        """READY's `resume_gateway_url`: discord.py resumes here, so a RESUME on it shows the reconnect worked."""
        return self.origin.replace("http://", "ws://") + "/resume"

    # What the bot did
    @property
    def calls(self) -> list[Call]:
        return list(self._log.calls)

    def calls_to(self, method: str, path_pattern: str) -> list[Call]:
        """Calls with this method whose path matches, `{name}` standing for one segment: `/channels/{id}/messages`."""
        return self._log.calls_to(method, path_pattern)

    async def wait_for(self, method: str, path_pattern: str, *, count: int = 1, timeout: float = 60.0) -> Call:
        """The `count`-th matching call, once answered (its gateway echo already sent)."""
        return await self._log.wait_for(method, path_pattern, count=count, timeout=timeout)

    def messages_in(self, channel_id: int) -> list[Payload]:
        return self.state.messages_in(channel_id)

    def channel(self, channel_id: int) -> Payload | None:
        return self.state.channel(channel_id)

    @property
    def intents(self) -> int | None:
        """The intents of the last IDENTIFY."""
        return self.gateway.intents

    # What people do
    async def message(
        self, channel_id: int, content: str, *, author: Person = ALICE, mentions_bot: bool = False,
        message_id: int | None = None, thread: int | None = None,
    ) -> Dispatched:  # fmt: skip
        """Someone writes in a channel (or in `thread` under it); an existing `message_id` is delivered again."""
        if thread is not None and (self.channel(thread) or {}).get("parent_id") != str(channel_id):
            raise ValueError(f"{thread} is not a thread of channel {channel_id}")
        self._require_bot()
        text = f"{BOT.mention} {content}" if mentions_bot else content
        message, seq = await self.state.say(
            channel_id=thread or channel_id, author=author, content=text, message_id=message_id
        )
        return Dispatched("MESSAGE_CREATE", seq, message)

    async def dm(self, content: str, *, author: Person = ALICE) -> Dispatched:
        """Someone writes to the bot in a DM channel (type 1): no guild_id, no member."""
        self._require_bot()
        channel_id = int(self.state.open_dm(author.id)["id"])
        message, seq = await self.state.say(channel_id=channel_id, author=author, content=content)
        return Dispatched("MESSAGE_CREATE", seq, message)

    async def forum_post(self, forum_id: int, title: str, content: str, *, author: Person = ALICE,
                         tags: Iterable[int] = ()) -> Dispatched:  # fmt: skip
        """A post in a forum: THREAD_CREATE, then its starter message, whose id is the thread's."""
        self._require_bot()
        thread_id = self.state.ids.next()
        thread, seq = await self.state.start_thread(parent_id=forum_id, thread_id=thread_id, owner=author, name=title,
                                                    options={"applied_tags": list(tags)})  # fmt: skip
        await self.state.say(channel_id=thread_id, author=author, content=content, message_id=thread_id)
        return Dispatched("THREAD_CREATE", seq, thread)

    async def click(self, message_id: int, custom_id: str, *, user: Person = ALICE, component_type: int = 2,
                    values: Iterable[str] | None = None) -> Dispatched:  # fmt: skip
        """Someone clicks a button (or picks from a select) on a message: INTERACTION_CREATE type 3."""
        message = self.state.message(message_id)
        if message is None:
            raise ValueError(f"the fake Discord has no message {message_id}")
        data: Payload = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        interaction = self.interactions.create(kind=3, channel_id=int(message["channel_id"]), user=user, data=data,
                                               message=message)  # fmt: skip
        return await self._send_interaction(interaction)

    async def slash(self, name: str, options: Mapping[str, OptionValue] | None = None, *, user: Person = ALICE,
                    channel_id: int = HELP_ID, subcommand: str | None = None) -> Dispatched:  # fmt: skip
        """Someone runs `/name [subcommand] options…`: INTERACTION_CREATE type 2."""
        data = self.interactions.command_data(name, options or {}, subcommand)
        interaction = self.interactions.create(kind=2, channel_id=channel_id, user=user, data=data)
        return await self._send_interaction(interaction)

    async def message_command(self, name: str, target: Payload, *, user: Person = ALICE) -> Dispatched:
        """Someone runs the message command `name` on `target` (right-click → Apps): INTERACTION_CREATE type 2."""
        data = self.interactions.message_command_data(name, target)
        interaction = self.interactions.create(kind=2, channel_id=int(target["channel_id"]), user=user, data=data)
        return await self._send_interaction(interaction)

    async def reconnect(self, *, redeliver: int = 0, timeout: float = 5.0) -> None:
        """Send op 7 RECONNECT; return once the bot has RESUMEd, the last `redeliver` events sent to it again."""
        await self.gateway.reconnect(redeliver=redeliver, timeout=timeout)

    async def react(self, message: Payload, emoji: str, *, user: Person) -> Dispatched:
        """Someone adds a (unicode) reaction to a message: MESSAGE_REACTION_ADD, with the member in a server."""
        data: Payload = {"user_id": str(user.id), "channel_id": message["channel_id"], "message_id": message["id"],
                         "message_author_id": message["author"]["id"], "emoji": {"id": None, "name": emoji},
                         "burst": False, "type": 0}  # fmt: skip
        if message.get("guild_id"):
            data |= {"guild_id": message["guild_id"], "member": user.member() | {"user": user.user()}}
        return await self.dispatch("MESSAGE_REACTION_ADD", data)

    async def dispatch(self, event: str, data: Payload) -> Dispatched:
        """Any other gateway event, as given."""
        self._require_bot()
        return Dispatched(event, await self.gateway.dispatch(event, data), data)

    async def _send_interaction(self, interaction: Payload) -> Dispatched:
        self._require_bot()
        return Dispatched(
            "INTERACTION_CREATE", await self.gateway.dispatch("INTERACTION_CREATE", interaction), interaction
        )

    def _require_bot(self) -> None:
        if self.gateway.session_id is None:
            raise RuntimeError(
                "no bot has identified on the fake gateway yet: run it with `async with connected(bot, fake)`"
            )

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        upload = self.state.files.get(int(request.match_info["attachment_id"]))
        return not_found() if upload is None else web.Response(body=upload.data, content_type=upload.content_type)


@contextmanager
def point_discord_at(fake: FakeDiscord) -> Iterator[None]:
    """Aim discord.py's REST (`Route.BASE`, read per request) and gateway (`DEFAULT_GATEWAY`) at the fake."""
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.api_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


@asynccontextmanager
async def connected(client: discord.Client, fake: FakeDiscord, *, timeout: float = 10.0) -> AsyncIterator[Any]:
    """Start a client against the fake, yield once it is ready (on_ready fired), close it on the way out."""
    with point_discord_at(fake):
        running = asyncio.create_task(client.start(fake.token))
        try:
            async with asyncio.timeout(timeout):
                while not client.is_ready():  # wait_until_ready() raises until login() has set the client up
                    if running.done():
                        running.result()
                        raise RuntimeError("the client stopped before it was ready")
                    await asyncio.sleep(0.02)
            yield client
        finally:
            await client.close()
            outcome = (await asyncio.gather(running, return_exceptions=True))[0]
    if isinstance(outcome, Exception):  # e.g. a KeyError parsing an event, which stops discord.py's connect()
        raise outcome
