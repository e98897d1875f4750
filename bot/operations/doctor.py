"""`supportbot doctor`: every part the config enables, checked in turn; values out, the CLI prints them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.config import ConfigError, Platform, PlatformConfig, Settings, installed_platforms, load_settings
from bot.engines import GeneratorUnavailable
from bot.engines.choice import resolve_backend, stand_in_location
from bot.wiring import Knowledge

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    advice: str = ""


WhoAmI = Callable[[PlatformConfig], tuple[bool, str]]  # (valid, the bot's name or what the platform said)


def run_checks(
    config_path: Path, *, online: bool = False, platforms: Mapping[str, Platform] | None = None
) -> list[Check]:
    """`platforms`: the chat platforms to check (default: the installed ones); a platform with a `whoami`
    (adapters/__init__.py) has its token tried with `online`."""
    platforms = installed_platforms() if platforms is None else platforms
    try:
        settings = load_settings(config_path, platforms=platforms)
    except ConfigError as error:
        return [Check("config", "fail", str(error), "fix the file, then run `supportbot doctor` again")]
    knowledge = Knowledge(settings)
    checks = [Check("config", "ok", f"{config_path} is valid"), *_data_dir(settings), *_embedding(knowledge)]
    if checks[-1].status == "fail":
        checks.append(Check("chroma", "fail", "not checked: opening the store needs the embedding model"))
    else:
        checks.extend(_chroma(knowledge))
    return [
        *checks, *_generator(settings), *_language(), *_tokens(settings, platforms, online=online),
        *_exposure(settings, platforms),
    ]  # fmt: skip


def _exposure(settings: Settings, platforms: Mapping[str, Platform]) -> Iterator[Check]:
    """Whether an internal collection can reach people the organisation does not know: where anyone may join or
    DM the bot (a community server), what an unmapped channel or a DM reads is checked."""
    internal = [c.name for c in settings.collections if c.visibility == "internal"]
    named = ", ".join(internal)
    dm = settings.channels.get("dm")
    for name, section in settings.platforms.items():
        if not section.open_to_strangers or not internal:
            continue
        title = platforms[name].title if name in platforms else name
        if section.unmapped_visibility() == "internal":
            yield Check("exposure", "warn", f"{name}.default_visibility is internal: every {title} channel, thread, "
                        f"forum and DM not under channels: reads internal collections ({named}), and anyone who "
                        "joins the server or DMs the bot can ask", "remove it (public is the default) and map the "
                        "internal channels under channels:, unless only employees can reach this server")  # fmt: skip
        elif dm is not None and dm.visibility == "internal":
            yield Check("exposure", "warn", f"channels: dm reads internal collections ({named}): on {title} anyone "
                        "may DM the bot", "set visibility: public on the dm entry")  # fmt: skip
        else:
            yield Check("exposure", "ok", f"{title} channels, threads and DMs not under channels: read public "
                        f"collections only; internal ones ({named}) only where channels: maps them")  # fmt: skip


def _data_dir(settings: Settings) -> Iterator[Check]:
    folder = settings.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as error:
        yield Check(
            "data_dir", "fail", f"{folder} is not writable ({error.strerror})", "fix its permissions or set data_dir"
        )
        return
    yield Check("data_dir", "ok", f"{folder.resolve()} is writable")


def _embedding(knowledge: Knowledge) -> Iterator[Check]:
    try:
        embedder = knowledge.embedder
    except Exception as error:
        yield Check("embedding", "fail", str(error), "set embedding.model (see config/supportbot.example.yaml)")
        return
    yield Check("embedding", "ok", f"{embedder.name} loaded, {embedder.dimensions} dimensions")


def _chroma(knowledge: Knowledge) -> Iterator[Check]:
    settings = knowledge.settings
    where = f"server at {settings.chroma.url}" if settings.chroma.url else f"embedded at {settings.data_dir / 'chroma'}"
    try:
        store, embedder = knowledge.store, knowledge.embedder
        counts = []
        for collection in settings.collections:
            stored = store.stored_model(collection.name)
            if stored is not None and stored != (embedder.name, embedder.dimensions):
                yield Check(
                    "chroma", "fail",
                    f"collection {collection.name} was built with {stored[0]} ({stored[1]} dimensions), "
                    f"the config now uses {embedder.name} ({embedder.dimensions})",
                    f"run `supportbot sync --rebuild {collection.name}`",
                )  # fmt: skip
                return
            counts.append(f"{collection.name}: {store.count(collection.name) if stored else 0} chunks")
    except Exception as error:
        yield Check("chroma", "fail", f"{where}: {error}", "start the Chroma server, or set chroma.url to null")
        return
    yield Check("chroma", "ok", f"{where}, reachable; " + ("; ".join(counts) or "no collections configured"))


def _generator(settings: Settings) -> Iterator[Check]:
    config = settings.generator
    if config.backend == "openai":
        yield Check("generator", "ok", f"backend openai: {config.model} served at {config.base_url}")
        return
    if config.backend == "extractive":
        yield Check("generator", "ok", "backend extractive: answers quote the knowledge base (no language model)")
        return
    backend = resolve_backend(config.backend)
    if backend == "llamacpp":
        wanted, setting = f"{config.llamacpp.repo}/{config.llamacpp.file}", "generator.llamacpp.file to the GGUF file"
        found = _locate_model(config.llamacpp.file) or _locate_model(config.llamacpp.repo, config.llamacpp.file)
    else:
        wanted, setting = config.model, "generator.model to its folder"
        found = _locate_model(config.model)
    if found:
        yield Check("generator", "ok", f"{backend}: {wanted}: {found}")
        return
    if config.fallback == "none":
        yield Check("generator", "fail", f"{backend}: {wanted}: not on this machine and not downloadable",
                    f"copy the model here and set {setting}")  # fmt: skip
        return
    if config.fallback == "extractive":
        yield Check("generator", "warn", f"{backend}: {wanted} not on this machine nor downloadable: answers will "
                    "quote the knowledge base's own sentences (no language model)", f"copy the model here and set "
                    f"{setting}")  # fmt: skip
        return
    try:
        _folder, _file, display = stand_in_location(config.fallback)
    except GeneratorUnavailable as error:
        yield Check("generator", "fail", f"{wanted} unavailable and no fallback: {error}")
        return
    yield Check("generator", "warn", f"{backend}: {wanted} not on this machine nor downloadable: falling back to "
                f"{display}", f"copy the model here and set {setting}")  # fmt: skip


def _locate_model(model: str, filename: str = "config.json") -> str | None:
    """'found locally at …', 'in the Hugging Face cache', 'downloadable from the Hub', or None."""
    if Path(model).expanduser().exists():
        return f"found locally at {Path(model).expanduser().resolve()}"
    if "/" not in model.strip("/") or model.count("/") > 1:
        return None  # not a Hub id
    try:
        from huggingface_hub import HfApi, try_to_load_from_cache

        cached = try_to_load_from_cache(model, filename)
        if isinstance(cached, str):
            return "found in the Hugging Face cache"
        if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}:
            return None
        files = {sibling.rfilename for sibling in HfApi().model_info(model, timeout=5).siblings or []}
        return "downloadable from the Hugging Face Hub (downloaded on first use)" if filename in files else None
    except Exception:
        return None


def _language() -> Iterator[Check]:
    from bot.language import LinguaDetector

    detected = LinguaDetector().detect("Bonjour, comment puis-je me connecter au VPN ?")
    status: Status = "ok" if detected == "fr" else "fail"
    yield Check("language", status, f"lingua loaded (a French test sentence: {detected})")


def _tokens(settings: Settings, platforms: Mapping[str, Platform], *, online: bool) -> Iterator[Check]:
    for name, platform in platforms.items():
        section = settings.platforms.get(name)
        if section is None:
            yield Check(name, "ok", "not enabled in the config")
            continue
        tokens = section.required_tokens()
        missing = [token for token in tokens if not os.environ.get(token)]
        if missing:
            yield Check(name, "fail", f"{', '.join(missing)} not set", "export it in the bot's environment")
            continue
        detail = f"{', '.join(tokens)} set (values not shown)" if tokens else "no token needed"
        whoami = getattr(platform, "whoami", None)
        if online and whoami is not None:
            yield _online(name, section, whoami, detail)
        else:
            yield Check(name, "ok", detail)


def _online(name: str, section: PlatformConfig, whoami: WhoAmI, detail: str) -> Check:
    """Asks the platform whose the token is (the platform's whoami). Errors never echo it."""
    try:
        valid, said = whoami(section)
    except Exception as error:
        where = getattr(section, "api_base_url", name)
        return Check(name, "fail", f"{detail}; {where} rejected it or is unreachable ({type(error).__name__})")
    if not valid:
        return Check(name, "fail", f"{detail}; {said}", "check the token")
    return Check(name, "ok", f"{detail}; valid ({said})")
