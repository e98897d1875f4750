"""Document titles as their own vectors: kept in step with sync, and a re-ranking that keeps cosine scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.wiring import Knowledge
from knowledge.documents import Hit
from knowledge.titles import boost, title_id, titles_collection

PAGES = {
    "vpn.md": "# Connect to the VPN\n\nOpen Acme Connect and sign in; the server is vpn.acme.example, port 1194.\n",
    "printer.md": "# Printer jams\n\nOpen tray 2 and pull the sheet out.\n",
    "leave.md": "# Holidays and leave\n\nAsk your manager in the HR portal two weeks ahead.\n",
}


def hit(path: str, score: float, collection: str = "kb") -> Hit:
    return Hit(score=score, chunk_id=f"{collection}:{path}", collection=collection, path=path, title=path,
               heading="", text="", position=0)  # fmt: skip


def test_boost_orders_by_passage_plus_title_and_keeps_scores() -> None:
    passages = [hit("a.md", 0.82), hit("b.md", 0.80), hit("c.md", 0.79)]
    titles = [hit("c.md", 0.90, "kb.titles"), hit("b.md", 0.78, "kb.titles"), hit("d.md", 0.60, "kb.titles")]
    ranked = boost(passages, titles, weight=1.0)
    # c: 0.79 + 0.90; b: 0.80 + 0.78; a's title is not among the nearest: it counts the farthest one, 0.60.
    assert [h.path for h in ranked] == ["c.md", "b.md", "a.md"]
    assert [h.score for h in ranked] == [0.79, 0.80, 0.82]  # each keeps its own cosine
    assert boost(passages, [], weight=1.0) == passages  # a store synced before titles existed: unchanged
    assert boost(passages, titles, weight=0.0) == passages


@pytest.fixture
def kb(make_config, embedder, tmp_path: Path):  # type: ignore[no-untyped-def]
    root = tmp_path / "kb"
    root.mkdir()
    for name, text in PAGES.items():
        (root / name).write_text(text, encoding="utf-8")
    knowledge = Knowledge(load_settings(make_config(root)), prebuilt_embedder=embedder)
    knowledge.syncer.sync(knowledge.settings.collection("kb"))
    return knowledge, root


def titled(knowledge: Knowledge, text: str) -> dict[str, str]:
    found = knowledge.store.query([titles_collection("kb")], knowledge.embedder.embed_query(text), k=10)
    return {h.path: h.title for h in found}


def test_sync_keeps_one_title_per_document(kb) -> None:  # type: ignore[no-untyped-def]
    knowledge, root = kb
    assert titled(knowledge, "VPN") == {"vpn.md": "Connect to the VPN", "printer.md": "Printer jams",
                                        "leave.md": "Holidays and leave"}  # fmt: skip
    (root / "printer.md").write_text("# Printer paper jams\n\nOpen tray 3.\n", encoding="utf-8")
    (root / "leave.md").unlink()
    knowledge.syncer.sync(knowledge.settings.collection("kb"))
    assert titled(knowledge, "VPN") == {"vpn.md": "Connect to the VPN", "printer.md": "Printer paper jams"}
    hits = knowledge.retriever.search("How do I connect to the VPN?", collections=["kb"], k=3)
    assert hits[0].path == "vpn.md" and {h.collection for h in hits} == {"kb"}  # titles are never passages
    knowledge.store.drop("kb")  # what `sync --rebuild` does first
    assert titled(knowledge, "VPN") == {}


def test_a_store_without_titles_is_told_to_rebuild(kb, caplog) -> None:  # type: ignore[no-untyped-def]
    knowledge, _ = kb
    collection = knowledge.settings.collection("kb")
    knowledge.syncer.sync(collection)
    assert "sync --rebuild" not in caplog.text
    # A store indexed before titles existed: its chunks are there, its titles are not.
    knowledge.store.delete(titles_collection("kb"), [title_id("kb", path) for path in PAGES])
    before = [h.path for h in knowledge.retriever.search("VPN port", collections=["kb"], k=3)]
    knowledge.syncer.sync(collection)
    assert "run `supportbot sync --rebuild kb` once" in caplog.text
    assert [h.path for h in knowledge.retriever.search("VPN port", collections=["kb"], k=3)] == before
