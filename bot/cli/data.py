"""`caseline db upgrade` and `caseline import FILE`: the schema and the data it holds."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import runtime_or_exit


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Build or update the database schema with the migrations."""
    from bot import db

    runtime = runtime_or_exit()
    db.upgrade(runtime.engine, revision)
    click.echo(f"Database is at revision {db.current_revision(runtime.engine)}.")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["teams", "workers", "people", "representatives",
                                           "cases"]),
              help="What a CSV file holds (default: from its name, e.g. people.csv).")
def import_command(file: Path, kind: str | None) -> None:
    """Import teams, workers, people, representatives and cases from YAML or CSV.

    Records are matched on their reference, so importing a file again only
    applies what changed. A file with any bad row imports nothing.
    """
    from bot.importer import ImportFailed, import_file

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
