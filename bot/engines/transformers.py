"""The transformers engine: a causal LM on a GPU (or a CPU), the tokenizer's own chat template, greedy decoding as
the model card asks, text streamed as it comes."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bot.engines import GeneratorUnavailable
from bot.prompt import ChatMessage


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

        from bot.engines.stopping import StopWhen as _StopWhen

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
