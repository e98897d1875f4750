"""Discord adapter tests: the real discord.py against a wire-level fake Discord on loopback."""
