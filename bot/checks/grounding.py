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

from bot.checks.facts import absent, found, normal, strong, unit_facts
from bot.checks.sentences import FENCE, Joiner, Unit, clauses, cut_units, settled
from knowledge.roles import Embedder

PassageText = str  # a passage as the model read it (bot.prompt.passage_text): title line, heading, text

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
        units = cut_units(answer)
        texts = [answer[unit.start : unit.end] for unit in units]
        claims = [unit_facts(text, unit.code) for text, unit in zip(texts, units, strict=True)]
        content = [i for i, text in enumerate(texts) if re.search(r"\w", text) and not FENCE.match(text)]
        lifts = dict(zip(content, self._lifts([texts[i] for i in content], passages), strict=True))
        sources = [normal(passage) for passage in (*passages, question)]
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
            parts = [clauses(passage) for passage in passages]
            flat = _unit_rows(self._embedder.embed_passages([unit for part in parts for unit in part]))
            bounds = np.cumsum([0, *(len(part) for part in parts)])
            best[:0] = [(vectors @ flat[a:b].T).max(axis=1) for a, b in itertools.pairwise(bounds)]
        cosines = np.column_stack(best)
        return (cosines - baseline) / np.maximum(1 - baseline, 1e-6)

    def _judge(self, text: str, claimed: frozenset[str], lift: np.ndarray | None, sources: list[str]) -> Sentence:
        *passages, asked = sources
        missing = absent(claimed, sources)
        specific = [fact for fact in claimed if strong(fact)]
        if missing:
            return Sentence(text, kept=False, missing=missing)
        if lift is None or (not specific and lift[-1] >= max(self._bound, *lift[:-1])):
            return Sentence(text, kept=True, filler=True)  # like "I hope this helps", more than like any passage
        backers = [
            p for p, source in enumerate(passages)
            if not absent(claimed, [source, asked])
            and (lift[p] >= self._bound or any(found(fact, source) for fact in specific))
        ]  # fmt: skip
        return Sentence(text, kept=True, supported_by=tuple(sorted(backers, key=lambda p: -lift[p])))


def _grounded(answer: str, units: list[Unit], judged: list[Sentence], lifts: dict[int, np.ndarray]) -> Grounded:
    joiner, pieces, end = Joiner(), [], 0
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


def _unit_rows(vectors: list[list[float]]) -> np.ndarray:
    rows = np.asarray(vectors, dtype=np.float64)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


# ---- While the model writes ------------------------------------------------------------------------------------------


class SentenceGate:
    """Lets out each finished sentence whose facts the passages or the question hold, as the model writes; a sentence
    with a missing fact is withheld and kept in `dropped`. Facts only, no embeddings: it runs on every piece."""

    def __init__(self, *, question: str, passages: Sequence[PassageText]) -> None:
        self._sources = [normal(source) for source in (*passages, question)]
        self._text = ""
        self._judged = 0  # units already let out or withheld
        self._end = 0  # where the last judged unit ended
        self._joiner = Joiner()
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
        text = self._text if final else settled(self._text)
        units = cut_units(text)
        finished = units if final or text.endswith("\n") else units[:-1]
        out = []
        for unit in finished[self._judged :]:
            sentence = text[unit.start : unit.end]
            missing = absent(unit_facts(sentence, unit.code), self._sources)
            if missing:
                self._dropped.append(Sentence(sentence, kept=False, missing=missing))
            out.append(self._joiner.add(text[self._end : unit.start], sentence, kept=not missing))
            self._end = unit.end
        self._judged = max(self._judged, len(finished))
        return "".join(out)
