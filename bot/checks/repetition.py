"""Stops an answer caught in a loop: greedy decoding, small models above all, can repeat a phrase or a line forever.

Greedy decoding is what the model card asks for, so nothing changes the model's choices; the guard only notices when
the text has become a loop, ends the answer there and keeps one copy of what was repeated.
"""

from __future__ import annotations

import re

MIN_PERIOD, MAX_PERIOD = 3, 40  # a phrase; a period of 1-2 is a rule line ("-----") or an ellipsis
# Five copies in a row of a unit holding a letter or digit: no sentence says "acme.acme.acme.acme.acme." (a table's
# rule line repeats "---|" but holds neither).
MIN_REPEATS, MIN_SPAN = 5, 24
SAME_LINES = 2  # two same lines in a row (numbering aside) already mean a loop: the terminal shows what streamed
SAME_SHORT_LINES, SHORT_LINE = 3, 20  # a short line ("- ACME People") may be said twice; three times is a loop
_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s*")


class RepetitionGuard:
    """Fed the answer's pieces; says when it has started looping, and what to keep."""

    def __init__(self) -> None:
        self._text = ""

    def feed(self, piece: str) -> bool:
        """True once the text ends in a loop: the caller stops the model and keeps `text`."""
        self._text += piece
        return self._looping_tail() is not None

    @property
    def text(self) -> str:
        """The answer so far, with a looping tail cut back to its first copy."""
        cut = self._looping_tail()
        return self._text if cut is None else self._text[:cut]

    def _looping_tail(self) -> int | None:
        return _repeated_phrase(self._text) or _repeated_lines(self._text)


def _repeated_phrase(text: str) -> int | None:
    """Where the second copy starts when the text ends in one phrase repeated MIN_REPEATS times over MIN_SPAN chars."""
    tail = text[-(MAX_PERIOD * MIN_REPEATS * 2) :]
    for period in range(MIN_PERIOD, min(MAX_PERIOD, len(tail)) + 1):  # no shorter tail: "" ends with "" forever
        unit = tail[-period:]
        repeats = 1
        while tail.endswith(unit * (repeats + 1)):
            repeats += 1
        if repeats >= MIN_REPEATS and repeats * period >= MIN_SPAN and len(set(unit)) > 1 and _wordy(unit):
            start = len(text) - repeats * period  # the loop may begin mid-unit: walk back to where it really starts
            while start > 0 and text[start - 1] == text[start - 1 + period]:
                start -= 1
            return start + period
    return None


def _wordy(unit: str) -> bool:
    return any(character.isalnum() for character in unit)


def _repeated_lines(text: str) -> int | None:
    """Where the second copy starts when the last finished lines say the same (numbering aside): SAME_LINES of them,
    or SAME_SHORT_LINES when they are short."""
    lines = text.split("\n")[:-1]  # finished lines only
    for needed, shortest in ((SAME_LINES, SHORT_LINE), (SAME_SHORT_LINES, 1)):
        if len(lines) < needed:
            continue
        last = [_NUMBERING.sub("", line).strip() for line in lines[-needed:]]
        if len(set(last)) == 1 and len(last[0]) >= shortest and _wordy(last[0]):
            return len("\n".join(lines[: len(lines) - needed + 1]))
    return None
