"""Platform adapters (terminal, Slack, Discord): translate platform events to and from the bot's types."""
