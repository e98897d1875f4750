"""A transformers stopping criterion driven by an event, so a closed answer stream stops the model."""

from __future__ import annotations

import threading
from typing import Any

import torch
from transformers import StoppingCriteria


class StopWhen(StoppingCriteria):
    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        done = self._event.is_set()
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)  # type: ignore[return-value]
