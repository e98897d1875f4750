"""Hubs: passages that resemble every question. A two-line "Questions? Ask HR at hr@…" section of a French page is
nearer to any French question than the English page that answers it ("Quelle imprimante dois-je sélectionner ?"
found the French telework page's "Des questions ?" first, the printer page second). A passage's hubness is the mean
cosine of its HUB_NEIGHBOURS nearest everyday questions in the asker's language (the shipped off-topic questions,
thirty in each of nine languages): high for a passage that is near questions of every kind, low for one about a
topic. Measured against every language's at once, an English-only model's hubness came from the foreign questions'
noise and cost English questions their first page (all-MiniLM-L6-v2, recall@1 0.67 -> 0.57). Retrieval ranks by
the cosine minus `retrieval.hub_weight` times it: cross-domain similarity local scaling, which corrects the same
effect in cross-lingual word retrieval, with the query's side of the neighbourhood (the asker's own language). Both
are cosines of one embedding model, so one weight holds on every model's scale. The passages keep their cosines as
scores. The everyday questions' vectors are kept here, once per model, and abstention reads them too.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge.lexical import tokens
from knowledge.roles import Embedder

log = logging.getLogger(__name__)
HUB_NEIGHBOURS = 10


class Hubness:
    """The everyday questions' vectors (embedded once per model, kept on disk) and passages' hubness against them."""

    def __init__(self, embedder: Embedder, questions: Sequence[str], *, cache_dir: Path | None,
                 neighbours: int = HUB_NEIGHBOURS, languages: Sequence[str] | None = None) -> None:  # fmt: skip
        self._embedder = embedder
        self._questions = list(questions)
        self._languages = np.array(list(languages) if languages is not None else [""] * len(self._questions))
        self._cache_dir = cache_dir
        self._neighbours = neighbours
        self._vectors: np.ndarray | None = None
        self._words: frozenset[str] | None = None
        self._lock = threading.Lock()

    def of(self, vectors: np.ndarray, language: str | None = None) -> np.ndarray:
        """Each row's hubness: the mean cosine of its nearest everyday questions, those asked in `language` when it
        has any (a passage is a hub for the asker's questions: the neighbourhood cross-domain similarity local
        scaling measures on the query's side); 0 with no questions."""
        if len(vectors) == 0 or not self._questions:
            return np.zeros(len(vectors))
        everyday = self.everyday()
        if language is not None and (self._languages == language).any():
            everyday = everyday[self._languages == language]
        rows = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        cosines = rows @ everyday.T
        return np.sort(cosines, axis=1)[:, -min(self._neighbours, len(everyday)) :].mean(axis=1)

    def words(self) -> frozenset[str]:
        """Every word the everyday questions use (as the lexical ranking reads words): what a question shares with
        any question, whatever it is about."""
        if self._words is None:
            self._words = frozenset(word for question in self._questions for word in tokens(question))
        return self._words

    def everyday(self) -> np.ndarray:
        """The everyday questions' unit vectors, one row each: from disk when this model embedded them before."""
        with self._lock:
            if self._vectors is None:
                loaded = self._load()
                self._vectors = loaded if loaded is not None else self._embed()
            return self._vectors

    def _key(self) -> str:
        text = "\n".join([self._embedder.name, str(self._embedder.dimensions), *self._questions])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _load(self) -> np.ndarray | None:
        path = self._cache_dir / f"{self._key()}.npy" if self._cache_dir is not None else None
        if path is None or not path.exists():
            return None
        try:
            vectors = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None  # a damaged file is embedded anew
        if vectors.shape != (len(self._questions), self._embedder.dimensions):
            return None
        return vectors.astype(np.float64)

    def _embed(self) -> np.ndarray:
        vectors = np.asarray(self._embedder.embed_queries(self._questions), dtype=np.float64)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        if self._cache_dir is not None:
            try:
                self._cache_dir.mkdir(parents=True, exist_ok=True)
                temporary = self._cache_dir / f"{self._key()}.tmp.npy"
                np.save(temporary, vectors.astype(np.float32), allow_pickle=False)
                temporary.replace(self._cache_dir / f"{self._key()}.npy")  # whole or not at all
            except OSError as error:
                log.warning("the everyday questions' vectors could not be kept on disk: %s", error)
        return vectors
