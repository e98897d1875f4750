"""The config file: where it is found, what a bad value says, and that the example documents every key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from bot.config import ConfigError, find_config, load_settings, settings_type
from knowledge.config import RetrievalConfig
from tests.conftest import REPO

EXAMPLE = REPO / "config" / "supportbot.example.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bot.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_found_at_flag_then_env_then_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SUPPORTBOT_CONFIG", raising=False)
    assert find_config(None) == Path("config/supportbot.yaml")
    monkeypatch.setenv("SUPPORTBOT_CONFIG", str(tmp_path / "env.yaml"))
    assert find_config(None) == tmp_path / "env.yaml"
    assert find_config(tmp_path / "flag.yaml") == tmp_path / "flag.yaml"


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "collections: [{name: kb, paths: [docs]}]\n"))
    assert settings.data_dir == Path("data")
    assert settings.embedding.model == "bundled:multilingual-e5-small"
    assert settings.chroma.url is None
    kb = settings.collections[0]
    assert (kb.include, kb.exclude, kb.visibility, kb.url_template) == (["**/*"], [], "internal", None)
    # Measured on real questions (README, retrieval quality): a quarter of the title's cosine, not all of it.
    retrieval = settings.retrieval
    assert (retrieval.title_weight, retrieval.sentence_weight, retrieval.hub_weight) == (0.25, 1.0, 1.0)


def test_the_example_config_shows_the_retrieval_defaults() -> None:
    """What the example config says retrieval does is what it does when the key is left out."""
    example = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["retrieval"]
    defaults = RetrievalConfig()
    assert {key: getattr(defaults, key) for key in example} == example


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("collections: [{name: kb, paths: [d], visibility: secret}]",
         "collections.0.visibility: Input should be 'internal' or 'public' (got 'secret')"),
        ("embedding: {batch_size: 0}", "embedding.batch_size: Input should be greater than or equal to 1 (got 0)"),
        ("chroma: {url: localhost:8000}", "chroma.url: must be an http:// or https:// URL"),
        ("colections: []", "colections: unknown key; see config/supportbot.example.yaml"),
        ("collections: [{name: kb, paths: [d], url_template: 'https://wiki/'}]", "must contain {path}"),
        ("collections: [{name: kb, paths: [a]}, {name: kb, paths: [b]}]", "repeated: kb"),
        ("collections: [{name: Bad Name!, paths: [a]}]", "collections.0.name: String should match pattern"),
        ("data_dir: [", "is not valid YAML at line 1"),
        ("- just\n- a list", "the top level must be a mapping"),
        ("bot: {history_tokens: 9000}", "generator.llamacpp.context_tokens (8192) is smaller than"),
    ],
)  # fmt: skip
def test_a_bad_value_is_one_line_naming_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert expected in message


def test_a_token_in_the_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = write(tmp_path, "slack_bot_token: xoxb-123456789-very-secret\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "only from the environment" in str(caught.value)
    assert "very-secret" not in str(caught.value)


def test_a_bad_database_url_is_refused_without_echoing_its_password(tmp_path: Path) -> None:
    path = write(tmp_path, "database: {url: 'mysql://bot:hunter2@db/supportbot'}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "database.url: must be a postgresql://" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such config file.*--config"):
        load_settings(tmp_path / "nope.yaml")


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        inner = field.annotation
        args = getattr(inner, "__args__", ())
        is_map = getattr(inner, "__origin__", None) is dict
        for candidate in (inner, *args):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                keys.extend(_keys(candidate, f"{prefix}{name}.{'*.' if is_map else ''}"))
    return keys


def _documented(data: object, prefix: str = "") -> set[str]:
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            key = "*" if prefix == "channels." else key  # a map from ids: document one example entry
            found.add(prefix + key)
            found |= _documented(value, f"{prefix}{key}.")
    elif isinstance(data, list):
        for item in data:
            found |= _documented(item, prefix)
    return found


def test_example_config_documents_every_key_and_is_valid() -> None:
    example = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    settings = settings_type()  # with the installed platforms' sections
    settings.model_validate(example)
    missing = set(_keys(settings)) - _documented(example)
    assert not missing, f"keys missing from {EXAMPLE.name}: {sorted(missing)}"


def test_shipped_config_is_valid() -> None:
    settings = load_settings(REPO / "config" / "supportbot.yaml")
    assert settings.collections[0].paths == ["examples/knowledge"]


def test_the_admin_token_comes_from_the_environment_is_long_and_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "supportbot.yaml"
    config.write_text("server: {port: 9100}\n")
    assert load_settings(config).server.admin_token is None  # no token: no /admin
    monkeypatch.setenv("SUPPORTBOT_ADMIN_TOKEN", "a-long-enough-admin-token")
    settings = load_settings(config)
    assert settings.server.admin_token is not None
    assert settings.server.admin_token.get_secret_value() == "a-long-enough-admin-token"
    assert "a-long-enough-admin-token" not in repr(settings)
    monkeypatch.setenv("SUPPORTBOT_ADMIN_TOKEN", "short")
    with pytest.raises(ConfigError, match=r"admin_token: .*at least 16 characters") as refused:
        load_settings(config)
    assert "short" not in str(refused.value).replace("shortened", "")
