"""The hard facts a sentence states, checkable word for word against the passages: numbers, URLs, domains, e-mail
addresses, paths, code and commands, product identifiers; normalised alike on both sides."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from bot.checks.sentences import CODE_SPAN, FENCE, MARKER

_SCHEME = re.compile(r"https?://|www\.")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>`\"'()\[\]]+", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
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
    marker = MARKER.match(text)
    rest = text[marker.end() :] if marker else text
    claims: list[str] = []
    for pattern, group in ((CODE_SPAN, 0), (_COMMAND, 1), (_URL, 0), (EMAIL, 0), (_PATH, 0), (_DOMAIN, 0)):
        claims += [m.group(group).strip("`").rstrip(".,;:!?/") for m in pattern.finditer(rest)]
        rest = pattern.sub(lambda m: " " * len(m.group()), rest)
    rest = _STEP.sub(" ", rest)  # "Step 2" counts the answer's own steps, not the passages'
    claims += _NUMBER.findall(rest)
    claims += [name for word in _WORD.findall(rest) for name in _identifiers(word)]
    normalised = (normal(fact) for fact in claims)
    return frozenset(fact for fact in normalised if fact)


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


def normal(text: str) -> str:
    text = _SCHEME.sub("", text.lower())
    text = _LEADING_ZERO.sub("", _DECIMAL_COMMA.sub(".", _THOUSANDS.sub("", text)))
    return " ".join(text.split())


def missing_facts(sentence: str, sources: Sequence[str]) -> frozenset[str]:
    """The sentence's facts that none of the sources (the passages and the question) contains."""
    return absent(facts(sentence), [normal(source) for source in sources])


def absent(claimed: frozenset[str], normal_sources: Sequence[str]) -> frozenset[str]:
    return frozenset(fact for fact in claimed if not any(found(fact, source) for source in normal_sources))


def found(fact: str, normal_source: str) -> bool:
    """A substring, but a number only as a whole number: 443 is not in 8443, nor 3 in 3.5."""
    before = r"(?<!\d)(?<!\d[.,])" if fact[0].isdigit() else ""
    after = r"(?![.,]?\d)" if fact[-1].isdigit() else ""
    return re.search(before + re.escape(fact) + after, normal_source) is not None


def strong(fact: str) -> bool:
    """A fact specific enough to show a passage backs the sentence on its own: a number, an address, a command;
    not a bare word like "vpn", which half a knowledge base mentions."""
    return re.fullmatch(r"[^\W\d_]+", fact) is None


def unit_facts(text: str, code: bool) -> frozenset[str]:
    """A line of a fenced code block is a command as a whole (a brace or a rule line is none)."""
    if not code:
        return facts(text)
    command = re.sub(r"^[$>][ \t]+", "", text)  # the shell prompt is no part of the command
    return frozenset({normal(command)}) if re.search(r"\w", text) and not FENCE.match(text) else frozenset()
