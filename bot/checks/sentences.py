"""Answer text cut into the units the support check judges: Markdown lines and list items, then sentences in
Latin and CJK scripts; and put back together without the units it drops, its Markdown intact."""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKER = re.compile(r"[ \t]*(?:[-*+•]|\d{1,3}[.)]|#{1,6}|>)[ \t]+")
FENCE = re.compile(r"[ \t]*(?:```|~~~)")
CODE_SPAN = re.compile(r"`[^`\n]+`")
# . ! ? then closing quotes, brackets or emphasis, then a space and the next sentence's first character
_LATIN_END = re.compile(r"[.!?]+[\"'”’»)\]*_]*(?=[ \t]+[\"'“‘«(\[*_]*[`\w])")
CLAUSE = re.compile(r"(?<=[,;:])\s+|\s+(?=[(—–])")
_FOLLOWER = re.compile(r"[.!?\"'”’»)\]*_\s“‘«(\[]*(.?)")  # the first character after the end and any quotes
_CJK_END = re.compile(r"[。！？]+[」』）\"”]*")
# Multi-letter abbreviations that never end a sentence; single letters ("z.", "B.") and dotted runs ("e.g.", "d.h.")
# are recognised by shape. "etc." and "usw." are left out on purpose: they often do end one.
_ABBREVIATIONS = frozenset(
    ("bzw.", "ca.", "vs.", "dr.", "mr.", "mrs.", "ms.", "prof.", "nr.", "st.", "inkl.", "evtl.", "ggf.", "vgl.",
     "approx.", "incl.", "fig.", "resp.", "cf.", "mme.", "sr.", "sra.", "ext.", "tel.")
)  # fmt: skip


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    code: bool  # a line inside a fenced code block: one unit, checked as a command


def split_sentences(text: str) -> list[str]:
    """The answer's units in order: each line and list item, split further at sentence ends; original text kept."""
    return [text[unit.start : unit.end] for unit in cut_units(text)]


def cut_units(text: str) -> list[Unit]:
    units: list[Unit] = []
    fenced, offset = False, 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        fence = FENCE.match(body) is not None
        if (fence or fenced) and body.strip():
            units.append(Unit(offset + len(body) - len(body.lstrip()), offset + len(body.rstrip()), True))
        elif not fenced:
            units.extend(Unit(offset + start, offset + end, False) for start, end in _line_units(body))
        fenced ^= fence
        offset += len(line)
    return units


def _line_units(line: str) -> list[tuple[int, int]]:
    marker = MARKER.match(line)
    floor = marker.end() if marker else 0  # "1. Open…": the list number is no sentence end
    code = [m.span() for m in CODE_SPAN.finditer(line)]
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


def clauses(passage: str) -> list[str]:
    """A passage's sentences and, for long ones, their clauses: an answer often says one clause of a long sentence
    ("only internal traffic goes through the tunnel"), which the whole sentence, diluted, matches less well."""
    sentences = split_sentences(passage) or [passage]
    clauses = [part for s in sentences for part in CLAUSE.split(s) if len(part.split()) >= 3]
    return sentences + [c for c in clauses if c not in sentences]


class Joiner:
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
            marker = MARKER.match(unit)
            self._marker = marker.group().lstrip() if opens_line and marker else self._marker
            return ""
        wide = max(self._gaps, key=lambda g: g.count("\n")) if self._kept else ""
        text = wide + self._marker + unit
        self._gaps, self._marker, self._kept = [], "", self._kept + 1
        return text


def settled(text: str) -> str:
    """The text up to an open code span on its last line: until the closing backtick, a sentence end is unsure."""
    line_start = text.rfind("\n") + 1
    last = text[line_start:]
    if FENCE.match(last) or last.count("`") % 2 == 0:
        return text
    return text[: line_start + last.rfind("`")]
