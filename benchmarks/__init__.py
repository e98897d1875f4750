"""Benchmarks: run each from the repository's root as a module, `python -m benchmarks.NAME --help`."""
