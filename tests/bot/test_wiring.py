"""The wiring's choices from the settings: here, how many CPU threads the embedding model gets."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Settings
from bot.wiring import embedding_threads


def settings(**sections: Any) -> Settings:
    return Settings.model_validate({"collections": [], **sections})


@pytest.mark.parametrize(
    ("backend", "serving", "expected"),
    [
        ("auto", True, 1),  # llama.cpp on this machine (no GPU): the model engine has the cores
        ("llamacpp", True, 1),
        ("openai", True, 1),  # the model server may well run on the same host
        ("transformers", True, None),  # torch runs the model too: its own choice of threads
        ("llamacpp", False, None),  # `supportbot sync`, `search`, `ask`: every core for the embedding model
    ],
)
def test_a_serving_process_embeds_on_one_thread_unless_torch_runs_the_model(
    backend: str, serving: bool, expected: int | None
) -> None:
    assert embedding_threads(settings(generator={"backend": backend}), serving=serving) == expected


def test_embedding_threads_when_set_wins_and_a_gpu_is_left_alone() -> None:
    assert embedding_threads(settings(embedding={"threads": 2}), serving=True) == 2
    assert embedding_threads(settings(embedding={"threads": 2}), serving=False) == 2
    assert embedding_threads(settings(embedding={"device": "cuda"}), serving=True) is None
