"""Retrieval: a query embedded once, the nearest live chunks over the allowed collections (fused with a BM25
ranking when hybrid), with links."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from urllib.parse import quote

import numpy as np

from knowledge.config import CollectionConfig
from knowledge.documents import Hit
from knowledge.hubs import Hubness
from knowledge.lexical import LexicalIndex, without_names
from knowledge.lexical_store import LexicalStore
from knowledge.manifest import Manifest
from knowledge.roles import ChunkStore, Embedder
from knowledge.titles import SUFFIX as TITLES_SUFFIX
from knowledge.titles import boost, titles_collection
from knowledge.translations import PageLanguage, Translations, own_language_lead


def source_url(collection: CollectionConfig, path: str) -> str | None:
    """The link for citations: the collection's url_template with the path filled in, else None."""
    if collection.url_template is None:
        return None
    return collection.url_template.replace("{path}", quote(path, safe="/"))


def fuse(rankings: Sequence[Sequence[str]], *, k: int = 60) -> list[str]:
    """Reciprocal rank fusion: each ranking gives an item 1/(k + rank); ties keep the first ranking's order.
    Ranks, not scores, so a cosine and a BM25 score never have to be put on one scale."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(fused, key=lambda item: -fused[item])


def per_source(hits: Sequence[Hit], *, limit: int) -> list[Hit]:
    """At most `limit` passages of any one source document, in rank order: several chunks of one page (or a hub
    page that resembles every question) would otherwise crowd the other candidates out of the first five."""
    taken: dict[tuple[str, str], int] = {}
    kept: list[Hit] = []
    for hit in hits:
        source = (hit.collection, hit.path)
        if taken.get(source, 0) < limit:
            taken[source] = taken.get(source, 0) + 1
            kept.append(hit)
    return kept


@dataclass(frozen=True)
class Retrieved:
    """The passages for a question, the cosines of every dense candidate looked at (best first) and the question's
    vector: the best cosine, set against the question's likeness to everyday questions, is what tells a question
    the knowledge base answers from one it does not (bot/checks/abstention.py)."""

    hits: list[Hit]
    pool: tuple[float, ...]
    embedding: Sequence[float] = ()  # the query's vector, for comparing the question with other texts
    # With the re-ranking put off (retrieve(rerank=False)): the candidates it will put in order, for rerank().
    unranked: tuple[Hit, ...] = ()
    # Asks the question again without the names nearly every page holds (knowledge.lexical.without_names), when it
    # had any: its dense evidence alone (pool and embedding; no hits). One more query embedded, so it is
    # asked only when abstention wants it (`judged`), not by every search.
    unnamed: Callable[[], Retrieved] | None = field(default=None, repr=False, compare=False)
    # Gives the share of the question's topic words the collections never use (LexicalIndex.unfamiliar); None
    # without the lexical index, or for a question in another language than most pages. Only abstention reads it,
    # so it is counted only then (`unfamiliar`), not by every search.
    unfamiliar_share: Callable[[], float] | None = field(default=None, repr=False, compare=False)
    # How much better the question scores a page in its own language than the same page in another (0.0 where no
    # page found is kept both ways): what a passage in the asker's language owes its language alone, for those
    # that compare passages of both (the extractive answerer's sentences).
    lead: float = 0.0

    @cached_property
    def judged(self) -> Retrieved:
        """What abstention judges: the question without its ubiquitous names where it had any, else itself."""
        return self.unnamed() if self.unnamed is not None else self

    @cached_property
    def unfamiliar(self) -> float:
        """The share of the question's topic words no page uses in any form; 0.0 where it is not judged."""
        return self.unfamiliar_share() if self.unfamiliar_share is not None else 0.0


MAIN_LANGUAGE_SHARE = 0.5  # of a collection's documents: their language is the collection's own


class _Languages:
    """The languages of the documents of the collections one retrieval looks at: each collection's counted once
    (a query to the record of languages), when first needed."""

    def __init__(self, translations: Translations | None) -> None:
        self._translations = translations
        self._counts: dict[str, dict[str, int]] = {}

    def main(self, collections: Sequence[str]) -> list[str]:
        """The languages at least half the documents of `collections` whose language is known are in (two at most,
        at half each); [] when none is known, or without the record of languages."""
        if self._translations is None:
            return []
        counts: Counter[str] = Counter()
        for name in collections:
            if name not in self._counts:
                self._counts[name] = self._translations.languages(name)
            counts.update(self._counts[name])
        total = counts.total()
        return [language for language, n in counts.items() if n >= MAIN_LANGUAGE_SHARE * total]


class Retriever:
    def __init__(self, *, store: ChunkStore, embedder: Embedder, manifest: Manifest,
                 collections: Sequence[CollectionConfig], lexical: LexicalIndex | None = None,
                 candidates: int = 50, per_source_limit: int = 1, title_weight: float = 0.0,
                 pages: LexicalStore | None = None, translations: Translations | None = None,
                 rerank: Callable[[Sequence[float], list[Hit]], list[Hit]] | None = None,
                 hubs: Hubness | None = None, hub_weight: float = 0.0) -> None:  # fmt: skip
        self._hubs = hubs  # the everyday questions: hubness (with hub_weight), and their words are no question's topic
        self._hub_weight = hub_weight if pages is not None else 0.0  # hubness reads the stored vectors
        self._rerank = rerank  # the first candidates put in order again (by their sentences), or None
        self._lexical = lexical
        self._translations = translations  # which documents are one page in several languages
        self._pages = pages  # every chunk's text by document: whole pages for the extractive answerer
        self._title_weight = title_weight
        self._candidates = candidates
        self._per_source = per_source_limit
        self._store = store
        self._embedder = embedder
        self._manifest = manifest
        self._collections = {c.name: c for c in collections}

    def search(self, query: str, *, collections: Sequence[str], k: int = 5, language: str | None = None) -> list[Hit]:
        """The k best passages for `query` among `collections`, best first."""
        return self.retrieve(query, collections=collections, k=k, language=language).hits

    def retrieve(self, query: str, *, collections: Sequence[str], k: int = 5, language: str | None = None,
                 rerank: bool = True) -> Retrieved:  # fmt: skip
        """The k best passages for `query` among `collections`, with the dense candidates' scores. A page kept in
        several languages gives its passages once: from its version in `language` where there is one, else from
        its best-ranked version. `rerank=False` puts the re-ranking off (it embeds sentences: most of a second on a
        CPU) until `rerank()`: the hits are then retrieval's own first k."""
        unknown = [name for name in collections if name not in self._collections]
        if unknown:
            raise ValueError(f"unknown collection(s): {', '.join(unknown)}")
        embedding = self._embedder.embed_query(query)
        # More candidates than k: chunks of a file being replaced right now are filtered out below, and so are
        # a source's passages past its limit.
        depth = max(k + 8, self._candidates)
        hits = self._store.query(collections, embedding, k=depth)
        unnamed = self._unnamed(query, collections)
        scores = tuple(sorted((h.score for h in hits), reverse=True))
        titles = []
        if self._title_weight:
            titles = self._store.query([titles_collection(name) for name in collections], embedding, k=depth)
        cosines = {h.chunk_id: h.score for h in hits}
        dense, hits = hits, self._unhubbed(hits, language)
        lead = 0.0  # on the cosines themselves, for the extractive answerer's sentences (which no hubness lowers)
        if language is not None and self._translations is not None:
            versions = self._versions(hits)
            lead = self._lead(dense, language, versions)
            hits, titles = self._evened(hits, titles, language, versions, self._lead(hits, language, versions))
        if self._title_weight:
            hits = boost(hits, titles, weight=self._title_weight)
        counted = _Languages(self._translations)  # each collection's languages counted once, when first needed
        if self._lexical is not None:
            foreign = self._foreign(counted.main(collections), language)
            hits = self._hybrid(query, embedding, hits, collections=collections, k=depth, foreign=foreign)
        hits = [replace(h, score=cosines.get(h.chunk_id, h.score)) for h in hits]  # each keeps its own cosine
        kept = per_source(self._one_per_page(self._live(hits), language, embedding, counted), limit=self._per_source)
        unfamiliar = self._unfamiliar(query, collections, language, counted)
        if self._rerank is not None and not rerank:
            return Retrieved(self._linked(kept[:k]), scores, embedding, tuple(kept), unnamed, unfamiliar, lead)
        if self._rerank is not None:
            kept = self._rerank(embedding, kept)
        return Retrieved(self._linked(kept[:k]), scores, embedding, unnamed=unnamed,
                         unfamiliar_share=unfamiliar, lead=lead)  # fmt: skip

    def rerank(self, retrieved: Retrieved) -> Retrieved:
        """A retrieval whose re-ranking was put off, re-ranked now: as many hits, perhaps others, in another order."""
        if self._rerank is None or not retrieved.unranked:
            return retrieved
        ranked = self._rerank(retrieved.embedding, list(retrieved.unranked))[: len(retrieved.hits)]
        return replace(retrieved, hits=self._linked(ranked), unranked=())

    def _unfamiliar(self, query: str, collections: Sequence[str], language: str | None,
                    counted: _Languages) -> Callable[[], float] | None:  # fmt: skip
        """What gives the share of `query`'s topic words no page of `collections` uses; for a question in another
        language than most pages (every word is unknown to them; `counted`: the collections' languages), of its names
        (LexicalIndex.unfamiliar_names). None without the lexical index."""
        lexical = self._lexical
        if lexical is None or language is None:
            return None

        def share() -> float:
            if language not in counted.main(collections):  # not the pages' own words
                return lexical.unfamiliar_names(query, collections=collections, language=language)
            ordinary = self._hubs.words() if self._hubs is not None else frozenset()
            return lexical.unfamiliar(query, collections=collections, ordinary=ordinary)

        return share

    @staticmethod
    def _foreign(main: Sequence[str], language: str | None) -> str | None:
        """`language` when it is known and most pages whose language is known are in another (`main`: the
        languages most of them are in)."""
        return language if language is not None and main and language not in main else None

    def _unnamed(self, query: str, collections: Sequence[str]) -> Callable[[], Retrieved] | None:
        """What gives the dense evidence for `query` without the names nearly every page of `collections` holds;
        None when it names none (or without the lexical index, which knows them). On the examples (e5), "Who is
        Acme's CEO?" stood out at 1.91, above the bar of 1.25 then; without "Acme", at 0.34."""
        if self._lexical is None:
            return None
        ordinary = self._hubs.words() if self._hubs is not None else frozenset()
        unnamed = without_names(query, self._lexical.common(collections), ordinary)
        if unnamed == query:
            return None
        return lambda: self.probe(np.asarray([self._embedder.embed_query(unnamed)]), collections=collections)[0]

    def _unhubbed(self, hits: list[Hit], language: str | None) -> list[Hit]:
        """The dense candidates ranked by their cosine less `hub_weight` times their hubness (knowledge/hubs.py),
        scored so for the rankings that follow (the cosines are given back before the passages leave)."""
        penalty = self._hubness(hits, language)
        if not penalty:
            return hits
        lowered = [replace(h, score=h.score - penalty.get(h.chunk_id, 0.0)) for h in hits]
        return sorted(lowered, key=lambda h: -h.score)

    def _hubness(self, hits: Sequence[Hit], language: str | None) -> dict[str, float]:
        """`hub_weight` times each hit's hubness, by chunk id; {} with hubness off."""
        if self._hubs is None or self._pages is None or not self._hub_weight or not hits:
            return {}
        vectors: dict[str, np.ndarray] = {}
        for name in dict.fromkeys(h.collection for h in hits):
            vectors.update(self._pages.vectors(name, [h.chunk_id for h in hits if h.collection == name]))
        ids = [chunk_id for chunk_id in dict.fromkeys(h.chunk_id for h in hits) if chunk_id in vectors]
        if not ids:
            return {}
        found = self._hubs.of(np.stack([vectors[chunk_id] for chunk_id in ids]).astype(np.float64), language)
        return {chunk_id: self._hub_weight * float(value) for chunk_id, value in zip(ids, found, strict=True)}

    def _linked(self, hits: list[Hit]) -> list[Hit]:
        return [replace(h, url=source_url(self._collections[h.collection], h.path)) for h in hits]

    def probe(self, embeddings: np.ndarray, *, collections: Sequence[str]) -> list[Retrieved]:
        """Many questions at once by their vectors, dense only, no passages: each one's best cosine (among as many
        candidates as retrieve() looks at). What calibrating abstention needs: the
        everyday questions are embedded once, by their owner (knowledge/hubs.py), and asked here per knowledge base."""
        found = []
        for embedding in np.asarray(embeddings, dtype=np.float64).tolist():
            hits = self._store.query(collections, embedding, k=self._candidates)
            best = (max(h.score for h in hits),) if hits else ()
            found.append(Retrieved([], best, embedding))
        return found

    def page(self, hit: Hit) -> list[Hit]:
        """All the passages of the document `hit` comes from, in reading order, linked like the hit; [] without the
        chunks' text at hand (no lexical copy)."""
        if self._pages is None:
            return []
        linked = source_url(self._collections[hit.collection], hit.path)
        return [replace(h, url=linked) for h in self._pages.page(hit.collection, hit.path)]

    def languages(self, hits: Sequence[Hit]) -> dict[tuple[str, str], str | None]:
        """The language each hit's document is written in (detected at sync), by (collection, path); {} without
        the record of languages."""
        paths = {(h.collection, h.path) for h in hits}
        return {key: version.language for key, version in self._versions(hits).items() if key in paths}

    def _versions(self, hits: Sequence[Hit]) -> dict[tuple[str, str], PageLanguage]:
        """The recorded versions of the hits' pages (their own documents and their translations), by (collection,
        path); {} without the record of languages."""
        if self._translations is None:
            return {}
        found: dict[tuple[str, str], PageLanguage] = {}
        for name in dict.fromkeys(h.collection for h in hits):
            paths = list(dict.fromkeys(h.path for h in hits if h.collection == name))
            found.update(((name, v.path), v) for v in self._translations.versions(name, paths))
        return found

    def warm(self) -> None:
        """Build now what the first question would otherwise wait for: the BM25 index of every collection."""
        if self._lexical is not None:
            self._lexical.warm(list(self._collections))

    def _hybrid(self, query: str, embedding: Sequence[float], dense: list[Hit], *, collections: Sequence[str],
                k: int, foreign: str | None) -> list[Hit]:  # fmt: skip
        """The dense ranking fused by rank with the lexical one; each hit keeps its cosine score, so the order
        may differ from the scores' order. For a question in a `foreign` language (not most pages'), the lexical
        ranking leaves out the pages in that language: they share its ordinary words, the other pages only the
        words languages share (names, "Link", "VPN"), so BM25 ranked them first whatever they said; fused, the
        examples' Spanish Wi-Fi and expense pages (which say "contraseña", "cuenta", "empresa") came before the
        English password page for "¿Cómo restablezco mi contraseña de la cuenta de la empresa?". The embedding's
        own ranking still finds them (its lead for the asker's language taken off: `_evened`)."""
        assert self._lexical is not None
        matches = self._lexical.search(query, collections=collections, k=k)
        by_id = {h.chunk_id: h for h in dense}
        if foreign is not None and matches:
            by_id.update(self._lexical.hits([m for m in matches if m.chunk_id not in by_id], embedding))
            written = self.languages([by_id[m.chunk_id] for m in matches if m.chunk_id in by_id])
            matches = [m for m in matches if m.chunk_id in by_id
                       and written.get((m.collection, by_id[m.chunk_id].path)) != foreign]  # fmt: skip
        order = fuse([[h.chunk_id for h in dense], [m.chunk_id for m in matches]])[:k]
        by_id.update(self._lexical.hits([m for m in matches if m.chunk_id in order and m.chunk_id not in by_id],
                                        embedding))  # fmt: skip
        return [by_id[chunk_id] for chunk_id in order if chunk_id in by_id]

    @staticmethod
    def _lead(hits: list[Hit], language: str, versions: Mapping[tuple[str, str], PageLanguage]) -> float:
        """The lead the question's own `language` has on this question: how much better it scores a page found in
        that language and another in its own version (knowledge.translations.own_language_lead); 0.0 when no page
        found is kept in that language and another (a knowledge base in one language has none). `versions`: those
        of the hits' pages."""
        lead = 0.0
        for name in dict.fromkeys(h.collection for h in hits):
            best: dict[str, float] = {}
            for hit in hits:
                if hit.collection == name:
                    best[hit.path] = max(best.get(hit.path, hit.score), hit.score)
            found = [v for (collection, _), v in versions.items() if collection == name]
            lead = max(lead, own_language_lead(best, found, language))
        return lead

    def _evened(self, hits: list[Hit], titles: list[Hit], language: str,
                versions: Mapping[tuple[str, str], PageLanguage],
                lead: float) -> tuple[list[Hit], list[Hit]]:  # fmt: skip
        """The passages and titles ranked with the `lead` the question's own language has on this question (`_lead`
        of the ranking scores: hubness has taken part of it off already) taken off the pages in that language. On the
        example knowledge base, the Japanese phishing question's first passage goes from the Japanese VPN page to the
        security page (recall@1 ja 0.75 -> 1.00, the rest unchanged). `versions`: those of the hits' pages."""
        assert self._translations is not None
        if not lead:
            return hits, titles
        versions = dict(versions)
        for name in dict.fromkeys(t.collection.removesuffix(TITLES_SUFFIX) for t in titles):
            paths = [t.path for t in titles if t.collection.removesuffix(TITLES_SUFFIX) == name]
            versions.update(((name, v.path), v) for v in self._translations.versions(name, paths))

        def evened(found: list[Hit], collection: Callable[[Hit], str]) -> list[Hit]:
            own = [versions.get((collection(h), h.path)) for h in found]
            moved = [replace(h, score=h.score - lead) if v is not None and v.language == language else h
                     for h, v in zip(found, own, strict=True)]  # fmt: skip
            return sorted(moved, key=lambda h: -h.score)

        return (evened(hits, lambda h: h.collection),
                evened(titles, lambda t: t.collection.removesuffix(TITLES_SUFFIX)))  # fmt: skip

    def _one_per_page(self, hits: list[Hit], language: str | None, embedding: Sequence[float],
                      counted: _Languages) -> list[Hit]:  # fmt: skip
        """Each hit of a translated page replaced by the next passage of the version chosen for the asker, in the
        rank of the version that ranked, with its score; a version not among the hits gives its passages nearest
        the question."""
        if self._translations is None or not hits:
            return hits
        page_of: dict[tuple[str, str], tuple[str, str]] = {}
        versions: dict[tuple[str, str], list[PageLanguage]] = {}
        for name in dict.fromkeys(h.collection for h in hits):
            for version in self._translations.versions(name, list(dict.fromkeys(h.path for h in hits
                                                                                if h.collection == name))):  # fmt: skip
                page_of[(name, version.path)] = (name, version.page)
                versions.setdefault((name, version.page), []).append(version)
        queues: dict[tuple[str, str], list[Hit]] = {}
        kept: list[Hit] = []
        for hit in hits:
            page = page_of.get((hit.collection, hit.path))
            if page is None or len(versions[page]) < 2:
                kept.append(hit)
                continue
            if page not in queues:
                main = next(iter(counted.main([hit.collection])), None)  # counted once, when a page needs it
                chosen = self._chosen(versions[page], hit.path, language, main)
                queues[page] = self._passages_of(chosen, hit, hits, embedding)
            if queues[page]:  # scored as the slot's hit if that matched better: a page is as relevant as its best
                passage = queues[page].pop(0)  # version, and a fixed threshold must not drop the asker's one
                kept.append(replace(passage, score=max(passage.score, hit.score)))
        return kept

    @staticmethod
    def _chosen(versions: list[PageLanguage], ranked: str, language: str | None, main: str | None) -> str:
        """The version in the asker's `language`; for an asker whose language no version is in, the one in the
        collection's `main` language, which the pages' readers share, rather than whichever translation ranked (a
        Portuguese question on sick leave was given the examples' German version); else the one that ranked."""
        wanted = [language, main] if language else []
        return next((v.path for lang in wanted for v in versions if lang and v.language == lang), ranked)

    def _passages_of(self, path: str, ranked: Hit, hits: list[Hit], embedding: Sequence[float]) -> list[Hit]:
        """The passages of version `path`: those retrieved, in rank order, else its stored ones nearest the question;
        the version that ranked when neither is at hand."""
        own = [h for h in hits if h.collection == ranked.collection and h.path == path]
        if not own and self._pages is not None:
            ids = [h.chunk_id for h in self._pages.page(ranked.collection, path)]
            found = self._pages.hits(ranked.collection, ids, embedding) if ids else {}
            own = self._live(sorted(found.values(), key=lambda h: -h.score))
        return own or [h for h in hits if h.collection == ranked.collection and h.path == ranked.path]

    def _live(self, hits: list[Hit]) -> list[Hit]:
        stale: set[str] = set()
        for name in {h.collection for h in hits}:
            stale |= self._manifest.stale(name, [h.chunk_id for h in hits if h.collection == name])
        return [h for h in hits if h.chunk_id not in stale]
