"""The configuration file: found, parsed once into typed settings, and every error told in one line."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from bot.messages import Visibility
from knowledge.config import (
    ChromaConfig,
    ChunkingConfig,
    CollectionConfig,
    EmbeddingConfig,
    RetrievalConfig,
    Section,
    SyncConfig,
)

DEFAULT_CONFIG_PATH = Path("config/supportbot.yaml")
CONFIG_ENV = "SUPPORTBOT_CONFIG"
PROMPT_OVERHEAD = 256  # the template's markers, the language instruction and the question itself


class ConfigError(Exception):
    """A configuration problem, told as one sentence naming the file and the key."""


class LlamaCppConfig(Section):
    repo: str = "LiquidAI/LFM2-1.2B-RAG-GGUF"
    file: str = "LFM2-1.2B-RAG-Q4_K_M.gguf"
    context_tokens: int = Field(default=8192, ge=512, le=32768)
    threads: int | None = Field(default=None, ge=1, le=512)
    state_cache_mb: int = Field(default=512, ge=0, le=65536)
    extra_buffers: Literal["auto", "on", "off"] = "auto"


class ExtractiveConfig(Section):
    """The answerer with no language model (bot/engines/extractive.py): how long its excerpt may grow."""

    max_words: int = Field(default=80, ge=10, le=1000)


class GeneratorConfig(Section):
    backend: Literal["auto", "llamacpp", "transformers", "openai", "extractive"] = "auto"
    model: str = "LiquidAI/LFM2-1.2B-RAG"
    gguf_file: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_seconds: float = Field(default=120, gt=0)
    max_new_tokens: int = Field(default=512, ge=1, le=8192)
    # When the model can be neither found nor downloaded: "extractive" (the pages' own sentences, no model), a
    # bundled stand-in model ("bundled:smollm2-135m-instruct"), or "none" (refuse to start).
    fallback: str = "extractive"
    llamacpp: LlamaCppConfig = Field(default_factory=LlamaCppConfig)
    extractive: ExtractiveConfig = Field(default_factory=ExtractiveConfig)


class BotConfig(Section):
    prompt_format: Literal["system_documents", "user_context"] = "user_context"
    # Deprecated: a fixed cosine (it depends on the embedding model and the language). None: calibrated (abstain).
    relevance_threshold: float | None = Field(default=None, ge=-1, le=1)
    abstain: Literal["lenient", "balanced", "strict"] = "balanced"
    top_k: int = Field(default=5, ge=1, le=50)
    context_tokens: int = Field(default=750, ge=100, le=28000)
    history_tokens: int = Field(default=6000, ge=0, le=28000)
    history_retention_days: float = Field(default=30, gt=0)
    escalation: str | None = None
    max_waiting: int = Field(default=16, ge=0, le=1000)
    answer_timeout_seconds: float = Field(default=300, gt=0)
    default_collections: list[str] = Field(default_factory=list)
    # While a language model reads the prompt (seconds on a CPU), show the pages' own sentences that answer the
    # question ("excerpt"), replaced by the model's answer as it streams; "none": a "looking…" placeholder only.
    # "auto": excerpt, unless the model runs on a local GPU (its first words come within a second anyway).
    preview: Literal["auto", "excerpt", "none"] = "auto"
    # A question whose process died mid-answer (its lease, renewed while it lives, lapsed this long ago) is answered
    # by another process of the fleet, or the same one after its restart, replacing the stale placeholder; one
    # older than recover_max_age_minutes gets a short apology instead of a late answer.
    recover_after_seconds: float = Field(default=60, ge=1, le=3600)
    recover_max_age_minutes: float = Field(default=30, gt=0)


class ChannelConfig(Section):
    collections: list[str] = Field(default_factory=list)
    visibility: Visibility = "internal"
    language: Literal["en", "ar", "zh", "fr", "de", "ja", "ko", "pt", "es"] | None = None


class SlackConfig(Section):
    """Present in the config = the Slack adapter is enabled. Tokens: SLACK_BOT_TOKEN, SLACK_APP_TOKEN
    (socket mode), SLACK_SIGNING_SECRET (http mode), from the environment only."""

    mode: Literal["socket", "http"] = "socket"
    port: int = Field(default=3000, ge=1, le=65535)
    api_base_url: str = "https://slack.com/api/"
    admins: list[str] = Field(default_factory=list)
    auto_answer_channels: list[str] = Field(default_factory=list)
    escalation_group: str | None = None

    def required_tokens(self) -> tuple[str, ...]:
        second = "SLACK_APP_TOKEN" if self.mode == "socket" else "SLACK_SIGNING_SECRET"
        return ("SLACK_BOT_TOKEN", second)


class DiscordConfig(Section):
    """Present in the config = the Discord adapter is enabled. Token: DISCORD_TOKEN, from the environment."""

    api_base_url: str = "https://discord.com/api/v10"
    answer_channels: list[str] = Field(default_factory=list)
    auto_answer_channels: list[str] = Field(default_factory=list)
    forum_channels: list[str] = Field(default_factory=list)
    admin_roles: list[str] = Field(default_factory=list)
    admin_users: list[str] = Field(default_factory=list)
    helper_role: str | None = None
    # What a channel, thread, forum or DM with no entry under `channels:` may read: anyone can join a server or DM
    # the bot, so public collections only, unless the admin says the whole server is internal.
    default_visibility: Visibility = "public"
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: list[int] | None = None

    def required_tokens(self) -> tuple[str, ...]:
        return ("DISCORD_TOKEN",)

    @model_validator(mode="after")
    def _shards(self) -> DiscordConfig:
        if self.shard_ids is None:
            return self
        if self.shard_count is None:
            raise ValueError("shard_ids needs shard_count (the fleet's total number of shards)")
        wrong = [i for i in self.shard_ids if not 0 <= i < self.shard_count]
        if wrong or len(set(self.shard_ids)) != len(self.shard_ids) or not self.shard_ids:
            raise ValueError(f"shard_ids must be distinct numbers from 0 to {self.shard_count - 1}")
        return self


class ServerConfig(Section):
    """The operators' HTTP endpoints of `supportbot run` (/healthz, /metrics) and how it stops."""

    port: int | None = Field(default=9100, ge=1, le=65535)
    host: str = "0.0.0.0"
    drain_seconds: float = Field(default=20, ge=0, le=3600)


class DatabaseConfig(Section):
    """The bot's own state (history, records, sync manifest). null: SQLite under data_dir. A PostgreSQL password
    may be in the URL or in $PGPASSWORD; the URL is never shown with it."""

    url: str | None = None
    auto_upgrade: bool = False

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(postgres(ql)?(\+psycopg)?|sqlite)://", value):
            raise ValueError("must be a postgresql://user@host/database or sqlite:///path URL, or null")
        return value


class Settings(Section):
    data_dir: Path = Path("./data")
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    chroma: ChromaConfig = Field(default_factory=ChromaConfig)
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    collections: list[CollectionConfig] = Field(default_factory=list)
    generator: GeneratorConfig = Field(default_factory=GeneratorConfig)
    bot: BotConfig = Field(default_factory=BotConfig)
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    slack: SlackConfig | None = None
    discord: DiscordConfig | None = None
    server: ServerConfig = Field(default_factory=ServerConfig)

    @field_validator("channels", mode="before")
    @classmethod
    def _list_means_collections(cls, value: Any) -> Any:
        """`C123: [handbook]` is short for `C123: {collections: [handbook]}`."""
        if isinstance(value, dict):
            return {k: {"collections": v} if isinstance(v, list) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        names = [c.name for c in self.collections]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"collection names must be unique; repeated: {', '.join(duplicates)}")
        visibility = {c.name: c.visibility for c in self.collections}
        for where, wanted in [("bot.default_collections", self.bot.default_collections)] + [
            (f"channels.{k}.collections", v.collections) for k, v in self.channels.items()
        ]:
            unknown = [n for n in wanted if n not in visibility]
            if unknown:
                raise ValueError(f"{where} names unknown collection(s): {', '.join(unknown)}")
        for key, channel in self.channels.items():
            leaks = [n for n in channel.collections if channel.visibility == "public" and visibility[n] != "public"]
            if leaks:
                raise ValueError(f"channels.{key} is public but lists internal collection(s): {', '.join(leaks)}")
        if self.chunking.overlap_tokens >= self.chunking.max_tokens:
            raise ValueError("chunking.overlap_tokens must be smaller than chunking.max_tokens")
        # Checked here, not at the first long thread: the model's window must hold the whole prompt and answer.
        needed = self.bot.context_tokens + self.bot.history_tokens + self.generator.max_new_tokens + PROMPT_OVERHEAD
        if self.generator.backend in ("auto", "llamacpp") and needed > self.generator.llamacpp.context_tokens:
            raise ValueError(
                f"generator.llamacpp.context_tokens ({self.generator.llamacpp.context_tokens}) is smaller than "
                f"bot.context_tokens + bot.history_tokens + generator.max_new_tokens + {PROMPT_OVERHEAD} ({needed}); "
                "raise it or lower those"
            )
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
    hidden = _looks_secret(key) or key == "database.url"  # the URL may hold a password
    got = "" if isinstance(shown, dict | list) or hidden else f" (got {shown!r})"
    return f"{key}: {message}{got}"


def _looks_secret(key: str) -> bool:
    return any(word in key.lower() for word in ("token", "secret", "password", "api_key"))
