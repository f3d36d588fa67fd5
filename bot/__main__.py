"""`python -m bot ...` is the same as `caseline ...` (used to start child processes)."""

from bot.cli.main import main

main()
