"""What `/kb status` and `/kb sync` say, in every chat: one line a collection, failures listed under it."""

from __future__ import annotations

from bot.wiring import Knowledge
from knowledge.sync_lock import SyncAlreadyRunning


def status_lines(knowledge: Knowledge, *, bold: str) -> list[str]:
    """`bold` is the platform's strong marker: "*" in Slack's mrkdwn, "**" in Discord's Markdown."""
    lines = []
    for collection in knowledge.settings.collections:
        status = knowledge.manifest.status(collection.name)
        when = status.last_sync.strftime("%Y-%m-%d %H:%M UTC") if status.last_sync else "never"
        lines.append(
            f"{bold}{collection.name}{bold} ({collection.visibility}): {status.files} files, {status.chunks} chunks, "
            f"last sync {when}, {len(status.failures)} failures"
        )
    return lines or ["No collections are configured."]


def sync_lines(
    knowledge: Knowledge, names: list[str], *, bold: str, holder: str, failures_shown: int = 10
) -> list[str]:
    """Syncs the collections (this takes a while: run it off the event loop) and summarises each.
    `holder` ("slack:U123") is who anyone else trying to sync the same collection meanwhile is told about."""
    lines = []
    for name in names:
        try:
            report = knowledge.syncer.sync(knowledge.settings.collection(name), holder=holder)
        except SyncAlreadyRunning as error:
            lines.append(str(error))
            continue
        except Exception:
            knowledge.observer.synced(name, ok=False)
            raise
        knowledge.observer.synced(name, ok=True, failed_files=len(report.failed))
        lines.append(
            f"{bold}{name}{bold}: {len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.removed)} removed, {report.unchanged} unchanged, {len(report.failed)} failed"
        )
        lines += [f"• `{f.path}`: {f.reason}" for f in report.failed[:failures_shown]]
    knowledge.retriever.warm()  # answered once the new passages can be found by their words too
    return lines
