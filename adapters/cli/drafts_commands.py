"""What `supportbot drafts list|approve|reject` print: the answers learned from people, waiting for review."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from bot.config import Settings
from bot.host import Host

out = Console(soft_wrap=True)


def waiting(settings: Settings, *, as_json: bool) -> None:
    drafts = Host.open(settings).drafts.waiting()
    if as_json:
        shown = [{"id": d.id, "question": d.question, "reply": d.reply, "author": d.author,
                  "saved_by": d.marked_by, "thread": d.link, "language": d.language,
                  "created": d.created.isoformat()} for d in drafts]  # fmt: skip
        print(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    if not drafts:
        out.print("No drafts are waiting for review.")
        return
    table = Table(title=f"Drafts waiting for review ({len(drafts)})", title_justify="left")
    for column in ("id", "question", "reply", "by", "saved"):
        table.add_column(column)
    for d in drafts:
        reply = d.reply if len(d.reply) <= 120 else d.reply[:117] + "…"
        table.add_row(d.id, d.question, reply, d.author, f"{d.created:%Y-%m-%d}")
    out.print(table)


def approve(settings: Settings, draft_id: str) -> None:
    where = Host.open(settings).approve(draft_id)
    print(f"Approved: {where}. The next `supportbot sync {settings.learning.collection}` indexes it.")


def reject(settings: Settings, draft_id: str) -> None:
    draft = Host.open(settings).reject(draft_id)
    print(f"Rejected and deleted: {draft.id} ({draft.question}).")
