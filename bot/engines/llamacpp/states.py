"""Saved model states, so a thread's follow-up prefills only what is new; bounded in bytes, least recently used first.

LFM2 mixes short convolutions with attention. Its convolution state is recurrent, so llama.cpp cannot cut a cached
context back to a shorter common prefix ("partial kv removal not supported"): a state is only reusable when
everything it has read is an exact prefix of the new prompt. A thread's next prompt is its previous prompt, the
answer, and the new turn, which is exactly that, as long as the prompt layout keeps earlier turns unchanged.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SavedState:
    tokens: tuple[int, ...]  # everything the model had read when the state was saved
    data: bytes  # the engine's own serialisation of its memory for those tokens


class StateCache:
    """Longest-prefix lookup over saved states; the total size of their data stays under `max_bytes`."""

    def __init__(self, *, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._states: OrderedDict[tuple[int, ...], SavedState] = OrderedDict()
        self._bytes = 0

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._states)

    def best_prefix(self, prompt: Sequence[int]) -> SavedState | None:
        """The saved state with the longest token sequence that is a strict prefix of `prompt`.

        Strict, because the model must read at least one new token to have logits to continue from.
        """
        best: SavedState | None = None
        for state in self._states.values():
            size = len(state.tokens)
            if size < len(prompt) and (best is None or size > len(best.tokens)) and _starts_with(prompt, state.tokens):
                best = state
        if best is not None:
            self._states.move_to_end(best.tokens)
        return best

    def add(self, state: SavedState, *, supersedes: bool = True) -> None:
        """Keeps `state`, then drops the oldest states while over budget.

        With `supersedes`, the states it extends go first: their thread has moved on. A state saved after an
        answer does not supersede the one saved after its prompt, which stays as the fallback for when the
        answer, re-read from the thread's history, does not tokenize exactly as it was generated.
        """
        if len(state.data) > self._max_bytes:
            return
        if supersedes:
            for tokens in [t for t in self._states if len(t) < len(state.tokens) and _starts_with(state.tokens, t)]:
                self._drop(tokens)
        if state.tokens in self._states:
            self._drop(state.tokens)
        self._states[state.tokens] = state
        self._bytes += len(state.data)
        while self._bytes > self._max_bytes:
            self._drop(next(iter(self._states)))

    def clear(self) -> None:
        self._states.clear()
        self._bytes = 0

    def _drop(self, tokens: tuple[int, ...]) -> None:
        self._bytes -= len(self._states.pop(tokens).data)


def _starts_with(sequence: Sequence[int], prefix: Sequence[int]) -> bool:
    return len(prefix) <= len(sequence) and tuple(sequence[: len(prefix)]) == tuple(prefix)
