"""Answer latency and memory of every generator configuration, side by side, on LFM2-1.2B's shape (random weights).

    python -m benchmarks.answer_latency [--runs 3] [--json] [--cache-dir /tmp/supportbot-latency]
                                        [--configs transformers-bf16,llamacpp-q4_k_m,...] [--no-thread]

For each configuration: prefill tokens/s, decode tokens/s, time to first token and end-to-end time of a 1,500-token
prompt answered with 150 forced tokens, and peak RSS; each run in a fresh process, configurations interleaved, medians
printed (ranges beside them). Then a three-turn thread with the product's default configuration (each turn adds ~300
tokens of passages and question): time to first token of the third turn, cold (states forgotten, the whole thread
prefilled) and as the product serves it (the thread's saved state reused). The first run builds the model, its
GGUF files and the prompts into --cache-dir (~8 GB, ~10 minutes); later runs reuse them. Figures hold for this
machine only, and only as ratios: a shared 2-core machine's speed swings from minute to minute. When other work
keeps the cores busy, a multi-threaded engine's threads wait on each other: compare `-t1` (one thread) variants.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks import latency_prompts, lfm2_shape
from benchmarks.common import REPO

BASELINE = "transformers-bf16"


def product_default() -> str:
    """The product's default CPU configuration: generator.backend auto picks llamacpp, on generator.llamacpp.file."""
    from bot.config import LlamaCppConfig

    quant = LlamaCppConfig().file.rsplit("-", 1)[-1].removesuffix(".gguf").lower()  # LFM2-1.2B-RAG-Q4_K_M.gguf
    return f"llamacpp-{quant}"


DEFAULT = product_default()
CONFIGS = [BASELINE, "llamacpp-bf16", "llamacpp-q8_0", "llamacpp-q4_0", DEFAULT]
RUNNER = "benchmarks.latency_run"  # run as a module, from the repository's root


def prepare(cache: Path, configs: list[str]) -> Path:
    """Model, GGUF files and the prompts, built once into the cache."""
    lfm2_shape.build_model(cache / "model")
    for config in configs:
        if config != BASELINE:
            lfm2_shape.build_gguf(cache, config.split("-")[1])
    return latency_prompts.write_jobs(cache)


def run_child(config: str, job: str, jobs: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One job in a fresh process, which reports its own peak memory (VmHWM); a crash reported instead of raised."""
    command = [sys.executable, "-m", RUNNER, config, job, str(jobs), "--cache-dir", str(args.cache_dir)]
    command += ["--threads", str(args.threads), "--answer-tokens", str(args.answer_tokens)]
    log = args.cache_dir / "logs" / f"{config}-{job}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, cwd=REPO)
        assert process.stdout is not None
        output = process.stdout.read()
        _, status, _ = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        return {"failed": f"exit {process.returncode} (see {log})"}
    # Its own peak: the kernel's ru_maxrss of a child starts from this process's peak at the fork, so every child
    # read 3.04 GB on a cold cache, where this process had just built the model.
    result: dict[str, Any] = json.loads(output.decode().strip().splitlines()[-1])
    return result


def figures(run: dict[str, Any], prompt_tokens: int, answer_tokens: int) -> dict[str, float]:
    """Prefill from the first token's time (the whole prompt, then one token); decode from the tokens after it."""
    ttft, e2e = run["ttft_s"], run["e2e_s"]
    read = run.get("prefilled") or prompt_tokens  # llama.cpp counts what it read by the GGUF's own tokenizer
    return {
        "prefill_tok_s": read / ttft,
        "decode_tok_s": (answer_tokens - 1) / (e2e - ttft),
        "ttft_s": ttft,
        "e2e_s": e2e,
        "peak_rss_gb": run["peak_rss_gb"],
    }


def summarise(runs: list[dict[str, float]]) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    keys = runs[0].keys()
    medians = {k: round(statistics.median(r[k] for r in runs), 3) for k in keys}
    return medians, {k: (min(r[k] for r in runs), max(r[k] for r in runs)) for k in keys}


def print_table(rows: list[dict[str, Any]], spread: dict[str, dict[str, tuple[float, float]]], runs: int) -> None:
    columns = ["prefill_tok_s", "decode_tok_s", "ttft_s", "e2e_s", "peak_rss_gb"]
    print(f"medians of {runs} runs (min-max); 2-core machine shared with other work")
    print(f"{'configuration':<22}" + "".join(f"{c:>24}" for c in columns))
    for row in rows:
        cells = [f"{row[c]:.2f} ({spread[row['name']][c][0]:.2f}-{spread[row['name']][c][1]:.2f})" for c in columns]
        print(f"{row['name']:<22}" + "".join(f"{cell:>24}" for cell in cells))


def print_ratios(rows: list[dict[str, Any]], thread: dict[str, float] | None, thread_config: str) -> None:
    base = next((r for r in rows if r["name"] == BASELINE), None)
    if base is not None:
        print(f"\nagainst {BASELINE} (targets for the default: decode >= 6x, e2e <= 0.45x, memory <= 0.6x)")
        for row in rows:
            decode = row["decode_tok_s"] / base["decode_tok_s"]
            e2e, memory = row["e2e_s"] / base["e2e_s"], row["peak_rss_gb"] / base["peak_rss_gb"]
            print(f"{row['name']:<22} decode {decode:5.2f}x   e2e {e2e:5.2f}x   memory {memory:5.2f}x")
    if thread:
        ratio = thread["served_ttft_s"] / thread["cold_ttft_s"]
        print(f"\nthird turn of a thread ({thread_config}): cold {thread['cold_ttft_s']:.2f} s, served ", end="")
        print(f"{thread['served_ttft_s']:.2f} s: served/cold {ratio:.2f}x (target <= 0.5x); tokens prefilled: ", end="")
        print(f"cold {thread['cold_prefilled']:.0f}, served {thread['served_prefilled']:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/supportbot-latency"))
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated; see latency_run.py")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--answer-tokens", type=int, default=150)
    parser.add_argument("--no-thread", action="store_true", help="skip the three-turn thread")
    parser.add_argument("--thread-config", default=DEFAULT, help="the configuration the thread is served with")
    args = parser.parse_args()
    configs = args.configs.split(",")
    jobs = prepare(args.cache_dir, configs)
    prompt_tokens = json.loads(jobs.read_text())["answer"]["prompt_tokens"]
    measured: dict[str, list[dict[str, float]]] = {c: [] for c in configs}
    threads: list[dict[str, Any]] = []
    for number in range(args.runs):  # interleaved, so a slow minute of the shared machine hits every configuration
        for config in configs:
            result = run_child(config, "answer", jobs, args)
            shown = {k: v for k, v in result.items() if k != "text"}
            print(f"run {number + 1} {config}: {json.dumps(shown)}", file=sys.stderr, flush=True)
            if "failed" not in result and result["pieces"] != args.answer_tokens:
                print(f"  {config} streamed {result['pieces']} pieces for {args.answer_tokens} tokens", file=sys.stderr)
            if "failed" not in result:
                measured[config].append(figures(result, prompt_tokens, args.answer_tokens))
        if not args.no_thread:
            threads.append(run_child(args.thread_config, "thread", jobs, args))
            print(f"run {number + 1} thread: {json.dumps(threads[-1])}", file=sys.stderr, flush=True)
    rows, spread = [], {}
    for config, runs in measured.items():
        if runs:
            medians, spread[config] = summarise(runs)
            rows.append({"name": config, **medians})
    good = [t for t in threads if "failed" not in t]
    keys = ("cold_ttft_s", "served_ttft_s", "cold_prefilled", "served_prefilled")
    thread = {k: round(statistics.median(t[k] for t in good), 3) for k in keys} if good else None
    if args.json:
        shown = {k: thread[k] for k in keys[:2]} if thread else None
        print(json.dumps({"configs": rows, "default": DEFAULT, "thread": shown}))
        return
    print_table(rows, spread, args.runs)
    print_ratios(rows, thread, args.thread_config)


if __name__ == "__main__":
    main()
