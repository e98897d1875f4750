.PHONY: test lint check
test:
	python -m pytest
lint:
	ruff check . && ruff format --check .
check: lint
	mypy
