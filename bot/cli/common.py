"""What every `caseline` command module shares: the runtime, or a clear exit."""

from __future__ import annotations

import sys

import click

from bot.config import ConfigError
from bot.runtime import Runtime


def runtime_or_exit() -> Runtime:
    """The runtime from settings, or a list of what to fix and exit code 2."""
    try:
        runtime = Runtime.from_env()
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(runtime.close)
    from bot.outreach import notices

    notices.install(runtime)  # case changes made here send their notices
    return runtime
