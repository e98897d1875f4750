"""Short passage texts (sentences, list items) as unit vectors, each embedded once: the same pages answer question
after question, so the extractive answerer and the sentence re-ranking read them from here. With a VectorFile they
are kept on disk too, so a restarted bot (and the warm-up, bot/warmup.py, which embeds every page's sentences while
no question is in flight) never embeds a text twice."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from knowledge.roles import Embedder

log = logging.getLogger(__name__)

LIMIT = 20_000  # texts kept in memory, the least recently used dropped first (about 30 MB with 384 dimensions)
_BATCH = 500  # digests per SQL statement (SQLite allows 999 variables in old builds)


def digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


class VectorFile:
    """An embedding model's passage vectors by text digest, in one SQLite file (WAL: readers never wait for the
    warm-up's writes; a crash mid-write loses that write only). Opened by `open()`, which replaces a damaged file."""

    def __init__(self, path: Path, dimensions: int) -> None:
        self.path = path
        self._dimensions = dimensions
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (digest BLOB PRIMARY KEY, vector BLOB NOT NULL) "
                         "WITHOUT ROWID")  # fmt: skip

    @classmethod
    def open(cls, directory: Path, embedder: Embedder) -> VectorFile | None:
        """The file for this model under `directory`; None (vectors kept in memory only) when it cannot be
        written. A file SQLite cannot read is set aside as `*.damaged` and a new one started."""
        key = hashlib.sha256(f"{embedder.name}\n{embedder.dimensions}".encode()).hexdigest()[:16]
        path = directory / f"{key}.sqlite3"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            try:
                return cls(path, embedder.dimensions)
            except sqlite3.DatabaseError as error:
                log.warning("The sentence vectors in %s could not be read (%s); starting a new file", path, error)
                path.replace(path.with_suffix(".damaged"))
                for extra in ("-wal", "-shm"):
                    path.with_name(path.name + extra).unlink(missing_ok=True)
                return cls(path, embedder.dimensions)
        except (OSError, sqlite3.Error) as error:
            log.warning("Sentence vectors are kept in memory only: %s cannot be written (%s)", directory, error)
            return None

    def get(self, digests: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        size = self._dimensions * 4
        with self._lock:
            for start in range(0, len(digests), _BATCH):
                part = list(digests[start : start + _BATCH])
                query = f"SELECT digest, vector FROM vectors WHERE digest IN ({','.join('?' * len(part))})"
                for key, blob in self._db.execute(query, part):
                    if len(blob) == size:  # a row of another width is no vector of this model's
                        found[bytes(key)] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, vectors: dict[bytes, np.ndarray]) -> None:
        rows = [(key, np.asarray(vector, dtype=np.float32).tobytes()) for key, vector in vectors.items()]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany("INSERT OR REPLACE INTO vectors (digest, vector) VALUES (?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def keep_only(self, digests: set[bytes]) -> int:
        """Deletes every vector but these (texts no page holds any longer); returns how many went."""
        with self._lock:
            stale = [bytes(row[0]) for row in self._db.execute("SELECT digest FROM vectors")
                     if bytes(row[0]) not in digests]  # fmt: skip
            self._db.execute("BEGIN")
            try:
                for start in range(0, len(stale), _BATCH):
                    part = stale[start : start + _BATCH]
                    self._db.execute(f"DELETE FROM vectors WHERE digest IN ({','.join('?' * len(part))})", part)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(stale)

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PassageVectors:
    def __init__(self, embedder: Embedder, *, limit: int = LIMIT, file: VectorFile | None = None) -> None:
        self._embedder = embedder
        self._limit = limit
        self._file = file  # None: in memory only
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text, in order (embedded as passages)."""
        with self._lock:
            known = {text: self._cache[text] for text in dict.fromkeys(texts) if text in self._cache}
            for text in known:
                self._cache.move_to_end(text)
        missing = [text for text in dict.fromkeys(texts) if text not in known]
        if missing:
            stored = self._read([digest(text) for text in missing])
            fresh = [text for text in missing if digest(text) not in stored]
            embedded = dict(zip(fresh, self._embedder.embed_passages(fresh), strict=True)) if fresh else {}
            if embedded:
                self._write({digest(text): np.asarray(vector, dtype=np.float32) for text, vector in embedded.items()})
            with self._lock:
                for text in missing:
                    vector = embedded[text] if text in embedded else stored[digest(text)]
                    row = np.asarray(vector, dtype=np.float64)
                    known[text] = self._cache[text] = row / max(float(np.linalg.norm(row)), 1e-12)
                while len(self._cache) > self._limit:
                    self._cache.popitem(last=False)
        return np.stack([known[text] for text in texts]) if texts else np.zeros((0, 0))

    def missing(self, texts: Iterable[str]) -> list[str]:
        """Those of `texts` (once each, in order) embedded neither in memory nor on disk."""
        distinct = list(dict.fromkeys(texts))
        with self._lock:
            distinct = [text for text in distinct if text not in self._cache]
        stored = self._read([digest(text) for text in distinct])
        return [text for text in distinct if digest(text) not in stored]

    def keep_only(self, texts: Iterable[str]) -> int:
        """Forgets, on disk, the vectors of every text but these (the texts the pages hold now)."""
        if self._file is None:
            return 0
        try:
            return self._file.keep_only({digest(text) for text in texts})
        except sqlite3.Error as error:
            log.warning("Old sentence vectors could not be deleted from %s: %s", self._file.path, error)
            return 0

    def _read(self, digests: list[bytes]) -> dict[bytes, np.ndarray]:
        if self._file is None or not digests:
            return {}
        try:
            return self._file.get(digests)
        except sqlite3.Error as error:  # embedded anew: slower, nothing lost
            log.warning("Sentence vectors could not be read from %s: %s", self._file.path, error)
            return {}

    def _write(self, vectors: dict[bytes, np.ndarray]) -> None:
        if self._file is None:
            return
        try:
            self._file.put(vectors)
        except sqlite3.Error as error:  # a full disk: kept in memory, embedded again after a restart
            log.warning("Sentence vectors could not be written to %s: %s", self._file.path, error)
