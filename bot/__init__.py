"""The conversation: configuration, history, scoping, language, prompt, generation. Knows no platform."""
