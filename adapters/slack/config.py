"""The `slack:` section of the config: present = the Slack adapter is enabled."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from bot.config import PlatformConfig


class SlackConfig(PlatformConfig):
    """Tokens: SLACK_BOT_TOKEN, SLACK_APP_TOKEN (socket mode), SLACK_SIGNING_SECRET (http mode), from the
    environment only."""

    secret_env: ClassVar[tuple[str, ...]] = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")
    mode: Literal["socket", "http"] = "socket"
    port: int = Field(default=3000, ge=1, le=65535)
    api_base_url: str = "https://slack.com/api/"
    admins: list[str] = Field(default_factory=list)
    auto_answer_channels: list[str] = Field(default_factory=list)
    escalation_group: str | None = None

    def required_tokens(self) -> tuple[str, ...]:
        second = "SLACK_APP_TOKEN" if self.mode == "socket" else "SLACK_SIGNING_SECRET"
        return ("SLACK_BOT_TOKEN", second)
