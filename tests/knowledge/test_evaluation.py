"""Retrieval metrics on a hand-made case: recall@1, recall@5 and MRR exactly, per language, misses listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.evaluation import Question, QuestionsError, evaluate, read_questions

# What a retriever "returns" for each question: source paths of its passages, best first.
RESULTS = {
    "vpn?": ["vpn.md", "wifi.md"],  # rank 1
    "wlan?": ["vpn.md", "vpn.md", "wifi.md"],  # rank 3: passages, not distinct files, are ranked
    "congés ?": ["a.md", "b.md", "c.md", "d.md", "e.md", "leave.md"],  # rank 6: a miss, still counts in MRR
    "télétravail ?": ["a.md", "b.md"],  # not found at all
}
QUESTIONS = [
    Question("vpn?", "en", "vpn.md"),
    Question("wlan?", "de", "wifi.md"),
    Question("congés ?", "fr", "leave.md"),
    Question("télétravail ?", "fr", "remote.md"),
]


def test_metrics_exactly() -> None:
    result = evaluate(QUESTIONS, search=lambda text: RESULTS[text]).as_dict()
    assert result["overall"] == {"recall@1": 0.25, "recall@5": 0.5, "mrr": round((1 + 1 / 3 + 1 / 6) / 4, 4), "n": 4}
    assert result["per_language"] == {
        "de": {"recall@1": 0.0, "recall@5": 1.0, "mrr": 0.3333, "n": 1},
        "en": {"recall@1": 1.0, "recall@5": 1.0, "mrr": 1.0, "n": 1},
        "fr": {"recall@1": 0.0, "recall@5": 0.0, "mrr": round(1 / 12, 4), "n": 2},
    }
    assert result["misses"] == [
        {"question": "congés ?", "language": "fr", "gold": "leave.md",
         "found": ["a.md", "b.md", "c.md", "d.md", "e.md"]},
        {"question": "télétravail ?", "language": "fr", "gold": "remote.md", "found": ["a.md", "b.md"]},
    ]  # fmt: skip


def test_questions_file_tolerates_extra_fields_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    rows = [{"question": "VPN port?", "language": "en", "gold": "it/vpn.md", "answer_contains": "1194"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    assert read_questions(path) == [Question("VPN port?", "en", "it/vpn.md")]


def test_questions_the_knowledge_base_cannot_answer_are_not_retrieval_questions(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    rows = [{"question": "VPN port?", "language": "en", "gold": "it/vpn.md"},
            {"question": "Who is the CEO?", "language": "en", "gold": None}]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert read_questions(path) == [Question("VPN port?", "en", "it/vpn.md")]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"question": "x", "language": "en"}\n', "line 1: expected a JSON object with question, language and gold"),
        ('{"question": "x", "language": "en", "gold": "a.md"}\nnot json\n', "line 2: expected a JSON object"),
        ('{"question": "", "language": "en", "gold": "a.md"}\n', "line 1: question, language and gold must be"),
        ("\n", "holds no questions"),
    ],
)
def test_a_bad_questions_file_names_the_line(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(QuestionsError, match=reason):
        read_questions(path)
