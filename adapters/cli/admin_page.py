"""/admin on `supportbot run`'s operators' port: the report of the last days and the knowledge base's state, for
whoever holds `server.admin_token`. Everything under /admin answers 401 without it; the token itself is never
shown, and a browser that opened `/admin?token=…` is sent on to a URL without it, holding a cookie derived from it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from datetime import UTC, datetime

from aiohttp import web

from adapters.cli.knowledge_commands import UsageError
from adapters.cli.report_command import collection_states, since_of
from adapters.cli.report_page import page, plotly_js, review_page
from bot.host import Host
from bot.learning import DraftError
from knowledge.sync_lock import SyncAlreadyRunning

log = logging.getLogger(__name__)
COOKIE = "supportbot_admin"
CACHE_SECONDS = 60.0  # a report clusters every gap question: not again for every reload
NAV = "<!-- drafts waiting -->"
SCRIPT = '<script type="text/javascript" src="/admin/plotly.min.js"></script>'
REFUSED = (
    '<!doctype html><title>401</title><link rel="icon" href="data:,">'
    "<p>This page needs the admin token: open <code>/admin?token=…</code> or send "
    "<code>Authorization: Bearer …</code> (server.admin_token, $SUPPORTBOT_ADMIN_TOKEN).</p>"
)


class AdminPage:
    def __init__(self, host: Host, token: str) -> None:
        self._host = host
        self._token = token
        self._session = hmac.new(token.encode(), b"supportbot admin session", hashlib.sha256).hexdigest()
        self._form = hmac.new(token.encode(), b"supportbot admin form", hashlib.sha256).hexdigest()  # vs. CSRF
        self._made: dict[tuple[str, str], tuple[float, str]] = {}
        self._plotly: bytes | None = None

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/admin", self._admin)
        app.router.add_get("/admin/plotly.min.js", self._script)
        app.router.add_get("/admin/drafts", self._drafts)
        app.router.add_post("/admin/drafts/{draft}/{verdict:approve|reject}", self._review)
        app.router.add_route("*", "/admin/{rest:.*}", self._unknown)

    def _allowed(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        return bool(given and hmac.compare_digest(given, self._token)) or hmac.compare_digest(
            request.cookies.get(COOKIE, ""), self._session
        )

    async def _admin(self, request: web.Request) -> web.StreamResponse:
        if token := request.query.get("token"):
            if not hmac.compare_digest(token, self._token):
                return _refused()
            rest = {k: v for k, v in request.query.items() if k != "token"}
            moved = web.HTTPSeeOther(request.rel_url.with_query(rest))
            moved.set_cookie(COOKIE, self._session, path="/admin", httponly=True, samesite="Strict")
            return moved
        if not self._allowed(request):
            return _refused()
        since, channel = request.query.get("since", "7d"), request.query.get("channel", "")
        try:
            html = await self._page(since, channel)
        except UsageError as error:
            return web.Response(status=400, text=str(error))
        waiting = len(await asyncio.to_thread(self._host.drafts.waiting))  # not cached: it changes with each review
        html = html.replace(NAV, f'<p><a href="/admin/drafts">Answers waiting for review ({waiting})</a></p>', 1)
        return web.Response(text=html, content_type="text/html", headers=_private())

    async def _page(self, since: str, channel: str) -> str:
        key = (since, channel)
        cached = self._made.get(key)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        now = datetime.now(UTC)
        start = since_of(since, now=now)

        def make() -> str:
            made = self._host.report(since=start, until=now, channel=channel or None)
            return page(made, script=SCRIPT, knowledge=collection_states(self._host), title="supportbot admin",
                        nav=NAV)  # fmt: skip

        html = await asyncio.to_thread(make)
        self._made[key] = (time.monotonic(), html)
        return html

    async def _drafts(self, request: web.Request) -> web.StreamResponse:
        """The review queue: each answer saved from a thread, with Approve and Reject."""
        if not self._allowed(request):
            return _refused()
        waiting = await asyncio.to_thread(self._host.drafts.waiting)
        html = review_page(waiting, form=self._form, done=request.query.get("done", ""))
        return web.Response(text=html, content_type="text/html", headers=_private())

    async def _review(self, request: web.Request) -> web.StreamResponse:
        """Approve (moved into the learned collection, which is synced at once) or reject (deleted) one draft."""
        if not self._allowed(request):
            return _refused()
        form = await request.post()
        if not hmac.compare_digest(str(form.get("form", "")), self._form):
            return web.Response(status=403, text="This form is stale or from elsewhere: reload /admin/drafts.")
        draft, verdict = request.match_info["draft"], request.match_info["verdict"]
        try:
            done = await asyncio.to_thread(self._approve if verdict == "approve" else self._reject, draft)
        except DraftError as error:
            done = str(error)
        return web.HTTPSeeOther(request.rel_url.with_path("/admin/drafts").with_query({"done": done}))

    def _approve(self, draft_id: str) -> str:
        host = self._host
        where = host.approve(draft_id)
        collection = host.settings.learning.collection
        try:
            host.sync(collection, holder="admin page")
        except SyncAlreadyRunning:
            return f"Approved: {where.name} is indexed at the next sync of {collection} (one is running now)."
        except Exception as error:  # approved all the same: the next sync indexes it
            log.exception("Syncing %s after an approval failed", collection)
            return f"Approved: {where.name} is indexed at the next sync of {collection} (this one failed: {error})."
        self._made.clear()  # the report's pages and gaps change with it
        return f"Approved and indexed: the bot answers from {where.name} now."

    def _reject(self, draft_id: str) -> str:
        draft = self._host.reject(draft_id)
        return f"Rejected and deleted: “{draft.question}”."

    async def _script(self, request: web.Request) -> web.StreamResponse:
        if not self._allowed(request):
            return _refused()
        if self._plotly is None:
            self._plotly = (await asyncio.to_thread(plotly_js)).encode()
        headers = {**_private(), "Cache-Control": "private, max-age=86400"}
        return web.Response(body=self._plotly, content_type="text/javascript", headers=headers)

    async def _unknown(self, request: web.Request) -> web.StreamResponse:
        return _refused() if not self._allowed(request) else web.Response(status=404, text="Not found")


def _refused() -> web.Response:
    return web.Response(status=401, text=REFUSED, content_type="text/html",
                        headers={"WWW-Authenticate": 'Bearer realm="supportbot admin"', **_private()})  # fmt: skip


def _private() -> dict[str, str]:
    return {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff"}  # fmt: skip
