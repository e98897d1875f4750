"""Records: an event is claimed once across processes; answers and their feedback are kept together."""

from __future__ import annotations

import threading
from pathlib import Path

from bot.messages import Answer, IncomingMessage, Source
from bot.records import Records
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
