"""The Discord adapter: discord.py messages, forum posts and commands in; answers in threads out."""
