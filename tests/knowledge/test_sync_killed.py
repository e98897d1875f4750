"""A sync killed with SIGKILL at any point, in a real child process, then run again: it is not blocked, it finishes,
and the store answers exactly like a clean sync of the same folder, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.wiring import Knowledge
from knowledge.titles import titles_collection
from tests.conftest import write_config
from tests.fixtures.cli import python_script

REPO = Path(__file__).resolve().parents[2]

# The child: sync the folder, apply the edits, and sync again, dying (SIGKILL: nothing cleaned up, no lock
# released) on the second call of that step.
CHILD = """
import json, os, signal, sys
from pathlib import Path
from bot.config import load_settings
from bot.wiring import Knowledge
import knowledge.sync as sync_module
from knowledge.manifest import Manifest

config, point, edits = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
kb = Knowledge(load_settings(Path(config)))
collection = kb.settings.collection("kb")
if point != "none":
    kb.syncer.sync(collection)  # the folder as it was, fully synced
    for path, text in edits.items():
        target = Path(path)
        target.unlink() if text is None else target.write_text(text)
    calls = []

    def dying(real):
        def wrapper(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)
        return wrapper

    if point == "loading":
        sync_module.load_document = dying(sync_module.load_document)
    elif point == "embedding":
        type(kb.embedder).embed_passages = dying(type(kb.embedder).embed_passages)
    elif point == "store write":
        type(kb.store).upsert = dying(type(kb.store).upsert)
    elif point == "manifest commit":
        Manifest.commit_file = dying(Manifest.commit_file)
    elif point == "the end":
        calls.append(1)  # the one call there is, after every file
        Manifest.mark_synced = dying(Manifest.mark_synced)
kb.syncer.sync(collection)
print("synced", flush=True)
"""

FILES = {
    "it/vpn.md": "# VPN\n\n## Server\n\nThe VPN server is vpn.acme.example on port 1194.\n",
    "it/wifi.md": "# Wi-Fi\n\nGuests use Acme-Guest with a daily code from reception.\n",
    "it/printers.md": "# Printers\n\nPrint from any floor printer with your badge; colour costs extra.\n",
    "hr/leave.md": "# Leave\n\nEvery employee has 25 days of paid leave a year.\n",
    "hr/payroll.md": "# Payroll\n\nSalaries are paid on the 25th of each month.\n",
}
EDITS = {  # then: one page changed, one deleted, two added
    "it/vpn.md": "# VPN\n\n## Server\n\nMoved: the VPN server is now vpn2.acme.example on port 8443.\n",
    "it/printers.md": None,
    "it/laptops.md": "# Laptops\n\nA broken laptop is swapped at the IT desk on the second floor within a day.\n",
    "hr/expenses.md": "# Expenses\n\nSubmit expense receipts within 30 days through the finance portal.\n",
}
QUERIES = ["VPN server port", "printer badge colour", "laptop broken", "expense receipts", "paid leave days"]


def write_folder(root: Path, files: dict[str, str | None]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            (root / path).unlink()
        else:
            (root / path).write_text(text)


def child(config: Path, point: str, edits: dict[str, str | None]) -> subprocess.CompletedProcess[str]:
    """The child, a process of its own forked from one that has imported torch and the rest already (a fresh
    interpreter spent about 5 s of each case importing)."""
    script = config.parent / "child.py"
    script.write_text(CHILD)
    return python_script(script, str(config), point, json.dumps(edits), cwd=REPO)


def sync_here(config: Path, embedder: object) -> None:
    """A sync in this process (the killed child is gone): what `supportbot sync` does."""
    kb = Knowledge(load_settings(config), prebuilt_embedder=embedder)  # type: ignore[arg-type]
    kb.syncer.sync(kb.settings.collection("kb"))


def answers(config: Path, embedder: object) -> tuple[int, list[list[tuple[str, str]]], list[tuple[str, str]]]:
    kb = Knowledge(load_settings(config), prebuilt_embedder=embedder)  # type: ignore[arg-type]
    files = kb.manifest.files("kb")
    assert kb.store.count("kb") == sum(len(r.chunk_ids) for r in files.values())  # no chunk twice, none orphaned
    hits = [[(h.path, h.text) for h in kb.retriever.search(q, collections=["kb"], k=5)] for q in QUERIES]
    assert kb.manifest.status("kb").last_sync is not None
    titles = kb.store.query([titles_collection("kb")], kb.embedder.embed_query("page"), k=50)
    return kb.store.count("kb"), hits, sorted((t.path, t.title) for t in titles)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, minilm_path: Path, embedder: object) -> tuple[int, list, list]:  # type: ignore[type-arg]
    """What a clean sync of the edited folder answers."""
    root = tmp_path_factory.mktemp("clean")
    write_folder(root / "kb", FILES)
    write_folder(root / "kb", {path: text for path, text in EDITS.items()})
    config = write_config(root / "supportbot.yaml", data_dir=str(root / "data"),
                          embedding={"model": str(minilm_path)},
                          collections=[{"name": "kb", "paths": [str(root / "kb")]}])  # fmt: skip
    sync_here(config, embedder)
    return answers(config, embedder)


@pytest.mark.parametrize("point", ["loading", "embedding", "store write", "manifest commit", "the end"])
def test_a_sync_killed_at_any_point_then_run_again_answers_like_a_clean_sync(  # type: ignore[no-untyped-def]
    point: str, database_url: str, tmp_path: Path, minilm_path: Path, embedder, clean
) -> None:
    folder = tmp_path / "kb"
    write_folder(folder, FILES)
    config = write_config(tmp_path / "supportbot.yaml", data_dir=str(tmp_path / "data"),
                          database={"url": database_url}, embedding={"model": str(minilm_path)},
                          collections=[{"name": "kb", "paths": [str(folder)]}])  # fmt: skip
    edits = {str(folder / path): text for path, text in EDITS.items()}
    killed = child(config, point, edits)  # a first full sync, then the edits, then a sync that dies
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    sync_here(config, embedder)  # at once, in this process: no lock left behind to wait out
    count, hits, titles = answers(config, embedder)
    assert count == clean[0]
    assert titles == clean[2]  # every page's title, as a clean sync keeps it (retrieval ranks by them)
    for query, got, wanted in zip(QUERIES, hits, clean[1], strict=True):  # the same best hit, the same five (the
        assert got[0] == wanted[0] and set(got) == set(wanted), f"{query}: {got} != {wanted}"  # order of ties aside)
    assert not any(path == "it/printers.md" for found in hits for path, _ in found)  # deleted: never returned
    assert not any("1194" in text for found in hits for _, text in found)  # the old version: gone
