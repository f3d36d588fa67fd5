"""`python -m bot ...` is the same as `caseline ...` (used to start child processes)."""

from .cli import main

main()
