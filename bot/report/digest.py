"""The weekly digest the bot posts in `report.digest_channel`: the week's totals, the self-served rate and the top
gaps (the report's, bot/report/), with a link to the admin page where one is served. Platform-neutral text: `bold`
is the platform's strong marker ("*" or "**")."""

from __future__ import annotations

from datetime import timedelta

from bot.report import Report

TOP_GAPS = 5
WEEK = timedelta(days=7)


def digest_text(report: Report, *, bold: str, admin_url: str | None, top: int = TOP_GAPS) -> str:
    totals = report.totals
    period = f"{report.since:%d %b} – {report.until:%d %b %Y}"
    lines = [f"{bold}What people asked the bot, {period}{bold}"]
    if not totals.questions:
        lines.append("No questions this week.")
    else:
        served = f"{totals.self_served_rate:.0%}" if totals.self_served_rate is not None else "–"
        lines.append(
            f"{totals.questions} questions · {served} self-served · {totals.answered} answered · "
            f"{totals.abstained} not found · {totals.not_helpful} 👎 · {totals.escalated} asked for a person"
        )
    if report.gaps:
        lines += ["", f"{bold}Top gaps{bold} (asked, not answered well):"]
        for number, gap in enumerate(report.gaps[:top], start=1):
            where = f" · closest page: {gap.closest.path}" if gap.closest else ""
            lines.append(f"{number}. “{_short(gap.label)}” — {gap.size} question{'s' * (gap.size != 1)} "
                         f"({', '.join(gap.languages)}){where}")  # fmt: skip
    if admin_url:
        lines += ["", f"The full report: {admin_url}"]
    return "\n".join(lines)


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
