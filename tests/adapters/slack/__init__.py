"""Slack adapter tests: the real slack-bolt app against a fake Web API on loopback."""
