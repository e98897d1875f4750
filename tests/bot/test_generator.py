"""Loading the generator: the configured model when present; else the bundled stand-in, said out loud; or an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import GeneratorConfig
from bot.generator import GeneratorUnavailable
from bot.prompt import ChatMessage
from bot.wiring import open_generator

QUESTION = [ChatMessage("user", "Where is the VPN server?")]


def test_present_model_is_used_without_warning(tiny_lfm2: Path) -> None:
    warnings: list[str] = []
    generator = open_generator(GeneratorConfig(model=str(tiny_lfm2)), warn=warnings.append)
    assert generator.name == str(tiny_lfm2) and warnings == []
    first = "".join(generator.stream(QUESTION, max_new_tokens=8))
    assert first and first == "".join(generator.stream(QUESTION, max_new_tokens=8))  # greedy: deterministic


def test_missing_model_without_fallback_is_one_clear_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "LFM2-1.2B-RAG")
    with pytest.raises(GeneratorUnavailable) as caught:
        open_generator(GeneratorConfig(model=missing, fallback="none"), warn=print)
    assert missing in str(caught.value) and "set generator.model to that folder" in str(caught.value)


def test_unknown_fallback_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GeneratorUnavailable, match="not a bundled model"):
        open_generator(GeneratorConfig(model=str(tmp_path / "x"), fallback="bundled:gpt-9"), warn=print)


@pytest.mark.slow
def test_missing_model_falls_back_to_the_stand_in_and_says_so(tmp_path: Path) -> None:
    warnings: list[str] = []
    missing = str(tmp_path / "LFM2-1.2B-RAG")
    generator = open_generator(GeneratorConfig(model=missing), warn=warnings.append)
    assert generator.name == "SmolLM2-135M-Instruct (offline stand-in)"
    assert len(warnings) == 1 and missing in warnings[0] and "generator.model" in warnings[0]
    assert "".join(generator.stream(QUESTION, max_new_tokens=5)).strip()
