"""What `supportbot doctor` prints: one line a check, ✔ / ! / ✘, and what to do; or one JSON object."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from adapters import platforms
from bot.operations.doctor import run_checks

_MARKS = {"ok": "[green]✔[/]", "warn": "[yellow]![/]", "fail": "[red]✘[/]"}


def doctor(config_path: Path, *, online: bool, as_json: bool) -> bool:
    """Print the checks; True when nothing the config enables is broken."""
    checks = run_checks(config_path, online=online, platforms=platforms())
    healthy = all(check.status != "fail" for check in checks)
    if as_json:
        print(json.dumps({"ok": healthy, "checks": [asdict(c) for c in checks]}, ensure_ascii=False, indent=2))
        return healthy
    out = Console(soft_wrap=True)
    for check in checks:
        advice = f" [dim]→ {check.advice}[/]" if check.advice and check.status != "ok" else ""
        out.print(f"{_MARKS[check.status]} {check.name}: {check.detail}{advice}", highlight=False)
    return healthy
