"""Citations that hold: the documents whose passages back a sentence of the answer, best first, each with the
sentences it backs; never a passage the answer did not use."""

from __future__ import annotations

from collections.abc import Sequence

from bot.checks.grounding import Grounded
from bot.engines.extractive import Excerpt
from bot.messages import SentenceCounts, Source
from knowledge.documents import Hit


def cited(grounded: Grounded, passages: Sequence[Hit]) -> tuple[Source, ...]:
    """One Source per document backing a kept sentence, in the order the check ranked its passages; the sentence
    indexes count the sentences the asker reads (the kept ones), from 0."""
    kept = [sentence for sentence in grounded.sentences if sentence.kept]
    documents: dict[tuple[str, str], tuple[Hit, set[int]]] = {}
    for index in grounded.sources:
        hit = passages[index]
        backed = {n for n, sentence in enumerate(kept) if index in sentence.supported_by}
        documents.setdefault((hit.collection, hit.path), (hit, set()))[1].update(backed)
    return tuple(
        Source(hit.title, hit.heading, hit.path, hit.url, hit.collection, tuple(sorted(backed)))
        for hit, backed in documents.values()
    )


def closest(passages: Sequence[Hit]) -> tuple[Source, ...]:
    """The distinct documents behind the passages, best first: the pages to read when no answer could be grounded."""
    seen: dict[tuple[str, str], Source] = {}
    for hit in passages:
        seen.setdefault((hit.collection, hit.path), Source(hit.title, hit.heading, hit.path, hit.url, hit.collection))
    return tuple(seen.values())


def counts(grounded: Grounded) -> SentenceCounts:
    claims = [s for s in grounded.sentences if s.kept and not s.filler]
    backed = sum(1 for s in claims if s.supported_by)
    return SentenceCounts(supported=backed, unsupported=len(claims) - backed, invented=grounded.invented)


def excerpted(excerpt: Excerpt) -> tuple[Source, ...]:
    """One Source per document an extractive answer quotes, in the answer's order, with the units it gave."""
    passages = excerpt.read
    documents: dict[tuple[str, str], tuple[Hit, list[int]]] = {}
    for index in excerpt.passages:
        hit = passages[index]
        documents.setdefault((hit.collection, hit.path), (hit, []))
    for n, unit in enumerate(excerpt.units):
        hit = passages[unit.passage]
        documents[(hit.collection, hit.path)][1].append(n)
    return tuple(
        Source(hit.title, hit.heading, hit.path, hit.url, hit.collection, tuple(units))
        for hit, units in documents.values()
    )
