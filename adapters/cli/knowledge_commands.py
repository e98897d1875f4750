"""What `sync`, `search` and `kb status` print: a progress bar, summaries and tables, or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.config import Settings
from bot.host import Host
from knowledge.sync import SyncReport
from knowledge.sync_lock import SyncAlreadyRunning, process_holder

err = Console(stderr=True)
out = Console(soft_wrap=True)


class UsageError(Exception):
    """A command asked for something the config does not have."""


class BarProgress:
    """Sync progress as a rich bar on stderr (stdout stays clean for --json)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, object] = {}

    def start(self, collection: str, total: int) -> None:
        self._tasks[collection] = self._progress.add_task(collection, total=total, file="")

    def advance(self, collection: str, path: str) -> None:
        self._progress.update(self._tasks[collection], advance=1, file=path)  # type: ignore[arg-type]


def _chosen(settings: Settings, names: list[str]) -> list[str]:
    if not settings.collections:
        raise UsageError("The config lists no collections; add one under `collections:` (see the example config).")
    for name in names:
        if name not in {c.name for c in settings.collections}:
            known = ", ".join(c.name for c in settings.collections)
            raise UsageError(f"There is no collection named {name!r} (known: {known}).")
    return names or [c.name for c in settings.collections]


def sync(settings: Settings, names: list[str], *, dry_run: bool, rebuild: bool, as_json: bool) -> None:
    chosen = _chosen(settings, names)
    host = Host.open(settings, progress=lambda line: err.print(line))
    holder = process_holder("cli")
    reports: list[SyncReport] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[file]}", style="dim"))  # fmt: skip
    busy: list[str] = []
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        for name in chosen:
            try:
                reports.append(host.sync(name, holder=holder, dry_run=dry_run, rebuild=rebuild,
                                         progress=BarProgress(bar)))  # fmt: skip
            except SyncAlreadyRunning as error:  # the other collections still sync
                busy.append(str(error))
    if as_json:
        print(json.dumps([r.as_dict() for r in reports], ensure_ascii=False, indent=2))
    else:
        for report in reports:
            _print_report(report)
    if busy:
        raise UsageError(" ".join(busy))


def _print_report(report: SyncReport) -> None:
    verb = "would be " if report.dry_run else ""
    out.print(
        f"[bold]{report.collection}[/]: {len(report.added)} {verb}added, {len(report.updated)} {verb}updated, "
        f"{len(report.removed)} {verb}removed, {report.unchanged} unchanged, {len(report.failed)} failed",
        highlight=False,
    )
    if report.dry_run:
        for label, paths in (("+", report.added), ("~", report.updated), ("-", report.removed)):
            for path in paths:
                out.print(f"  {label} {path}", highlight=False, markup=False)
    for failure in report.failed:
        out.print(f"  ✘ {failure.path}: {failure.reason}", highlight=False, markup=False)


def search(settings: Settings, text: str, *, collections: list[str], k: int, as_json: bool) -> None:
    chosen = _chosen(settings, collections)
    host = Host.open(settings, progress=lambda line: err.print(line))
    host.require_synced(chosen)
    hits = host.search(text, collections=chosen, k=k)
    if as_json:
        fields = ("score", "collection", "path", "title", "heading", "text", "url", "position")
        print(json.dumps([{f: asdict(h)[f] for f in fields} for h in hits], ensure_ascii=False, indent=2))
        return
    for rank, hit in enumerate(hits, 1):
        where = " > ".join(p for p in (hit.title, hit.heading) if p)
        out.print(f"[bold]{rank}. {hit.score:.3f}[/] {where}", highlight=False)
        out.print(f"   {hit.url or hit.collection + ':' + hit.path}", style="dim", highlight=False, markup=False)
        snippet = " ".join(hit.text.split())
        out.print(f"   {snippet[:300]}{'…' if len(snippet) > 300 else ''}", highlight=False, markup=False)


def status(settings: Settings, *, as_json: bool) -> None:
    host = Host.open(settings)
    rows = {c.name: host.status(c.name) for c in settings.collections}
    if as_json:
        data = {name: {"files": s.files, "chunks": s.chunks,
                       "last_sync": s.last_sync.isoformat() if s.last_sync else None,
                       "failures": [{"path": p, "reason": r} for p, r in s.failures]}
                for name, s in rows.items()}  # fmt: skip
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    table = Table("collection", "visibility", "files", "chunks", "last sync", "failures")
    for collection in settings.collections:
        s = rows[collection.name]
        when = s.last_sync.strftime("%Y-%m-%d %H:%M UTC") if s.last_sync else "never"
        table.add_row(collection.name, collection.visibility, str(s.files), str(s.chunks), when, str(len(s.failures)))
    out.print(table)
    for name, s in rows.items():
        for path, reason in s.failures:
            out.print(f"  ✘ {name}:{path}: {reason}", highlight=False, markup=False)
