"""The report of a week's questions: outcomes counted, the self-served rate, knowledge gaps grouped by meaning with
either test embedder, pages cited and never cited, and no user id unless asked for."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.report import Closest, Gap, Sources, build_report
from knowledge.database import open_database, sqlite_url
from tests.fixtures.report_records import Filled, fill

DOCUMENTS = {"handbook": ["it/vpn.md", "it/printers.html", "hr/holidays.md", "facilities/never-asked.md"]}


def sources(embedder: object, model: str) -> Sources:
    def closest(gap: Gap) -> Closest:
        return Closest("handbook", "facilities/office-access-badges.md", f"near {gap.label}")

    return Sources(documents=lambda: DOCUMENTS, failures=lambda: [("handbook", "hr/broken.pdf", "encrypted")],
                   closest=closest, embed=embedder.embed_queries, model=model)  # type: ignore[attr-defined]  # fmt: skip


def topic_gaps(gaps: list[Gap], filled: Filled) -> dict[str, Counter[str]]:
    """Per missing topic, how many of its questions each gap holds (by the gap's label)."""
    held: dict[str, Counter[str]] = {}
    for gap in gaps:
        for question in gap.questions:
            if topic := filled.ids[question.id]:
                held.setdefault(topic, Counter())[gap.label] += 1
    return held


def test_a_week_of_questions_in_three_languages_is_counted_and_its_gaps_grouped_by_topic(
    tmp_path: Path, e5_embedder: object
) -> None:
    engine = open_database(sqlite_url(tmp_path))
    now = datetime.now(UTC)
    filled = fill(engine, e5_embedder.embed_queries, model="e5", now=now)  # type: ignore[attr-defined]
    assert len(filled.ids) >= 200 and set(filled.languages.values()) == {"en", "de", "fr"}
    report = build_report(engine, since=now - timedelta(days=7), until=now, sources=sources(e5_embedder, "e5"))

    totals = report.as_dict()["totals"]
    status = Counter(filled.status.values())
    served = sum(s == "answered" and i not in filled.not_helpful and i not in filled.escalated
                 for i, s in filled.status.items())  # fmt: skip
    assert totals == {
        "questions": len(filled.ids), "answered": status["answered"], "abstained": status["abstained"], "failed": 0,
        "helpful": filled.helpful, "not_helpful": len(filled.not_helpful), "escalated": len(filled.escalated),
        "self_served_rate": round(served / len(filled.ids), 4),
    }  # fmt: skip
    assert sum(day.questions for day in report.per_day.values()) == len(filled.ids) and len(report.per_day) >= 6
    assert list(report.per_day) == sorted(report.per_day)  # day by day
    assert set(report.per_language) == {"en", "de", "fr"}
    assert set(report.per_channel) == {"slack:C1", "slack:C2", "discord:D1"}
    assert report.first_words.p50 is not None and report.full_answer.p95 is not None

    # Each missing topic, asked six ways in three languages, is one gap, shared with no other topic.
    held = topic_gaps(report.gaps, filled)
    assert set(held) == {"dog", "gym", "rooms", "signature", "party"}
    for topic, gaps in held.items():
        label, count = gaps.most_common(1)[0]
        assert count >= 16, f"{topic}: {dict(gaps)}"
        (gap,) = [g for g in report.gaps if g.label == label]
        assert {filled.ids[q.id] for q in gap.questions} <= {topic, ""}, f"{topic} shares a gap: {label}"
        assert set(gap.languages) == {"en", "de", "fr"} and 1 <= len(gap.examples) <= 5
        assert gap.label == gap.examples[0] and gap.closest is not None
    sizes = [gap.size for gap in report.gaps]
    assert sizes == sorted(sizes, reverse=True)  # largest first
    # Only the abstained, 👎 and escalated questions make gaps.
    gapped = {q.id for gap in report.gaps for q in gap.questions}
    assert gapped == {i for i, s in filled.status.items()
                      if s == "abstained" or i in filled.not_helpful or i in filled.escalated}  # fmt: skip

    shown = report.as_dict()
    assert [page["path"] for page in shown["never_cited"]] == ["facilities/never-asked.md"]  # type: ignore[index]
    assert {page["path"] for page in shown["cited"]} == filled.cited  # type: ignore[union-attr]
    assert shown["failed_files"] == [{"collection": "handbook", "path": "hr/broken.pdf", "reason": "encrypted"}]
    assert not any(user in str(shown) for user in filled.users)  # counts, never who asked
    with_users = build_report(engine, since=now - timedelta(days=7), until=now, sources=sources(e5_embedder, "e5"),
                              show_users=True).as_dict()  # fmt: skip
    assert any(user in str(with_users["gaps"]) for user in filled.users)


def test_gaps_hold_with_an_english_model_on_english_questions(tmp_path: Path, embedder: object) -> None:
    """all-MiniLM-L6-v2 scores paraphrases five times further apart than e5 does: the same grouping holds."""
    engine = open_database(sqlite_url(tmp_path))
    now = datetime.now(UTC)
    filled = fill(engine, embedder.embed_queries, model="minilm", now=now, languages=("en",))  # type: ignore[attr-defined]
    report = build_report(engine, since=now - timedelta(days=7), until=now, sources=sources(embedder, "minilm"))
    for topic, gaps in topic_gaps(report.gaps, filled).items():
        label, count = gaps.most_common(1)[0]
        assert count >= 5, f"{topic}: {dict(gaps)}"
        (gap,) = [g for g in report.gaps if g.label == label]
        assert {filled.ids[q.id] for q in gap.questions} <= {topic, ""}, f"{topic} shares a gap: {label}"


def test_a_period_and_a_channel_narrow_the_report(tmp_path: Path, embedder: object) -> None:
    engine = open_database(sqlite_url(tmp_path))
    now = datetime.now(UTC)
    fill(engine, embedder.embed_queries, model="minilm", now=now, languages=("de",))  # type: ignore[attr-defined]
    whole = build_report(engine, since=now - timedelta(days=7), until=now, sources=sources(embedder, "minilm"))
    recent = build_report(engine, since=now - timedelta(days=2), until=now, sources=sources(embedder, "minilm"))
    one = build_report(engine, since=now - timedelta(days=7), until=now, sources=sources(embedder, "minilm"),
                       channel="discord:D1")  # fmt: skip
    assert 0 < recent.totals.questions < whole.totals.questions
    assert 0 < one.totals.questions < whole.totals.questions and set(one.per_channel) == {"discord:D1"}
    empty = build_report(engine, since=now + timedelta(days=1), until=now + timedelta(days=2),
                         sources=sources(embedder, "minilm"))  # fmt: skip
    assert empty.totals.questions == 0 and empty.gaps == [] and empty.as_dict()["totals"]["self_served_rate"] is None  # type: ignore[index]


@pytest.mark.parametrize("recorded", ["another-model", None])
def test_questions_recorded_with_another_model_or_none_are_embedded_again(
    tmp_path: Path, embedder: object, recorded: str | None
) -> None:
    engine = open_database(sqlite_url(tmp_path))
    now = datetime.now(UTC)
    fill(engine, lambda texts: [[1.0, 0.0]] * len(texts) if recorded else [[]] * len(texts),  # unusable vectors
         model=recorded or "", now=now, languages=("en",))  # fmt: skip
    report = build_report(engine, since=now - timedelta(days=7), until=now, sources=sources(embedder, "minilm"))
    assert max(gap.size for gap in report.gaps) < 30  # one vector for all would make one gap of everything


def test_a_busy_period_groups_its_most_recent_gap_questions_only(
    tmp_path: Path, embedder: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clustering holds every pairwise distance: past MOST_CLUSTERED questions, the most recent are grouped."""
    import bot.report.gaps

    monkeypatch.setattr(bot.report.gaps, "MOST_CLUSTERED", 10)
    engine = open_database(sqlite_url(tmp_path))
    now = datetime.now(UTC)
    fill(engine, embedder.embed_queries, model="minilm", now=now, languages=("en",))  # type: ignore[attr-defined]
    report = build_report(engine, since=now - timedelta(days=7), until=now, sources=sources(embedder, "minilm"))
    grouped = [q for gap in report.gaps for q in gap.questions]
    assert len(grouped) == 10
    everything = build_report(engine, since=now - timedelta(days=7), until=now, sources=sources(embedder, "minilm"))
    assert everything.totals.questions > 10  # the counts still count every question
    oldest_grouped, ids = min(q.created_at for q in grouped), {q.id for q in grouped}
    left_out = [q for q in _gap_questions(engine, now) if q.id not in ids]
    assert left_out and all(q.created_at <= oldest_grouped for q in left_out)


def _gap_questions(engine: object, now: datetime) -> list[object]:
    from bot.report.questions import asked_between

    return [q for q in asked_between(engine, since=now - timedelta(days=7), until=now) if q.gap]  # type: ignore[arg-type]
