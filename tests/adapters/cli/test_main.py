"""The `supportbot` command as an admin types it: sync, search --json, kb status, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.fixtures.cli import installed_command, supportbot

__all__ = ["supportbot"]


@pytest.fixture
def config(make_config, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    return make_config(
        EXAMPLES,
        collections=[
            {"name": "handbook", "paths": [str(EXAMPLES)], "url_template": "https://wiki.acme.example/{path}"}
        ],
        bot={"relevance_threshold": 0.4},  # all-MiniLM-L6-v2 scores lower than the default model
    )


def test_sync_search_and_status(config: Path) -> None:
    never = installed_command("search", "--config", str(config), "VPN")  # the console script itself
    assert never.returncode == 1 and "run `supportbot sync` first" in never.stderr

    first = supportbot("sync", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "handbook:" in first.stdout and "0 failed" in first.stdout

    found = supportbot("search", "--config", str(config), "How do I connect to the VPN?", "--json", "-k", "3")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert len(hits) == 3
    assert {"score", "path", "title", "heading", "text", "collection", "url"} <= set(hits[0])
    assert hits[0]["path"].endswith("vpn.md") and hits[0]["collection"] == "handbook"
    assert hits[0]["url"] == "https://wiki.acme.example/" + hits[0]["path"]
    # Ranked by passage and title together (retrieval.title_weight); the score shown is the passage's own cosine.
    assert len({hit["path"] for hit in hits}) == 3  # one passage a document (retrieval.per_source)

    status = json.loads(supportbot("kb", "status", "--config", str(config), "--json").stdout)
    assert status["handbook"]["files"] == len([p for p in EXAMPLES.rglob("*") if p.is_file()])
    assert status["handbook"]["chunks"] > status["handbook"]["files"] and status["handbook"]["last_sync"]

    again = json.loads(supportbot("sync", "--config", str(config), "--json").stdout)
    assert again[0]["unchanged"] == status["handbook"]["files"] and again[0]["added"] == []


def test_dry_run_lists_what_would_change(config: Path) -> None:
    result = supportbot("sync", "--config", str(config), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would be added" in result.stdout and "+ it/vpn.md" in result.stdout
    assert json.loads(supportbot("kb", "status", "--config", str(config), "--json").stdout)["handbook"]["files"] == 0


def test_a_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("collections: [{name: kb, paths: [x], visibility: everyone}]\n")
    result = supportbot("sync", "--config", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"{bad}: collections.0.visibility" in result.stderr and "Traceback" not in result.stderr


def test_unknown_collection_is_a_clear_error(config: Path) -> None:
    result = supportbot("sync", "--config", str(config), "wiki")
    assert result.returncode == 1 and "no collection named 'wiki' (known: handbook)" in result.stderr


@pytest.mark.slow
def test_ask_json_names_the_model_that_answered(config: Path, tmp_path: Path) -> None:
    never = supportbot("ask", "--config", str(config), "How do I connect to the VPN?")
    assert never.returncode == 1 and "run `supportbot sync` first" in never.stderr
    assert supportbot("sync", "--config", str(config)).returncode == 0
    result = supportbot("ask", "--config", str(config), "--json", "What port does the VPN server use?")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert {"answer", "language", "status", "sources", "timings", "model"} <= set(answer)
    assert answer["status"] == "answered" and answer["language"] == "en"
    assert answer["model"] == "extractive (no language model)"  # HF_HUB_OFFLINE: LFM2 is out of reach
    assert "LiquidAI/LFM2-1.2B-RAG-GGUF/LFM2-1.2B-RAG-Q4_K_M.gguf is not available" in result.stderr  # said aloud
    assert "Retrying" not in result.stderr and result.stderr.count("is not available") == 1  # once, one line
    assert "1194" in answer["answer"] and answer["supported"] == 1.0  # the page's own words: all of them backed
    assert [source["path"] for source in answer["sources"]] == ["it/vpn.md"]  # not its German translation too
    assert {"title", "path", "url", "collection"} <= set(answer["sources"][0])
    assert set(answer["timings"]) == {"retrieval", "first_token", "generation"}
    shown = supportbot("ask", "--config", str(config), "How do I connect to the VPN?")
    assert "Here is what the knowledge base says:" in shown.stdout and "Acme Connect" in shown.stdout
    assert "Answered by extractive (no language model)." in shown.stdout


def test_doctor_exit_status_and_json(make_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = make_config(EXAMPLES, chroma={"url": "http://127.0.0.1:9"}, generator={"fallback": "none"})
    result = supportbot("doctor", "--config", str(broken), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert report["ok"] is False and statuses["chroma"] == "fail" and statuses["embedding"] == "ok"
    text = supportbot("doctor", "--config", str(broken))
    assert "✘ chroma" in text.stdout and "✔ embedding" in text.stdout


def test_models_install_builds_the_bundled_embedder_once(make_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = make_config(EXAMPLES)
    first = supportbot("models", "install", "multilingual-e5-small", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "Building multilingual-e5-small" in first.stdout and "is ready at" in first.stdout
    again = supportbot("models", "install", "multilingual-e5-small", "--config", str(config))
    assert "Building" not in again.stdout and "is ready at" in again.stdout
    unknown = supportbot("models", "install", "gpt-9", "--config", str(config))
    assert unknown.returncode == 1 and "bundled:multilingual-e5-small" in unknown.stderr


def test_chat_is_a_multi_turn_conversation(config: Path, tiny_lfm2: Path, tmp_path: Path) -> None:
    """Two questions in one `chat` session share a thread: the second is answered with the first in view."""
    import yaml

    values = yaml.safe_load(config.read_text())
    values["generator"] = {"model": str(tiny_lfm2), "max_new_tokens": 5}
    config.write_text(yaml.safe_dump(values))
    assert supportbot("sync", "--config", str(config)).returncode == 0
    result = supportbot("chat", "--config", str(config), stdin="How do I connect to the VPN?\nand on Mac?\n\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Sources:") == 2 and "Ask a question" in result.stderr
    from knowledge.database import open_database, sqlite_url

    engine = open_database(sqlite_url(Path(values["data_dir"])))
    with engine.connect() as db:
        threads = {row[0] for row in db.exec_driver_sql("SELECT thread FROM thread_turns WHERE platform = 'cli'")}
    assert len(threads) == 1  # both questions in one conversation
