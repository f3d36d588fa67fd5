"""The `caseline` command: run, migrate, import, change cases, set PINs, try flows.

Commands are thin: they parse, call a service in `bot/`, and print the outcome in
words an administrator can act on. Errors exit non-zero with the reason, never a
traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .config import ConfigError
from .runtime import Runtime


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
    from . import notices

    notices.install(runtime)  # case changes made here send their notices
    return runtime


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Caseline: a text and phone update line for adult safeguarding cases."""


@cli.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Build or update the database schema with the migrations."""
    from . import db

    runtime = runtime_or_exit()
    db.upgrade(runtime.engine, revision)
    click.echo(f"Database is at revision {db.current_revision(runtime.engine)}.")


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["teams", "workers", "people", "representatives",
                                           "cases"]),
              help="What a CSV file holds (default: from its name, e.g. people.csv).")
def import_command(file: Path, kind: str | None) -> None:
    """Import teams, workers, people, representatives and cases from YAML or CSV.

    Records are matched on their reference, so importing a file again only
    applies what changed. A file with any bad row imports nothing.
    """
    from .importer import ImportFailed, import_file

    runtime = runtime_or_exit()

    def progress(done: int, total: int) -> None:
        click.echo(f"\r{done}/{total} records", nl=done >= total, err=True)

    try:
        report = import_file(file, runtime.engine, pin_key=runtime.settings.pin_key, kind=kind,
                             progress=progress)
    except ImportFailed as exc:
        for error in exc.errors:
            click.echo(error, err=True)
        click.echo(f"Nothing was imported from {file}: fix the rows above and try again.",
                   err=True)
        sys.exit(1)
    click.echo(report.summary())


from .cli_cases import cases_group  # noqa: E402  (registered below, kept in its own module)
from .cli_run import demo, fake_twilio, scheduler, serve, sweep, worker  # noqa: E402

for command in (cases_group, serve, worker, scheduler, sweep, demo, fake_twilio):
    cli.add_command(command)


@cli.group("pin")
def pin_group() -> None:
    """Set the PIN a person or representative uses to hear about a case."""


@pin_group.command("set")
@click.option("--person", "person_ref", help="The person's reference.")
@click.option("--representative", "rep_ref", help="The representative's reference.")
@click.option("--pin", prompt="New PIN (4 to 6 digits)", hide_input=True,
              confirmation_prompt=True, help="Prompted for (hidden) when not given.")
def pin_set(person_ref: str | None, rep_ref: str | None, pin: str) -> None:
    """Set a PIN; it is stored only as a keyed hash and never shown again."""
    from .services.pins import PinChangeError, set_pin

    if bool(person_ref) == bool(rep_ref):
        raise click.UsageError("Give exactly one of --person REF or --representative REF.")
    runtime = runtime_or_exit()
    try:
        with runtime.session() as session:
            who, weak = set_pin(session, pin, key=runtime.settings.pin_key,
                                person_ref=person_ref, representative_ref=rep_ref)
    except PinChangeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"PIN set for {who}.")
    if weak:
        click.echo("Warning: this PIN is easy to guess (repeated or counting digits).", err=True)


@cli.group("report")
def report_group() -> None:
    """Reports for the team and the national return."""


@report_group.command("msp")
@click.option("--from", "start", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="First day (YYYY-MM-DD).")
@click.option("--to", "end", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="Last day, included (YYYY-MM-DD).")
def report_msp(start, end) -> None:
    """Making Safeguarding Personal: the SG4a record at closure and the person's own view."""
    from datetime import timedelta

    from sqlmodel import Session

    from .reports import msp_report

    runtime = runtime_or_exit()
    tz = runtime.settings.tz
    first = start.replace(tzinfo=tz)
    after = (end + timedelta(days=1)).replace(tzinfo=tz)
    if after <= first:
        raise click.UsageError("--to must not be before --from.")
    with Session(runtime.engine) as session:
        report = msp_report(session, first, after)
    report.end = end.replace(tzinfo=tz)
    click.echo("\n".join(report.lines()))


from .chat import chat  # noqa: E402
from .flows_cli import flows  # noqa: E402

cli.add_command(flows)
cli.add_command(chat)


def main() -> None:
    cli(prog_name="caseline")
