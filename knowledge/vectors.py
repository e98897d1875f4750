"""Short passage texts (sentences, list items) as unit vectors, each embedded once per process: the same pages answer
question after question, so the extractive answerer and the sentence re-ranking read them from here."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from knowledge.roles import Embedder

LIMIT = 20_000  # texts kept, the least recently used dropped first (about 30 MB with a 384-dimension model)


class PassageVectors:
    def __init__(self, embedder: Embedder, *, limit: int = LIMIT) -> None:
        self._embedder = embedder
        self._limit = limit
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
            fresh = self._embedder.embed_passages(missing)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    row = np.asarray(vector, dtype=np.float64)
                    known[text] = self._cache[text] = row / max(float(np.linalg.norm(row)), 1e-12)
                while len(self._cache) > self._limit:
                    self._cache.popitem(last=False)
        return np.stack([known[text] for text in texts]) if texts else np.zeros((0, 0))
