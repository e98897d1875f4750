"""Sentence vectors kept on disk, one file per embedding model: a restarted bot embeds no text twice; a damaged or
unwritable file costs speed, never an answer."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from knowledge.vectors import PassageVectors, VectorFile

TEXTS = ["Connect to the VPN before opening internal sites.", "The VPN uses UDP port 1194.", "Lunch is at noon."]


class Counting:
    """The embedder, counting the passages it embeds; `name` may be changed to stand for another model."""

    def __init__(self, embedder, name: str | None = None) -> None:  # type: ignore[no-untyped-def]
        self.embedder = embedder
        self.name = name or embedder.name
        self.dimensions = embedder.dimensions
        self.embedded: list[str] = []

    def embed_passages(self, texts):  # type: ignore[no-untyped-def]
        self.embedded.extend(texts)
        return self.embedder.embed_passages(texts)


def test_a_restarted_process_reads_each_vector_from_disk_and_embeds_nothing(embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = Counting(embedder)
    before = PassageVectors(first, file=VectorFile.open(tmp_path, first))  # type: ignore[arg-type]
    written = before(TEXTS)
    assert first.embedded == TEXTS
    again = Counting(embedder)
    after = PassageVectors(again, file=VectorFile.open(tmp_path, again))  # type: ignore[arg-type]
    read = after([TEXTS[2], TEXTS[0], TEXTS[1]])
    assert again.embedded == []
    assert np.array_equal(read, written[[2, 0, 1]])  # the same vectors, bit for bit: the same answers after a restart
    assert after.missing([*TEXTS, "Parking is free after six."]) == ["Parking is free after six."]


def test_another_embedding_model_keeps_a_file_of_its_own(embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    one = Counting(embedder)
    PassageVectors(one, file=VectorFile.open(tmp_path, one))(TEXTS)  # type: ignore[arg-type]
    other = Counting(embedder, name="another-model")
    PassageVectors(other, file=VectorFile.open(tmp_path, other))(TEXTS)  # type: ignore[arg-type]
    assert other.embedded == TEXTS  # one model's vectors never stand for another's
    assert len(list(tmp_path.glob("*.sqlite3"))) == 2


def test_texts_no_page_holds_any_longer_are_forgotten(embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    counting = Counting(embedder)
    file = VectorFile.open(tmp_path, counting)  # type: ignore[arg-type]
    assert file is not None
    vectors = PassageVectors(counting, file=file)  # type: ignore[arg-type]
    vectors(TEXTS)
    assert vectors.keep_only(TEXTS[:2]) == 1
    assert file.count() == 2
    assert vectors.missing(TEXTS) == []  # still in this process's memory …
    restarted = PassageVectors(counting, file=VectorFile.open(tmp_path, counting))  # type: ignore[arg-type]
    assert restarted.missing(TEXTS) == [TEXTS[2]]  # … but gone from disk


def test_a_damaged_file_is_set_aside_and_a_new_one_started(embedder, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    counting = Counting(embedder)
    file = VectorFile.open(tmp_path, counting)  # type: ignore[arg-type]
    assert file is not None
    path = file.path
    file.close()
    path.write_bytes(b"this is no database" * 100)
    with caplog.at_level(logging.WARNING):
        reopened = VectorFile.open(tmp_path, counting)  # type: ignore[arg-type]
    assert reopened is not None and reopened.count() == 0
    assert path.with_suffix(".damaged").read_bytes().startswith(b"this is no database")  # kept for a look
    assert "could not be read" in caplog.text
    vectors = PassageVectors(counting, file=reopened)  # type: ignore[arg-type]
    assert vectors(TEXTS).shape == (3, counting.dimensions)
    assert reopened.count() == 3


def test_a_folder_that_cannot_be_written_keeps_the_vectors_in_memory(embedder, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    blocked = tmp_path / "vectors"
    blocked.write_text("a file where the folder should be")
    counting = Counting(embedder)
    with caplog.at_level(logging.WARNING):
        file = VectorFile.open(blocked, counting)  # type: ignore[arg-type]
    assert file is None
    assert "kept in memory only" in caplog.text
    vectors = PassageVectors(counting, file=file)  # type: ignore[arg-type]
    assert vectors(TEXTS).shape == (3, counting.dimensions)
    vectors(TEXTS)
    assert counting.embedded == TEXTS  # embedded once all the same


@pytest.mark.parametrize("broken", ["read", "write"])
def test_a_file_failing_under_way_costs_speed_not_the_vectors(embedder, tmp_path: Path, broken: str) -> None:  # type: ignore[no-untyped-def]
    counting = Counting(embedder)
    file = VectorFile.open(tmp_path, counting)  # type: ignore[arg-type]
    assert file is not None
    vectors = PassageVectors(counting, file=file)  # type: ignore[arg-type]
    expected = PassageVectors(counting)(TEXTS)
    if broken == "read":
        file.close()  # every statement now fails
    else:
        file.put({})  # opens cleanly …
        file._db.execute("DROP TABLE vectors")  # … and then the table is gone: writes fail
        file._db.execute("CREATE TABLE vectors (digest BLOB PRIMARY KEY, vector BLOB NOT NULL CHECK (0))")
    assert np.array_equal(vectors(TEXTS), expected)
