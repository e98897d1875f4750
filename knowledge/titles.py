"""Document titles as vectors of their own: a second, page-level signal that re-ranks the passages found.

Each chunk's embedded text starts with its page's title, but a long passage dilutes it. A question in
another language than the pages is often closest to what a page is about, which its title says in a few
words: on gnome-help, adding the title's cosine to each passage's raised recall@5 by 2-9 points in the
seven translated languages (benchmarks/gnome_help.py). The titles live in a Chroma collection beside the
chunks (`NAME.titles`: a dot, which collection names cannot hold, so it never meets a real one), one entry
per document keyed by its path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from knowledge.documents import Chunk, Hit, StoredChunk

SUFFIX = ".titles"


def titles_collection(collection: str) -> str:
    return collection + SUFFIX


def title_entry(collection: str, path: str, title: str) -> StoredChunk:
    """The document's title as a one-line 'chunk' whose embedding is the title's alone."""
    key = hashlib.sha1(f"{collection}/{path}".encode()).hexdigest()[:16]
    return StoredChunk(f"title-{key}", titles_collection(collection), path, Chunk(title, (), title, 0, 0, 0, 0))


def title_id(collection: str, path: str) -> str:
    return title_entry(collection, path, "").id


def boost(passages: Sequence[Hit], titles: Sequence[Hit], *, weight: float) -> list[Hit]:
    """The passages re-ordered by their cosine plus `weight` times their document title's cosine; each keeps
    its own cosine as its score, so `bot.relevance_threshold` means what it did. A document whose title is
    not among `titles` (the nearest ones) counts the farthest of those; with no titles at all (a store synced
    before titles existed) the order is unchanged."""
    if not titles or weight == 0:
        return list(passages)
    near = {(t.collection.removesuffix(SUFFIX), t.path): t.score for t in titles}
    floor = min(near.values())
    return sorted(passages, key=lambda h: -(h.score + weight * near.get((h.collection, h.path), floor)))
