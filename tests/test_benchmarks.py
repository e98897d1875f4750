"""The benchmarks run as modules of the repository (`python -m benchmarks.NAME`) over the installed package: none
edits sys.path, and every one imports its siblings, the package and the test fixtures it needs from there."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

BENCHMARKS = sorted(p.stem for p in (REPO / "benchmarks").glob("*.py") if p.stem != "__init__")


def test_no_benchmark_edits_the_import_path() -> None:
    edits = [name for name in BENCHMARKS if "sys.path.insert" in (REPO / "benchmarks" / f"{name}.py").read_text()]
    assert not edits


def test_every_benchmark_imports_as_a_module_from_the_repository_root() -> None:
    imports = "import importlib\n" + "".join(f"importlib.import_module('benchmarks.{name}')\n" for name in BENCHMARKS)
    done = subprocess.run([sys.executable, "-c", imports], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(BENCHMARKS) >= 19


def test_the_real_question_set_asks_every_page_in_each_of_the_nine_languages() -> None:
    """benchmarks/data/gnome_real.jsonl: the same 30 questions written in each language the model answers in, so a
    language's recall is comparable with another's (the gold pages are checked against the index by the benchmark)."""
    from collections import defaultdict

    from knowledge.evaluation import read_questions

    questions = read_questions(REPO / "benchmarks" / "data" / "gnome_real.jsonl")
    golds: dict[str, list[str]] = defaultdict(list)
    for question in questions:
        golds[question.language].append(question.gold)
    assert set(golds) == {"en", "ar", "zh", "fr", "de", "ja", "ko", "pt", "es"}
    assert all(pages == golds["en"] for pages in golds.values()) and len(set(golds["en"])) == 30
    assert len({q.question for q in questions}) == len(questions)


def test_hindsight_finds_the_one_bar_that_meets_the_targets_in_every_set_or_says_none_does() -> None:
    """benchmarks/abstention.py's hindsight: per language, one bar for all the sets, the standouts known. German
    questions on two sets are told apart by a bar between 1.0 and 1.5 in both; French ones overlap (an off-topic
    question at 2.0 above an answerable one at 1.0), so no bar meets both targets and it says so."""
    from benchmarks.abstention import hindsight

    german_a = [("de", True, v) for v in (1.5, 2.0, 3.0)] + [("de", False, v) for v in (0.2, 0.5, 1.0)]
    german_b = [("de", True, v) for v in (1.6, 2.5)] + [("de", False, v) for v in (0.9, float("-inf"))]
    french = [("fr", True, v) for v in (1.0, 2.5, 3.0)] + [("fr", False, v) for v in (0.1, 2.0)]
    result = hindsight({"a": german_a + french, "b": german_b})
    assert result["a"]["de"]["bar"] == 1.0 and result["a"]["de"]["reachable"] == 1
    assert result["a"]["de"]["wrongly_abstained"] == 0 and result["a"]["de"]["abstained_unanswerable"] == 1
    other = result["b"]["de"]
    assert (other["bar"], other["wrongly_abstained"], other["abstained_unanswerable"]) == (1.0, 0, 1)
    assert result["a"]["fr"]["reachable"] == 0 and "fr" not in result["b"]
    # The nearest: a bar at 2.0 (the answerable question at 1.0 wrongly abstained: 0.33 against 0.10 allowed) beats
    # one below 1.0 (the off-topic one at 2.0 answered: 0.50 abstained against 0.80 asked).
    assert result["a"]["fr"]["bar"] == 2.0 and result["a"]["fr"]["abstained_unanswerable"] == 1
    # Answerable questions alone: answering every one meets the targets, and the bar stays valid JSON.
    alone = hindsight({"a": [("pt", True, 0.4), ("pt", True, 1.2)]})["a"]["pt"]
    assert alone["bar"] is None and alone["reachable"] == 1 and alone["wrongly_abstained"] == 0
