"""Which collections a channel may read: its mapping, else the defaults; public channels never see internal ones."""

from __future__ import annotations

from bot.config import ChannelConfig, Settings
from bot.messages import IncomingMessage

DM_KEY = "dm"


def channel_config(settings: Settings, message: IncomingMessage) -> ChannelConfig:
    keys = [message.channel, f"{message.platform}:{message.channel}"] + ([DM_KEY] if message.is_direct else [])
    for key in keys:
        if key in settings.channels:
            return settings.channels[key]
    return ChannelConfig(visibility=message.default_visibility)  # unmapped: what its platform allows by default


def readable_collections(settings: Settings, message: IncomingMessage) -> list[str]:
    """The collections this message's channel may read; the visibility check is enforced here, at run time
    too, so that no config mistake or code path can put an internal passage in front of a public audience."""
    channel = channel_config(settings, message)
    wanted = channel.collections or settings.bot.default_collections or [c.name for c in settings.collections]
    visibility = {c.name: c.visibility for c in settings.collections}
    if channel.visibility == "public":
        return [name for name in wanted if visibility.get(name) == "public"]
    return [name for name in wanted if name in visibility]
