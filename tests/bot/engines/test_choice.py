"""Loading the generator: the configured model when present; else the fallback (the extractive answerer by default,
or the bundled stand-in), said out loud in one line; or an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import GeneratorConfig
from bot.engines import GeneratorUnavailable
from bot.engines.choice import hub_unreachable, open_generator, resolve_backend, stand_in_location
from bot.engines.extractive import ExtractiveAnswerer
from bot.engines.llamacpp.generator import LlamaCppGenerator
from bot.engines.transformers import TransformersGenerator
from bot.prompt import ChatMessage

QUESTION = [ChatMessage("user", "Where is the VPN server?")]
STAND_IN = "bundled:smollm2-135m-instruct"


def test_present_model_is_used_without_warning(tiny_lfm2: Path) -> None:
    warnings: list[str] = []
    generator = open_generator(GeneratorConfig(backend="transformers", model=str(tiny_lfm2)), warn=warnings.append)
    assert generator.name == str(tiny_lfm2) and warnings == []
    first = "".join(generator.stream(QUESTION, max_new_tokens=8))
    assert first and first == "".join(generator.stream(QUESTION, max_new_tokens=8))  # greedy: deterministic


def test_missing_model_without_fallback_is_one_clear_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "LFM2-1.2B-RAG")
    with pytest.raises(GeneratorUnavailable) as caught:
        open_generator(GeneratorConfig(backend="transformers", model=missing, fallback="none"), warn=print)
    assert missing in str(caught.value) and "set generator.model to that folder" in str(caught.value)


def test_unknown_fallback_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GeneratorUnavailable, match="not a bundled model"):
        open_generator(GeneratorConfig(model=str(tmp_path / "x"), fallback="bundled:gpt-9"), warn=print)


@pytest.mark.slow
def test_missing_model_falls_back_to_the_stand_in_and_says_so(  # type: ignore[no-untyped-def]
    tmp_path: Path, smollm2_transformers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stand-in is loaded by the very call the session's `smollm2_transformers` makes (checked here), and that
    model is what the call gives: reading a GGUF through transformers takes 20 s, once a session is enough."""
    folder, gguf_file, display = stand_in_location(STAND_IN)
    real_load, stand_in_loads = TransformersGenerator.load, []

    def load(model: str, **options: object) -> object:
        if model != folder:
            return real_load(model, **options)  # type: ignore[arg-type]
        stand_in_loads.append(options)
        return smollm2_transformers

    monkeypatch.setattr(TransformersGenerator, "load", load)
    warnings: list[str] = []
    missing = str(tmp_path / "LFM2-1.2B-RAG")
    config = GeneratorConfig(backend="transformers", model=missing, fallback=STAND_IN)
    generator = open_generator(config, warn=warnings.append)
    assert stand_in_loads == [{"gguf_file": gguf_file, "name": display, "local_only": True}]  # the fixture's call
    assert generator.name == "SmolLM2-135M-Instruct (offline stand-in)"
    assert len(warnings) == 1 and missing in warnings[0] and "generator.model" in warnings[0]
    assert "".join(generator.stream(QUESTION, max_new_tokens=5)).strip()


@pytest.mark.usefixtures("no_hub")
def test_by_default_a_missing_model_falls_back_to_the_extractive_answerer_in_one_line(e5_embedder) -> None:  # type: ignore[no-untyped-def]
    warnings: list[str] = []
    built: list[ExtractiveAnswerer] = []

    def extractive() -> ExtractiveAnswerer:
        built.append(ExtractiveAnswerer(e5_embedder))
        return built[-1]

    generator = open_generator(offline_llamacpp(fallback=GeneratorConfig().fallback), warn=warnings.append,
                               extractive=extractive)  # fmt: skip
    assert GeneratorConfig().fallback == "extractive" and generator is built[0]
    assert generator.name == "extractive (no language model)"
    assert len(warnings) == 1 and "LFM2-1.2B-RAG-Q4_K_M.gguf" in warnings[0] and "quote" in warnings[0]


def test_the_extractive_backend_loads_no_model_at_all(e5_embedder) -> None:  # type: ignore[no-untyped-def]
    warnings: list[str] = []
    generator = open_generator(GeneratorConfig(backend="extractive", model="/nowhere"), warn=warnings.append,
                               extractive=lambda: ExtractiveAnswerer(e5_embedder))  # fmt: skip
    assert isinstance(generator, ExtractiveAnswerer) and warnings == []


def test_an_unreachable_hub_is_tried_once_with_a_short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """No five retries with back-off: one request to a port nothing listens on, refused at once."""
    from huggingface_hub import constants

    from tests.fixtures.ports import free_port

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{free_port()}")
    reason = hub_unreachable(timeout=2)
    assert reason is not None and constants.ENDPOINT in reason and "ConnectError" in reason
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert hub_unreachable() == "HF_HUB_OFFLINE is set"


def offline_llamacpp(**changes: object) -> GeneratorConfig:
    """The llamacpp backend asked for a GGUF that is neither a local file nor in the (empty) Hub cache."""
    settings = {"repo": "LiquidAI/LFM2-1.2B-RAG-GGUF", "file": "LFM2-1.2B-RAG-Q4_K_M.gguf"}
    return GeneratorConfig.model_validate({"backend": "llamacpp", "llamacpp": settings, **changes})


@pytest.fixture
def no_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))


def test_auto_is_llamacpp_on_a_machine_without_a_gpu() -> None:
    assert resolve_backend("auto") == "llamacpp"  # this machine: no GPU, llama-cpp-python installed
    assert resolve_backend("transformers") == "transformers"


@pytest.mark.usefixtures("no_hub")
def test_llamacpp_model_out_of_reach_without_fallback_is_one_clear_error() -> None:
    with pytest.raises(GeneratorUnavailable) as caught:
        open_generator(offline_llamacpp(fallback="none"), warn=print)
    message = str(caught.value)
    assert "LiquidAI/LFM2-1.2B-RAG-GGUF/LFM2-1.2B-RAG-Q4_K_M.gguf" in message
    assert "generator.llamacpp.file" in message


@pytest.mark.usefixtures("no_hub")
def test_llamacpp_falls_back_to_the_stand_in_through_llamacpp() -> None:
    warnings: list[str] = []
    generator = open_generator(offline_llamacpp(fallback=STAND_IN), warn=warnings.append)
    assert isinstance(generator, LlamaCppGenerator) and generator.name == "SmolLM2-135M-Instruct (offline stand-in)"
    assert len(warnings) == 1 and "LFM2-1.2B-RAG-Q4_K_M.gguf" in warnings[0]
    assert "".join(generator.stream(QUESTION, max_new_tokens=5)).strip()


@pytest.mark.usefixtures("no_hub")
def test_the_stand_in_loads_with_the_configured_weight_layout() -> None:
    from bot.engines.llamacpp.buffers import drop_amx, extra_buffer_types

    drop_amx()  # what loading with extra layouts does first: AMX is never offered
    for setting, offered in (("on", tuple(extra_buffer_types())), ("off", ())):
        config = offline_llamacpp(
            fallback=STAND_IN,
            llamacpp={
                "repo": "LiquidAI/LFM2-1.2B-RAG-GGUF",
                "file": "LFM2-1.2B-RAG-Q4_K_M.gguf",
                "extra_buffers": setting,
            },
        )
        generator = open_generator(config, warn=lambda line: None)
        assert isinstance(generator, LlamaCppGenerator) and generator.extra_layouts == offered


def test_llamacpp_takes_a_local_gguf_file() -> None:
    folder, gguf_file, _ = stand_in_location("bundled:smollm2-135m-instruct")
    config = offline_llamacpp(fallback="none", llamacpp={"file": str(Path(folder) / gguf_file)})
    generator = open_generator(config, warn=print)
    assert generator.name == Path(gguf_file).stem


def test_a_missing_local_gguf_is_not_mistaken_for_a_hub_file(tmp_path: Path) -> None:
    with pytest.raises(GeneratorUnavailable):
        LlamaCppGenerator.load(tmp_path / "nothing.gguf", name="nothing")
