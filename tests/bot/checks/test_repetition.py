"""The loop guard: a phrase or a line repeated over and over ends the answer with one copy kept; real text passes."""

from __future__ import annotations

from bot.checks.repetition import RepetitionGuard


def fed(text: str, *, piece: int = 3) -> tuple[RepetitionGuard, int | None]:
    """The guard after the text went in, in small pieces; and after how many characters it said stop."""
    guard = RepetitionGuard()
    for start in range(0, len(text), piece):
        if guard.feed(text[start : start + piece]):
            return guard, start + piece
    return guard, None


def test_a_phrase_repeated_without_end_is_cut_to_one_copy() -> None:
    looping = 'Add this line: `ACME_VPN_HOST="acme-connect.acme' + ".acme" * 200
    for piece in (1, 3, 7):
        guard, stopped = fed(looping, piece=piece)
        assert stopped is not None and stopped < 140  # stopped early, not after the whole loop
        assert guard.text == 'Add this line: `ACME_VPN_HOST="acme-connect.acme', piece


def test_the_same_step_again_and_again_is_kept_once() -> None:
    steps = "1. Open the Acme Connect app.\n2. Tap on the VPN icon.\n" + "".join(
        f"{n}. You can now access the VPN by tapping the VPN icon.\n" for n in range(3, 12)
    )
    guard, stopped = fed(steps)
    assert stopped is not None
    assert guard.text == (
        "1. Open the Acme Connect app.\n2. Tap on the VPN icon.\n3. You can now access the VPN by tapping the VPN icon."
    )


def test_a_short_unit_repeated_inside_a_line_is_caught_after_a_few_copies() -> None:
    guard, stopped = fed("Open acme.acme" + ".acme" * 60, piece=2)
    assert stopped is not None and stopped <= len("Open acme.acme") + 5 * 5  # a few copies, not a screenful
    assert guard.text == "Open acme."  # one copy of the unit "acme."


def test_a_short_list_item_said_again_and_again_is_kept_once() -> None:
    items = "You can reach:\n- ACME Expenses\n" + "- ACME People\n" * 7
    guard, stopped = fed(items)
    assert stopped is not None
    assert guard.text == "You can reach:\n- ACME Expenses\n- ACME People"


def test_ordinary_answers_pass_untouched() -> None:
    answers = [
        "The VPN server is vpn.acme.example and uses port 1194 (UDP). " * 2,  # said twice is not a loop
        "| Step | What |\n|---|---|\n| 1 | Open |\n| 2 | Sign in |\n| 3 | Connect |\n",
        "Steps:\n- Open Settings.\n- Open Settings > Network.\n- Open Settings > Network > VPN.\n",
        "=" * 100 + "\nTitle\n" + "-" * 100 + "\n",  # rule lines
        "ha" * 10 + ", that was funny.",
        "| A | B | C | D | E | F | G |\n| --- | --- | --- | --- | --- | --- | --- |\n| 1 | 2 | 3 | 4 | 5 | 6 | 7 |\n",
        "Yes:\n- VPN\n- VPN\nthat is, twice.",  # a short item said twice is not yet a loop
        "It is 1000000000 bytes, 0.000000001 s.",
    ]
    for answer in answers:
        guard, stopped = fed(answer)
        assert stopped is None and guard.text == answer


def test_a_model_that_wrote_nothing_or_a_few_characters_is_answered_at_once() -> None:
    """An empty completion (a model server cut short) once spun forever here, a core at 100 %, the asker waiting."""
    for text in ("", "a", "ab", "abc", "ab ab"):
        guard = RepetitionGuard()
        if text:
            assert not guard.feed(text)
        assert guard.text == text
