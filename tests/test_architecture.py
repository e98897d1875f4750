"""The shape of shared/STYLE.md, checked by reading imports: adapters -> bot -> knowledge, chromadb in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO


def imports(package: str) -> list[tuple[Path, str]]:
    found = []
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(path, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module))
    return found


@pytest.mark.parametrize(("package", "forbidden"), [("knowledge", ("bot", "adapters")), ("bot", ("adapters",))])
def test_dependencies_point_one_way(package: str, forbidden: tuple[str, ...]) -> None:
    wrong = [f"{p.relative_to(REPO)}: {m}" for p, m in imports(package) if m.split(".")[0] in forbidden]
    assert not wrong


def test_only_the_store_module_imports_chromadb() -> None:
    users = {
        p.relative_to(REPO).as_posix()
        for package in ("knowledge", "bot", "adapters")
        for p, m in imports(package)
        if m.split(".")[0] == "chromadb"
    }
    assert users == {"knowledge/store.py"}
