"""Sync: incremental by content hash, atomic per file, and bad input reported and skipped."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.wiring import Knowledge
from knowledge.sync import SyncReport
from tests.conftest import EXAMPLES


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    (root / "it").mkdir(parents=True)
    (root / "it/vpn.md").write_text("# VPN\n\n## Server\n\nThe VPN server is vpn.acme.example on port 1194.\n")
    (root / "it/wifi.md").write_text("# Wi-Fi\n\nGuests use Acme-Guest with a daily code from reception.\n")
    (root / "leave.txt").write_text("Holidays\n\nEvery employee has 25 days of paid leave a year.\n")
    return root


@pytest.fixture
def open_kb(make_config, embedder):  # type: ignore[no-untyped-def]
    def open_(*folders: Path, **overrides: object) -> Knowledge:
        settings = load_settings(make_config(*folders, **overrides))
        return Knowledge(settings, prebuilt_embedder=embedder)

    return open_


def run(kb: Knowledge, **options: object) -> SyncReport:
    return kb.syncer.sync(kb.settings.collection("kb"), **options)  # type: ignore[arg-type]


def paths(kb: Knowledge, query: str, k: int = 10) -> list[str]:
    return [h.path for h in kb.retriever.search(query, collections=["kb"], k=k)]


def test_first_sync_adds_everything_and_search_finds_it(open_kb, folder: Path) -> None:  # type: ignore[no-untyped-def]
    kb = open_kb(folder)
    report = run(kb)
    assert sorted(report.added) == ["it/vpn.md", "it/wifi.md", "leave.txt"]
    assert report.failed == [] and report.unchanged == 0
    hit = kb.retriever.search("Which port does the VPN use?", collections=["kb"], k=1)[0]
    assert (hit.path, hit.title, hit.heading) == ("it/vpn.md", "VPN", "Server")
    assert "1194" in hit.text


def test_unchanged_folder_writes_nothing(open_kb, folder: Path) -> None:  # type: ignore[no-untyped-def]
    kb = open_kb(folder)
    run(kb)
    before = (kb.manifest.files("kb"), kb.store.count("kb"))
    report = run(kb)
    assert report.unchanged == 3 and not (report.added or report.updated or report.removed)
    assert report.chunks_embedded == 0
    assert (kb.manifest.files("kb"), kb.store.count("kb")) == before


def test_changed_and_removed_files(open_kb, folder: Path) -> None:  # type: ignore[no-untyped-def]
    kb = open_kb(folder)
    run(kb)
    (folder / "it/vpn.md").write_text("# VPN\n\n## Server\n\nThe VPN now runs on port 443 at vpn2.acme.example.\n")
    (folder / "it/wifi.md").unlink()
    (folder / "new.md").write_text("# Printers\n\nPrint with your badge at any Acme printer.\n")
    report = run(kb)
    assert (report.added, report.updated, report.removed, report.unchanged) == (
        ["new.md"], ["it/vpn.md"], ["it/wifi.md"], 1)  # fmt: skip
    texts = " ".join(h.text for h in kb.retriever.search("VPN port", collections=["kb"], k=10))
    assert "443" in texts and "1194" not in texts  # the old version is gone, not merely outranked
    assert "it/wifi.md" not in paths(kb, "guest Wi-Fi daily code")
    assert kb.store.count("kb") == sum(len(r.chunk_ids) for r in kb.manifest.files("kb").values())


def test_dry_run_changes_nothing(open_kb, folder: Path) -> None:  # type: ignore[no-untyped-def]
    kb = open_kb(folder)
    report = run(kb, dry_run=True)
    assert sorted(report.added) == ["it/vpn.md", "it/wifi.md", "leave.txt"]
    assert kb.store.count("kb") == 0 and kb.manifest.files("kb") == {}


def test_include_and_exclude_globs(open_kb, folder: Path) -> None:  # type: ignore[no-untyped-def]
    kb = open_kb(folder, collections=[{"name": "kb", "paths": [str(folder)], "include": ["it/**"],
                                       "exclude": ["**/wifi.md"]}])  # fmt: skip
    assert run(kb).added == ["it/vpn.md"]


def test_a_missing_folder_never_wipes_the_index(open_kb, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kb = open_kb(folder)
    run(kb)
    moved = tmp_path / "elsewhere"
    folder.rename(moved)  # e.g. a network share that is not mounted right now
    report = run(kb)
    assert report.removed == [] and [f.reason for f in report.failed] == ["folder not found"]
    assert "it/vpn.md" in paths(kb, "VPN port")


BAD_FILES = {
    "binary.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
    "latin1.txt": "Prime de fin d'année : voir la paie de décembre".encode("latin-1"),
    "empty.md": b"",
    "corrupt.pdf": b"%PDF-1.4\nthis is not a PDF body at all\n%%EOF",
    "huge.txt": b"word " * 300_000,  # 1.5 MB, over the 1 MB cap set below
}


def test_bad_files_are_reported_and_skipped(open_kb, folder: Path) -> None:  # type: ignore[no-untyped-def]
    for name, data in BAD_FILES.items():
        (folder / name).write_bytes(data)
    (folder / "loop").symlink_to(folder, target_is_directory=True)  # a folder containing itself
    (folder / "self.md").symlink_to(folder / "self.md")  # a file link pointing at itself
    (folder / "fifo.md").unlink(missing_ok=True)
    os.mkfifo(folder / "fifo.md")  # reading it would block the sync forever
    kb = open_kb(folder, sync={"max_file_mb": 1})
    report = run(kb)
    reasons = {f.path: f.reason for f in report.failed}
    assert "binary" in reasons["binary.md"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "empty" in reasons["empty.md"]
    assert "PDF" in reasons["corrupt.pdf"]
    assert "limit" in reasons["huge.txt"]
    assert "loop" in reasons["loop"] and "loop" in reasons["self.md"]
    assert "regular file" in reasons["fifo.md"]
    assert sorted(report.added) == ["it/vpn.md", "it/wifi.md", "leave.txt"]
    status = kb.manifest.status("kb")
    assert {p for p, _ in status.failures} == set(reasons)  # `kb status` lists every failure


def test_a_broken_version_keeps_the_good_one(open_kb, folder: Path) -> None:  # type: ignore[no-untyped-def]
    kb = open_kb(folder)
    run(kb)
    (folder / "it/vpn.md").write_bytes(b"\xff\xfe\x00garbage")
    report = run(kb)
    assert [f.path for f in report.failed] == ["it/vpn.md"]
    assert "it/vpn.md" in paths(kb, "VPN port 1194")  # bad input loses nothing
    assert kb.manifest.status("kb").failures[0][0] == "it/vpn.md"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file: permissions cannot make one unreadable")
def test_unreadable_file_is_reported(open_kb, folder: Path) -> None:  # type: ignore[no-untyped-def]
    (folder / "secret.md").write_text("# Secret\n\nNot for you.\n")
    (folder / "secret.md").chmod(0)
    report = run(open_kb(folder))
    assert "cannot be read" in {f.path: f.reason for f in report.failed}["secret.md"]


def test_unreadable_file_is_reported_even_as_root(open_kb, folder: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """As root no permission bit stops a read, so the OS error is injected at the one read of the file."""
    secret = folder / "secret.md"
    secret.write_text("# Secret\n\nNot for you.\n")
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == secret:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    report = run(open_kb(folder))
    assert {f.path: f.reason for f in report.failed} == {"secret.md": "cannot be read (Permission denied)"}


class DeleteDuringSync:
    """A progress listener that deletes a file just before the sync reaches it."""

    def __init__(self, victim: Path) -> None:
        self.victim = victim

    def start(self, collection: str, total: int) -> None:
        pass

    def advance(self, collection: str, path: str) -> None:
        if path == "it/vpn.md":
            self.victim.unlink()


def test_file_deleted_while_sync_runs(open_kb, folder: Path) -> None:  # type: ignore[no-untyped-def]
    kb = open_kb(folder)
    run(kb)
    (folder / "it/wifi.md").write_text("# Wi-Fi\n\nChanged, then deleted mid-sync.\n")
    report = run(kb, progress=DeleteDuringSync(folder / "it/wifi.md"))
    assert report.removed == ["it/wifi.md"] and report.failed == []
    assert "it/wifi.md" not in paths(kb, "guest Wi-Fi")
    assert run(kb).unchanged == 2


class CrashingStore:
    """The real store, but the process 'dies' (KeyboardInterrupt) while writing one file's chunks."""

    def __init__(self, store, crash_on: str) -> None:  # type: ignore[no-untyped-def]
        self._store, self._crash_on = store, crash_on

    def upsert(self, collection, chunks, embeddings) -> None:  # type: ignore[no-untyped-def]
        self._store.upsert(collection, chunks, embeddings)  # written to Chroma …
        if chunks and chunks[0].path == self._crash_on:
            raise KeyboardInterrupt  # … but the manifest never hears of it

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._store, name)


def test_interrupted_sync_never_half_indexes_and_is_repaired(open_kb, folder: Path) -> None:  # type: ignore[no-untyped-def]
    kb = open_kb(folder)
    run(kb)
    (folder / "it/vpn.md").write_text("# VPN\n\n## Server\n\nMoved: the VPN server is now on port 8443.\n")
    real_store = kb.store
    kb.__dict__["store"] = CrashingStore(real_store, "it/vpn.md")
    kb.__dict__.pop("syncer", None)
    with pytest.raises(KeyboardInterrupt):
        run(kb)
    texts = [h.text for h in kb.retriever.search("VPN server port", collections=["kb"], k=10)]
    assert any("1194" in t for t in texts) and not any("8443" in t for t in texts)  # old version, whole
    kb.__dict__["store"] = real_store
    kb.__dict__.pop("syncer", None)
    assert run(kb).updated == ["it/vpn.md"]
    texts = [h.text for h in kb.retriever.search("VPN server port", collections=["kb"], k=10)]
    assert any("8443" in t for t in texts) and not any("1194" in t for t in texts)
    assert kb.store.count("kb") == sum(len(r.chunk_ids) for r in kb.manifest.files("kb").values())


def test_example_knowledge_base_syncs_cleanly(open_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLES, copy)
    kb = open_kb(copy)
    report = run(kb)
    assert report.failed == []
    assert {"hr/expense-policy.pdf", "it/printers.html", "hr/parental-leave.docx", "it/software-requests.rst",
            "facilities/parking.txt", "ja/vpn.md"} <= set(report.added)  # fmt: skip
    assert paths(kb, "deadline for submitting expense claims", k=3)[0] == "hr/expense-policy.pdf"


def test_a_format_read_anew_is_read_again_at_the_next_sync(open_kb, folder: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A PDF indexed before its numbered section headings were read keeps page-sized passages until it is read
    again: a change in how a format is read re-reads its files, and only those."""
    import knowledge.sync

    kb = open_kb(folder)
    run(kb)
    monkeypatch.setitem(knowledge.sync.READ_AS, ".txt", b"text: read another way\n")
    report = run(kb)
    assert report.updated == ["leave.txt"] and report.unchanged == 2
    assert run(kb).unchanged == 3


def mallard(page_id: str, title: str, body: str) -> str:
    info = '<info><link type="guide" xref="index"/></info>'
    return f'<page xmlns="http://projectmallard.org/1.0/" id="{page_id}">{info}<title>{title}</title>{body}</page>\n'


def test_a_page_showing_another_pages_title_is_read_again_when_it_changes(open_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A Mallard link with no words shows its target's title ("See <link xref="printing-setup"/>" reads "See Set up
    a printer"): retitling the target changes the linking page's text though not its file. Its passages must follow
    at the next sync, not wait for a rebuild; a page it links to only in <info> (never shown) re-reads nothing."""
    root = tmp_path / "help"
    root.mkdir()
    (root / "index.page").write_text(mallard("index", "Desktop help", "<p>Start here for printing.</p>"))
    (root / "printing-setup.page").write_text(mallard("printing-setup", "Set up a printer", "<p>Plug it in.</p>"))
    (root / "printing.page").write_text(
        mallard("printing", "Print a page", '<p>See <link xref="printing-setup"/> before printing.</p>'))  # fmt: skip
    kb = open_kb(root)
    run(kb)

    def printing_text() -> str:
        found = kb.retriever.search("print a page", collections=["kb"], k=3)
        return next(hit.text for hit in found if hit.path == "printing.page")

    assert "See Set up a printer before printing." in printing_text()
    (root / "printing-setup.page").write_text(
        mallard("printing-setup", "Add a network printer", "<p>Plug it in.</p>"))  # fmt: skip
    report = run(kb)
    assert sorted(report.updated) == ["printing-setup.page", "printing.page"] and report.unchanged == 1
    assert "See Add a network printer before printing." in printing_text()
    (root / "index.page").write_text(mallard("index", "All help topics", "<p>Start here for printing.</p>"))
    assert run(kb).updated == ["index.page"]  # linked from every page's <info>, shown by none
    assert run(kb).unchanged == 3
