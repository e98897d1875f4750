"""The error every chat adapter raises when its platform refuses it at start-up (a bad token, a missing intent)."""


class StartError(Exception):
    """One sentence: what the platform refused, and what to do."""
