"""The prompt as LFM2 sees it, rendered by the tokenizer's own chat template: one golden test per format."""

from __future__ import annotations

from bot.history import Turn
from bot.prompt import build_messages
from knowledge.documents import Hit


def hit(path: str, title: str, heading: str, text: str) -> Hit:
    return Hit(0.9, path + "-0", "handbook", path, title, heading, text, 0)


PASSAGES = [
    hit("it/vpn.md", "VPN", "Connection details", "Server: vpn.acme.example, port 1194."),
    hit("it/vpn.md", "VPN", "Installing on macOS", "Install Acme Connect from Self Service."),
]
HISTORY = [Turn("user", "How do I connect to the VPN?"), Turn("assistant", "Use Acme Connect.")]


def test_documents_in_the_system_prompt(tiny_generator) -> None:  # type: ignore[no-untyped-def]
    messages = build_messages(question="Et sur Mac ?", passages=PASSAGES, history=HISTORY, language="fr")
    assert tiny_generator.render(messages) == (
        "<|startoftext|><|im_start|>system\n"
        "The following documents may provide you additional information to answer questions:\n\n"
        "<document1>\nVPN > Connection details\n\nServer: vpn.acme.example, port 1194.\n</document1>\n\n"
        "<document2>\nVPN > Installing on macOS\n\nInstall Acme Connect from Self Service.\n</document2>\n\n"
        "Always respond in French, regardless of the user's input language.<|im_end|>\n"
        "<|im_start|>user\nHow do I connect to the VPN?<|im_end|>\n"
        "<|im_start|>assistant\nUse Acme Connect.<|im_end|>\n"
        "<|im_start|>user\nEt sur Mac ?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_context_in_the_user_turn(tiny_generator) -> None:  # type: ignore[no-untyped-def]
    messages = build_messages(
        question="What port?", passages=PASSAGES[:1], history=[], language="en", prompt_format="user_context"
    )
    assert tiny_generator.render(messages) == (
        "<|startoftext|><|im_start|>system\n"
        "Always respond in English, regardless of the user's input language.<|im_end|>\n"
        "<|im_start|>user\nUse the following context to answer questions:\n\n"
        "<document1>\nVPN > Connection details\n\nServer: vpn.acme.example, port 1194.\n</document1>\n\n"
        "What port?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_no_language_line_for_an_unsupported_language(tiny_generator) -> None:  # type: ignore[no-untyped-def]
    messages = build_messages(question="Hoe werkt de VPN?", passages=PASSAGES[:1], history=[], language="nl")
    assert "Always respond" not in tiny_generator.render(messages)
