"""What a report needs of the knowledge base (`Sources`), read from the wired knowledge: the CLI's report, the admin
page and the weekly digest build theirs from it."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from bot.report.gaps import Closest, Gap

if TYPE_CHECKING:
    from bot.report import Sources
    from bot.wiring import Knowledge


def knowledge_sources(knowledge: Knowledge) -> Sources:
    from bot.report import Sources

    names = [c.name for c in knowledge.settings.collections]

    def documents() -> dict[str, list[str]]:
        return {n: sorted(p for p, r in knowledge.manifest.files(n).items() if r.content_hash) for n in names}

    status = functools.cache(knowledge.manifest.status)  # each reads every file record of its collection

    def failures() -> list[tuple[str, str, str]]:
        return [(n, path, reason) for n in names for path, reason in status(n).failures]

    @functools.cache
    def synced() -> tuple[str, ...]:
        return tuple(n for n in names if status(n).last_sync)

    def closest(gap: Gap) -> Closest | None:
        """The nearest passage to the gap's central question, dense only: milliseconds for each of hundreds of
        gaps, where a full search (BM25 included) would take seconds for all."""
        asked = {c for q in gap.questions for c in q.collections} or set(names)
        searched = [n for n in synced() if n in asked]
        if not searched or gap.vector is None:
            return None
        hits = knowledge.store.query(searched, gap.vector.tolist(), k=1)
        return Closest(hits[0].collection, hits[0].path, hits[0].title) if hits else None

    return Sources(documents=documents, failures=failures, closest=closest,
                   embed=knowledge.embedder.embed_queries, model=knowledge.settings.embedding.model)  # fmt: skip
