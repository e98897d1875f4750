"""The terminal adapter: the `supportbot` command."""
