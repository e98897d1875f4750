"""The llamacpp backend on the real stand-in model: the transformers path's answers, follow-ups that resume a saved
state and read only what is new (and answer exactly as a cold start would), stops, and prompts too long."""

from __future__ import annotations

import json

import pytest

from bot.engines.llamacpp.generator import LlamaCppGenerator
from bot.prompt import ChatMessage
from tests.conftest import EXAMPLES

VPN = [
    ChatMessage("system", "The VPN server for Acme employees is vpn.acme.example and uses port 1194."),
    ChatMessage("user", "What port does the VPN use?"),
]


def answer(generator: LlamaCppGenerator, messages: list[ChatMessage], tokens: int = 40) -> str:
    return "".join(generator.stream(messages, max_new_tokens=tokens))


def thread(first: str, second: str) -> list[ChatMessage]:
    return [*VPN, ChatMessage("assistant", first.strip()), ChatMessage("user", second)]


@pytest.mark.slow
def test_same_prompt_and_answers_as_the_transformers_path(smollm2_generator, smollm2_transformers) -> None:  # type: ignore[no-untyped-def]
    """Greedy answers agree at the start; further on, llama.cpp's 8-bit activations against transformers' float32
    may tip a near tie ("most" / "many" VPN servers): benchmarks/backend_parity.py measures it on the example set."""
    assert smollm2_generator.render(VPN) == smollm2_transformers.render(VPN)  # the GGUF's template, same text
    questions = [json.loads(line) for line in (EXAMPLES.parent / "questions.jsonl").read_text().splitlines()[:3]]
    for question in [VPN, *([ChatMessage("user", q["question"])] for q in questions)]:
        fast = answer(smollm2_generator, question, tokens=10)
        assert fast == "".join(smollm2_transformers.stream(question, max_new_tokens=10)), question
    assert "1194" in answer(smollm2_generator, VPN)


def test_a_follow_up_reads_only_the_new_turn_and_answers_as_a_cold_start(smollm2_generator) -> None:  # type: ignore[no-untyped-def]
    generator: LlamaCppGenerator = smollm2_generator
    generator.clear_states()
    first = answer(generator, VPN)
    cold_first = generator.last_prefill_tokens
    follow_up = thread(first, "And what is the server's name?")
    served = answer(generator, follow_up)
    served_prefill = generator.last_prefill_tokens
    generator.clear_states()
    cold = answer(generator, follow_up)
    assert served == cold  # resuming a saved state changes nothing in the answer
    assert generator.last_prefill_tokens == len(generator.prompt_tokens(follow_up))
    assert served_prefill < generator.last_prefill_tokens - cold_first  # not even the first prompt again


def test_a_saved_state_survives_other_threads_in_between(smollm2_generator) -> None:  # type: ignore[no-untyped-def]
    generator: LlamaCppGenerator = smollm2_generator
    generator.clear_states()
    first = answer(generator, VPN)
    answer(generator, [ChatMessage("user", "Say hello.")])  # another thread takes the model meanwhile
    follow_up = thread(first, "Is it open on weekends?")
    answer(generator, follow_up)
    # resumed from this thread's saved state, not from zero
    assert generator.last_prefill_tokens < len(generator.prompt_tokens(follow_up)) / 2


def test_a_stream_closed_early_leaves_the_next_answer_unharmed(smollm2_generator) -> None:  # type: ignore[no-untyped-def]
    generator: LlamaCppGenerator = smollm2_generator
    generator.clear_states()
    expected = answer(generator, [ChatMessage("user", "Name three colours.")])
    stream = generator.stream(VPN, max_new_tokens=40)
    next(stream)
    stream.close()  # a timeout or a cancelled question
    generator.clear_states()
    assert answer(generator, [ChatMessage("user", "Name three colours.")]) == expected


def test_no_saved_states_when_the_budget_is_zero(smollm2_generator) -> None:  # type: ignore[no-untyped-def]
    generator = LlamaCppGenerator(smollm2_generator._llama, name="no cache", state_cache_mb=0)
    first = answer(generator, VPN)
    answer(generator, [ChatMessage("user", "Say hello.")])
    answer(generator, thread(first, "And the server's name?"))
    assert generator._states.size_bytes == 0
    assert generator.last_prefill_tokens == len(generator.prompt_tokens(thread(first, "And the server's name?")))


def test_a_prompt_longer_than_the_context_is_a_clear_error(smollm2_generator) -> None:  # type: ignore[no-untyped-def]
    huge = [ChatMessage("user", "word " * 9000)]
    with pytest.raises(ValueError, match="more than the model's context of 8192"):
        answer(smollm2_generator, huge)
    assert "1194" in answer(smollm2_generator, VPN)  # and the model still answers the next question
