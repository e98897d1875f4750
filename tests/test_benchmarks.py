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
