"""Answers with no language model: the retrieved passages' own sentences, list items and table rows that answer the
question, verbatim, in the page's order, under the heading they sit in.

Each candidate unit is scored with what is loaded already: the embedding model (the question as a query, the unit
with its heading as a passage) on a scale-free footing (a unit's cosine relative to the spread of all candidates'
cosines, so all-MiniLM-L6-v2's 0.1-0.6 and multilingual-e5-small's 0.7-0.9 rank alike), plus the question's own
words, numbers and names found in the unit, plus the retriever's rank of its passage. The best units are kept until
the answer reaches `max_words`; a numbered list keeps its numbers, the steps between two chosen steps and the few
before them, a table row comes with its header row, a row of a short table with the table's other rows, and a
sentence ending with a colon with what it introduces.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from bot.checks.facts import EMAIL, facts, strong
from bot.checks.sentences import FENCE, MARKER, split_sentences
from bot.engines import GeneratorUnavailable
from bot.prompt import ChatMessage
from knowledge.documents import Hit
from knowledge.lexical import QUESTION_WORDS, tokens
from knowledge.roles import Embedder
from knowledge.translations import relative_path
from knowledge.vectors import PassageVectors

NAME = "extractive (no language model)"
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?(\s*:?-{2,}:?\s*\|)+\s*(:?-{2,}:?\s*)?$")
_ORDERED = re.compile(r"^\s*\d{1,3}[.)]\s")
_WORDS = re.compile(r"[^\W_]+", re.UNICODE)
_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)\s]*)?\)")  # a Markdown link's target, without its #anchor
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
# The weights of the three signals; measured on examples/questions.jsonl with both embedders (benchmarks/README.md).
LEXICAL_WEIGHT = 1.0
RANK_PRIOR = (0.3, 0.15, 0.05)  # the retriever's first, second and third passage
KEEP_WITHIN = 0.7  # units scoring within this of the best one join it, while words remain
# A row of a table this short comes with its other rows: its cases are told apart by one another. The Portuguese
# "Cliquei num link estranho num e-mail. E agora?" was given the security table's "Suspicious email (not clicked)"
# row alone (the embedding does not read the "not"), and not the row "You clicked ...": call extension 4911.
WHOLE_TABLE_ROWS = 5
# A chosen unit that ends with a colon ("To print on both sides of each sheet of paper:") promises what follows it:
# the units after it in its passage join it, this many at most (all such, max_words words more in all). gnome-help's
# answer to "How do I print on both sides of the sheet?" was that sentence alone, its steps left out.
INTRODUCED = 4
# A numbered list's steps are done in order: a chosen step comes with the steps before it in its passage's list,
# when they are this many at most (more, and the step chosen is a fact deep in a long procedure) and add half of
# max_words at most, with those of lists holding better units (a list chosen for a lesser unit, often another
# platform's or page's, does not grow into a procedure the asker did not ask for). Answers gave "2.
# Enter your Acme email address and click Forgot password." for a locked-out password, without "1. Open
# https://password.acme.example"; and steps 2 and 3 of the lost-badge list for "Perdi meu crachá do escritório", without
# "1. Report it immediately to the Security desk on extension 2200".
PRECEDING_STEPS = 3
# A unit holding a hard fact the question lacks (a number, an address, a command) tells the asker something; one
# that only restates the question (a "what to report" bullet for "I clicked a phishing link") does not.
NEW_FACT = 0.3
# A question asking when (in any of the nine languages) is answered by a unit that states a time or a weekday: "When
# can I call the IT helpdesk?" was answered with the helpdesk's extension (its first page's best sentence), not its
# hours. In a Latin-script language, only a sentence ending in "?" asks: "When I open Outlook, it crashes." does not.
TIME_ASKED = 0.3
_WHEN = re.compile(
    r"(?:^|[,;:¿¡]\s*)(?:(?:bis|ab|seit|until|since|from|à|a|até|depuis|jusqu['’]à|desde|hasta)\s+)?"
    r"(?:when|what\s+time|wann|um\s+wie\s+viel\s+uhr|quand|c['’]est\s+quand|quelle\s+heure|cuándo|cuando|qué\s+hora|"
    r"quando|que\s+horas)\b[^?]*\?$",
    re.IGNORECASE,
)
# Asking for the hours is asking when, wherever the word stands: "Qual é o horário de atendimento do suporte de TI?"
# was answered with the support page's priority table before its "Monday to Friday, 08:00–18:00".
_HOURS = re.compile(
    r"\b(?:opening|office|business|support|service|working)\s+hours\b|\bwhat\s+hours\b|öffnungszeit|sprechzeit|"
    r"servicezeit|\bhoraires?\b|heures\s+d['’]ouverture|\bhorarios?\b|\bhorários?\b",
    re.IGNORECASE,
)
_WHEN_UNWRITTEN = re.compile(  # no "?" needed: often left out
    r"متى|いつ|何時|언제|몇\s*시|什么时候|几点|何时|営業時間|受付時間|対応時間|운영\s*시간|영업\s*시간|营业时间|工作时间|服务时间|"
    r"(?:ساعات|مواعيد)\s+العمل"
)
_TIME = re.compile(
    r"\b(?:[01]?\d|2[0-3])[:h][0-5]\d\b|\b(?:1[0-2]|0?[1-9])\s?(?:am\b|pm\b|a\.m\.|p\.m\.)|\b\d{1,2}(?:[.:]\d\d)?\s?uhr\b|"
    r"\d{1,2}\s?(?:時|时|시|点)|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|montag|dienstag|mittwoch|"
    r"donnerstag|freitag|samstag|sonntag|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|lunes|martes|miércoles|"
    r"jueves|viernes|sábado|domingo|(?:segunda|terça|quarta|quinta|sexta)-feira)\b|[月火水木金土日]曜|[월화수목금토일]요일|"
    r"星期|周[一二三四五六日]",
    re.IGNORECASE,
)
# A question asking whom to tell, call or contact is answered by a unit that names a way to reach someone: an email
# address, a phone or extension number, a chat channel. "Ich bin heute krank und kann nicht kommen. Wem sage ich
# Bescheid?" was answered with the German sick page's certificate rules, not its step "Informieren Sie Ihre
# Führungskraft bis 10:00 Uhr ... schreiben Sie an HR: `hr@acme.example`". The Arabic "من" is also "from": only
# "to/with whom" counts there. More than TIME_ASKED: at 0.3 that step (1.64) still scored below two of the page's
# certificate bullets (1.81), and 80 words were spent before it.
CONTACT_ASKED = 0.5
_WHO = re.compile(
    r"\b(?:who|whom|contact|wer|wem|wen|kontaktiere\w*|ansprechpartner\w*|contacter|joindre|quién|contactar|quem|"
    r"contatar|contato|contacto)\b|(?:^|\b(?:à|a|de|avec|con)\s+)(?:qui|quien)\b|"
    r"\bqui\s+(?:dois|doit|faut|contacter|appeler|prévenir|s['’]occupe)",  # French "qui" is also "that"
    re.IGNORECASE,
)
_WHO_UNWRITTEN = re.compile(r"誰|どなた|連絡|누구|연락|谁|联系|لمن|بمن|مع\s+من|أتواصل|تواصل|أتصل")
_CONTACT = re.compile(
    rf"{EMAIL.pattern}|(?:^|\s)#[a-z][\w-]+|\+\d[\d ()-]{{6,}}\d|"
    r"(?:extension|ext\.|durchwahl|poste|extensión|ramal|内線|내선|分机|تحويلة)[\s*:]*\d{2,}",
    re.IGNORECASE,
)
# A page's sentence that asks ("Questions?", "¿Trabajas desde una cafetería ...?") answers nothing, yet it is near a
# question in its language: the Spanish sick-leave question was answered with the Spanish Wi-Fi page's "¿Trabajas
# desde una cafetería, un hotel u otra red Wi-Fi pública?". Such a unit loses more than all the signals together
# give: it is chosen only when every unit asks.
ASKS = 10.0
# A variant section not chosen gives its best unit when that scores within this of the best one (twice KEEP_WITHIN):
# the macOS step that connects scored 0.75-0.84 below the best unit with both embedders; a sibling section far
# below it ("Change your password" beside "Change your name") says nothing the question asked.
VARIANT_WITHIN = 2 * KEEP_WITHIN

PAGES_READ, MAX_PAGE_PASSAGES = 2, 12
SHORT_LINE = 0.8  # of a paragraph's widest line: a line this short ends a heading, a row or a sentence
MAX_EMBEDDED = 60
# The excerpt shown while a model reads must come within a second, with the model taking the cores: fewer units
# are embedded (the likeliest by the question's words and the page rank), about 10 ms each here on a free core.
PREVIEW_EMBEDDED = 20


@dataclass(frozen=True)
class Unit:
    """One candidate: a sentence of a paragraph, a list item or a table row, with where it sits."""

    passage: int  # index into the hits
    block: int  # the line (or fenced block) it belongs to, in passage order
    order: int  # position among all units of its passage
    kind: str  # "sentence" | "item" | "row" | "code"
    text: str
    header: str = ""  # a table row's header row and rule, for rendering
    list_id: int = -1  # units of one numbered list share it


@dataclass(frozen=True)
class Excerpt:
    """The chosen units rendered as Markdown, and which passages they came from (by first use)."""

    text: str
    passages: tuple[int, ...]  # indexes into `read`, in the order the answer first quotes them
    units: tuple[Unit, ...]  # in the answer's order
    read: tuple[Hit, ...] = ()  # the passages the units were picked from: the retrieved ones and their pages

    @property
    def quoted(self) -> str:
        """The text as the asker sees it: a block quote, since every word of it is a page's, in the page's language
        (code stays a code block)."""
        return as_quote(self.text)


def as_quote(text: str) -> str:
    """Markdown text as a block quote, line by line; fenced code blocks are left as they are (already set apart,
    and a fence inside a quote renders unevenly across chat platforms and terminals), as are blank lines."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            lines.append(line)
            fenced = not fenced
        else:
            lines.append(line if fenced or not line.strip() else f"> {line}")
    return "\n".join(lines)


class ExtractiveAnswerer:
    """The answerer when no language model is present; also the instant excerpt shown while a model reads."""

    name = NAME

    def __init__(self, embedder: Embedder, *, max_words: int = 80, pages: Callable[[Hit], list[Hit]] | None = None,
                 max_embedded: int = MAX_EMBEDDED, vectors: PassageVectors | None = None,
                 languages: Callable[[Sequence[Hit]], Mapping[tuple[str, str], str | None]] | None = None,
                 ordinary: frozenset[str] = frozenset()) -> None:  # fmt: skip
        self._ordinary = ordinary  # words any question uses (the everyday questions'): they name no section
        self._embedder = embedder
        self._languages = languages  # the language each passage's document is written in, when known
        self._max_words = max_words
        self._max_embedded = max_embedded
        self._pages = pages  # a document's passages in order: the answer may sit in the top page's next section
        self._vectors = vectors or PassageVectors(embedder)  # shared with the sentence re-ranking, when given

    def count_tokens(self, text: str) -> int:
        """A rough count (no model window to fit): about four characters a token."""
        return max(1, math.ceil(len(text) / 4))

    def stream(self, messages: Sequence[ChatMessage], *, max_new_tokens: int) -> Iterator[str]:
        raise GeneratorUnavailable("the extractive answerer writes no text from a prompt; it answers from passages")

    def excerpt(
        self, question: str, passages: Sequence[Hit], *, language: str | None = None, lead: float = 0.0
    ) -> Excerpt:
        """The units of `passages` that answer `question` (written in `language`, when known), best first until
        max_words, rendered in page order. `lead`: how much better the question scores a page in its own language
        than the same page in another (knowledge.retrieval.Retrieved.lead), taken off the cosines of the units of
        pages in that language."""
        retrieved = len(passages)
        passages, rank = self._read(passages)
        units = [unit for index, hit in enumerate(passages) for unit in cut_passage(index, hit)]
        units = _distinct(units, passages)
        if not units:
            return Excerpt("", (), ())
        known = self._languages(passages) if language is not None and self._languages is not None else {}
        facts_only = _words_tell_language(known, passages, language)
        scores = self._scores(question, units, passages, rank, retrieved, facts_only,
                              _owed(known, units, passages, language, lead))  # fmt: skip
        of = [passages[unit.passage] for unit in units]
        # A question naming one of a page's variant sections ("... on my Mac?", "... unter Windows?") is answered
        # from it, not from its variants: "How do I install the VPN client on my Mac?" was answered with Windows
        # steps 1-4, macOS steps 1-2 and Linux step 3.
        scores[_variants_left_out(question, of, self._ordinary)] = -np.inf
        chosen = self._choose(units, scores, of)
        return replace(_render(chosen, passages, dict(zip(units, scores, strict=True))), read=tuple(passages))

    def _read(self, hits: Sequence[Hit]) -> tuple[list[Hit], list[int]]:
        """The passages to pick from, each with its page's rank among the hits: the retrieved ones, and the whole
        of the first PAGES_READ pages (a short page's answer often sits in the section next to the one found)."""
        pages: list[tuple[str, str]] = []
        for hit in hits:
            if (hit.collection, hit.path) not in pages:
                pages.append((hit.collection, hit.path))
        passages, rank = list(hits), [pages.index((h.collection, h.path)) for h in hits]
        if self._pages is None:
            return passages, rank
        have = {hit.chunk_id for hit in hits}
        for number, (collection, path) in enumerate(pages[:PAGES_READ]):
            first = next(h for h in hits if (h.collection, h.path) == (collection, path))
            whole = self._pages(first)
            if len(whole) > MAX_PAGE_PASSAGES:  # a long page: the passages next to the ones found
                near = {h.position for h in hits if (h.collection, h.path) == (collection, path)}
                whole = [h for h in whole if any(abs(h.position - p) <= 1 for p in near)]
            extra = [h for h in whole if h.chunk_id not in have]
            passages += extra
            rank += [number] * len(extra)
        return passages, rank

    def _scores(self, question: str, units: list[Unit], passages: Sequence[Hit], rank: list[int],
                retrieved: int, facts_only: bool = False, owed: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """Per unit: its cosine to the question (less what it `owed` the question's language alone) relative to the
        others', its share of the question's terms (with `facts_only`, of its names, numbers and codes, which read
        the same in every language), and its page's rank. Only the max_embedded most likely units are embedded
        (about 5 ms each on a CPU core)."""
        stated = [facts(unit.text) for unit in units]  # for the question's terms, and for what is new to it
        lexical = _lexical(question, [unit.text for unit in units], stated, facts_only=facts_only)
        prior = np.array([RANK_PRIOR[rank[u.passage]] if rank[u.passage] < len(RANK_PRIOR) else 0.0 for u in units])
        found = np.array([u.passage < retrieved for u in units], dtype=np.float64)  # not only read around them
        likely = np.argsort(-(LEXICAL_WEIGHT * lexical + prior + 0.2 * found), kind="stable")[: self._max_embedded]
        query = np.asarray(self._embedder.embed_query(question), dtype=np.float64)
        vectors = self._vectors([_with_heading(units[i], passages[units[i].passage]) for i in likely])
        query /= max(float(np.linalg.norm(query)), 1e-12)
        cosines = vectors @ query
        if owed is not None:
            cosines = cosines - owed[likely]
        middle, top = float(np.median(cosines)), float(cosines.max())
        scores = np.full(len(units), -np.inf)
        scores[likely] = (cosines - middle) / max(top - middle, 1e-6)  # 1 for the best unit, 0 for the median one
        asked = facts(question)
        telling = np.array([any(strong(f) and f not in asked for f in found) for found in stated], dtype=np.float64)
        when = asks_when(question)
        timed = np.array([when and states_time(unit.text) for unit in units], dtype=np.float64)
        who = asks_who(question)
        reach = np.array([who and states_contact(unit.text) for unit in units], dtype=np.float64)
        asking = np.array([unit.kind == "sentence" and unit.text.rstrip().endswith(("?", "？")) for unit in units])
        return (
            scores
            + LEXICAL_WEIGHT * lexical
            + prior
            + NEW_FACT * telling
            + TIME_ASKED * timed
            + CONTACT_ASKED * reach
            - ASKS * asking
        )

    def _choose(self, units: list[Unit], scores: np.ndarray, hits: Sequence[Hit]) -> list[Unit]:
        """The best units, best first, while max_words remain, with what they need beside them (`hits`: each
        unit's passage)."""
        ranked = sorted(range(len(units)), key=lambda i: -scores[i])
        best = scores[ranked[0]]
        chosen: list[int] = []
        words = 0
        for i in ranked:
            if chosen and scores[i] < best - KEEP_WITHIN:
                break
            cost = _word_count(units[i].text)
            if chosen and words + cost > self._max_words:
                continue
            chosen.append(i)
            words += cost
        chosen = _fill_variants(units, chosen, scores, hits, self._max_words // 2)
        chosen = _fill_introduced(units, _fill_tables(units, chosen, self._max_words), self._max_words)
        return _fill_steps(units, chosen, self._max_words // 2)


def _words_tell_language(known: Mapping[tuple[str, str], str | None], passages: Sequence[Hit],
                         language: str | None) -> bool:  # fmt: skip
    """Whether the question's ordinary words would pick units for being in its language, not for answering:
    retrieval put a page in another language first, and a page in the asker's language is read beside it (`known`:
    the language of each page read, where known). The French printer question ("Quelle imprimante dois-je
    sélectionner pour imprimer au bureau ?") found the English printer page first and the French telework page
    second; "imprimer" and "bureau" chose the telework page's "N'imprimez pas ... chez vous" over "select the
    Acme-FollowMe printer"."""
    if language is None or not passages:
        return False
    first = known.get((passages[0].collection, passages[0].path))
    return first is not None and first != language and language in known.values()


def _owed(known: Mapping[tuple[str, str], str | None], units: list[Unit], passages: Sequence[Hit],
          language: str | None, lead: float) -> np.ndarray | None:  # fmt: skip
    """Per unit, what its cosine owes the question's language alone: `lead` for a unit of a page written in
    `language` (`known`: the language of each page read, where known), else 0; None when nothing is owed. A
    multilingual model scores a sentence in the asker's language higher whatever it says: the German sick-leave
    page's "Wenn Ihr Kind krank ist ..." was quoted for a German question on parental leave, which the English page
    answers (benchmarks/data/examples_real.jsonl, e5: accuracy 0.62 -> 0.69; the examples' own questions unchanged)."""
    if not lead or language is None:
        return None
    written = [known.get((passages[u.passage].collection, passages[u.passage].path)) for u in units]
    return np.array([lead if w == language else 0.0 for w in written])


def cut_passage(index: int, hit: Hit) -> list[Unit]:
    """A passage's units in reading order: list items and table rows whole, paragraphs (hard-wrapped lines joined)
    by sentence, code fences whole; a table's rule and header row, and a line repeating the title, are no units."""
    units: list[Unit] = []
    lines = hit.text.splitlines()
    header, list_id, block = "", -1, 0
    fence: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        start = block
        runs = _runs(paragraph)
        for run in runs:  # a PDF's table rows are lines of their own, not one long "sentence"
            text = " ".join(part.strip() for part in run)
            if len(runs) == 1 or not _label(text):
                units.extend(Unit(index, start, len(units), "sentence", s) for s in split_sentences(text))
            start += len(run)
        paragraph.clear()

    for number, line in enumerate(lines):
        if fence:
            fence.append(line)
            if FENCE.match(line):
                units.append(Unit(index, block, len(units), "code", "\n".join(fence)))
                fence = []
            continue
        if FENCE.match(line) or not line.strip() or _TABLE_ROW.match(line) or MARKER.match(line):
            flush()
        if not paragraph:
            block = number
        if FENCE.match(line):
            fence = [line]
        elif not line.strip():
            header = ""
        elif _TABLE_ROW.match(line):
            following = lines[number + 1] if number + 1 < len(lines) else ""
            if _TABLE_RULE.match(line):
                continue
            if not header and _TABLE_RULE.match(following):
                header = f"{line}\n{following}"
                continue
            units.append(Unit(index, block, len(units), "row", line, header=header))
        elif MARKER.match(line) and not line.lstrip().startswith(("#", ">")):
            ordered = _ORDERED.match(line) is not None
            list_id = (index * 10_000 + number) if ordered and list_id < 0 else list_id
            units.append(Unit(index, block, len(units), "item", line.rstrip(), list_id=list_id if ordered else -1))
        elif units and units[-1].kind == "item" and line.startswith((" ", "\t")) and not paragraph:
            last = units[-1]  # an item's wrapped continuation
            units[-1] = Unit(
                index, last.block, last.order, "item", f"{last.text}\n{line.rstrip()}", list_id=last.list_id
            )
        else:
            if not line.startswith((" ", "\t")):
                list_id = -1
            paragraph.append(line)
    flush()
    if fence:
        units.append(Unit(index, block, len(units), "code", "\n".join(fence)))
    known = {_plain(hit.title), _plain(hit.heading)}
    return [unit for unit in units if _WORDS.search(unit.text) and _plain(unit.text) not in known
            and not _shouted(unit)]  # fmt: skip


def _nested(units: list[Unit], step: int) -> list[int]:
    """The items of a list inside a step: the bulleted items right after it, indented further than it."""
    found = []
    for i in range(step + 1, len(units)):
        unit = units[i]
        if unit.passage != units[step].passage or unit.kind != "item" or unit.list_id >= 0:
            break
        if _indent(unit.text) <= _indent(units[step].text):
            break
        found.append(i)
    return found


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" \t"))


def _runs(lines: list[str]) -> list[list[str]]:
    """A paragraph's lines cut where a line ends short of the paragraph's width, before a capital: text from a PDF
    or a plain text file has no blank line between a heading, a table's rows or a list, and its prose is wrapped
    near the page's width ("Meals while travelling EUR 60 per day" / "Hotel (book in Acme Travel) EUR 180 per
    night" are two rows, not one sentence). A wrapped line, one ending in a comma, or one followed by a lowercase
    word goes on."""
    width = max((len(line.strip()) for line in lines), default=0)
    runs: list[list[str]] = []
    current: list[str] = []
    for number, line in enumerate(lines):
        current.append(line)
        following = lines[number + 1].strip() if number + 1 < len(lines) else ""
        text = line.strip()
        goes_on = (
            len(text) >= SHORT_LINE * width
            or text.endswith((",", ";", ":", "(", "-", "/"))
            or not (following[:1].isupper() or following[:1].isdigit())
        )
        if following and not goes_on:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _label(text: str) -> bool:
    """A line cut from a paragraph that only names what follows: a PDF's heading or a table's header row ("Expense
    Limit"), three words at most, with no number and no end of sentence."""
    return len(text.split()) <= 3 and not any(c.isdigit() for c in text) and not text.endswith((".", "!", "?", "。"))


def unit_texts(hit: Hit) -> list[str]:
    """What the answerer embeds of a passage's units (each with its place in the page): the warm-up embeds them
    before any question does."""
    return [_with_heading(unit, hit) for unit in cut_passage(0, hit)]


def _shouted(unit: Unit) -> bool:
    """A plain text file's heading ("PARKING PERMITS"): a short capitalised line, no sentence."""
    letters = [c for c in unit.text if c.isalpha()]
    return (
        unit.kind == "sentence" and len(unit.text.split()) <= 6 and bool(letters) and all(c.isupper() for c in letters)
    )


def _plain(text: str) -> str:
    return " ".join(_WORDS.findall(text.casefold()))


def _distinct(units: list[Unit], passages: Sequence[Hit]) -> list[Unit]:
    """Overlapping chunks of one page repeat their edges: each unit of a page once, from its best passage."""
    seen: set[tuple[str, str, str]] = set()
    kept = []
    for unit in units:
        hit = passages[unit.passage]
        key = (hit.collection, hit.path, unit.text.strip())
        if key not in seen:
            seen.add(key)
            kept.append(unit)
    return kept


def _with_heading(unit: Unit, hit: Hit) -> str:
    place = " > ".join(part for part in (hit.title, hit.heading) if part)
    return f"{place}: {unit.header.splitlines()[0] if unit.header else ''}\n{unit.text}" if place else unit.text


def asks_when(question: str) -> bool:
    """Whether the question asks when (a time, a day) or for the hours: "When can I call the helpdesk?", "Bis wann
    …?", "いつ…", "Quels sont les horaires du support ?"."""
    if _WHEN_UNWRITTEN.search(question):
        return True
    return any(_WHEN.search(sentence.strip()) or (sentence.strip().endswith("?") and _HOURS.search(sentence))
               for sentence in split_sentences(question))  # fmt: skip


def asks_who(question: str) -> bool:
    """Whether the question asks whom to tell or how to reach someone: "Who do I tell?", "Wem sage ich Bescheid?",
    "¿A quién aviso?", "誰に連絡すればいいですか？". In a Latin-script language, only a sentence ending in "?" asks."""
    if _WHO_UNWRITTEN.search(question):
        return True
    return any(sentence.strip().endswith(("?", "？")) and _WHO.search(sentence) is not None
               for sentence in split_sentences(question))  # fmt: skip


def states_contact(text: str) -> bool:
    """Whether a unit names a way to reach someone: `hr@acme.example`, "extension 4357", "+49 30 1234567",
    "#ask-hr"."""
    return _CONTACT.search(text) is not None


def states_time(text: str) -> bool:
    """Whether a unit states a time of day or a weekday: "08:00–18:00", "10h30", "9am", "bis 10 Uhr", "9時"."""
    return _TIME.search(text) is not None


def _terms(text: str, stated: frozenset[str] | None = None) -> set[str]:
    """Words cut to a five-letter stem (install, installing, installation alike), CJK as character pairs, and the
    hard facts (numbers, names) whole (`stated`: the text's facts, when they are found already)."""
    terms: set[str] = set()
    for word in _WORDS.findall(text.lower()):
        if _CJK.search(word):
            terms.update(word[i : i + 2] for i in range(max(len(word) - 1, 1)))
        elif len(word) > 2 or word.isdigit():
            terms.add(word[:5])
    terms.update(fact.lower() for fact in (facts(text) if stated is None else stated))
    return terms


def _lexical(question: str, texts: list[str], stated: list[frozenset[str]], *, facts_only: bool = False) -> np.ndarray:
    """Per unit, the share of the question's terms (with `facts_only`, of its facts) it holds, each term weighted by
    its rarity among the units."""
    asked = {fact.lower() for fact in facts(question)} if facts_only else _terms(question)
    held = [_terms(text, found) for text, found in zip(texts, stated, strict=True)]
    if not asked:
        return np.zeros(len(texts))
    counts = {term: sum(term in h for h in held) for term in asked}
    weight = {term: math.log(1 + len(texts) / (1 + n)) for term, n in counts.items() if n}
    total = sum(weight.values())  # of the terms some unit holds: a word no unit has tells none apart
    if not total:
        return np.zeros(len(texts))
    return np.array([sum(weight[t] for t in weight if t in h) / total for h in held])


def _variants_left_out(question: str, hits: Sequence[Hit], ordinary: frozenset[str] = frozenset()) -> np.ndarray:
    """Per unit (`hits`: each unit's passage), whether its section is a variant of another section of its page that
    the question names more: two sections under one parent heading whose headings share a word ("Installing on
    Windows", "Installing on macOS"), the question naming (by a word of its own, or its start: "Mac" names "macOS")
    every heading word the one does and more. "How do I install the VPN client on my Mac?" names "install" in
    all three installing sections and "macOS" in one: the Windows and Linux sections are left out. A question
    naming no variant more than another ("How do I connect to the VPN?") leaves every unit in. Function words, question
    words and `ordinary` ones (which any question uses) name nothing: "I clicked a phishing link. What should I do?"
    named "What to report" more than its variant "How to report", which held the answer."""
    ordinary = ordinary | frozenset(QUESTION_WORDS.split())
    asked = _terms(" ".join(word for word in tokens(question) if word not in ordinary))
    out: set[tuple[str, str, str]] = set()
    for (collection, path), page in _sections(hits).items():
        named = {
            heading: {t for t in asked if any(_names(t, w) for w in words)} for heading, (_, words) in page.items()
        }
        for heading, (parent, words) in page.items():
            for other, (other_parent, other_words) in page.items():
                if other_parent == parent and words & other_words and named[heading] < named[other]:
                    out.add((collection, path, heading))
                    break
    return np.array([(hit.collection, hit.path, hit.heading) in out for hit in hits], dtype=bool)


def _sections(hits: Sequence[Hit], words: Callable[[str], set[str]] = _terms
              ) -> dict[tuple[str, str], dict[str, tuple[str, set[str]]]]:  # fmt: skip
    """Per page, per heading of its sections among `hits`: its parent heading and its own heading's `words`, less
    the title's and the parent's terms (every sibling's)."""
    sections: dict[tuple[str, str], dict[str, tuple[str, set[str]]]] = {}
    for hit in hits:
        page = sections.setdefault((hit.collection, hit.path), {})
        if hit.heading not in page:
            parent, _, own = hit.heading.rpartition(" > ")
            page[hit.heading] = (parent, words(own) - _terms(f"{hit.title} {parent}"))
    return sections


def _variant_groups(hits: Sequence[Hit]) -> list[int]:
    """Per unit (`hits`: each unit's passage), the number of its group of variant sections, or -1 for a section
    with no variant: sections of one page under one parent heading whose headings say the same but for one word
    each ("Installing on Windows", "... on macOS"; "Setting up on iPhone", "... on Android"), function and question
    words aside ("What to report" and "How to report" are one topic, told two ways)."""
    skip = frozenset(QUESTION_WORDS.split())
    sections = _sections(hits, lambda own: _terms(" ".join(w for w in tokens(own) if w not in skip)))
    group: dict[tuple[str, str, str], int] = {}
    for (collection, path), page in sections.items():
        for heading, (parent, mine) in page.items():
            if (collection, path, heading) in group:
                continue
            alike = [h for h, (p, w) in page.items()
                     if p == parent and len(w) == len(mine) >= 2 and len(w & mine) == len(mine) - 1]  # fmt: skip
            if alike:
                number = len(set(group.values()))
                group.update(
                    {(collection, path, h): number for h in [heading, *alike] if (collection, path, h) not in group}
                )
    return [group.get((hit.collection, hit.path, hit.heading), -1) for hit in hits]


def _names(term: str, word: str) -> bool:
    """Whether a question's term names a heading's word: the same, or its start (three letters at least)."""
    return term == word or (len(term) >= 3 and word.startswith(term))


def _word_count(text: str) -> int:
    """Words as a reader counts them: a table's pipes and a list's markers are none; two CJK characters are one."""
    return sum(max(1, len(_CJK.findall(word)) // 2) for word in _WORDS.findall(text))


def _tables(units: list[Unit]) -> list[list[int]]:
    """The rows of each table, by index into `units`: consecutive rows of one passage under one header."""
    tables: list[list[int]] = []
    for i, unit in enumerate(units):
        previous = units[i - 1] if i else None
        if unit.kind != "row":
            continue
        if (previous is not None and previous.kind == "row" and (previous.passage, previous.header)
                == (unit.passage, unit.header) and unit.order == previous.order + 1):  # fmt: skip
            tables[-1].append(i)
        else:
            tables.append([i])
    return tables


def _fill_tables(units: list[Unit], chosen: list[int], max_words: int) -> list[int]:
    """The chosen units, plus every row of a table of at most WHOLE_TABLE_ROWS rows (and max_words words) one of
    whose rows was chosen: a row's case reads right only beside the others ("not clicked", "You clicked")."""
    picked = list(chosen)
    for rows in _tables(units):
        short = 1 < len(rows) <= WHOLE_TABLE_ROWS and sum(_word_count(units[i].text) for i in rows) <= max_words
        if short and any(i in chosen for i in rows):
            picked += [i for i in rows if i not in picked]
    return picked


def _fill_introduced(units: list[Unit], chosen: list[int], max_words: int) -> list[int]:
    """The chosen units (best first), plus what a chosen unit ending with a colon introduces: the units that follow
    it in its passage, INTRODUCED at most and up to a table's rows, max_words words in all for every lead-in. A
    lead-in whose units no longer all fit is left out (but for the best unit): a colon promising nothing, or steps
    cut short, would mislead."""
    picked = list(chosen)
    added: set[int] = set()
    budget = max_words
    for i in chosen:
        if not units[i].text.rstrip().endswith((":", "：")):
            continue
        following = []
        for j in range(i + 1, min(i + 1 + INTRODUCED, len(units))):
            if units[j].passage != units[i].passage or units[j].kind == "row":
                break
            following.append(j)
        missing = [j for j in following if j not in picked]
        cost = sum(_word_count(units[j].text) for j in missing)
        if cost <= budget:
            picked += missing
            added.update(missing)
            budget -= cost
        elif i != chosen[0] and i not in added:  # (a step of an earlier lead-in stays)
            picked.remove(i)
    return picked


def _fill_variants(units: list[Unit], chosen: list[int], scores: np.ndarray, hits: Sequence[Hit],
                   allowance: int) -> list[int]:  # fmt: skip
    """The chosen units (best first), plus, where they come from two or more variant sections of a page (a question
    naming none of them more: `_variants_left_out` left none out), the best unit of each of that page's variants
    not chosen, scoring within VARIANT_WITHIN of the best unit, `allowance` words at most in all: the reader of
    every variant is told something. "How do I connect to the VPN?" was answered with the Linux steps 1-3 and the
    Windows step 4, and a Mac user found nothing; now the macOS step that connects comes too."""
    groups = _variant_groups(hits)
    section = [(hits[i].collection, hits[i].path, hits[i].heading) for i in range(len(units))]
    picked, spent = list(chosen), 0
    floor = max(scores[i] for i in chosen) - VARIANT_WITHIN if chosen else np.inf
    for number in sorted({groups[i] for i in chosen} - {-1}):
        members = [i for i in range(len(units)) if groups[i] == number]
        if len({section[i] for i in chosen if groups[i] == number}) < 2:
            continue  # one variant chosen: answered as it is
        best: dict[tuple[str, str, str], int] = {}
        for i in sorted(members, key=lambda i: -scores[i]):
            best.setdefault(section[i], i)
        had = {section[i] for i in picked}
        for i in sorted(best.values(), key=lambda i: -scores[i]):
            cost = _word_count(units[i].text)
            if section[i] not in had and scores[i] >= floor and spent + cost <= allowance:
                picked.append(i)
                spent += cost
    return picked


def _fill_steps(units: list[Unit], chosen: list[int], allowance: int) -> list[Unit]:
    """The chosen units (best first), plus every step between two chosen steps of one numbered list (step 2 of 1-3 is
    needed), and the steps before a list's first chosen one (step 2 is done after step 1) when they are
    PRECEDING_STEPS at most and, with those added to the lists before it (the list of the best unit first), come to
    `allowance` words at most."""
    picked = set(chosen)
    spent = 0
    for list_id in dict.fromkeys(units[i].list_id for i in chosen if units[i].list_id >= 0):
        members = [i for i, unit in enumerate(units) if unit.list_id == list_id]
        ends = [i for i in members if i in picked]
        picked.update(i for i in members if min(ends) <= i <= max(ends))
        before = [i for i in members if i < min(ends)]
        cost = sum(_word_count(units[i].text) for i in before)
        if len(before) <= PRECEDING_STEPS and spent + cost <= allowance:
            picked.update(before)
            spent += cost
    # A step's own list ("2. Install it:" and a command a distribution) comes with it.
    for i in [i for i in picked if units[i].list_id >= 0]:
        picked.update(_nested(units, i))
    return [units[i] for i in sorted(picked, key=lambda i: (units[i].passage, units[i].order))]


def _page(unit: Unit, passages: Sequence[Hit]) -> tuple[str, str]:
    return passages[unit.passage].collection, passages[unit.passage].path


def _links(text: str, page: tuple[str, str]) -> list[tuple[str, str]]:
    """The pages of `page`'s collection that `text` links to by a relative Markdown link ("[VPN](../it/vpn.md)")."""
    collection, path = page
    found = []
    for target in _LINK.findall(text):
        if "://" not in target and not target.startswith(("/", "mailto:", "#")):
            found.append((collection, relative_path(path, target)))
    return found


def _render(units: list[Unit], passages: Sequence[Hit], scores: Mapping[Unit, float] | None = None) -> Excerpt:
    """Page by page, units in page order under their heading; the page of the best-scoring unit first (`scores`:
    the units'), so the answer and its sources lead with what answers the question rather than with retrieval's
    first page: "I need Photoshop for my job" led with the printer page's "install Acme Print" before the software
    page's request form."""
    order: list[tuple[str, str]] = []
    for unit in units:
        if _page(unit, passages) not in order:
            order.append(_page(unit, passages))
    if scores is not None:
        best: dict[tuple[str, str], float] = {}
        for unit in units:
            # A unit pointing at another page the answer quotes ("Install Acme Connect (the VPN) ...; see
            # [VPN](../it/vpn.md)", a checklist's item) counts for that page: the answer is there.
            key = next((k for k in _links(unit.text, _page(unit, passages)) if k in order), _page(unit, passages))
            best[key] = max(best.get(key, -math.inf), float(scores[unit]))
        order.sort(key=lambda key: -best.get(key, -math.inf))  # stable: retrieval's order among equals
    pages = {key: sorted((u for u in units if _page(u, passages) == key),
                         key=lambda u: (passages[u.passage].position, u.order)) for key in order}  # fmt: skip
    blocks: list[str] = []
    used: list[int] = []
    shown: list[Unit] = []
    for key in order:
        heading, previous = None, None
        lines: list[str] = []
        for unit in pages[key]:
            hit = passages[unit.passage]
            if unit.passage not in used:
                used.append(unit.passage)
            place = hit.heading or hit.title
            if place != heading:
                if lines:
                    blocks.append("\n".join(lines))
                lines, heading, previous = [f"**{place}**"], place, None
            # Sentences of one paragraph: the same line block of the same passage (block numbers of two
            # overlapping chunks of a page do not compare: a chunk may start mid-paragraph).
            joined = (
                previous is not None
                and unit.kind == previous.kind == "sentence"
                and (unit.passage, unit.block) == (previous.passage, previous.block)
            )
            if unit.kind == "row" and (previous is None or previous.kind != "row" or previous.header != unit.header):
                lines.append(unit.header) if unit.header else None
            if joined:
                lines[-1] += " " + unit.text
            else:
                lines.append(unit.text)
            previous = unit
            shown.append(unit)
        if lines:
            blocks.append("\n".join(lines))
    return Excerpt("\n\n".join(blocks), tuple(used), tuple(shown))
