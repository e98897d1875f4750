"""The storage contract: every table the bot writes behaves the same on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from bot.history import SqlThreadHistory, ThreadKey, Turn
from bot.inflight import MAX_ATTEMPTS, InFlight
from bot.messages import Answer, IncomingMessage, Source
from bot.records import Records, claims_table
from knowledge.database import open_database
from knowledge.manifest import Manifest
from knowledge.sync_lock import RENEW_EVERY, SyncAlreadyRunning, SyncLocks, locks_table

REPO = Path(__file__).resolve().parents[2]
KEY = ThreadKey("slack", "C1", "1700000000.000100")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_database(database_url)
    yield engine
    engine.dispose()


def race(url: str, work: Callable[[Engine], object], *, runners: int = 8) -> list[object]:
    """`work` in threads started together, each with its own engine (its own connections), as processes would."""
    barrier, results, lock = threading.Barrier(runners), [], threading.Lock()

    def runner() -> None:
        engine = open_database(url)
        barrier.wait()
        try:
            outcome = work(engine)
        except Exception as error:
            outcome = error
        with lock:
            results.append(outcome)
        engine.dispose()

    threads = [threading.Thread(target=runner) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_manifest_commits_a_file_atomically_and_stages_what_it_replaces(engine: Engine) -> None:
    manifest = Manifest(engine)
    manifest.stage("kb", ["a-1", "a-2"])
    assert manifest.stale("kb", ["a-1", "a-2", "other"]) == {"a-1", "a-2"}  # written but not yet live
    manifest.commit_file("kb", "it/vpn.md", content_hash="h1", chunk_ids=["a-1", "a-2"])
    assert manifest.stale("kb", ["a-1", "a-2"]) == set() and manifest.garbage("kb") == []
    manifest.stage("kb", ["b-1"])
    manifest.commit_file("kb", "it/vpn.md", content_hash="h2", chunk_ids=["b-1", "a-2"])
    assert sorted(manifest.garbage("kb")) == ["a-1"]  # the replaced chunk, and only it
    record = manifest.files("kb")["it/vpn.md"]
    assert (record.content_hash, record.chunk_ids, record.error) == ("h2", ("b-1", "a-2"), None)
    assert record.synced_at is not None and record.synced_at.tzinfo is not None
    manifest.collected("kb", ["a-1"])
    assert manifest.garbage("kb") == []


def test_manifest_keeps_a_failed_file_live_and_forgets_removed_ones(engine: Engine) -> None:
    manifest = Manifest(engine)
    manifest.commit_file("kb", "ok.md", content_hash="h", chunk_ids=["c-1"])
    manifest.record_failure("kb", "ok.md", "cannot be read")
    manifest.record_failure("kb", "bad.pdf", "encrypted")
    status = manifest.status("kb")
    assert (status.files, status.chunks, status.last_sync) == (1, 1, None)
    assert status.failures == (("bad.pdf", "encrypted"), ("ok.md", "cannot be read"))
    assert manifest.stale("kb", ["c-1"]) == set()  # bad input loses nothing
    manifest.forget_file("kb", "ok.md")
    assert manifest.stale("kb", ["c-1"]) == {"c-1"}
    manifest.mark_synced("kb")
    manifest.mark_synced("kb")
    last = manifest.status("kb").last_sync
    assert last is not None and abs(datetime.now(UTC) - last) < timedelta(minutes=1)
    manifest.forget_collection("kb")
    assert manifest.files("kb") == {} and manifest.garbage("kb") == [] and manifest.status("kb").last_sync is None


def test_history_keeps_threads_apart_in_any_script_and_ages_out(engine: Engine) -> None:
    history = SqlThreadHistory(engine)
    assert history.is_empty(KEY) and not history.has_answered(KEY)
    history.add(KEY, Turn("user", "كيف أتصل بالشبكة الافتراضية؟", "ar"))
    history.add(KEY, Turn("assistant", "استخدم المنفذ 1194.", "ar"))
    history.add(ThreadKey("discord", "C1", KEY.thread), Turn("user", "other platform"))
    assert history.has_answered(KEY)
    turns = history.recent(KEY, budget=100, count_tokens=lambda text: len(text.split()))
    assert turns == [Turn("user", "كيف أتصل بالشبكة الافتراضية؟", "ar"), Turn("assistant", "استخدم المنفذ 1194.", "ar")]
    expired = SqlThreadHistory(engine, retention_days=1e-9)
    expired.add(ThreadKey("cli", "c", "t"), Turn("user", "old news"))
    assert expired.recent(KEY, budget=100, count_tokens=len) == []


def test_answers_and_feedback_are_kept_together(engine: Engine) -> None:
    records = Records(engine)
    message = IncomingMessage("slack", "T1", "C1", "t", "U1", "What port does the VPN use?")
    answer = Answer("Port 1194.", (Source("VPN", "", "it/vpn.md", None, "handbook"),), "en", "answered", "m")
    answer_id = records.record_answer(message, answer)
    assert records.record_feedback(answer_id, user="U1", rating="helpful")
    assert records.record_feedback(answer_id, user="U1", rating="not_helpful")
    assert records.record_feedback(answer_id, user="U2", rating="helpful")
    assert records.feedback(answer_id) == {"U1": "not_helpful", "U2": "helpful"}
    stored = records.answer(answer_id)
    assert stored is not None and stored["question"] == "What port does the VPN use?" and stored["user"] == "U1"
    assert not records.record_feedback("no-such-answer", user="U1", rating="helpful")


def test_an_event_is_claimed_once_by_racing_threads(engine: Engine, database_url: str) -> None:
    results = race(database_url, lambda own: Records(own).claim("slack", "C1:1700000000.000100"))
    assert sorted(results, key=str) == [False] * 7 + [True]
    assert Records(engine).claim("discord", "C1:1700000000.000100")  # platforms are apart


def _claim_in_a_process(url: str, barrier: Any, results: Any) -> None:
    engine = open_database(url)
    barrier.wait()
    results.put(Records(engine).claim("slack", "C9:1700000000.000900"))


@pytest.mark.slow
def test_an_event_is_claimed_once_by_racing_processes(engine: Engine, database_url: str) -> None:
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as separate bot processes are
    barrier, results = context.Barrier(3), context.Queue()
    processes = [context.Process(target=_claim_in_a_process, args=(database_url, barrier, results)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert all(process.exitcode == 0 for process in processes)
    assert sorted(results.get(timeout=5) for _ in processes) == [False, False, True]


def test_a_second_sync_is_refused_and_told_who_holds_the_lock(engine: Engine) -> None:
    locks = SyncLocks(engine)
    with locks.hold("handbook", holder="build-01:42 (cli)"):
        with pytest.raises(SyncAlreadyRunning) as refused:
            locks.take("handbook", holder="slack:U123")
        message = str(refused.value)
        assert message.startswith("A sync of handbook is already running (started by build-01:42 (cli) at ")
        assert message.endswith(" UTC); try again when it has finished.")
        locks.take("community", holder="slack:U123").release()  # another collection is free
    locks.take("handbook", holder="slack:U123").release()  # released at the end of the first


def test_racing_takers_get_the_lock_once(engine: Engine, database_url: str) -> None:
    results = race(database_url, lambda own: SyncLocks(own).take("handbook", holder="racer"))
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert sum(isinstance(r, SyncAlreadyRunning) for r in results) == 7


def test_a_stale_lock_is_taken_over_and_its_old_holder_cannot_release_it(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Where nothing dies with its holder (no fcntl), the leased row: taken over after an hour of silence."""
    locks = SyncLocks(engine, live=False)
    dead = locks.take("handbook", holder="old-host:7 (cli)")
    with engine.begin() as db:  # its process died two hours ago
        db.execute(update(locks_table).values(renewed_at=datetime.now(UTC) - timedelta(hours=2)))
    fresh = locks.take("handbook", holder="slack:U123")
    assert "Took over the sync lock of handbook from old-host:7 (cli)" in caplog.text
    dead.release()  # a late release by the dead sync leaves the new holder's lock alone
    with pytest.raises(SyncAlreadyRunning, match="started by slack:U123"):
        locks.take("handbook", holder="discord:alice")
    fresh.release()


def test_a_renewed_lock_is_not_stale(engine: Engine) -> None:
    locks = SyncLocks(engine, live=False)
    held = locks.take("handbook", holder="long sync")
    with engine.begin() as db:  # silent for two hours so far…
        db.execute(update(locks_table).values(renewed_at=datetime.now(UTC) - timedelta(hours=2)))
    held._renewed -= RENEW_EVERY  # …but due for renewal, which a sync does between files
    held.renew()
    with pytest.raises(SyncAlreadyRunning, match="started by long sync"):
        locks.take("handbook", holder="other")
    held.release()


HOLDER = """
import sys, time
from knowledge.database import open_database
from knowledge.sync_lock import SyncLocks
SyncLocks(open_database(sys.argv[1])).take("handbook", holder="doomed-host:99 (cli)")
print("held", flush=True)
time.sleep(600)
"""


def test_a_killed_holders_lock_is_free_at_once(
    engine: Engine, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A sync process killed with SIGKILL holds nothing: the next taker gets the lock at once (not after an
    hour), and the row it left is replaced. While it lives, it is refused and named."""
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    child = subprocess.Popen([sys.executable, str(script), database_url], stdout=subprocess.PIPE, text=True,
                             cwd=REPO)  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        locks = SyncLocks(engine)
        with pytest.raises(SyncAlreadyRunning, match=r"started by doomed-host:99 \(cli\)"):
            locks.take("handbook", holder="slack:U123")
    finally:
        child.kill()  # SIGKILL: no finally, no atexit, no release
        child.wait()
    deadline = time.monotonic() + 10  # PostgreSQL ends the dead client's session when it sees the socket close
    while True:
        try:
            held = locks.take("handbook", holder="slack:U123")
            break
        except SyncAlreadyRunning:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    assert "Took over the sync lock of handbook from doomed-host:99 (cli)" in caplog.text
    with pytest.raises(SyncAlreadyRunning, match="started by slack:U123"):
        SyncLocks(engine).take("handbook", holder="discord:alice")
    held.release()
    SyncLocks(engine).take("handbook", holder="discord:alice").release()


class Clock:
    """Time that a test moves: leases lapse without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _question(text: str = "What port does the VPN use?") -> IncomingMessage:
    return IncomingMessage("slack", "T1", "C1", "1700000000.000100", "U1", text, is_direct=False,
                           default_visibility="public")  # fmt: skip


def test_a_question_in_flight_is_recovered_once_its_holders_lease_lapses(engine: Engine) -> None:
    clock = Clock()
    dying = InFlight(engine, lease=timedelta(seconds=60), holder="host-a:ns:1:aaaa", clock=clock)
    other = InFlight(engine, lease=timedelta(seconds=60), holder="host-b:ns:2:bbbb", clock=clock)
    asked = _question()
    assert dying.claim("slack", "C1:1700000000.000100", message=asked, reply={"channel": "C1", "thread_ts": "1.2"})
    assert not other.claim("slack", "C1:1700000000.000100", message=asked)  # a copy of the event: once
    dying.placed("slack", "C1:1700000000.000100", "1700000001.000200")
    clock.now += timedelta(seconds=45)
    assert dying.renew() == 1  # alive: renewed, so not stale however long it takes
    clock.now += timedelta(seconds=45)
    assert other.stale(["slack"]) == []
    clock.now += timedelta(seconds=16)  # 61 s of silence: the holder is gone
    assert other.stale(["discord"]) == []  # each platform's processes recover their own
    [claim] = other.stale(["slack"])
    assert claim.message == asked and claim.message.id == asked.id and claim.message.time == asked.time
    assert claim.message.default_visibility == "public"  # what the channel may read survives too
    assert (claim.reply, claim.placeholder, claim.holder) == ({"channel": "C1", "thread_ts": "1.2"},
                                                              "1700000001.000200", "host-a:ns:1:aaaa")  # fmt: skip
    assert other.take_over(claim)
    assert not dying.take_over(claim)  # found with the old holder: one taker only
    assert other.stale(["slack"]) == [] and other.renew() == 1  # the new holder's lease
    other.done("slack", "C1:1700000000.000100")
    clock.now += timedelta(hours=1)
    assert other.stale(["slack"]) == [] and other.renew() == 0
    with engine.connect() as db:
        row = db.execute(select(claims_table)).mappings().one()
    assert row["state"] == "answered" and row["question"] is None  # the words are not kept once answered


def test_a_stale_question_is_taken_over_by_one_of_racing_processes(engine: Engine, database_url: str) -> None:
    clock = Clock()
    dead = InFlight(engine, lease=timedelta(seconds=1), holder="gone:ns:1:dead", clock=clock)
    dead.claim("slack", "C1:1700000000.000300", message=_question())
    clock.now += timedelta(seconds=5)
    [claim] = InFlight(engine, holder="finder:ns:2:find", clock=clock).stale(["slack"])
    counter = iter(range(100))
    results = race(database_url, lambda own: InFlight(own, holder=f"taker:ns:3:{next(counter)}").take_over(claim))
    assert sorted(results, key=str) == [False] * 7 + [True]


def test_a_question_that_keeps_killing_its_processes_is_abandoned(engine: Engine) -> None:
    clock = Clock()
    InFlight(engine, lease=timedelta(seconds=1), holder="h:ns:0:x", clock=clock).claim(
        "slack", "C1:1700000000.000400", message=_question()
    )
    for attempt in range(MAX_ATTEMPTS):
        clock.now += timedelta(seconds=5)
        taker = InFlight(engine, lease=timedelta(seconds=1), holder=f"h:ns:{attempt + 1}:x", clock=clock)
        [claim] = taker.stale(["slack"])
        assert taker.take_over(claim)  # and dies answering it
    clock.now += timedelta(seconds=5)
    last = InFlight(engine, lease=timedelta(seconds=1), holder="h:ns:9:x", clock=clock)
    [claim] = last.stale(["slack"])
    assert not last.take_over(claim)
    assert last.stale(["slack"]) == []


def _claim_and_die(url: str) -> None:
    InFlight(open_database(url), lease=timedelta(hours=1)).claim("slack", "C1:1700000000.000500", message=_question())
    os._exit(0)  # no clean-up: as if killed


@pytest.mark.slow
def test_a_question_of_a_dead_process_of_this_machine_is_recovered_without_waiting_for_its_lease(
    engine: Engine, database_url: str
) -> None:
    child = multiprocessing.get_context("spawn").Process(target=_claim_and_die, args=(database_url,))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0
    [claim] = InFlight(engine, lease=timedelta(hours=1)).stale(["slack"])  # its hour-long lease notwithstanding
    assert claim.message.text == "What port does the VPN use?"
    alive = InFlight(engine, lease=timedelta(hours=1), holder="another:ns:1:x")
    alive.claim("slack", "C1:1700000000.000600", message=_question())
    assert [c.event_key for c in InFlight(engine).stale(["slack"])] == ["C1:1700000000.000500"]


def test_a_question_its_living_process_could_not_post_is_given_back_to_any_process(engine: Engine) -> None:
    clock = Clock()
    alive = InFlight(engine, lease=timedelta(seconds=60), holder="host-a:ns:1:aaaa", clock=clock)
    alive.claim("slack", "C1:1700000000.000700", message=_question())
    assert alive.stale(["slack"]) == []  # its own, and renewed
    alive.release("slack", "C1:1700000000.000700")  # Slack refused the answer and the apology
    assert alive.renew() == 0  # no longer renewed by it
    clock.now += timedelta(seconds=1)
    [claim] = alive.stale(["slack"])  # any process may take it over, this one included
    assert alive.take_over(claim) and alive.renew() == 1
