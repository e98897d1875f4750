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
