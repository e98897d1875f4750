"""What `supportbot report` and `supportbot records purge` print: rich tables, or the report's JSON contract."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from adapters.cli.knowledge_commands import UsageError
from adapters.cli.report_page import CollectionState, page, plotly_js
from bot.config import Settings
from bot.host import Host
from bot.report import Report
from bot.report.figures import Outcomes

out = Console()
if not out.is_terminal:  # piped to a file or a mail: the tables' width, not 80 columns
    out = Console(width=160)
err = Console(stderr=True)
GAPS_SHOWN = 10
PAGES_SHOWN = 10


def since_of(text: str, *, now: datetime) -> datetime:
    """`7d`, `30d`, `12h` back from now, or a date (`2026-11-01`, midnight UTC) or an ISO time."""
    if match := re.fullmatch(r"(\d+)\s*([dhw])", text.strip()):
        unit = {"d": "days", "h": "hours", "w": "weeks"}[match[2]]
        return now - timedelta(**{unit: int(match[1])})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{text!r} is not a period: use 7d, 30d, 12h, 2w or a date like 2026-11-01.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def report(settings: Settings, *, since: str, channel: str | None, as_json: bool, show_users: bool,
           html: Path | None = None) -> None:  # fmt: skip
    now = datetime.now(UTC)
    start = since_of(since, now=now)
    host = Host.open(settings, progress=lambda line: err.print(line))
    made = host.report(since=start, until=now, channel=channel, show_users=show_users)
    if html is not None:
        script = f'<script type="text/javascript">{plotly_js()}</script>'
        html.write_text(page(made, script=script, knowledge=collection_states(host)), encoding="utf-8")
        err.print(f"Wrote {html} ({html.stat().st_size // 1024} KiB, self-contained).")
    if as_json:
        print(json.dumps(made.as_dict(), ensure_ascii=False, indent=2))
        return
    show(made)


def collection_states(host: Host) -> list[CollectionState]:
    states = []
    for collection in host.settings.collections:
        status = host.status(collection.name)
        states.append(CollectionState(collection.name, status.files, status.chunks, status.last_sync,
                                      len(status.failures)))  # fmt: skip
    return states


def purge(settings: Settings, *, before: str | None) -> None:
    now = datetime.now(UTC)
    cutoff = since_of(before, now=now) if before else now - timedelta(days=settings.records.retention_days)
    purged = Host.open(settings).purge_records(cutoff)
    print(f"Deleted {purged.answers} question(s) and answer(s), {purged.feedback} rating(s) and "
          f"{purged.escalations} escalation(s) from before {cutoff:%Y-%m-%d %H:%M} UTC.")  # fmt: skip


def show(made: Report) -> None:
    period = f"{made.since:%Y-%m-%d %H:%M} – {made.until:%Y-%m-%d %H:%M} UTC"
    out.print(f"[bold]supportbot report[/bold] {period}" + (f", channel {made.channel}" if made.channel else ""))
    totals = made.totals
    if not totals.questions:
        out.print("No questions in this period.")
    out.print(_outcomes("Totals", {"all": totals}, "")[0])
    for title, groups, key in (("Per day", made.per_day, "day"), ("Per channel", made.per_channel, "channel"),
                               ("Per language", made.per_language, "language"),
                               ("Per platform", made.per_platform, "platform"),
                               ("Per collection", made.per_collection, "collection")):  # fmt: skip
        if groups:
            out.print(_outcomes(title, groups, key)[0])
    latency = Table(title="Seconds", title_justify="left")
    for column in ("", "p50", "p95"):
        latency.add_column(column, justify="right" if column else "left")
    for name, values in (("to the first words", made.first_words), ("to the full answer", made.full_answer)):
        latency.add_row(name, _seconds(values.p50), _seconds(values.p95))
    out.print(latency)
    _gaps(made)
    _pages(made)


def _outcomes(title: str, groups: dict[str, Outcomes], key: str) -> tuple[Table]:
    table = Table(title=title, title_justify="left")
    if key:
        table.add_column(key)
    for column in ("questions", "answered", "abstained", "failed", "👍", "👎", "escalated", "self-served"):
        table.add_column(column, justify="right")
    for name, o in groups.items():
        rate = "–" if o.self_served_rate is None else f"{o.self_served_rate:.0%}"
        cells = [str(v) for v in (o.questions, o.answered, o.abstained, o.failed, o.helpful, o.not_helpful,
                                  o.escalated)]  # fmt: skip
        table.add_row(*([name] if key else []), *cells, rate)
    return (table,)


def _gaps(made: Report) -> None:
    table = Table(title=f"Knowledge gaps ({len(made.gaps)}; abstained, 👎 or escalated, grouped by meaning)",
                  title_justify="left")  # fmt: skip
    for column in ("#", "size", "gap (its most central question) and other ways it was asked", "languages",
                   "closest page"):  # fmt: skip
        table.add_column(column, justify="right" if column in ("#", "size") else "left")
    for rank, gap in enumerate(made.gaps[:GAPS_SHOWN], 1):
        others = "".join(f"\n  [dim]{e}[/dim]" for e in gap.examples[1:])
        closest = f"{gap.closest.collection}/{gap.closest.path}" if gap.closest else "–"
        table.add_row(str(rank), str(gap.size), f"{gap.label}{others}", " ".join(gap.languages), closest)
    out.print(table)
    if len(made.gaps) > GAPS_SHOWN:
        out.print(f"… and {len(made.gaps) - GAPS_SHOWN} more (--json lists them all).")


def _pages(made: Report) -> None:
    cited = Table(title="Most cited pages", title_justify="left")
    for column in ("page", "answers", "👎"):
        cited.add_column(column, justify="left" if column == "page" else "right")
    for cited_page in made.cited[:PAGES_SHOWN]:
        cited.add_row(f"{cited_page.collection}/{cited_page.path}", str(cited_page.cited), str(cited_page.not_helpful))
    out.print(cited)
    never = [f"{c}/{p}" for c, p in made.never_cited]
    out.print(f"[bold]Never cited[/bold] ({len(never)}): " + (", ".join(never[:30]) or "–")
              + (" …" if len(never) > 30 else ""))  # fmt: skip
    for collection, path, reason in made.failed_files:
        out.print(f"[red]Failed at the last sync[/red]: {collection}/{path}: {reason}")


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"
