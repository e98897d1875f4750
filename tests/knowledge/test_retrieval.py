"""The retriever's ranked list: at most `retrieval.per_source` passages of one document, the rest from others."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.wiring import Knowledge

# One long page about the printer, cut into many chunks that all resemble the question, and short pages
# that each say one thing about it too.
LONG = "# Printer guide\n\n" + "\n\n".join(
    f"## Printer step {n}\n\nTo fix the office printer, check step {n}: the paper tray, the toner and the cable."
    for n in range(1, 9)
)
SHORT = {
    "toner.md": "# Toner\n\nThe office printer takes HP 26A toner; spare cartridges are in room 2.14.\n",
    "jam.md": "# Paper jam\n\nA paper jam in the office printer: open tray 2 and pull the sheet out.\n",
    "drivers.md": "# Printer drivers\n\nInstall the office printer driver from Self Service.\n",
    "vpn.md": "# VPN\n\nConnect with Acme Connect on port 1194.\n",
}


@pytest.fixture
def open_kb(make_config, embedder, tmp_path: Path):  # type: ignore[no-untyped-def]
    root = tmp_path / "kb"
    root.mkdir()
    (root / "guide.md").write_text(LONG, encoding="utf-8")
    for name, text in SHORT.items():
        (root / name).write_text(text, encoding="utf-8")

    def open_(**retrieval: object) -> Knowledge:
        config = make_config(root, retrieval=retrieval, chunking={"max_tokens": 48, "overlap_tokens": 0})
        kb = Knowledge(load_settings(config), prebuilt_embedder=embedder)
        kb.syncer.sync(kb.settings.collection("kb"))
        return kb

    return open_


@pytest.mark.parametrize("hybrid", [False, True])
def test_one_passage_per_document_by_default(open_kb, hybrid: bool) -> None:  # type: ignore[no-untyped-def]
    question = "How do I fix the office printer?"
    crowded = [h.path for h in open_kb(hybrid=hybrid, per_source=50).retriever.search(question, collections=["kb"])]
    assert crowded.count("guide.md") > 1  # the long page's chunks crowd the list without a limit...
    kb = open_kb(hybrid=hybrid)
    assert kb.settings.retrieval.per_source == 1
    hits = kb.retriever.search(question, collections=["kb"], k=5)
    paths = [h.path for h in hits]
    assert len(paths) == 5 and len(set(paths)) == 5  # ...by default each document gives its best passage only
    assert set(paths) >= {"guide.md", "toner.md", "jam.md", "drivers.md"}


def test_a_limit_of_two_keeps_two_per_document(open_kb) -> None:  # type: ignore[no-untyped-def]
    hits = open_kb(per_source=2).retriever.search("How do I fix the office printer?", collections=["kb"], k=5)
    assert [h.path for h in hits].count("guide.md") == 2
