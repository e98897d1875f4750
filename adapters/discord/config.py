"""The `discord:` section of the config: present = the Discord adapter is enabled."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from bot.config import PlatformConfig
from bot.messages import Visibility


class DiscordConfig(PlatformConfig):
    """Token: DISCORD_TOKEN, from the environment."""

    open_to_strangers: ClassVar[bool] = True  # anyone may join a server or DM the bot
    secret_env: ClassVar[tuple[str, ...]] = ("DISCORD_TOKEN",)
    api_base_url: str = "https://discord.com/api/v10"
    answer_channels: list[str] = Field(default_factory=list)
    auto_answer_channels: list[str] = Field(default_factory=list)
    forum_channels: list[str] = Field(default_factory=list)
    admin_roles: list[str] = Field(default_factory=list)
    admin_users: list[str] = Field(default_factory=list)
    helper_role: str | None = None
    # What a channel, thread, forum or DM with no entry under `channels:` may read: anyone can join a server or DM
    # the bot, so public collections only, unless the admin says the whole server is internal.
    default_visibility: Visibility = "public"
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: list[int] | None = None

    def required_tokens(self) -> tuple[str, ...]:
        return ("DISCORD_TOKEN",)

    def unmapped_visibility(self) -> Visibility:
        return self.default_visibility

    @model_validator(mode="after")
    def _shards(self) -> DiscordConfig:
        if self.shard_ids is None:
            return self
        if self.shard_count is None:
            raise ValueError("shard_ids needs shard_count (the fleet's total number of shards)")
        wrong = [i for i in self.shard_ids if not 0 <= i < self.shard_count]
        if wrong or len(set(self.shard_ids)) != len(self.shard_ids) or not self.shard_ids:
            raise ValueError(f"shard_ids must be distinct numbers from 0 to {self.shard_count - 1}")
        return self
