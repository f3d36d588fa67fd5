"""The `caseline` command (`bot.cli:main`), one module per group of commands."""

from .main import cli, main

__all__ = ["cli", "main"]
