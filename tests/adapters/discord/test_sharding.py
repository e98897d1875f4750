"""Discord sharding: a process configured with discord.shard_count / shard_ids identifies as those shards.

The fake gateway serves one guild to one session, so it cannot show Discord routing another shard's guilds
elsewhere; what it can show is the IDENTIFY payload carrying [shard_id, shard_count], which is all Discord
routes by, and the sharded client coming up ready and registering its commands as the unsharded one does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("discord")

import discord

from adapters.discord.client import ShardedSupportClient, SupportClient, support_client
from bot.config import ConfigError, load_settings
from bot.desk import BotDesk
from bot.wiring import Bot, Knowledge
from tests.adapters.discord.fake_discord import FakeDiscord, connected
from tests.adapters.discord.fake_discord_gateway import MESSAGE_CONTENT


def bot_with(tmp_path: Path, discord_yaml: str) -> Bot:
    config = tmp_path / "supportbot.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\ndiscord: {discord_yaml}\n")
    return Bot(Knowledge(load_settings(config)), warn=print)


def identified(bot: Bot) -> list[object]:
    """The `shard` field of every IDENTIFY the fake gateway received from the client `run_discord` builds."""

    async def scenario() -> list[object]:
        async with FakeDiscord(privileged_intents=MESSAGE_CONTENT) as fake:
            assert bot.knowledge.settings.discord is not None
            client = support_client(desk=BotDesk(bot), config=bot.knowledge.settings.discord, guild_ready_timeout=0.05)
            async with connected(client, fake, timeout=30):
                assert client.is_ready() and await fake.wait_for("PUT", "/applications/{application_id}/commands")
            return [frame.d.get("shard") for frame in fake.gateway.frames if frame.op == 2]

    return asyncio.run(scenario())


def test_a_process_with_shard_ids_0_of_2_identifies_as_shard_0_of_2(tmp_path: Path) -> None:
    bot = bot_with(tmp_path, "{shard_count: 2, shard_ids: [0]}")
    assert identified(bot) == [[0, 2]]


def test_without_sharding_one_connection_identifies_with_no_shard(tmp_path: Path) -> None:
    bot = bot_with(tmp_path, "{}")
    assert identified(bot) == [None]


def test_the_client_is_sharded_only_when_configured(tmp_path: Path) -> None:
    sharded = support_client(desk=BotDesk(bot_with(tmp_path, "{shard_count: 4, shard_ids: [1, 3]}")),
                             config=load_settings(tmp_path / "supportbot.yaml").discord)  # type: ignore[arg-type]  # fmt: skip
    assert isinstance(sharded, ShardedSupportClient) and isinstance(sharded, discord.AutoShardedClient)
    assert sharded.shard_ids == [1, 3] and sharded.shard_count == 4
    plain = support_client(
        desk=BotDesk(bot_with(tmp_path, "{}")), config=load_settings(tmp_path / "supportbot.yaml").discord
    )  # type: ignore[arg-type]
    assert type(plain) is SupportClient


@pytest.mark.parametrize(
    ("discord_yaml", "says"),
    [
        ("{shard_ids: [0]}", "shard_ids needs shard_count"),
        ("{shard_count: 2, shard_ids: [2]}", "distinct numbers from 0 to 1"),
        ("{shard_count: 2, shard_ids: [0, 0]}", "distinct numbers from 0 to 1"),
        ("{shard_count: 0}", "shard_count"),
    ],
)
def test_bad_shard_settings_are_refused_in_one_line(tmp_path: Path, discord_yaml: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        bot_with(tmp_path, discord_yaml)
