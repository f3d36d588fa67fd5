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

    runtime = runtime_or_exit(schema=False)
    db.upgrade(runtime.engine, revision)
    click.echo(f"Database is at revision {db.current_revision(runtime.engine)}.")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["teams", "workers", "people", "representatives",
                                           "cases"]),
              help="What a CSV file holds (default: from its name, e.g. people.csv).")
@click.option("--strict", is_flag=True,
              help="Import nothing if any field conflicts with a change made here.")
def import_command(file: Path, kind: str | None, strict: bool) -> None:
    """Import teams, workers, people, representatives and cases from YAML or CSV.

    Records are matched on their reference, so importing a file again only
    applies what changed. A file with any bad row imports nothing.

    What staff change here (a closure, news, a PIN) is never undone by an
    import: a field the file has not changed is left as it is here, and a
    field both sides changed is a conflict, kept as it is here and listed
    with how to resolve it while the rest applies (exit status 3), or with
    --strict nothing is imported (exit status 1). A closed case reopens only
    when the row gives reopened_at.
    """
    from bot.importer import ImportFailed, import_file

    runtime = runtime_or_exit()

    def progress(done: int, total: int) -> None:
        click.echo(f"\r{done}/{total} records", nl=done >= total, err=True)

    try:
        report = import_file(file, runtime.engine, pin_key=runtime.settings.pin_key, kind=kind,
                             progress=progress, strict=strict, timezone=runtime.settings.timezone)
    except ImportFailed as exc:
        for error in exc.errors:
            click.echo(error, err=True)
        click.echo(f"Nothing was imported from {file}: fix the rows above and try again.",
                   err=True)
        sys.exit(1)
    for _, skipped in sorted(report.skipped):
        click.echo(skipped, err=True)
    for conflict in report.conflict_lines:
        click.echo(conflict, err=True)
    click.echo(report.summary())
    if report.conflicts:
        sys.exit(3)  # imported, but someone must settle the conflicts listed
