"""/admin of `supportbot run` in a real headless browser (Debian's chromium, driven by Playwright) on loopback: the
report of a week of questions loads with no console error, its charts render, a gap expands to its questions, the
token never appears, and every request without the token is refused."""

from __future__ import annotations

import asyncio
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from adapters.cli.admin_page import AdminPage
from adapters.cli.ops_server import ops_app
from adapters.cli.report_page import page, plotly_js
from bot.config import load_settings
from bot.host import Host
from bot.operations.metrics import PrometheusMetrics
from bot.wiring import Bot, Knowledge
from tests.conftest import synced_example_config
from tests.fixtures.ports import free_port
from tests.fixtures.report_records import fill

TOKEN = "test-admin-token-0123456789abcdef"
CHROMIUM = Path("/usr/bin/chromium")
# As the machine's notes say: without the background-networking flags Chromium calls Google at every start.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip

pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is not installed "
                                "(apt-get install chromium; .ci/run installs it)")  # fmt: skip


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, minilm_path: Path, embedder: object) -> Host:
    root = tmp_path_factory.mktemp("admin")
    config = synced_example_config(root, minilm_path=minilm_path, embedder=embedder, extra_yaml="", learned=True)
    settings = load_settings(config)
    knowledge = Knowledge(settings, prebuilt_embedder=embedder)  # type: ignore[arg-type]
    fill(knowledge.manifest.engine, embedder.embed_queries, model=settings.embedding.model,  # type: ignore[attr-defined]
         now=datetime.now(UTC), languages=("en",))  # fmt: skip
    return Host(Bot(knowledge, warn=print))


@pytest.fixture(scope="module")
def admin_url(host: Host) -> Iterator[str]:
    """The operators' endpoints with /admin, served from a thread of their own as `supportbot run` serves them."""
    port, loop, ready = free_port(), asyncio.new_event_loop(), threading.Event()
    runner = web.AppRunner(ops_app({}, PrometheusMetrics(), AdminPage(host, TOKEN)))

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30)
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)


def status_of(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=120) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_every_request_without_the_token_is_refused(admin_url: str) -> None:
    for path in ("/admin", "/admin/plotly.min.js", "/admin/anything", "/admin?token=wrong-token-0123456789"):
        assert status_of(admin_url + path) == 401, path
    assert status_of(admin_url + "/admin", {"Authorization": "Bearer not-the-token"}) == 401
    assert status_of(admin_url + "/admin", {"Cookie": "supportbot_admin=forged"}) == 401
    assert status_of(admin_url + "/admin", {"Authorization": f"Bearer {TOKEN}"}) == 200
    assert status_of(admin_url + "/healthz") == 200  # the probes need no token


def test_the_admin_page_in_a_browser(admin_url: str, host: Host, tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        tab = browser.new_page(viewport={"width": 1200, "height": 900})
        problems: list[str] = []
        tab.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        tab.on("pageerror", lambda error: problems.append(str(error)))

        refused = tab.goto(f"{admin_url}/admin")
        assert refused is not None and refused.status == 401
        problems.clear()  # the browser logs the 401 itself
        shown = tab.goto(f"{admin_url}/admin?token={TOKEN}")
        assert shown is not None and shown.status == 200
        assert tab.url == f"{admin_url}/admin"  # the token leaves the address bar (and the history)
        tab.wait_for_selector("#per-day .main-svg", timeout=60_000)
        assert tab.locator("#per-day .bars path").count() > 0  # questions per day, stacked by outcome
        assert tab.locator("#self-served .scatterlayer .trace").count() == 1  # the self-served rate over time
        report = host.report(since=datetime.fromtimestamp(0, UTC), until=datetime.now(UTC))
        assert tab.locator("#gaps .bars path").count() == min(len(report.gaps), 15)  # the gaps as bars
        assert tab.locator("#totals [data-total=questions] b").inner_text() == str(report.totals.questions)
        assert tab.locator("#knowledge").inner_text().count("handbook") == 1  # the knowledge base's state

        first = tab.locator("details.gap").first
        assert not first.locator("li").first.is_visible()
        first.locator("summary").click()
        asked = [item.inner_text() for item in first.locator("li").all()]
        assert asked == report.gaps[0].examples and all(first.locator("li").first.is_visible() for _ in asked[:1])
        assert TOKEN not in tab.content()
        assert problems == []
        tab.screenshot(path=str(tmp_path / "admin.png"), full_page=True)
        assert (tmp_path / "admin.png").stat().st_size > 10_000

        # `supportbot report --html`'s page: the same report, self-contained (Plotly inline), opened from disk.
        file = tmp_path / "report.html"
        file.write_text(page(report, script=f"<script>{plotly_js()}</script>"), encoding="utf-8")
        tab.goto(file.as_uri())
        tab.wait_for_selector("#gaps .main-svg", timeout=60_000)
        assert tab.locator("#per-day .bars path").count() > 0 and problems == []
        browser.close()


def test_the_review_queue_in_a_browser(admin_url: str, host: Host) -> None:
    """Answers people gave where the bot could not: listed with where they came from, approved (indexed at once)
    or rejected (deleted) with a click; what a person wrote is shown as text, never run."""
    dog = host.drafts.write(question="Can I bring my dog to the office?", author="Dana", marked_by="Hana",
                            reply="Yes, on Fridays, on a lead. <script>window.ran = true</script>",
                            link="https://acme.slack.com/archives/C1/p1700000000000100", language="en")  # fmt: skip
    party = host.drafts.write(question="When is the Christmas party?", reply="On 18 December.", author="Ada",
                              marked_by="Ada", link=None, language="en")  # fmt: skip
    post = urllib.request.Request(f"{admin_url}/admin/drafts/{dog.id}/approve", data=b"form=x", method="POST")
    assert status_of_request(post) == 401  # no token
    post.add_header("Authorization", f"Bearer {TOKEN}")
    assert status_of_request(post) == 403  # the token, but not the page's form: another site's forged post
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        tab = browser.new_page()
        problems: list[str] = []
        tab.on("pageerror", lambda error: problems.append(str(error)))
        tab.goto(f"{admin_url}/admin?token={TOKEN}")
        tab.get_by_role("link", name="Answers waiting for review (2)").click()
        assert tab.url == f"{admin_url}/admin/drafts"
        assert tab.locator(".draft h2").all_inner_texts() == [dog.question, party.question]
        shown = tab.locator(f"[data-draft='{dog.id}']")
        assert "<script>window.ran = true</script>" in shown.locator("pre").inner_text()
        assert tab.evaluate("window.ran") is None  # shown as text, not run
        assert shown.get_by_role("link", name="the thread").get_attribute("href") == dog.link

        shown.get_by_role("button", name="Approve").click()
        tab.wait_for_selector(".done")
        assert tab.locator(".done").inner_text().startswith("Approved and indexed: the bot answers from can-i-bring")
        assert tab.locator(".draft h2").all_inner_texts() == [party.question]
        found = host.search("Can I bring my dog to the office?", collections=["learned"], k=1)
        assert found and found[0].path.endswith(f"-{dog.id}.md")  # indexed: the bot answers from it now

        tab.locator(f"[data-draft='{party.id}']").get_by_role("button", name="Reject").click()
        tab.wait_for_selector(".done")
        assert tab.locator(".done").inner_text() == "Rejected and deleted: “When is the Christmas party?”."
        assert "No answers are waiting for review." in tab.content() and host.drafts.waiting() == []
        tab.goto(f"{admin_url}/admin")
        assert tab.get_by_role("link", name="Answers waiting for review (0)").count() == 1
        assert problems == [] and TOKEN not in tab.content()
        browser.close()


def status_of_request(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_chromium_is_debians(tmp_path: Path) -> None:
    """The browser is the system's, never one a test tool downloads (which fails here)."""
    assert shutil.which("chromium") == str(CHROMIUM)
