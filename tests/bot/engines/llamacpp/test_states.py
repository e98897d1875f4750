"""Saved model states: the longest strict prefix wins, a thread's older states give way, and the byte budget holds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.engines.llamacpp.states import SavedState, StateCache


def state(tokens: list[int], size: int = 10) -> SavedState:
    return SavedState(tokens=tuple(tokens), data=bytes(size))


def test_the_longest_strict_prefix_is_resumed() -> None:
    cache = StateCache(max_bytes=1000)
    cache.add(state([1, 2]), supersedes=False)
    cache.add(state([1, 2, 3, 4]), supersedes=False)
    cache.add(state([9, 9, 9]))
    assert cache.best_prefix([1, 2, 3, 4, 5]) == state([1, 2, 3, 4])
    assert cache.best_prefix([1, 2, 3, 7]) == state([1, 2])
    assert cache.best_prefix([1, 2, 3, 4]) == state([1, 2])  # the model must read at least one new token
    assert cache.best_prefix([5]) is None


def test_a_prompts_state_replaces_the_states_it_extends_but_an_answers_state_does_not() -> None:
    cache = StateCache(max_bytes=1000)
    cache.add(state([1, 2]))  # after the first prompt
    cache.add(state([1, 2, 3]), supersedes=False)  # after its answer: the prompt's state stays as the fallback
    assert len(cache) == 2
    cache.add(state([1, 2, 3, 4, 5]))  # the follow-up's prompt: the thread has moved on
    assert len(cache) == 1 and cache.size_bytes == 10


def test_the_least_recently_used_go_first_when_over_budget() -> None:
    cache = StateCache(max_bytes=30)
    for thread in (1, 2, 3):
        cache.add(state([thread, 0]))
    cache.best_prefix([1, 0, 5])  # thread 1 is used again
    cache.add(state([4, 0]))
    assert cache.best_prefix([2, 0, 5]) is None  # thread 2 was the least recently used
    assert cache.best_prefix([1, 0, 5]) is not None and cache.size_bytes == 30


def test_a_state_bigger_than_the_budget_is_not_kept() -> None:
    cache = StateCache(max_bytes=5)
    cache.add(state([1, 2], size=6))
    assert len(cache) == 0 and cache.size_bytes == 0


@given(st.lists(st.tuples(st.lists(st.integers(0, 3), min_size=1, max_size=6), st.integers(1, 40), st.booleans())))
def test_the_budget_always_holds(additions: list[tuple[list[int], int, bool]]) -> None:
    cache = StateCache(max_bytes=64)
    for tokens, size, supersedes in additions:
        cache.add(state(tokens, size), supersedes=supersedes)
        assert cache.size_bytes <= 64
        assert cache.size_bytes == sum(len(s.data) for s in cache._states.values())
