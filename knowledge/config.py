"""Typed configuration of the knowledge half: embedding model, Chroma, collections, chunking and sync."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_EMBEDDING_MODEL = "bundled:multilingual-e5-small"


class Section(BaseModel):
    """A config section: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EmbeddingConfig(Section):
    model: str = DEFAULT_EMBEDDING_MODEL
    device: str = "cpu"
    batch_size: int = Field(default=32, ge=1, le=1024)
    threads: int | None = Field(default=None, ge=1)


class ChromaConfig(Section):
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL such as http://127.0.0.1:8000, or null")
        return value


class ChunkingConfig(Section):
    max_tokens: int = Field(default=256, ge=32, le=8192)
    overlap_tokens: int = Field(default=32, ge=0, le=1024)


class RetrievalConfig(Section):
    hybrid: bool = True
    candidates: int = Field(default=50, ge=5, le=1000)
    per_source: int = Field(default=1, ge=1, le=50)
    title_weight: float = Field(default=0.25, ge=0, le=10)  # 1.0 before: see the README's retrieval quality
    sentence_weight: float = Field(default=1.0, ge=0, le=10)  # 0: no re-ranking by sentences
    hub_weight: float = Field(default=1.0, ge=0, le=10)  # 0: passages that resemble every question rank as found


class SyncConfig(Section):
    max_file_mb: float = Field(default=25, gt=0)


class CollectionConfig(Section):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,48}[a-z0-9]$|^[a-z0-9]$")
    paths: list[str] = Field(min_length=1)
    include: list[str] = Field(default_factory=lambda: ["**/*"])
    exclude: list[str] = Field(default_factory=list)
    visibility: Literal["internal", "public"] = "internal"
    url_template: str | None = None

    @field_validator("url_template")
    @classmethod
    def _has_path_field(cls, value: str | None) -> str | None:
        if value is not None and "{path}" not in value:
            raise ValueError("must contain {path}, e.g. https://wiki.example.com/{path}")
        return value
