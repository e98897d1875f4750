"""A GGUF model through llama.cpp (llama-cpp-python): the fast CPU path, greedy, with per-thread saved states.

Why llama.cpp on a CPU: decoding is bound by memory traffic and a 4-bit GGUF reads a quarter of the bytes of bf16
weights, with far less per-token overhead than transformers (benchmarks/answer_latency.py measures both).
"""

from __future__ import annotations

import codecs
import ctypes
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bot.config import GeneratorConfig, LlamaCppConfig
from bot.engines import GeneratorUnavailable
from bot.engines.llamacpp.buffers import cpu_has_amx, safe_buffers
from bot.engines.llamacpp.states import SavedState, StateCache
from bot.prompt import ChatMessage


class LlamaCppGenerator:
    """One llama.cpp context, one generation at a time; a follow-up resumes from its thread's saved state."""

    def __init__(self, llama: Any, *, name: str, state_cache_mb: int = 512) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._llama = llama
        self.name = name
        self._lock = threading.Lock()
        self._states = StateCache(max_bytes=state_cache_mb * 1024 * 1024)
        self.last_prefill_tokens = 0  # prompt tokens the last answer had to read (after any saved state)
        self.extra_layouts: tuple[str, ...] = ()  # llama.cpp's extra weight layouts offered at load; () plain
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise GeneratorUnavailable(f"{name}: the GGUF file carries no chat template")
        model = llama._model  # the vocabulary's special tokens, as the template names them
        eos, bos = model.token_get_text(model.token_eos()), model.token_get_text(model.token_bos())
        self._format = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)

    @classmethod
    def load(cls, path: str | Path, *, name: str, n_ctx: int = 8192, n_threads: int | None = None,
             state_cache_mb: int = 512, extra_buffers: bool | None = None) -> LlamaCppGenerator:  # fmt: skip
        """`extra_buffers`: llama.cpp's repacked 4-bit layout (never its AMX one, which crashes: see
        bot/engines/llamacpp/buffers.py). None means on, except on CPUs with AMX: on one, the repacked layout
        decoded 17% faster but prefilled 30% slower than the plain one (benchmarks/answer_latency.py, `-repack`)."""
        try:
            from llama_cpp import Llama
        except ImportError:
            raise GeneratorUnavailable("backend llamacpp needs: pip install llama-cpp-python") from None
        if not Path(path).is_file():
            raise GeneratorUnavailable(f"{path}: no such GGUF file")
        extra = not cpu_has_amx() if extra_buffers is None else extra_buffers
        threads = n_threads or os.cpu_count() or 1
        try:
            with safe_buffers(extra) as layouts:
                llama = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                              n_batch=512, use_mmap=False, verbose=False)  # fmt: skip
        except (ValueError, RuntimeError) as error:
            raise GeneratorUnavailable(f"{path}: {error}") from error
        generator = cls(llama, name=name, state_cache_mb=state_cache_mb)
        generator.extra_layouts = tuple(layouts)
        return generator

    @classmethod
    def from_config(cls, config: GeneratorConfig, *, local_only: bool) -> LlamaCppGenerator:
        """generator.llamacpp.file as a local path, else that file of generator.llamacpp.repo on the Hub."""
        settings = config.llamacpp
        path = Path(settings.file).expanduser()
        if path.is_file():
            return cls.with_settings(path, name=path.stem, settings=settings)
        path = _hub_file(settings.repo, settings.file, local_only=local_only)
        return cls.with_settings(path, name=f"{settings.repo}/{settings.file}", settings=settings)

    @classmethod
    def with_settings(cls, path: str | Path, *, name: str, settings: LlamaCppConfig) -> LlamaCppGenerator:
        """A GGUF file loaded as generator.llamacpp says: window, threads, saved states, weight layout."""
        return cls.load(
            path, name=name,
            n_ctx=settings.context_tokens, n_threads=settings.threads, state_cache_mb=settings.state_cache_mb,
            extra_buffers=None if settings.extra_buffers == "auto" else settings.extra_buffers == "on",
        )  # fmt: skip

    def render(self, messages: Sequence[ChatMessage]) -> str:
        """The prompt exactly as the model sees it, by the GGUF's own chat template."""
        chat: Any = [{"role": m.role, "content": m.content} for m in messages]
        return self._format(messages=chat).prompt

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The prompt's tokens, the template's special tokens as themselves."""
        return list(self._llama.tokenize(self.render(messages).encode(), add_bos=False, special=True))

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode(), add_bos=False, special=False))

    def clear_states(self) -> None:
        """Forgets every saved state: the next answer prefills its whole prompt."""
        with self._lock:
            self._states.clear()
            self._llama.reset()

    def stream(self, messages: Sequence[ChatMessage], *, max_new_tokens: int) -> Iterator[str]:
        """Text as it is generated, greedily. Closing the iterator stops the model at its next token."""
        prompt = self.prompt_tokens(messages)
        room = self._llama.n_ctx() - len(prompt)
        if room < 1:
            raise ValueError(f"the prompt is {len(prompt)} tokens, more than the model's context of "
                             f"{self._llama.n_ctx()} (generator.llamacpp.context_tokens)")  # fmt: skip
        with self._lock:
            self._resume(prompt)
            keep = self._states.max_bytes > 0  # a state is tens of MB to copy: not when none is kept
            if keep:
                self._states.add(self._save())
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            for _ in range(min(max_new_tokens, room)):
                token = self._greedy_next()
                if llama_is_end(self._llama, token):
                    break
                piece = decoder.decode(_token_bytes(self._llama, token))
                if piece:
                    yield piece
                self._llama.eval([token])
            if keep:
                self._states.add(self._save(), supersedes=False)

    def _resume(self, prompt: list[int]) -> None:
        """Reads the part of `prompt` that neither the live context nor a saved state has read already."""
        live = list(self._llama.input_ids[: self._llama.n_tokens])
        saved = self._states.best_prefix(prompt)
        live_fits = len(live) < len(prompt) and prompt[: len(live)] == live
        if live_fits and (saved is None or len(saved.tokens) <= len(live)):
            start = len(live)
        elif saved is not None:
            self._restore(saved)
            start = len(saved.tokens)
        else:
            self._llama.reset()
            start = 0
        self.last_prefill_tokens = len(prompt) - start
        self._llama.eval(prompt[start:])

    def _greedy_next(self) -> int:
        import llama_cpp
        import numpy as np

        logits = llama_cpp.llama_get_logits_ith(self._llama.ctx, -1)
        return int(np.argmax(np.ctypeslib.as_array(logits, shape=(self._llama.n_vocab(),))))

    def _save(self) -> SavedState:
        import llama_cpp

        ctx = self._llama.ctx
        buffer = (ctypes.c_uint8 * llama_cpp.llama_state_seq_get_size(ctx, 0))()
        written = llama_cpp.llama_state_seq_get_data(ctx, buffer, len(buffer), 0)
        tokens = tuple(int(t) for t in self._llama.input_ids[: self._llama.n_tokens])
        return SavedState(tokens=tokens, data=bytes(buffer)[:written])

    def _restore(self, state: SavedState) -> None:
        import llama_cpp

        self._llama.reset()
        buffer = (ctypes.c_uint8 * len(state.data)).from_buffer_copy(state.data)
        if llama_cpp.llama_state_seq_set_data(self._llama.ctx, buffer, len(state.data), 0) != len(state.data):
            raise RuntimeError("llama.cpp refused a saved state")
        self._llama.input_ids[: len(state.tokens)] = state.tokens
        self._llama.n_tokens = len(state.tokens)


def _hub_file(repo: str, filename: str, *, local_only: bool) -> Path:
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo, filename, local_files_only=local_only))
    except Exception as error:  # offline, unknown repo or file, no permission: all mean "not available"
        where = "the local Hugging Face cache" if local_only else "the Hugging Face Hub"
        raise GeneratorUnavailable(f"{repo}/{filename} from {where}: {type(error).__name__}") from error


def llama_is_end(llama: Any, token: int) -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_vocab_is_eog(llama._model.vocab, token))


def _token_bytes(llama: Any, token: int) -> bytes:
    """The token's bytes: a multi-byte character may span tokens, so the caller decodes incrementally."""
    import llama_cpp

    buffer = ctypes.create_string_buffer(64)
    size = llama_cpp.llama_token_to_piece(llama._model.vocab, token, buffer, len(buffer), 0, False)
    if size < 0:  # a longer piece: the size it needs, negated
        buffer = ctypes.create_string_buffer(-size)
        size = llama_cpp.llama_token_to_piece(llama._model.vocab, token, buffer, len(buffer), 0, False)
    return buffer.raw[:size]
