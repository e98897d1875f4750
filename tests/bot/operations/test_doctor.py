"""`supportbot doctor` on a good config and on each kind of broken one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.engines.choice import stand_in_location
from bot.operations.doctor import Check, run_checks
from bot.wiring import Knowledge


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "vpn.md").write_text("# VPN\n\nThe VPN server is vpn.acme.example on port 1194.\n")
    return folder


def test_a_good_config(make_config, docs: Path, tiny_lfm2: Path) -> None:  # type: ignore[no-untyped-def]
    checks = by_name(run_checks(make_config(docs, generator={"backend": "transformers", "model": str(tiny_lfm2)})))
    assert all(c.status == "ok" for c in checks.values()), checks
    assert "384 dimensions" in checks["embedding"].detail and "found locally" in checks["generator"].detail
    assert checks["language"].status == "ok" and checks["slack"].detail == "not enabled in the config"


def test_a_missing_generator_is_a_warning_with_fallback_and_a_failure_without(make_config, docs: Path) -> None:  # type: ignore[no-untyped-def]
    missing = str(docs / "no-such-model")
    transformers = {"backend": "transformers", "model": missing}
    warned = by_name(run_checks(make_config(docs, generator=transformers)))["generator"]
    assert warned.status == "warn" and "quote the knowledge base" in warned.detail  # the default: extractive
    stand_in = {**transformers, "fallback": "bundled:smollm2-135m-instruct"}
    warned = by_name(run_checks(make_config(docs, generator=stand_in)))["generator"]
    assert warned.status == "warn" and "SmolLM2-135M-Instruct (offline stand-in)" in warned.detail
    chosen = by_name(run_checks(make_config(docs, generator={"backend": "extractive"})))["generator"]
    assert chosen.status == "ok" and "no language model" in chosen.detail
    failed = by_name(run_checks(make_config(docs, generator={**transformers, "fallback": "none"})))["generator"]
    assert failed.status == "fail" and "generator.model" in failed.advice


def test_the_llamacpp_backend_looks_for_its_gguf_file(  # type: ignore[no-untyped-def]
    make_config, docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    folder, gguf_file, _ = stand_in_location("bundled:smollm2-135m-instruct")
    local = {"backend": "llamacpp", "llamacpp": {"file": str(Path(folder) / gguf_file)}}
    found = by_name(run_checks(make_config(docs, generator=local)))["generator"]
    assert found.status == "ok" and "llamacpp" in found.detail and "found locally" in found.detail
    default = by_name(run_checks(make_config(docs, generator={"fallback": "none"})))["generator"]  # backend auto
    assert default.status == "fail" and "LiquidAI/LFM2-1.2B-RAG-GGUF/LFM2-1.2B-RAG-Q4_K_M.gguf" in default.detail
    assert "generator.llamacpp.file" in default.advice


def test_unwritable_data_dir(make_config, docs: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    check = by_name(run_checks(make_config(docs, data_dir=str(blocker / "data"))))["data_dir"]
    assert check.status == "fail" and "not writable" in check.detail


def test_unreachable_chroma_server(make_config, docs: Path) -> None:  # type: ignore[no-untyped-def]
    check = by_name(run_checks(make_config(docs, chroma={"url": "http://127.0.0.1:9"})))["chroma"]
    assert check.status == "fail" and "127.0.0.1:9" in check.detail


def test_store_built_with_another_embedding_model(make_config, docs: Path, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = make_config(docs)
    knowledge = Knowledge(load_settings(config), prebuilt_embedder=embedder)
    knowledge.syncer.sync(knowledge.settings.collection("kb"))
    other = make_config(docs, embedding={"model": "bundled:multilingual-e5-small"})
    check = by_name(run_checks(other))["chroma"]
    assert check.status == "fail" and "sync --rebuild kb" in check.advice


def test_missing_token(make_config, docs: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-secret-value")
    checks = by_name(run_checks(make_config(docs, slack={"mode": "socket"})))
    assert checks["slack"].status == "fail" and checks["slack"].detail == "SLACK_BOT_TOKEN not set"
    assert all("secret-value" not in c.detail for c in checks.values())


def test_a_broken_config_is_one_failing_check(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("embedding: {batch_size: -1}\n")
    (check,) = run_checks(bad)
    assert check.status == "fail" and "embedding.batch_size" in check.detail


def test_online_checks_the_slack_token_against_the_api(
    make_config, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from tests.adapters.slack.fake_slack import FakeSlack

    with FakeSlack() as fake:
        fake.invalid_tokens.add("xoxb-revoked-token")
        config = make_config(docs, slack={"mode": "socket", "api_base_url": fake.url})
        monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-app-token")
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-good-token")
        good = by_name(run_checks(config, online=True))["slack"]
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked-token")
        bad = by_name(run_checks(config, online=True))["slack"]
    assert good.status == "ok" and "valid (supportbot)" in good.detail
    assert bad.status == "fail" and "invalid_auth" in bad.detail and "revoked" not in bad.detail
    assert [c.token for c in fake.calls_to("auth.test")] == ["xoxb-good-token", "xoxb-revoked-token"]


def test_an_internal_collection_open_to_discord_by_default_is_a_warning(make_config, docs: Path) -> None:  # type: ignore[no-untyped-def]
    """Anyone may join a Discord server or DM the bot: unmapped channels and DMs read public collections unless the
    admin opens them, and doctor says so when they are opened."""
    closed = by_name(run_checks(make_config(docs, discord={})))
    assert closed["exposure"].status == "ok" and "public collections only" in closed["exposure"].detail
    opened = by_name(run_checks(make_config(docs, discord={"default_visibility": "internal"})))
    assert opened["exposure"].status == "warn" and "internal collections (kb)" in opened["exposure"].detail
    dm = by_name(run_checks(make_config(docs, discord={}, channels={"dm": {"visibility": "internal"}})))
    assert dm["exposure"].status == "warn" and "DM" in dm["exposure"].detail
    assert "exposure" not in by_name(run_checks(make_config(docs)))  # no Discord: nothing to say
