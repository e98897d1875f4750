"""`python -m adapters.cli`: the same as the `supportbot` command."""

from adapters.cli.main import main

main()
