"""The configuration file: found, parsed once into typed settings, and every error told in one line."""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import yaml
from pydantic import Field, SecretStr, ValidationError, create_model, field_validator, model_validator

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
from knowledge.database import sqlite_url

log = logging.getLogger(__name__)
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


class PlatformConfig(Section):
    """A chat platform's section of the config (its name as the key), which the platform's adapter defines
    (adapters/<platform>/config.py): present = the platform is enabled. Tokens come from the environment only."""

    # Where anyone may join or write to the bot (a community server, its DMs): what an unmapped channel or a DM
    # may read is checked by `doctor`, and defaults to public collections only.
    open_to_strangers: ClassVar[bool] = False
    # Every environment variable of the platform that holds a secret, whichever mode it runs in: masked in logs.
    secret_env: ClassVar[tuple[str, ...]] = ()

    def required_tokens(self) -> tuple[str, ...]:
        """The environment variables the platform cannot start without."""
        return ()

    def unmapped_visibility(self) -> Visibility:
        """What a channel with no entry under `channels:` may read."""
        return "internal"


class Platform(Protocol):
    """A chat platform as the configuration sees it: its name (its section's key) and its section's type. The
    adapters' registry (adapters/__init__.py) holds more: how to run it, check its token, invite it."""

    @property
    def name(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def config(self) -> type[PlatformConfig]: ...


PLATFORMS_ENTRY_POINTS = "supportbot.platforms"


def installed_platforms() -> dict[str, Platform]:
    """The chat platforms installed with supportbot, or by a plug-in package: the entry points of group
    "supportbot.platforms", each naming a platform object (adapters/__init__.py)."""
    found: dict[str, Platform] = {}
    for entry in sorted(entry_points(group=PLATFORMS_ENTRY_POINTS), key=lambda e: e.name):
        try:
            platform = entry.load()
        except Exception as error:  # a broken plug-in costs its own platform, not every command
            log.warning("The chat platform plug-in %s (%s) cannot be loaded: %s", entry.name, entry.value, error)
            continue
        found[platform.name] = platform
    return found


ADMIN_TOKEN_ENV = "SUPPORTBOT_ADMIN_TOKEN"
ADMIN_TOKEN_MIN = 16


class ServerConfig(Section):
    """The operators' HTTP endpoints of `supportbot run` (/healthz, /metrics, /admin) and how it stops."""

    port: int | None = Field(default=9100, ge=1, le=65535)
    host: str = "0.0.0.0"
    drain_seconds: float = Field(default=20, ge=0, le=3600)
    # /admin (the report and the knowledge base's state) is served only with a token; from $SUPPORTBOT_ADMIN_TOKEN
    # when the file has none. Never shown: repr and logs mask it.
    admin_token: SecretStr | None = None

    @field_validator("admin_token", mode="after")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < ADMIN_TOKEN_MIN:
            raise ValueError(f"must be at least {ADMIN_TOKEN_MIN} characters (e.g. `openssl rand -hex 24`)")
        return value

    @model_validator(mode="before")
    @classmethod
    def _token_from_environment(cls, values: Any) -> Any:
        if isinstance(values, dict) and values.get("admin_token") is None and os.environ.get(ADMIN_TOKEN_ENV):
            return {**values, "admin_token": os.environ[ADMIN_TOKEN_ENV]}
        return values


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


class RecordsConfig(Section):
    """The answer log (questions, answers, feedback, escalations) that `supportbot report` reads."""

    retention_days: float = Field(default=180, gt=0)


class LearningConfig(Section):
    """Answers learned from people (bot/learning.py): where drafts wait for review, and the collection whose first
    folder receives the approved ones."""

    drafts_dir: Path | None = None  # null: data_dir/drafts
    collection: str = "learned"


class ReportConfig(Section):
    """The weekly digest (adapters/notices.py): where the bot posts the week's figures and top gaps, and when."""

    digest_channel: list[str] = Field(default_factory=list)  # "<platform>:<channel id>", one or more; none: no digest
    digest_cron: str = "0 9 * * mon"  # crontab(5), in `timezone`
    timezone: str = "UTC"
    admin_url: str | None = None  # where people reach the admin page (/admin), linked from the digest

    @field_validator("digest_channel", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("digest_channel", mode="after")
    @classmethod
    def _platform_named(cls, value: list[str]) -> list[str]:
        for channel in value:
            platform, _, where = channel.partition(":")
            if not platform or not where:
                raise ValueError(f"{channel!r}: name the platform and the channel, as <platform>:<channel id>")
        return value

    @field_validator("digest_cron", mode="after")
    @classmethod
    def _cron(cls, value: str) -> str:
        from bot.cron import Cron

        Cron.parse(value)  # CronError (a ValueError) says what is wrong
        return value

    @field_validator("timezone", mode="after")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone: use an IANA name, e.g. 'Europe/Paris'") from None
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
    server: ServerConfig = Field(default_factory=ServerConfig)
    records: RecordsConfig = Field(default_factory=RecordsConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    # The chat platforms' sections: one optional field each, added by settings_type() for the installed platforms.
    platform_types: ClassVar[Mapping[str, Platform]] = {}

    @field_validator("channels", mode="before")
    @classmethod
    def _list_means_collections(cls, value: Any) -> Any:
        """`C123: [handbook]` is short for `C123: {collections: [handbook]}`."""
        if isinstance(value, dict):
            return {k: {"collections": v} if isinstance(v, list) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        known = sorted(self.platform_types)
        unknown_platforms = [c for c in self.report.digest_channel if c.split(":", 1)[0] not in known]
        if unknown_platforms:
            raise ValueError(f"report.digest_channel: {', '.join(unknown_platforms)} names no chat platform "
                             f"supportbot runs; use {' or '.join(f'{p}:<channel id>' for p in known)}")  # fmt: skip
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

    @property
    def database_url(self) -> str:
        """database.url, else the SQLite file under the data directory."""
        return self.database.url or sqlite_url(self.data_dir)

    @property
    def platforms(self) -> dict[str, PlatformConfig]:
        """The enabled chat platforms (those whose section is present), by name."""
        sections = {name: getattr(self, name) for name in self.platform_types}
        return {name: section for name, section in sections.items() if section is not None}

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


@functools.cache
def _settings_type(platforms: tuple[tuple[str, Platform], ...]) -> type[Settings]:
    fields: dict[str, Any] = {name: (platform.config | None, None) for name, platform in platforms}
    typed = create_model("Settings", __base__=Settings, **fields)
    typed.platform_types = dict(platforms)
    return typed


def settings_type(platforms: Mapping[str, Platform] | None = None) -> type[Settings]:
    """Settings with a section for each chat platform (default: the installed ones)."""
    chosen = installed_platforms() if platforms is None else platforms
    return _settings_type(tuple(sorted(chosen.items())))


def load_settings(path: Path, *, platforms: Mapping[str, Platform] | None = None) -> Settings:
    """Read and validate one YAML config file; raise ConfigError with a one-line reason. `platforms`: the chat
    platforms whose sections it may hold (default: the installed ones)."""
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
        return settings_type(platforms).model_validate(raw)
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
