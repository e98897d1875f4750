"""The report as one HTML page (`supportbot report --html`, and /admin of `supportbot run`): the totals, charts
drawn by Plotly (questions per day stacked by outcome, the self-served rate over time, the gaps as bars), each gap
expanding to the ways it was asked, the pages cited and never cited, and on /admin the knowledge base's state."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from bot.learning import Draft
from bot.report import Report

OUTCOME_COLOURS = {"answered": "#2e7d32", "abstained": "#ef6c00", "failed": "#c62828"}
GAP_BARS = 15
STYLE = """<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1rem 1.5rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: .5rem .9rem; min-width: 7rem; }
.card b { display: block; font-size: 1.4rem; }
table { border-collapse: collapse; margin: .5rem 0; }
td, th { border-bottom: 1px solid #eee; padding: .25rem .6rem; text-align: left; }
td.n, th.n { text-align: right; }
details { border: 1px solid #e3e3e3; border-radius: 6px; margin: .35rem 0; padding: .35rem .7rem; }
summary { cursor: pointer; } .muted { color: #666; } .chart { min-height: 320px; }
</style>"""


@dataclass(frozen=True)
class CollectionState:
    name: str
    files: int
    chunks: int
    last_sync: datetime | None
    failures: int


def plotly_js() -> str:
    """Plotly's own bundle, from the Python package (no network)."""
    return str(get_plotlyjs())


def page(
    report: Report, *, script: str, knowledge: Sequence[CollectionState] = (), title: str = "supportbot report",
    nav: str = "",
) -> str:  # fmt: skip
    """`script`: the <script> that loads Plotly (inline for a file, a URL for /admin); `nav`: links under the title."""
    charts = {"per-day": _per_day(report), "self-served": _self_served(report), "gaps": _gap_bars(report)}
    plots = "\n".join(
        f"Plotly.newPlot({json.dumps(name)}, {figure}.data, {figure}.layout, {{responsive: true, displaylogo: false}});"
        for name, figure in ((n, f.to_json()) for n, f in charts.items())
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><link rel="icon" href="data:,">
{STYLE}
{script}
</head><body>
<h1>{escape(title)}</h1>
{nav}
<p class="muted">{_period(report)}</p>
{_cards(report)}
<h2>Questions per day</h2><div id="per-day" class="chart"></div>
<h2>Self-served rate</h2><div id="self-served" class="chart"></div>
<h2>Knowledge gaps</h2>
<p class="muted">Questions the bot abstained on, rated not helpful or escalated, grouped by meaning; each names
the closest page the knowledge base has: the one to improve.</p>
<div id="gaps" class="chart"></div>
<div id="gap-list">{_gap_list(report)}</div>
{_groups("Per channel", "channel", report.per_channel)}
{_groups("Per language", "language", report.per_language)}
{_pages(report)}
{_knowledge(knowledge)}
<script>{plots}</script>
</body></html>
"""


def _period(report: Report) -> str:
    period = f"{report.since:%Y-%m-%d %H:%M} – {report.until:%Y-%m-%d %H:%M} UTC"
    return escape(period + (f", channel {report.channel}" if report.channel else ""))


def _cards(report: Report) -> str:
    totals = report.totals
    rate = "–" if totals.self_served_rate is None else f"{totals.self_served_rate:.0%}"
    cards = [("questions", totals.questions), ("answered", totals.answered), ("abstained", totals.abstained),
             ("failed", totals.failed), ("helpful", totals.helpful), ("not helpful", totals.not_helpful),
             ("escalated", totals.escalated), ("self-served", rate)]  # fmt: skip
    inner = "".join(f'<div class="card" data-total="{escape(name)}"><b>{escape(str(value))}</b>{escape(name)}</div>'
                    for name, value in cards)  # fmt: skip
    return f'<div class="cards" id="totals">{inner}</div>'


def _layout(**extra: Any) -> dict[str, Any]:
    return {"template": "plotly_white", "margin": {"l": 50, "r": 20, "t": 20, "b": 50}, "height": 320, **extra}


def _per_day(report: Report) -> go.Figure:
    days = list(report.per_day)
    figure = go.Figure(layout=_layout(barmode="stack", legend={"orientation": "h"}))
    for outcome, colour in OUTCOME_COLOURS.items():
        counts = [getattr(report.per_day[day], outcome) for day in days]
        figure.add_trace(go.Bar(name=outcome, x=days, y=counts, marker_color=colour))
    return figure


def _self_served(report: Report) -> go.Figure:
    days = [day for day, o in report.per_day.items() if o.self_served_rate is not None]
    rates = [report.per_day[day].self_served_rate for day in days]
    figure = go.Figure(layout=_layout(yaxis={"tickformat": ".0%", "range": [0, 1]}))
    figure.add_trace(go.Scatter(x=days, y=rates, mode="lines+markers", name="self-served"))
    return figure


def _gap_bars(report: Report) -> go.Figure:
    shown = report.gaps[:GAP_BARS][::-1]  # the largest on top
    labels = [gap.label if len(gap.label) <= 60 else gap.label[:57] + "…" for gap in shown]
    height = max(240, 28 * len(shown) + 60)
    figure = go.Figure(layout=_layout(height=height, margin={"l": 380, "r": 20, "t": 10, "b": 40}))
    figure.add_trace(go.Bar(x=[gap.size for gap in shown], y=labels, orientation="h", marker_color="#ef6c00"))
    return figure


def _gap_list(report: Report) -> str:
    if not report.gaps:
        return '<p class="muted">No gaps in this period.</p>'
    items = []
    for gap in report.gaps:
        asked = "".join(f"<li>{escape(example)}</li>" for example in gap.examples)
        closest = (f"{escape(gap.closest.title)} <span class='muted'>({escape(gap.closest.collection)}/"
                   f"{escape(gap.closest.path)})</span>" if gap.closest else "none")  # fmt: skip
        items.append(
            f'<details class="gap"><summary><b>{escape(gap.label)}</b> <span class="muted">· {gap.size} '
            f"question(s) · {escape(' '.join(gap.languages))}</span></summary>"
            f"<ul>{asked}</ul><p>Channels: {escape(', '.join(gap.channels))}<br>Closest page: {closest}</p></details>"
        )
    return "\n".join(items)


def _groups(title: str, key: str, groups: Any) -> str:
    columns = ("questions", "answered", "abstained", "failed", "helpful", "not_helpful", "escalated")
    head = "".join(f'<th class="n">{c.replace("_", " ")}</th>' for c in columns)
    rows = "".join(
        f"<tr><td>{escape(name)}</td>" + "".join(f'<td class="n">{getattr(o, c)}</td>' for c in columns)
        + f'<td class="n">{"–" if o.self_served_rate is None else f"{o.self_served_rate:.0%}"}</td></tr>'
        for name, o in groups.items()
    )  # fmt: skip
    return f'<h2>{escape(title)}</h2><table><tr><th>{key}</th>{head}<th class="n">self-served</th></tr>{rows}</table>'


def _pages(report: Report) -> str:
    cited = "".join(f'<tr><td>{escape(p.collection)}/{escape(p.path)}</td><td class="n">{p.cited}</td>'
                    f'<td class="n">{p.not_helpful}</td></tr>' for p in report.cited[:20])  # fmt: skip
    never = "".join(f"<li>{escape(c)}/{escape(p)}</li>" for c, p in report.never_cited)
    failed = "".join(f"<li>{escape(c)}/{escape(p)}: {escape(r)}</li>" for c, p, r in report.failed_files)
    head = '<tr><th>page</th><th class="n">answers</th><th class="n">not helpful</th></tr>'
    return (f"<h2>Most cited pages</h2><table>{head}{cited}</table>"
            f"<h2>Never cited in this period ({len(report.never_cited)})</h2><ul>{never}</ul>"
            + (f"<h2>Failed at the last sync</h2><ul>{failed}</ul>" if failed else ""))  # fmt: skip


def _knowledge(collections: Sequence[CollectionState]) -> str:
    if not collections:
        return ""
    rows = []
    for c in collections:
        synced = f"{c.last_sync:%Y-%m-%d %H:%M} UTC" if c.last_sync else "never"
        rows.append(f"<tr><td>{escape(c.name)}</td><td class='n'>{c.files}</td><td class='n'>{c.chunks}</td>"
                    f"<td>{synced}</td><td class='n'>{c.failures}</td></tr>")  # fmt: skip
    head = ("<tr><th>collection</th><th class='n'>files</th><th class='n'>chunks</th><th>last sync</th>"
            "<th class='n'>failed files</th></tr>")  # fmt: skip
    return f"<h2>Knowledge base</h2><table id='knowledge'>{head}{''.join(rows)}</table>"


def review_page(drafts: Sequence[Draft], *, form: str, done: str = "") -> str:
    """/admin/drafts: the answers people gave where the bot could not, waiting for an admin's approval."""
    items = []
    for draft in drafts:
        thread = f' · <a href="{escape(draft.link)}">the thread</a>' if draft.link else ""
        buttons = "".join(
            f'<form method="post" action="/admin/drafts/{escape(draft.id)}/{verdict}">'
            f'<input type="hidden" name="form" value="{escape(form)}"><button>{label}</button></form>'
            for verdict, label in (("approve", "Approve"), ("reject", "Reject"))
        )
        items.append(
            f'<div class="draft" data-draft="{escape(draft.id)}"><h2>{escape(draft.question)}</h2>'
            f"<pre>{escape(draft.reply)}</pre><p class='muted'>Answered by {escape(draft.author)}, saved by "
            f"{escape(draft.marked_by)} on {draft.created:%Y-%m-%d %H:%M} UTC ({escape(draft.language)}){thread}</p>"
            f'<div class="verdict">{buttons}</div></div>'
        )
    listed = "".join(items) or "<p>No answers are waiting for review.</p>"
    notice = f'<p class="done" role="status">{escape(done)}</p>' if done else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Answers waiting for review</title><link rel="icon" href="data:,">
{STYLE}<style>.draft {{ border: 1px solid #ddd; border-radius: 8px; padding: .2rem 1rem .8rem; margin: 1rem 0; }}
pre {{ white-space: pre-wrap; font: inherit; }} .verdict form {{ display: inline; margin-right: .5rem; }}
.done {{ background: #eef7ee; padding: .5rem .8rem; border-radius: 6px; }}</style>
</head><body>
<h1>Answers waiting for review</h1>
<p><a href="/admin">← the report</a></p>
<p class="muted">Replies admins or helpers marked ✅ in threads the bot could not answer. An approved one becomes a
page of the learned collection and is indexed at once; a rejected one is deleted.</p>
{notice}
{listed}
</body></html>
"""
