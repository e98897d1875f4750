"""Channel scoping: a channel reads its mapping, else the defaults; public channels never read internal ones."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings
from bot.messages import IncomingMessage
from bot.scoping import readable_collections

COLLECTIONS = [
    {"name": "handbook", "paths": ["a"], "visibility": "internal"},
    {"name": "community", "paths": ["b"], "visibility": "public"},
    {"name": "hr", "paths": ["c"], "visibility": "internal"},
]


def settings(**values: object) -> Settings:
    return Settings.model_validate({"collections": COLLECTIONS, **values})


def msg(channel: str, *, direct: bool = False) -> IncomingMessage:
    return IncomingMessage("slack", "T1", channel, "t", "U1", "hi", is_direct=direct)


def test_mapped_channel_reads_only_its_collections() -> None:
    s = settings(channels={"C_HR": ["hr"], "dm": {"collections": ["handbook"]}})
    assert readable_collections(s, msg("C_HR")) == ["hr"]
    assert readable_collections(s, msg("D42", direct=True)) == ["handbook"]


def test_unmapped_channel_reads_the_defaults() -> None:
    assert readable_collections(settings(bot={"default_collections": ["handbook"]}), msg("C9")) == ["handbook"]
    assert readable_collections(settings(), msg("C9")) == ["handbook", "community", "hr"]


def test_public_channel_never_reads_internal_collections() -> None:
    s = settings(channels={"G1": {"visibility": "public"}})
    assert readable_collections(s, msg("G1")) == ["community"]


def test_config_refuses_a_public_channel_mapped_to_an_internal_collection(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.config import load_settings

    path = tmp_path / "c.yaml"
    path.write_text(
        "collections: [{name: handbook, paths: [a]}]\nchannels: {G1: {visibility: public, collections: [handbook]}}\n"
    )
    with pytest.raises(ConfigError, match=r"channels\.G1 is public but lists internal collection"):
        load_settings(path)
