"""One measured job in a fresh process for benchmarks/answer_latency.py: an answer, or a three-turn thread.

    python -m benchmarks.latency_run CONFIG JOB MESSAGES.json --cache-dir DIR [--threads 2] [--answer-tokens 150]

Prints one JSON object on stdout. The parent reads this process's peak RSS from the kernel when it exits, so this
process imports only what the configuration itself needs (no transformers for llama.cpp).

CONFIG is a product configuration (`transformers-bf16`, `llamacpp-<quant>`: the classes the bot itself loads; -t1
after either for one thread; -repack or -plain after llamacpp-<quant> for llama.cpp's repacked 4-bit or plain weight
layout instead of the product's choice for this CPU) or, to explore llama.cpp's settings,
`raw-<quant>[-nobufts][-t1][-ub2048][-nommap]`: llama_cpp.Llama driven directly.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bot.prompt import ChatMessage

Stream = Callable[[Sequence[ChatMessage], int], Iterator[str]]


def _transformers(cache: Path, threads: int) -> tuple[Stream, Any]:
    import torch

    from bot.engines.transformers import TransformersGenerator

    torch.set_num_threads(threads)
    generator = TransformersGenerator.load(str(cache / "model"), name="transformers-bf16", local_only=True)
    return (lambda messages, n: generator.stream(messages, max_new_tokens=n)), generator


def _product_llamacpp(gguf: Path, threads: int, options: set[str]) -> tuple[Stream, Any]:
    from bot.engines.llamacpp.generator import LlamaCppGenerator

    layout = True if "repack" in options else False if "plain" in options else None  # None: the product's choice
    generator = LlamaCppGenerator.load(
        gguf, name=gguf.stem, n_threads=1 if "t1" in options else threads, extra_buffers=layout
    )
    return (lambda messages, n: generator.stream(messages, max_new_tokens=n)), generator


def _raw_llamacpp(gguf: Path, threads: int, options: set[str]) -> tuple[Stream, Any]:
    import llama_cpp

    from bot.engines.llamacpp.buffers import plain_buffers

    batch = 2048 if "ub2048" in options else 512
    with plain_buffers("nobufts" in options):  # llama.cpp's own choice of weight layouts unless nobufts
        llama = llama_cpp.Llama(
            str(gguf),
            n_ctx=8192,
            n_threads=1 if "t1" in options else threads,
            n_threads_batch=1 if "t1" in options else threads,
            n_batch=batch,
            n_ubatch=batch,
            use_mmap="nommap" not in options,
            verbose=False,
        )

    def stream(messages: Sequence[ChatMessage], n: int) -> Iterator[str]:
        chat: Any = [{"role": m.role, "content": m.content} for m in messages]
        for chunk in llama.create_chat_completion(chat, max_tokens=n, temperature=0.0, stream=True):
            piece = chunk["choices"][0]["delta"].get("content")  # type: ignore[index]
            if piece:
                yield piece

    return stream, llama


def load(config: str, cache: Path, threads: int) -> tuple[Stream, Any]:
    backend, quant, *options = config.split("-")
    if backend == "transformers" and quant == "bf16":
        return _transformers(cache, 1 if "t1" in options else threads)
    gguf = _gguf(cache, quant)
    if backend == "llamacpp":
        return _product_llamacpp(gguf, threads, set(options))
    if backend == "raw":
        return _raw_llamacpp(gguf, threads, set(options))
    raise SystemExit(f"unknown configuration {config!r}")


def _gguf(cache: Path, quant: str) -> Path:
    found = sorted((cache / "gguf").glob(f"*-{quant}.gguf"))
    if not found:
        raise SystemExit(f"no {quant} GGUF under {cache / 'gguf'}: run benchmarks/answer_latency.py to build it")
    return found[-1]


def timed(stream: Stream, messages: Sequence[ChatMessage], tokens: int, *, first_only: bool = False) -> dict[str, Any]:
    """Seconds to the first streamed text and to the end, and the text."""
    start = time.perf_counter()
    first = None
    pieces: list[str] = []
    iterator = stream(messages, tokens)
    for piece in iterator:
        first = first or time.perf_counter() - start
        pieces.append(piece)
        if first_only:
            break
    close = getattr(iterator, "close", None)
    if close:
        close()
    return {"ttft_s": first, "e2e_s": time.perf_counter() - start, "pieces": len(pieces), "text": "".join(pieces)}


def answer(stream: Stream, generator: Any, job: dict[str, Any], tokens: int) -> dict[str, Any]:
    messages = [ChatMessage(**m) for m in job["messages"]]
    result = timed(stream, messages, tokens)
    result["prefilled"] = getattr(generator, "last_prefill_tokens", None)
    result["dtype"] = str(getattr(getattr(generator, "_model", None), "dtype", ""))  # transformers' weights
    return result


def thread(stream: Stream, generator: Any, job: dict[str, Any], tokens: int) -> dict[str, Any]:
    """Turns 1 and 2 as the product serves them; turn 3 served (saved state), then cold (states forgotten)."""
    messages: list[ChatMessage] = []
    for user in job["turns"][:2]:
        messages.append(ChatMessage("user", user))
        messages.append(ChatMessage("assistant", timed(stream, messages, tokens)["text"]))
    messages.append(ChatMessage("user", job["turns"][2]))
    served = timed(stream, messages, tokens, first_only=True)
    served_prefilled = getattr(generator, "last_prefill_tokens", None)
    generator.clear_states()
    cold = timed(stream, messages, tokens, first_only=True)
    return {
        "served_ttft_s": served["ttft_s"],
        "cold_ttft_s": cold["ttft_s"],
        "served_prefilled": served_prefilled,
        "cold_prefilled": getattr(generator, "last_prefill_tokens", None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("job", choices=["answer", "thread"])
    parser.add_argument("messages", type=Path)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--answer-tokens", type=int, default=150)
    args = parser.parse_args()
    job = json.loads(args.messages.read_text())[args.job]
    start = time.perf_counter()
    stream, generator = load(args.config, args.cache_dir, args.threads)
    loaded = time.perf_counter() - start
    run = answer if args.job == "answer" else thread
    result = run(stream, generator, job, args.answer_tokens)
    print(json.dumps({"load_s": loaded, **result, "peak_rss_gb": own_peak_gb()}), flush=True)


def own_peak_gb() -> float:
    """This process's own peak resident memory (VmHWM), counted from its exec. Not the parent's ru_maxrss of the
    child: that starts from the parent's own peak at fork (a parent holding 1.5 GB made a 11 MB child read 1.51)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e9  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    main()
