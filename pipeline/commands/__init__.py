"""Subcommands of ``mir``; every module here is one (see pipeline/cli.py for the contract)."""
