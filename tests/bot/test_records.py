"""Records: an event is claimed once across processes; answers and their feedback are kept together."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, update

from bot.messages import Answer, IncomingMessage, Source, Timings
from bot.records import Asked, Records, answers_table, vector_of
from knowledge.database import open_database, sqlite_url


def test_an_event_is_claimed_once_even_by_racing_processes(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    open_database(url)
    winners: list[bool] = []

    def worker() -> None:  # each thread with its own engine, as separate processes would have
        winners.append(Records(open_database(url)).claim("slack", "C1:1700000000.000100"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(winners) == [False] * 7 + [True]
    assert Records(open_database(url)).claim("discord", "C1:1700000000.000100")  # platforms are apart


def test_feedback_is_stored_with_the_question_and_answer(tmp_path: Path) -> None:
    records = Records(open_database(sqlite_url(tmp_path)))
    message = IncomingMessage("slack", "T1", "C1", "t", "U1", "What port does the VPN use?")
    answer = Answer("Port 1194.", (Source("VPN", "", "it/vpn.md", None, "handbook"),), "en", "answered", "m")
    answer_id = records.record_answer(message, answer)
    assert records.record_feedback(answer_id, user="U1", rating="helpful")
    assert records.record_feedback(answer_id, user="U1", rating="not_helpful")  # changed their mind
    assert records.record_feedback(answer_id, user="U2", rating="helpful")
    assert records.feedback(answer_id) == {"U1": "not_helpful", "U2": "helpful"}
    stored = records.answer(answer_id)
    assert stored is not None and stored["question"] == "What port does the VPN use?"
    assert stored["answer"] == "Port 1194." and "it/vpn.md" in str(stored["sources"])
    assert not records.record_feedback("no-such-answer", user="U1", rating="helpful")


def _asked(records: Records, text: str, *, days_ago: float = 0, rating: str | None = None) -> str:
    message = IncomingMessage("slack", "T1", "C1", text, "U1", text)
    answer = Answer("Port 1194.", (), "en", "answered", "m", Timings(0.1, 0.4, 0.9))
    answer_id = records.record_answer(
        message, answer, Asked(best_score=0.83, embedding=[0.5, -0.25], embedding_model="e5", collections=("it",))
    )
    when = datetime.now(UTC) - timedelta(days=days_ago)
    with records._engine.begin() as db:  # as if asked then
        db.execute(update(answers_table).where(answers_table.c.id == answer_id).values(created_at=when))
    if rating:
        records.record_feedback(answer_id, user="U2", rating=rating)  # type: ignore[arg-type]
        records.record_escalation(answer_id, user="U3")
    return answer_id


def test_what_the_report_needs_is_kept_with_each_answer_and_escalations_count_once(database_url: str) -> None:
    records = Records(open_database(database_url))
    answer_id = _asked(records, "What port?")
    stored = records.answer(answer_id)
    assert stored is not None
    assert stored["best_score"] == pytest.approx(0.83) and stored["embedding_model"] == "e5"
    vector = vector_of(stored["embedding"])  # type: ignore[arg-type]
    assert vector is not None and vector.tolist() == [0.5, -0.25]
    assert stored["collections"] == '["it"]'
    assert stored["first_words_seconds"] == pytest.approx(0.4) and stored["total_seconds"] == pytest.approx(1.0)
    assert records.record_escalation(answer_id, user="U9") and records.record_escalation(answer_id, user="U9")
    assert records.escalations(answer_id) == ["U9"]
    assert not records.record_escalation("f" * 32, user="U9")  # an answer purged or never given


def test_purge_deletes_old_questions_with_their_feedback_and_escalations_and_keeps_the_rest(
    database_url: str,
) -> None:
    records = Records(open_database(database_url))
    old = _asked(records, "Old question", days_ago=200, rating="not_helpful")
    recent = _asked(records, "Recent question", days_ago=1, rating="helpful")
    purged = records.purge(datetime.now(UTC) - timedelta(days=180))
    assert (purged.answers, purged.feedback, purged.escalations) == (1, 1, 1)
    assert records.answer(old) is None and records.feedback(old) == {} and records.escalations(old) == []
    assert records.answer(recent) is not None and records.feedback(recent) == {"U2": "helpful"}
    assert records.escalations(recent) == ["U3"]


def test_a_purge_deletes_in_batches_each_its_own_transaction(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # fmt: skip
    """A first purge of months of records must not hold the write lock all along (SQLite has one): the answers
    being recorded meanwhile wait for it."""
    monkeypatch.setattr("bot.records.PURGE_BATCH", 2)
    records = Records(open_database(database_url))
    old = [_asked(records, f"Old question {n}", days_ago=200, rating="helpful") for n in range(5)]
    kept = _asked(records, "Recent question", days_ago=1, rating="helpful")
    deletes: list[str] = []
    listen = records._engine

    def seen(conn, cursor, statement: str, *args: object) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("DELETE FROM ANSWERS"):
            deletes.append(statement)

    event.listen(listen, "before_cursor_execute", seen)
    try:
        purged = records.purge(datetime.now(UTC) - timedelta(days=180))
    finally:
        event.remove(listen, "before_cursor_execute", seen)
    assert (purged.answers, purged.feedback, purged.escalations) == (5, 5, 5)
    assert len(deletes) == 3  # 2 + 2 + 1
    assert all(records.answer(answer_id) is None for answer_id in old) and records.answer(kept) is not None
    assert records.feedback(kept) == {"U2": "helpful"}


def test_retention_purges_as_the_bot_answers(tmp_path: Path) -> None:
    old = _asked(Records(open_database(sqlite_url(tmp_path))), "Old question", days_ago=45, rating="helpful")
    records = Records(open_database(sqlite_url(tmp_path)), retention_days=30)  # the bot starts
    new = _asked(records, "New question")  # its first answer purges what is older than the retention
    assert records.wait_for_purge(timeout=30)
    assert records.answer(old) is None and records.feedback(old) == {}
    assert records.answer(new) is not None


def test_an_answer_that_falls_due_for_the_purge_does_not_wait_for_it(tmp_path: Path) -> None:
    records = Records(open_database(sqlite_url(tmp_path)), retention_days=30)
    started, release = threading.Event(), threading.Event()
    real = records.purge

    def slow_purge(before: datetime):  # type: ignore[no-untyped-def]
        started.set()
        assert release.wait(30)
        return real(before)

    records.purge = slow_purge  # type: ignore[method-assign]
    message = IncomingMessage("slack", "T1", "C1", "t", "U1", "What port does the VPN use?")
    answer_id = records.record_answer(message, Answer("Port 1194.", (), "en", "answered", "m"))  # purge falls due
    assert started.wait(30) and records.answer(answer_id) is not None  # recorded while the purge still runs
    assert records.record_answer(message, Answer("Port 1194.", (), "en", "answered", "m"))  # within the hour: none
    assert not records.wait_for_purge(timeout=0.1)  # still deleting
    release.set()
    assert records.wait_for_purge(timeout=30)
