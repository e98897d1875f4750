"""The support check on a written answer: each sentence against its passages; inventions never reach the asker.

A sentence is *invented* when it states a hard fact (a number, a URL, an address, a path, a command, a product
identifier) that neither the passages nor the question contain: it is dropped. A kept sentence is *supported* by a
passage that holds all its facts and that it resembles more than it resembles unrelated text; only such passages are
cited. `SentenceGate` applies the fact rule while the model writes, so an invented sentence is never even streamed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from knowledge.roles import Embedder

PassageText = str  # a passage as the model read it (bot.prompt.passage_text): title line, heading, text

# ---- Sentences: Markdown lines and list items, then sentence ends in Latin and CJK scripts -------------------------

_MARKER = re.compile(r"[ \t]*(?:[-*+•]|\d{1,3}[.)]|#{1,6}|>)[ \t]+")
_FENCE = re.compile(r"[ \t]*(?:```|~~~)")
_CODE_SPAN = re.compile(r"`[^`\n]+`")
# . ! ? then closing quotes, brackets or emphasis, then a space and the next sentence's first character
_LATIN_END = re.compile(r"[.!?]+[\"'”’»)\]*_]*(?=[ \t]+[\"'“‘«(\[*_]*[`\w])")
_CLAUSE = re.compile(r"(?<=[,;:])\s+|\s+(?=[(—–])")
_FOLLOWER = re.compile(r"[.!?\"'”’»)\]*_\s“‘«(\[]*(.?)")  # the first character after the end and any quotes
_CJK_END = re.compile(r"[。！？]+[」』）\"”]*")
# Multi-letter abbreviations that never end a sentence; single letters ("z.", "B.") and dotted runs ("e.g.", "d.h.")
# are recognised by shape. "etc." and "usw." are left out on purpose: they often do end one.
_ABBREVIATIONS = frozenset(
    ("bzw.", "ca.", "vs.", "dr.", "mr.", "mrs.", "ms.", "prof.", "nr.", "st.", "inkl.", "evtl.", "ggf.", "vgl.",
     "approx.", "incl.", "fig.", "resp.", "cf.", "mme.", "sr.", "sra.")
)  # fmt: skip


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    code: bool  # a line inside a fenced code block: one unit, checked as a command


def split_sentences(text: str) -> list[str]:
    """The answer's units in order: each line and list item, split further at sentence ends; original text kept."""
    return [text[unit.start : unit.end] for unit in _units(text)]


def _units(text: str) -> list[_Unit]:
    units: list[_Unit] = []
    fenced, offset = False, 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        fence = _FENCE.match(body) is not None
        if (fence or fenced) and body.strip():
            units.append(_Unit(offset + len(body) - len(body.lstrip()), offset + len(body.rstrip()), True))
        elif not fenced:
            units.extend(_Unit(offset + start, offset + end, False) for start, end in _line_units(body))
        fenced ^= fence
        offset += len(line)
    return units


def _line_units(line: str) -> list[tuple[int, int]]:
    marker = _MARKER.match(line)
    floor = marker.end() if marker else 0  # "1. Open…": the list number is no sentence end
    code = [m.span() for m in _CODE_SPAN.finditer(line)]
    cuts = [m.end() for m in _LATIN_END.finditer(line, floor) if _ends_sentence(line, m.start(), code)]
    cuts += [m.end() for m in _CJK_END.finditer(line, floor) if not _inside(m.start(), code)]
    spans, start = [], 0
    for cut in [*sorted(set(cuts)), len(line)]:
        piece = line[start:cut]
        if piece.strip():
            spans.append((start + len(piece) - len(piece.lstrip()), start + len(piece.rstrip())))
        start = cut
    return spans


def _ends_sentence(line: str, at: int, code: list[tuple[int, int]]) -> bool:
    if _inside(at, code):
        return False
    follower = _FOLLOWER.match(line, at).group(1)  # type: ignore[union-attr]
    if not (follower == "`" or follower.isdigit() or (follower.isalpha() and not follower.islower())):
        return False  # a lower-case word goes on the same sentence; another script (CJK) starts a new one
    if line[at] != ".":
        return True
    word = line[: at + 1].split()[-1].lstrip("\"'“‘«([*_").lower()
    return word not in _ABBREVIATIONS and re.fullmatch(r"(?:[^\W\d_]\.)+", word) is None


def _inside(at: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= at < end for start, end in spans)


# ---- Facts: what a sentence states that can be checked word for word ----------------------------------------------

_SCHEME = re.compile(r"https?://|www\.")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>`\"'()\[\]]+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PATH = re.compile(r"(?<![\w/])(?:[A-Za-z]:\\[^\s`\"']+|~?/[\w.-]+(?:/[\w.-]*)*|[\w.-]+(?:/[\w.-]+)+\.\w+)")
_DOMAIN = re.compile(r"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?![\w-])", re.IGNORECASE)
_COMMAND = re.compile(r"^[ \t]*\$[ \t]+(.+)$", re.MULTILINE)
_STEP = re.compile(r"\b(?:step|schritt|étape|paso|passo|stap|option|optie)\s+\d+\b", re.IGNORECASE)
_LATIN = "A-Za-z\u00c0-\u024f"  # identifiers are Latin-script: CJK text runs on without spaces
_NUMBER = re.compile(rf"(?<![{_LATIN}])(?<![\d.,:])\d+(?:[.,:'’]\d+)*")
_WORD = re.compile(rf"(?<![{_LATIN}\d_-])[{_LATIN}][{_LATIN}\d_]*(?:-[{_LATIN}\d_]+)*")
# Normal form, on facts and sources alike: 1,194 → 1194, 3,5 → 3.5, 08:00 → 8:00, no scheme, one space.
_THOUSANDS = re.compile(r"(?<=\d)[,'’\u202f\u00a0](?=\d{3}(?!\d))")
_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d)")
_LEADING_ZERO = re.compile(r"(?<![\d.,:])0+(?=\d)")


def facts(text: str) -> frozenset[str]:
    """The checkable facts of a sentence, normalised: numbers, URLs, domains, e-mail and file paths, code spans and
    commands, identifiers (iPhone, Acme-Guest, VPN). Capitalised ordinary words are no facts: German capitalises
    every noun."""
    marker = _MARKER.match(text)
    rest = text[marker.end() :] if marker else text
    found: list[str] = []
    for pattern, group in ((_CODE_SPAN, 0), (_COMMAND, 1), (_URL, 0), (_EMAIL, 0), (_PATH, 0), (_DOMAIN, 0)):
        found += [m.group(group).strip("`").rstrip(".,;:!?/") for m in pattern.finditer(rest)]
        rest = pattern.sub(lambda m: " " * len(m.group()), rest)
    rest = _STEP.sub(" ", rest)  # "Step 2" counts the answer's own steps, not the passages'
    found += _NUMBER.findall(rest)
    found += [name for word in _WORD.findall(rest) for name in _identifiers(word)]
    normal = (_normal(fact) for fact in found)
    return frozenset(fact for fact in normal if fact)


def _identifiers(word: str) -> list[str]:
    parts = word.split("-")
    names = [part for part in parts if _is_name(part)]
    if names:
        return names  # iPhone, Win11, ACME_HOST; the VPN of VPN-Client (German joins names to nouns)
    # Acme-Guest: capitalised parts joined, the first longer than a letter (E-Mail is a word)
    named = len(parts) > 1 and len(parts[0]) > 1 and all(part[:1].isupper() for part in parts)
    return [word] if named else []


def _is_name(part: str) -> bool:
    letters = [c for c in part if c.isalpha()]
    all_caps = len(letters) >= 2 and all(c.isupper() for c in letters)
    inner_capital = any(a.islower() and b.isupper() for a, b in itertools.pairwise(part))
    return "_" in part or any(c.isdigit() for c in part) or all_caps or inner_capital


def _normal(text: str) -> str:
    text = _SCHEME.sub("", text.lower())
    text = _LEADING_ZERO.sub("", _DECIMAL_COMMA.sub(".", _THOUSANDS.sub("", text)))
    return " ".join(text.split())


def missing_facts(sentence: str, sources: Sequence[str]) -> frozenset[str]:
    """The sentence's facts that none of the sources (the passages and the question) contains."""
    return _missing(facts(sentence), [_normal(source) for source in sources])


def _missing(claimed: frozenset[str], normal_sources: Sequence[str]) -> frozenset[str]:
    return frozenset(fact for fact in claimed if not any(_found(fact, source) for source in normal_sources))


def _found(fact: str, normal_source: str) -> bool:
    """A substring, but a number only as a whole number: 443 is not in 8443, nor 3 in 3.5."""
    before = r"(?<!\d)(?<!\d[.,])" if fact[0].isdigit() else ""
    after = r"(?![.,]?\d)" if fact[-1].isdigit() else ""
    return re.search(before + re.escape(fact) + after, normal_source) is not None


def _strong(fact: str) -> bool:
    """A fact specific enough to show a passage backs the sentence on its own: a number, an address, a command;
    not a bare word like "vpn", which half a knowledge base mentions."""
    return re.fullmatch(r"[^\W\d_]+", fact) is None


# ---- Support: which passages back a sentence, by facts and by a scale-free similarity -------------------------------

# Unrelated statements in several languages: a sentence's cosines to them are its baseline, in the model's own scale.
REFERENCE = (
    "The weather will be sunny tomorrow afternoon.",
    "She baked bread with flour, water and salt.",
    "The football match ended in a draw.",
    "Rivers carry water from the mountains to the sea.",
    "The museum opened an exhibition of ancient pottery.",
    "He practised the piano every evening.",
    "Cats sleep for most of the day.",
    "The train to the coast was full of tourists.",
    "Der Garten blüht im Frühling besonders schön.",
    "Wir haben am Wochenende einen Kuchen gebacken.",
    "Le marché du samedi vend des légumes frais.",
    "Elle lit un roman policier dans le jardin.",
    "El concierto empezó tarde por la lluvia.",
    "Mi abuela cultiva tomates en el balcón.",
    "Il gatto dorme sul divano tutto il pomeriggio.",
    "De fietsen staan achter het station.",
    "O pão fresco chega à padaria de manhã.",
    "公園で子どもたちがサッカーをしている。",
    "昨日の夕食は魚の料理でした。",
    "这本书讲述了一个古老村庄的故事。",
)
# What an answer says around its content: neither an invention nor support.
FILLER = (
    "Here is what I found:",
    "I hope this helps!",
    "Let me know if you have any other questions.",
    "Sure, I can help you with that.",
    "Great question!",
    "Here are the steps:",
    "Based on the documents provided, here is the answer.",
    "Hier ist, was ich gefunden habe:",
    "Ich hoffe, das hilft!",
    "Voici ce que j'ai trouvé :",
    "J'espère que cela vous aide !",
    "¡Espero que esto te ayude!",
    "お役に立てれば幸いです。",
    "希望这对你有帮助。",
)
# The lift a passage must give: (cos - baseline) / (1 - baseline), the baseline being the sentence's mean cosine to
# REFERENCE. Measured against sections of the example handbook (22 English paraphrases, 16 German ones of English
# passages, 21 unrelated IT-desk sentences): English paraphrases lift 0.53-0.95 with all-MiniLM-L6-v2 and 0.54-0.86
# with multilingual-e5-small (one negated paraphrase 0.35); German ones 0.32-0.66 (e5, 11 of 16 reach the bound; facts
# back most of the rest); unrelated sentences reach 0.51 (MiniLM, 2 of 21 above) and 0.43 (e5, none). A z-score over
# the same baseline does not carry across models: paraphrases score 7.5-24 with MiniLM but 3.4-15 with e5, unrelated
# sentences up to 10.4 and 5.8.
LIFT_BOUND = 0.45


@dataclass(frozen=True)
class Sentence:
    """One unit of the answer: kept unless it states a fact no source holds; the passages backing it, best first."""

    text: str
    kept: bool
    supported_by: tuple[int, ...] = ()
    missing: frozenset[str] = frozenset()
    filler: bool = False


@dataclass(frozen=True)
class Grounded:
    """The checked answer: its sentences, the kept text (Markdown intact), the supported share and the sources."""

    sentences: tuple[Sentence, ...]
    text: str
    supported: float  # of the kept sentences that are not filler; 0.0 when there are none: nothing was backed
    sources: tuple[int, ...]  # passage indexes backing a kept sentence: most sentences first, then best match

    @property
    def invented(self) -> int:
        return sum(not sentence.kept for sentence in self.sentences)


class SupportChecker:
    """Checks a written answer against its passages, with an embedder whatever its cosine scale.

    Cosine scales differ between models (multilingual-e5-small puts unrelated texts at 0.7-0.8, all-MiniLM-L6-v2
    near 0.1), so no cosine constant decides: a sentence's best cosine to a passage's sentences and clauses counts as
    its lift above its own baseline, the mean cosine to unrelated REFERENCE sentences, as a share of the way from
    there to identity: (cos - baseline) / (1 - baseline). An affine squeeze of the scale towards 1, which is how the
    models differ, leaves it unchanged.
    """

    def __init__(self, embedder: Embedder, *, reference: Sequence[str] = REFERENCE, filler: Sequence[str] = FILLER,
                 bound: float = LIFT_BOUND) -> None:  # fmt: skip
        self._embedder = embedder
        self._reference, self._filler = tuple(reference), tuple(filler)
        self._bound = bound

    @cached_property
    def _anchors(self) -> tuple[np.ndarray, np.ndarray]:
        """REFERENCE and FILLER vectors, embedded once per checker."""
        vectors = _unit_rows(self._embedder.embed_passages([*self._reference, *self._filler]))
        return vectors[: len(self._reference)], vectors[len(self._reference) :]

    def check(self, *, question: str, answer: str, passages: Sequence[PassageText]) -> Grounded:
        units = _units(answer)
        texts = [answer[unit.start : unit.end] for unit in units]
        claims = [_unit_facts(text, unit.code) for text, unit in zip(texts, units, strict=True)]
        content = [i for i, text in enumerate(texts) if re.search(r"\w", text) and not _FENCE.match(text)]
        lifts = dict(zip(content, self._lifts([texts[i] for i in content], passages), strict=True))
        sources = [_normal(passage) for passage in (*passages, question)]
        judged = [self._judge(texts[i], claims[i], lifts.get(i), sources) for i in range(len(units))]
        return _grounded(answer, units, judged, lifts)

    def _lifts(self, sentences: list[str], passages: Sequence[PassageText]) -> np.ndarray:
        """Per sentence, its lift to each passage, then (last column) to the nearest FILLER sentence.

        Answer and passages both go through embed_passages: this compares statement with statement, a symmetric
        task, for which e5 wants one prefix on both sides (its "query:" is for a question against documents; with it
        the German paraphrases above lose 0.03 and unrelated sentences gain 0.04). One batch each.
        """
        if not sentences:
            return np.zeros((0, len(passages) + 1))
        reference, filler = self._anchors
        vectors = _unit_rows(self._embedder.embed_passages(sentences))
        baseline = (vectors @ reference.T).mean(axis=1, keepdims=True)
        best = [(vectors @ filler.T).max(axis=1)]
        if passages:
            parts = [_clauses(passage) for passage in passages]
            flat = _unit_rows(self._embedder.embed_passages([unit for part in parts for unit in part]))
            bounds = np.cumsum([0, *(len(part) for part in parts)])
            best[:0] = [(vectors @ flat[a:b].T).max(axis=1) for a, b in itertools.pairwise(bounds)]
        cosines = np.column_stack(best)
        return (cosines - baseline) / np.maximum(1 - baseline, 1e-6)

    def _judge(self, text: str, claimed: frozenset[str], lift: np.ndarray | None, sources: list[str]) -> Sentence:
        *passages, asked = sources
        missing = _missing(claimed, sources)
        strong = [fact for fact in claimed if _strong(fact)]
        if missing:
            return Sentence(text, kept=False, missing=missing)
        if lift is None or (not strong and lift[-1] >= max(self._bound, *lift[:-1])):
            return Sentence(text, kept=True, filler=True)  # like "I hope this helps", more than like any passage
        backers = [
            p for p, source in enumerate(passages)
            if not _missing(claimed, [source, asked])
            and (lift[p] >= self._bound or any(_found(fact, source) for fact in strong))
        ]  # fmt: skip
        return Sentence(text, kept=True, supported_by=tuple(sorted(backers, key=lambda p: -lift[p])))


def _clauses(passage: str) -> list[str]:
    """A passage's sentences and, for long ones, their clauses: an answer often says one clause of a long sentence
    ("only internal traffic goes through the tunnel"), which the whole sentence, diluted, matches less well."""
    sentences = split_sentences(passage) or [passage]
    clauses = [part for s in sentences for part in _CLAUSE.split(s) if len(part.split()) >= 3]
    return sentences + [c for c in clauses if c not in sentences]


def _grounded(answer: str, units: list[_Unit], judged: list[Sentence], lifts: dict[int, np.ndarray]) -> Grounded:
    joiner, pieces, end = _Joiner(), [], 0
    for unit, sentence in zip(units, judged, strict=True):
        pieces.append(joiner.add(answer[end : unit.start], sentence.text, kept=sentence.kept))
        end = unit.end
    counted = [s for s in judged if s.kept and not s.filler]
    backed: dict[int, list[float]] = {}
    for i, sentence in enumerate(judged):
        for p in sentence.supported_by if sentence.kept else ():
            backed.setdefault(p, []).append(float(lifts[i][p]))
    sources = sorted(backed, key=lambda p: (-len(backed[p]), -max(backed[p]), p))
    share = sum(bool(s.supported_by) for s in counted) / len(counted) if counted else 0.0
    return Grounded(tuple(judged), "".join(pieces), share, tuple(sources))


def _unit_facts(text: str, code: bool) -> frozenset[str]:
    """A line of a fenced code block is a command as a whole (a brace or a rule line is none)."""
    if not code:
        return facts(text)
    command = re.sub(r"^[$>][ \t]+", "", text)  # the shell prompt is no part of the command
    return frozenset({_normal(command)}) if re.search(r"\w", text) and not _FENCE.match(text) else frozenset()


def _unit_rows(vectors: list[list[float]]) -> np.ndarray:
    rows = np.asarray(vectors, dtype=np.float64)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


class _Joiner:
    """Puts kept units back together: the widest whitespace that stood between them (a paragraph break survives a
    dropped paragraph), and a dropped sentence's list marker goes to the next sentence on its line."""

    def __init__(self) -> None:
        self._gaps: list[str] = []
        self._marker = ""
        self._seen = self._kept = 0

    def add(self, gap: str, unit: str, *, kept: bool) -> str:
        opens_line = "\n" in gap or not self._seen
        self._seen += 1
        self._gaps.append(gap)
        if opens_line:
            self._marker = ""  # a marker left by a wholly dropped line goes with it
        if not kept:
            marker = _MARKER.match(unit)
            self._marker = marker.group().lstrip() if opens_line and marker else self._marker
            return ""
        wide = max(self._gaps, key=lambda g: g.count("\n")) if self._kept else ""
        text = wide + self._marker + unit
        self._gaps, self._marker, self._kept = [], "", self._kept + 1
        return text


# ---- While the model writes ------------------------------------------------------------------------------------------


class SentenceGate:
    """Lets out each finished sentence whose facts the passages or the question hold, as the model writes; a sentence
    with a missing fact is withheld and kept in `dropped`. Facts only, no embeddings: it runs on every piece."""

    def __init__(self, *, question: str, passages: Sequence[PassageText]) -> None:
        self._sources = [_normal(source) for source in (*passages, question)]
        self._text = ""
        self._judged = 0  # units already let out or withheld
        self._end = 0  # where the last judged unit ended
        self._joiner = _Joiner()
        self._dropped: list[Sentence] = []

    @property
    def dropped(self) -> tuple[Sentence, ...]:
        return tuple(self._dropped)

    def feed(self, piece: str) -> str:
        """What may be shown now: the sentences that the new piece finished and that passed."""
        self._text += piece
        return self._release(final=False)

    def close(self) -> str:
        """The rest, under the same rule, once the model has stopped."""
        return self._release(final=True)

    def _release(self, *, final: bool) -> str:
        text = self._text if final else _settled(self._text)
        units = _units(text)
        finished = units if final or text.endswith("\n") else units[:-1]
        out = []
        for unit in finished[self._judged :]:
            sentence = text[unit.start : unit.end]
            missing = _missing(_unit_facts(sentence, unit.code), self._sources)
            if missing:
                self._dropped.append(Sentence(sentence, kept=False, missing=missing))
            out.append(self._joiner.add(text[self._end : unit.start], sentence, kept=not missing))
            self._end = unit.end
        self._judged = max(self._judged, len(finished))
        return "".join(out)


def _settled(text: str) -> str:
    """The text up to an open code span on its last line: until the closing backtick, a sentence end is unsure."""
    line_start = text.rfind("\n") + 1
    last = text[line_start:]
    if _FENCE.match(last) or last.count("`") % 2 == 0:
        return text
    return text[: line_start + last.rfind("`")]
