"""The cross-lingual answer development set over gnome-help: questions it answers in nine languages, and some not.

    python -m benchmarks.answer_sets [--help-dir /usr/share/help] [--per-language 40] [--out FILE]

Answerable: per language (en de es fr ja ko pt zh) up to --per-language page titles and descriptions, as
gnome_questions.py asks them (only really translated ones; zh_CN is the bot's zh), the same pages in every
language where the translations allow, spread over the alphabet; guide pages (lists of links) are left out,
their answers are other pages. Arabic, which gnome-help lacks: data/gnome_arabic.jsonl, questions written for
40 English pages. Unanswerable: data/gnome_offtopic.jsonl, 16 a language, about a third of them computer
questions GNOME's help does not cover (Excel, the Windows registry, iCloud…). The gold is the page's file name,
or null. Writes JSONL (question, language, gold) to --out, or to stdout; the counts go to stderr.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from benchmarks.common import DATA
from benchmarks.gnome_questions import MALLARD, translated_questions
from knowledge.loaders import LoadError, load_document

if TYPE_CHECKING:
    from bot.checks.evaluation import AnswerQuestion

ARABIC = DATA / "gnome_arabic.jsonl"
OFFTOPIC = DATA / "gnome_offtopic.jsonl"
LANGUAGES = ("en", "de", "es", "fr", "ja", "ko", "pt", "zh")
BOT_LANGUAGE = {"zh_CN": "zh"}  # gnome-help's folder names where they differ from the bot's language codes
HELP_DIR = Path("/usr/share/help")


def gnome_answer_questions(help_dir: Path, names: list[str], *, per_language: int = 40) -> list[dict]:
    """The set's questions over the pages `names` (English gnome-help file names, as indexed): dicts with
    question, language and gold (the page's file name, None for the unanswerable ones)."""
    topics = [name for name in names if not _is_guide(help_dir / "C" / "gnome-help" / name)]
    asked: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}
    for question in translated_questions(help_dir, topics)[0]:
        asked[BOT_LANGUAGE.get(question.language, question.language)][question.gold] = question.question
    shared = _spread([n for n in topics if all(n in asked[language] for language in LANGUAGES)], per_language)
    rows: list[dict] = []
    for language in LANGUAGES:
        own = [n for n in topics if n in asked[language] and n not in shared]
        chosen = set(shared) | set(_spread(own, per_language - len(shared)))
        rows += [{"question": asked[language][n], "language": language, "gold": n} for n in topics if n in chosen]
    rows += [row for row in _read(ARABIC) if row["gold"] in names]
    return rows + [{**row, "gold": None} for row in _read(OFFTOPIC)]


def indexable_pages(help_dir: Path) -> list[str]:
    """The English pages with text to index (guide pages that are only links have none)."""
    pages = sorted((help_dir / "C" / "gnome-help").glob("*.page"))
    return [page.name for page in pages if _has_text(page)]


def gnome_set(work: Path, help_dir: Path = HELP_DIR, *, per_language: int = 40) -> tuple[Path, list[AnswerQuestion]]:
    """The indexable English pages copied into `work`/gnome-help (the folder to index) and the set's questions."""
    from bot.checks.evaluation import AnswerQuestion

    names = indexable_pages(help_dir)
    if not names:  # else the set is its off-topic questions alone, and every figure of answerable ones is empty
        raise SystemExit(f"no GNOME help pages under {help_dir}/C/gnome-help: apt-get install gnome-user-docs")
    folder = work / "gnome-help"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        source, target = help_dir / "C" / "gnome-help" / name, folder / name
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copy2(source, target)
    rows = gnome_answer_questions(help_dir, names, per_language=per_language)
    return folder, [AnswerQuestion(row["question"], row["language"], row["gold"], ()) for row in rows]


def _spread(items: list[str], count: int) -> list[str]:
    """`count` of `items` spread evenly over them (the names group by topic), or all of them."""
    if count <= 0:
        return []
    if count >= len(items):
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def _is_guide(page: Path) -> bool:
    try:
        root = etree.parse(str(page), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except (OSError, etree.XMLSyntaxError):
        return True
    return root.tag != f"{MALLARD}page" or root.get("type") == "guide"


def _has_text(page: Path) -> bool:
    try:
        return bool(load_document(page.read_bytes(), page).text.strip())
    except (OSError, LoadError):
        return False


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--help-dir", type=Path, default=HELP_DIR, help="the folder holding C/gnome-help")
    parser.add_argument("--per-language", type=int, default=40, help="answerable questions per language")
    parser.add_argument("--out", type=Path, default=None, help="the JSONL file to write (default: stdout)")
    args = parser.parse_args()
    rows = gnome_answer_questions(args.help_dir, indexable_pages(args.help_dir), per_language=args.per_language)
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if args.out is None:
        sys.stdout.write(lines)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(lines, encoding="utf-8")
    answerable = Counter(row["language"] for row in rows if row["gold"] is not None)
    unanswerable = Counter(row["language"] for row in rows if row["gold"] is None)
    for language in sorted(answerable | unanswerable):
        print(f"{language}: {answerable[language]} answerable, {unanswerable[language]} unanswerable", file=sys.stderr)


if __name__ == "__main__":
    main()
