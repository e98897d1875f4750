"""Lexical ranking: BM25 (bm25s) over the chunks' words, finding the names, codes and commands embeddings blur."""

from __future__ import annotations

import bisect
import logging
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from knowledge.documents import Hit
from knowledge.lexical_store import LexicalState, LexicalStore
from knowledge.manifest import Manifest

log = logging.getLogger(__name__)

# Han, kana and Hangul are written without spaces between words (or glue particles to them): their runs are
# cut into overlapping character pairs, the usual unit for CJK full-text search. Other scripts: words.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W{_CJK}]+")
_IS_CJK = re.compile(rf"[{_CJK}]")


def _stopwords() -> frozenset[str]:
    from bm25s import stopwords

    logging.getLogger("bm25s").setLevel(logging.NOTSET)  # it sets DEBUG on import, past the CLI's WARNING
    lists = ("EN", "FRENCH", "GERMAN", "SPANISH", "PORTUGUESE", "ITALIAN", "DUTCH")
    return frozenset(word for name in lists for word in getattr(stopwords, f"STOPWORDS_{name}", ()))


_STOPWORDS = _stopwords()
# A question most of whose words the collection never uses is in another language than the collection (a
# German question on English pages): its few shared words (Bluetooth, menu) then only add noise to the
# embedding's cross-lingual ranking, so the lexical ranking stays out. On gnome-help, fusing every question
# cost de, es, fr and pt 5-10 points of recall@1; with this gate they keep the dense figures while exact
# product and command names still gain 30 points (benchmarks/gnome_help.py).
MIN_SHARED_WORDS = 0.5
# Character pairs of a Japanese sentence are mostly its kana endings and particles ("ます", "には", "すれ"), which
# every Japanese page shares: against gnome-help's Japanese pages, fusing them cost the real questions 17 points
# of recall@5 (0.80 dense, 0.63 fused; Chinese, without kana, 0.67 and 0.70; Korean 0.83 and 0.87: the
# same-language set of benchmarks/retrieval_quality.py). Of a Japanese question longer than a term, only its words
# in other scripts (a product name, an error code) are looked for by their words; the rest is the embedding's.
JAPANESE_TERM_CHARS = 8
_KANA = re.compile(r"[\u3040-\u30ff]")
# A question's topic words (LexicalIndex.unfamiliar): words this long or longer; a word's stem is all but its last
# STEM_CUT letters, so "called", "meeting", "contribute" are found as "call", "meet", "contributions".
TOPIC_CHARS, STEM_CUT = 4, 3
SHORT_FORM = 3  # a page word this long or longer that a question's word begins with is a form of it ("jam": "jammed")
# A question in another language than the pages can still be judged by its names, which no language translates
# ("Spotify", "BIOS", "Excel" in a Japanese sentence: LexicalIndex.unfamiliar_names). Its other words cannot be, and
# count as this many words the pages use: a question naming one thing the pages never mention loses a third of its
# standout, as an English question with one unknown topic word among three does.
FOREIGN_KNOWN_WORDS = 2
# A word nearly every page of a collection holds (its organisation's or product's name: "Acme" is on 26 of the
# examples' 27 pages) tells no page from another, yet it lifts every page's cosine with a question that names it,
# and the everyday questions abstention compares with name nothing of the kind: "Who is Acme's CEO?" stood out like
# an answerable question. `without_names` takes such words out of a question for that judgement.
COMMON_SHARE = 0.9
COMMON_MIN_DOCUMENTS = 5  # in a handful of pages, every word is on most of them
# What asks "where", "who", "which" in the nine languages (those in Latin and Arabic script: in CJK they are part
# of the character pairs): a question whose other words are only these asks about the name ("Where is Acme?"),
# whatever the everyday questions happen to use.
QUESTION_WORDS = (
    "where what who whom whose which how when why wo wer wen wem was welche welcher welches wie wann warum woher "
    "wohin où qui que quoi quel quelle quels quelles comment quand pourquoi dónde donde quién quienes qué cuál cuáles "
    "cómo cuándo onde quem qual quais como quando porque por أين من ما ماذا كيف متى لماذا أي"
)
_SENTENCE_END = re.compile(r"(?:^|[.!?。！？]\s*)\W*$")  # what comes before a sentence's first word
_WORD = re.compile(rf"(?P<bare>[^\W{_CJK}]+)(?:['’][sS]\b)?")  # a word, and its possessive with it


def tokens(text: str) -> list[str]:
    """Case- and width-folded words, function words dropped; CJK runs as character pairs."""
    found: list[str] = []
    for match in _TOKEN.finditer(unicodedata.normalize("NFKC", text).casefold()):
        word = match.group(0)
        if _IS_CJK.match(word) and len(word) > 1:
            found.extend(word[i : i + 2] for i in range(len(word) - 1))
        elif _IS_CJK.match(word) or word not in _STOPWORDS:
            found.append(word)
    return found


def without_names(text: str, common: frozenset[str], ordinary: frozenset[str] = frozenset()) -> str:
    """`text` without the words it writes with a capital letter that `common` holds (folded as `tokens` folds them),
    a possessive "'s" with them. `text` itself when it has none, or when what is left asks nothing but the name: no
    word of it (as `tokens` gives them) beyond `ordinary`, the words everyday questions use, and QUESTION_WORDS
    ("What is Acme?" and "Where is Acme?" are about Acme itself; "Who is Acme's CEO?" is about a CEO). A capital
    that starts a sentence says nothing of a name ("You can…") and is not counted."""
    normalised = unicodedata.normalize("NFKC", text)
    names = [
        m for m in _WORD.finditer(normalised)
        if m.group(0)[0].isupper() and m.group("bare").casefold() in common
        and not _capitalised_as_first(normalised, m)
    ]  # fmt: skip
    if not names:
        return text
    kept, start = [], 0
    for match in names:
        kept.append(normalised[start : match.start()])
        start = match.end()
    kept.append(normalised[start:])
    left = re.sub(r"\s{2,}", " ", "".join(kept)).strip()
    return left if set(tokens(left)) - ordinary - _QUESTION_TOKENS else text


_QUESTION_TOKENS = frozenset(tokens(QUESTION_WORDS))
NOUNS_CAPITALISED = frozenset({"de"})  # languages whose every noun takes a capital, so a capital names nothing


def names(text: str, language: str | None = None) -> list[str]:
    """The words of `text` that name something (two letters or more), folded as `tokens` folds them, once each, in
    order. In a sentence written mostly in a script without capitals (Chinese, Japanese, Korean, Arabic): every
    word in a script with them ("Excelでピボットテーブル", "iCloud"). Elsewhere: a word with a capital past its first
    letter ("iPhone", "BIOS", "PowerPoint") and, except in a language whose nouns all take one (German) or a
    sentence that capitalises most words (a title), a word capitalised where no sentence starts ("¿Cómo descargo
    canciones de Spotify?"). None in a sentence written in capitals throughout."""
    normalised = unicodedata.normalize("NFKC", text)
    letters = [c for c in normalised if c.isalpha()]
    uncased = sum(c.lower() == c.upper() for c in letters) > len(letters) / 2

    def has_case(word: str) -> bool:
        return any(c.lower() != c.upper() for c in word)

    words = [m for m in _WORD.finditer(normalised) if len(m.group("bare")) >= 2]  # "la tecla F": a key, no name
    cased = [m.group("bare") for m in words if has_case(m.group("bare"))]
    if not uncased and len(cased) > 2 and all(word.isupper() for word in cased):
        return []  # written in capitals throughout: they tell nothing
    # Capitals on most words (a title, a subject line, German nouns) tell no name from the other words.
    capitals = sum(word[0].isupper() for word in cased[1:])
    capitalised = capitals >= 3 and capitals > len(cased[1:]) / 2
    found: list[str] = []
    for match in words:
        word = match.group("bare")
        if uncased:
            named = has_case(word)
        else:
            inner = any(c.isupper() for c in word[1:])
            named = inner or (language not in NOUNS_CAPITALISED and not capitalised and word[0].isupper()
                              and not _capitalised_as_first(normalised, match))  # fmt: skip
        if named:
            found += tokens(word)  # folded; a function word ("IT" is "it") is dropped
    return list(dict.fromkeys(found))


def _capitalised_as_first(text: str, match: re.Match[str]) -> bool:
    """Whether the word `match` found in `text` starts a sentence written in a script with capitals, so its capital
    says nothing ("You can…"): a name glued to CJK text ("Acmeの社長") keeps its own."""
    if _SENTENCE_END.search(text[: match.start()]) is None:
        return False
    after = text[match.end() : match.end() + 1]
    return not (after and _IS_CJK.match(after))


def common_words(documents: Sequence[set[str]]) -> frozenset[str]:
    """The words (as `tokens` gives them) at least COMMON_SHARE of `documents` hold; none in fewer than
    COMMON_MIN_DOCUMENTS documents."""
    if len(documents) < COMMON_MIN_DOCUMENTS:
        return frozenset()
    counts = Counter(word for words in documents for word in words)
    return frozenset(word for word, count in counts.items() if count >= COMMON_SHARE * len(documents))


def best(scores: np.ndarray, k: int) -> np.ndarray:
    """The indexes of the k best positive scores, best first, ties in index order: what a stable sort of every
    score gives, without sorting them all (at 100,000 chunks that sort cost ~15x the BM25 scoring itself)."""
    found = np.flatnonzero(scores > 0)
    if len(found) > k:
        kth = np.partition(scores[found], len(found) - k)[len(found) - k]  # the k-th highest score
        found = found[scores[found] >= kth]  # every tie of it too, so that index order decides as before
    return found[np.argsort(-scores[found], kind="stable")][:k]


@dataclass(frozen=True)
class LexicalMatch:
    """A chunk the lexical ranking found, with its BM25 score (comparable only within one query)."""

    collection: str
    chunk_id: str
    score: float


@dataclass(frozen=True)
class _Index:
    state: LexicalState
    chunk_ids: tuple[str, ...]
    vocabulary: frozenset[str]
    bm25: object  # bm25s.BM25, imported lazily
    common: frozenset[str] = frozenset()  # the words nearly every document holds (common_words)
    ordered: tuple[str, ...] = ()  # the vocabulary in order, for finding a word's other forms

    def holds(self, word: str) -> bool:
        """Whether a document holds `word` as written or, for a plural, without its "s": how a name is looked up."""
        return word in self.vocabulary or (word.endswith("s") and word[:-1] in self.vocabulary)

    def uses(self, word: str) -> bool:
        """Whether a document uses `word` or another form of it: a word that begins with its stem, or a word
        `word` begins with, at most STEM_CUT letters shorter and at least SHORT_FORM long ("jam" for "jammed", whose
        stem "jamm" no page word begins with)."""
        if word in self.vocabulary:
            return True
        stem = word[: max(TOPIC_CHARS, len(word) - STEM_CUT)]
        at = bisect.bisect_left(self.ordered, stem)
        if at < len(self.ordered) and self.ordered[at].startswith(stem):
            return True
        # Only forms shorter than the stem are left to look up: a longer one begins with it, and was found above.
        return any(word[:end] in self.vocabulary for end in range(max(SHORT_FORM, len(word) - STEM_CUT), len(stem)))


class LexicalIndex:
    """One in-memory BM25 index per collection, rebuilt once a sync that changed it has finished (whichever
    process ran it). Not after every file: rebuilding reads the whole collection.

    A question never waits for a rebuild (tens of seconds at 100,000 chunks): the index is rebuilt in the
    background while the previous one serves, its replaced passages filtered out by the retriever as during a
    sync. Only a collection with no index yet is built while its first question waits (`warm` does it before)."""

    def __init__(self, store: LexicalStore, *, manifest: Manifest) -> None:
        self._store = store
        self._manifest = manifest
        self._indexes: dict[str, _Index] = {}
        self._lock = threading.Lock()  # adapters search from worker threads
        self._builds: dict[str, threading.Lock] = {}  # one build at a time per collection
        self._background: set[str] = set()

    def search(self, query: str, *, collections: Sequence[str], k: int) -> list[LexicalMatch]:
        """The k best chunks by BM25 over `collections`, best first; only chunks sharing a word with the query,
        and none when fewer than half of the query's words occur in these collections at all."""
        words = tokens(query)
        indexes = {name: self._index(name, wait=False) for name in collections}
        shared = sum(1 for word in words if any(word in index.vocabulary for index in indexes.values()))
        if not words or shared / len(words) < MIN_SHARED_WORDS:
            return []
        if _KANA.search(query) and len(query.strip()) > JAPANESE_TERM_CHARS:
            words = [word for word in words if not _IS_CJK.match(word)]
            if not words:
                return []
        matches: list[LexicalMatch] = []
        for name, index in indexes.items():
            if not index.chunk_ids:
                continue
            scores = np.asarray(index.bm25.get_scores(words))  # type: ignore[attr-defined]
            matches += [LexicalMatch(name, index.chunk_ids[i], float(scores[i])) for i in best(scores, k)]
        return sorted(matches, key=lambda m: m.score, reverse=True)[:k]

    def unfamiliar(self, query: str, *, collections: Sequence[str], ordinary: frozenset[str] = frozenset()) -> float:
        """The share of the question's topic words that no document of `collections` uses, in any form: 0.0 to 1.0
        (0.0 with no topic word). Its topic words are its words of TOPIC_CHARS letters or more (shorter ones are
        abbreviations and fragments: "VPN", "isn" of "isn't") less the question words, numbers, the names nearly
        every page holds (`common`) and `ordinary` (the words everyday questions use: "does", "much", "get"); CJK
        character pairs are not judged. A word is used in any form when a page's word begins with its stem (all but
        its last STEM_CUT letters, at least TOPIC_CHARS): "called" is used where a page says "call", "meeting"
        where it says "meet". Meant for a question in the pages' own language: in another, every word is unknown.

        A question whose topic words the pages never use ("How do I book a meeting room for tomorrow afternoon?" to a
        handbook without "tomorrow" or "afternoon") asks about what they do not cover, however close its embedding
        comes to them."""
        indexes = [self._index(name, wait=False) for name in collections]
        common = frozenset().union(*(index.common for index in indexes))
        topic = [word for word in dict.fromkeys(tokens(query))
                 if len(word) >= TOPIC_CHARS and not word.isdigit() and word not in _QUESTION_TOKENS
                 and word not in common and word not in ordinary and not _IS_CJK.match(word)]  # fmt: skip
        unknown = sum(1 for word in topic if not any(index.uses(word) for index in indexes))
        return round(unknown / len(topic), 4) if topic else 0.0

    def unfamiliar_names(self, query: str, *, collections: Sequence[str], language: str | None) -> float:
        """For a question in another language than the pages, whose other words they cannot use: the share of its
        names (`names`, less numbers, question words and the names nearly every page holds) that no document of
        `collections` holds, counted against its names and FOREIGN_KNOWN_WORDS more: 0.0 to 1.0. A name is held as
        written or, for a plural, without its "s"; not by its stem, which would find "photos" for "Photoshop".

        "¿Cómo descargo canciones de Spotify para escucharlas sin conexión?" to GNOME's help, which never names
        Spotify: 1/3 (gnome-help's real questions name only what its pages name: Bluetooth, USB, Wi-Fi)."""
        indexes = [self._index(name, wait=False) for name in collections]
        common = frozenset().union(*(index.common for index in indexes))
        named = [word for word in names(query, language)
                 if not word.isdigit() and word not in common and word not in _QUESTION_TOKENS]  # fmt: skip
        unknown = sum(1 for word in named if not any(index.holds(word) for index in indexes))
        return round(unknown / (len(named) + FOREIGN_KNOWN_WORDS), 4) if unknown else 0.0

    def common(self, collections: Sequence[str]) -> frozenset[str]:
        """The words nearly every document of any of `collections` holds (common_words): their names."""
        return frozenset().union(*(self._index(name, wait=False).common for name in collections))

    def warm(self, collections: Sequence[str]) -> None:
        """Bring the collections' indexes up to date now (waiting for a rebuild under way), rather than during
        a question: at start-up, and after a sync this process ran."""
        for name in collections:
            self._index(name, wait=True)

    def hits(self, matches: Sequence[LexicalMatch], query_embedding: Sequence[float]) -> dict[str, Hit]:
        found: dict[str, Hit] = {}
        for name in dict.fromkeys(m.collection for m in matches):
            ids = [m.chunk_id for m in matches if m.collection == name]
            found.update(self._store.hits(name, ids, query_embedding))
        return found

    def _index(self, collection: str, *, wait: bool) -> _Index:
        state = self._store.state(collection)
        with self._lock:
            current = self._indexes.get(collection)
            if current is not None and current.state.version == state.version:
                current = self._indexes[collection] = replace(current, state=state)  # a sync that changed nothing
                return current
            if current is not None and current.state.synced_at == state.synced_at:
                return current  # a sync is under way; its new chunks are found by the dense ranking meanwhile
        if current is not None and not wait:
            self._rebuild_in_background(collection)
            return current
        return self._rebuild(collection)

    def _rebuild(self, collection: str) -> _Index:
        with self._lock:
            build = self._builds.setdefault(collection, threading.Lock())
        with build:  # a second caller waits for the build under way, then finds its result current
            state = self._store.state(collection)
            current = self._indexes.get(collection)
            if current is None or current.state.synced_at != state.synced_at:
                current = self._build(collection, state)
                with self._lock:
                    self._indexes[collection] = current
            return current

    def _rebuild_in_background(self, collection: str) -> None:
        with self._lock:
            if collection in self._background:
                return
            self._background.add(collection)

        def rebuild() -> None:
            try:
                self._rebuild(collection)
            except Exception:  # the previous index keeps serving; the next question tries again
                log.exception("rebuilding the lexical index of collection %s failed", collection)
            finally:
                with self._lock:
                    self._background.discard(collection)

        threading.Thread(target=rebuild, name=f"lexical-index-{collection}", daemon=True).start()

    def _build(self, collection: str, state: LexicalState) -> _Index:
        import bm25s

        # Rows outside the manifest (left by a rebuild that forgot the collection mid-sync) are not knowledge.
        files = self._manifest.files(collection)
        records = files.values()
        known = {i for r in records for i in r.chunk_ids} | set(self._manifest.garbage(collection))
        rows = [row for row in self._store.rows(collection) if row.chunk_id in known]
        live = sum(len(r.chunk_ids) for r in records)
        if len(rows) < live:
            log.warning("%d of %d chunks of collection %s are missing from the lexical index (indexed before "
                        "hybrid retrieval existed); run `supportbot sync --rebuild %s`.",
                        live - len(rows), live, collection, collection)  # fmt: skip
        corpus = [tokens(row.words) or [""] for row in rows]
        bm25 = bm25s.BM25()
        if rows:
            bm25.index(corpus, show_progress=False)
        vocabulary = frozenset(word for words in corpus for word in words)
        document = {chunk_id: path for path, record in files.items() for chunk_id in record.chunk_ids}
        by_document: dict[str, set[str]] = {}
        for row, words in zip(rows, corpus, strict=True):
            if row.chunk_id in document:  # a live chunk, not one of a file being replaced
                by_document.setdefault(document[row.chunk_id], set()).update(words)
        common = common_words(list(by_document.values()))
        return _Index(state, tuple(row.chunk_id for row in rows), vocabulary, bm25, common, tuple(sorted(vocabulary)))
