"""One contract for the Chroma store, run embedded and against a real `chroma run` server on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.documents import Chunk, StoredChunk
from knowledge.store import ChromaStore, StoreError


@pytest.fixture(params=["embedded", "server"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A function opening the store (again) as a given model; each test gets fresh collection names."""
    suffix = request.node.name.split("[")[0].replace("_", "-")[-20:].strip("-")

    def open_(model: str = "model-a", dimensions: int = 3) -> ChromaStore:
        if request.param == "embedded":
            return ChromaStore.embedded(tmp_path / "chroma", model_name=model, dimensions=dimensions)
        url = request.getfixturevalue("chroma_server")
        return ChromaStore.server(url, model_name=model, dimensions=dimensions)

    open_.names = (f"a-{suffix}-{request.param}", f"b-{suffix}-{request.param}")  # type: ignore[attr-defined]
    return open_


def stored(collection: str, path: str, index: int, text: str) -> StoredChunk:
    chunk = Chunk("Title " + path, ("Part",), text, 0, 0, len(text), index)
    return StoredChunk(f"{path}-{index}", collection, path, chunk)


def test_upsert_then_query_ranks_by_cosine(open_store) -> None:  # type: ignore[no-untyped-def]
    store, (a, _) = open_store(), open_store.names
    store.upsert(a, [stored(a, "x.md", 0, "east"), stored(a, "y.md", 0, "north")], [[1, 0, 0], [0, 1, 0]])
    hits = store.query([a], [0.9, 0.1, 0], k=2)
    assert [h.path for h in hits] == ["x.md", "y.md"]
    assert hits[0].score > 0.98 and hits[0].title == "Title x.md" and hits[0].heading == "Part"
    assert hits[0].chunk_id == "x.md-0" and hits[0].text == "east"


def test_query_merges_collections_and_respects_k(open_store) -> None:  # type: ignore[no-untyped-def]
    store, (a, b) = open_store(), open_store.names
    store.upsert(a, [stored(a, "x.md", 0, "x")], [[1, 0, 0]])
    store.upsert(b, [stored(b, "z.md", 0, "z")], [[0.95, 0.05, 0]])
    assert {h.collection for h in store.query([a, b], [1, 0, 0], k=2)} == {a, b}
    assert [h.collection for h in store.query([b], [1, 0, 0], k=5)] == [b]
    assert len(store.query([a, b], [1, 0, 0], k=1)) == 1


def test_delete_and_count(open_store) -> None:  # type: ignore[no-untyped-def]
    store, (a, _) = open_store(), open_store.names
    store.upsert(a, [stored(a, "x.md", i, str(i)) for i in range(3)], [[1, 0, i] for i in range(3)])
    assert store.count(a) == 3
    store.delete(a, ["x.md-1"])
    assert store.count(a) == 2
    assert "x.md-1" not in {h.chunk_id for h in store.query([a], [1, 0, 1], k=3)}


def test_data_survives_reopening(open_store) -> None:  # type: ignore[no-untyped-def]
    a = open_store.names[0]
    open_store().upsert(a, [stored(a, "x.md", 0, "kept")], [[0, 0, 1]])
    assert open_store().count(a) == 1


def test_another_embedding_model_is_refused(open_store) -> None:  # type: ignore[no-untyped-def]
    a = open_store.names[0]
    open_store().upsert(a, [stored(a, "x.md", 0, "x")], [[0, 0, 1]])
    with pytest.raises(StoreError, match="sync --rebuild"):
        open_store(model="model-b", dimensions=5).count(a)
    other = open_store(model="model-b", dimensions=5)
    other.drop(a)
    assert other.count(a) == 0
