"""`supportbot eval retrieval` and `eval answers` on the example knowledge base: the JSON shape, the table, and
its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.adapters.cli.test_main import supportbot
from tests.conftest import EXAMPLES, REPO

QUESTIONS = REPO / "examples" / "questions.jsonl"
SCORES = {"recall@1", "recall@5", "mrr", "n"}


@pytest.fixture
def config(make_config) -> Path:  # type: ignore[no-untyped-def]
    return make_config(EXAMPLES, collections=[{"name": "handbook", "paths": [str(EXAMPLES)]}])


@pytest.mark.slow
def test_eval_retrieval_json_and_table(config: Path, tmp_path: Path) -> None:
    never = supportbot("eval", "retrieval", "--config", str(config), "--questions", str(QUESTIONS))
    assert never.returncode == 1 and "run `supportbot sync` first" in never.stderr
    assert supportbot("sync", "--config", str(config)).returncode == 0

    result = supportbot("eval", "retrieval", "--questions", str(QUESTIONS), "--config", str(config), "--json",
                        "--collection", "handbook")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"overall", "per_language", "misses"}
    lines = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines = [line for line in lines if line["gold"] is not None]  # no gold page: a question for `eval answers`
    assert set(report["overall"]) == SCORES and report["overall"]["n"] == len(lines)
    assert set(report["per_language"]) == {line["language"] for line in lines}
    for language, scores in report["per_language"].items():
        assert set(scores) == SCORES and scores["n"] == sum(1 for line in lines if line["language"] == language)
        assert 0 <= scores["recall@1"] <= scores["recall@5"] <= 1 and scores["recall@1"] <= scores["mrr"] <= 1
    assert report["per_language"]["en"]["recall@5"] >= 0.9  # English questions on English pages: the easy part
    for miss in report["misses"]:
        assert set(miss) == {"question", "language", "gold", "found"} and miss["gold"] not in miss["found"]
    missed = round(len(lines) * (1 - report["overall"]["recall@5"]))
    assert len(report["misses"]) == missed

    few = tmp_path / "few.jsonl"  # the table shows the same figures: a few questions are enough to read it
    few.write_text("".join(json.dumps(line) + "\n" for line in lines[:4]), encoding="utf-8")
    table = supportbot("eval", "retrieval", "--config", str(config), "--questions", str(few))
    assert table.returncode == 0, table.stderr
    assert all(word in table.stdout for word in ("recall@1", "recall@5", "MRR", "en", "all"))


def test_a_bad_questions_file_is_one_line(config: Path, tmp_path: Path) -> None:
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question": "VPN?"}\n', encoding="utf-8")
    result = supportbot("eval", "retrieval", "--config", str(config), "--questions", str(bad))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{bad}, line 1: expected a JSON object with question, language and gold" in result.stderr


@pytest.mark.slow
def test_eval_answers_lists_under_its_table_each_answer_not_as_expected(make_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """What an admin reads to see what went wrong: the question, and what was wrong with its answer."""
    config = make_config(EXAMPLES, collections=[{"name": "handbook", "paths": [str(EXAMPLES)]}],
                         generator={"backend": "extractive"})  # fmt: skip
    assert supportbot("sync", "--config", str(config)).returncode == 0
    port = {"question": "Which port does the VPN use?", "language": "en", "gold": "it/vpn.md"}
    lines = [{**port, "answer_contains": "1194"}, {**port, "answer_contains": "4711"}]
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    table = supportbot("eval", "answers", "--config", str(config), "--questions", str(questions))
    assert table.returncode == 0, table.stderr
    listed = table.stdout[table.stdout.index("Not as expected: 1 of 2") :]
    assert "[en] Which port does the VPN use?" in listed and "answered without '4711'" in listed, listed
