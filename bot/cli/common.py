"""What every `caseline` command module shares: the runtime, or a clear exit."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from bot.config import ConfigError

if TYPE_CHECKING:  # imported when a command runs, so that its --help answers at once
    from bot.runtime import Runtime


def runtime_or_exit(schema: bool = True, service: bool = False) -> Runtime:
    """The runtime from settings, or a list of what to fix and exit code 2. With `schema`
    (the default) the database must be built and at this version's revision: otherwise the
    one command to run, not a traceback from the first query. A `service` (web, worker,
    scheduler) starts while the database is down: it keeps texts and alarms until it is
    back."""
    from bot.runtime import Runtime

    try:
        runtime = Runtime.from_env()
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(runtime.close)
    if schema:
        from bot import db

        problem = db.schema_problem(runtime.engine, down_is_a_problem=not service)
        if problem:
            click.echo(problem, err=True)
            sys.exit(2)
    from bot.outreach import notices

    notices.install(runtime)  # case changes made here send their notices
    return runtime
