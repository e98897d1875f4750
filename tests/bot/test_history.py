"""Thread history: kept per thread in the database, survives a restart, bounded by tokens, ages out."""

from __future__ import annotations

from pathlib import Path

from bot.history import SqlThreadHistory, ThreadKey, Turn
from knowledge.database import open_database, sqlite_url

KEY = ThreadKey("slack", "C1", "1700000000.000100")


def words(text: str) -> int:
    return len(text.split())


def test_survives_a_restart(tmp_path: Path) -> None:
    SqlThreadHistory(open_database(sqlite_url(tmp_path))).add(KEY, Turn("user", "How do I connect to the VPN?", "en"))
    reopened = SqlThreadHistory(open_database(sqlite_url(tmp_path)))
    assert reopened.recent(KEY, budget=100, count_tokens=words) == [Turn("user", "How do I connect to the VPN?", "en")]


def test_threads_are_apart(tmp_path: Path) -> None:
    history = SqlThreadHistory(open_database(sqlite_url(tmp_path)))
    history.add(KEY, Turn("user", "one"))
    history.add(ThreadKey("slack", "C1", "other"), Turn("user", "two"))
    history.add(ThreadKey("discord", "C1", KEY.thread), Turn("user", "three"))
    assert [t.text for t in history.recent(KEY, budget=100, count_tokens=words)] == ["one"]


def test_budget_drops_the_oldest_turns_first(tmp_path: Path) -> None:
    history = SqlThreadHistory(open_database(sqlite_url(tmp_path)))
    for n in range(4):
        history.add(KEY, Turn("user", f"question {n} " + "word " * 10))
        history.add(KEY, Turn("assistant", f"answer {n} " + "word " * 10))
    kept = history.recent(KEY, budget=50, count_tokens=words)  # each turn costs 12 words + 4
    assert [t.text.split()[:2] for t in kept] == [["question", "3"], ["answer", "3"]]
    assert kept[0].role == "user"  # never starts mid-exchange with an answer


def test_retention_forgets_old_turns(tmp_path: Path) -> None:
    history = SqlThreadHistory(open_database(sqlite_url(tmp_path)), retention_days=1e-9)
    history.add(KEY, Turn("user", "old news"))
    assert history.recent(KEY, budget=100, count_tokens=words) == []


def test_a_question_whose_passages_overflow_the_budget_is_kept_without_them(tmp_path: Path) -> None:
    history = SqlThreadHistory(open_database(sqlite_url(tmp_path)))
    key = ThreadKey("slack", "C1", "t1")
    history.add(key, Turn("user", "old question", "en", "old passages " * 50))
    history.add(key, Turn("user", "How do I connect?", "en", "many passages " * 50))
    history.add(key, Turn("assistant", "Use Acme Connect.", "en"))
    kept = history.recent(key, budget=60, count_tokens=words, with_context=True)
    assert kept == [Turn("user", "How do I connect?", "en"), Turn("assistant", "Use Acme Connect.", "en")]
    roomy = history.recent(key, budget=400, count_tokens=words, with_context=True)
    assert [t.context is not None for t in roomy] == [True, True, False]
    assert history.recent(key, budget=400, count_tokens=words)[0] == Turn("user", "old question", "en")
