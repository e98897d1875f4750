"""The configuration file: found, parsed once into typed settings, and every error told in one line."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import Field, ValidationError, model_validator

from knowledge.config import (
    ChromaConfig,
    ChunkingConfig,
    CollectionConfig,
    EmbeddingConfig,
    Section,
    SyncConfig,
)

DEFAULT_CONFIG_PATH = Path("config/supportbot.yaml")
CONFIG_ENV = "SUPPORTBOT_CONFIG"


class ConfigError(Exception):
    """A configuration problem, told as one sentence naming the file and the key."""


class Settings(Section):
    data_dir: Path = Path("./data")
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    chroma: ChromaConfig = Field(default_factory=ChromaConfig)
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    collections: list[CollectionConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_collections(self) -> Settings:
        names = [c.name for c in self.collections]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"collection names must be unique; repeated: {', '.join(duplicates)}")
        if self.chunking.overlap_tokens >= self.chunking.max_tokens:
            raise ValueError("chunking.overlap_tokens must be smaller than chunking.max_tokens")
        return self

    def collection(self, name: str) -> CollectionConfig:
        for collection in self.collections:
            if collection.name == name:
                return collection
        known = ", ".join(c.name for c in self.collections) or "none configured"
        raise ConfigError(f"There is no collection named {name!r} (known: {known}).")


def find_config(explicit: Path | None) -> Path:
    """`--config`, else $SUPPORTBOT_CONFIG, else config/supportbot.yaml."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    return Path(from_env) if from_env else DEFAULT_CONFIG_PATH


def load_settings(path: Path) -> Settings:
    """Read and validate one YAML config file; raise ConfigError with a one-line reason."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file. Copy config/supportbot.example.yaml there, "
            f"or pass --config FILE, or set ${CONFIG_ENV}."
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read ({error}).") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: is not valid YAML{where}.") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, not {type(raw).__name__}.")
    try:
        return Settings.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{path}: {describe_first_error(error)}") from None


def describe_first_error(error: ValidationError) -> str:
    """'collections.0.visibility: Input should be 'internal' or 'public' (got 'secret')'."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        hint = " (tokens and secrets come only from the environment)" if _looks_secret(key) else ""
        return f"{key}: unknown key{hint}; see config/supportbot.example.yaml for every key."
    message = str(first["msg"]).removeprefix("Value error, ")
    shown = first.get("input")
    got = "" if isinstance(shown, dict | list) or _looks_secret(key) else f" (got {shown!r})"
    return f"{key}: {message}{got}"


def _looks_secret(key: str) -> bool:
    return any(word in key.lower() for word in ("token", "secret", "password", "api_key"))
