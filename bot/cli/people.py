"""`caseline people export|erase REF` (subject access and erasure) and `caseline retention`."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from .common import runtime_or_exit


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@click.group("people")
def people_group() -> None:
    """Subject access and erasure: what is held about a person, and removing it."""


@people_group.command("export")
@click.argument("ref")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True, help="Folder to write the bundle in.")
def export_command(ref: str, out_dir: Path) -> None:
    """Write everything held about person REF (or the person of case REF) to a folder:
    export.json, summary.html and recordings/. Items that may not be theirs to receive
    (what others said, staff notes, a withheld-details case) are marked for review."""
    from bot.services import subject_access
    from bot.services.people import PersonNotFound

    runtime = runtime_or_exit()
    try:
        bundle = subject_access.export(runtime, ref, actor=_actor())
    except PersonNotFound as exc:
        raise click.ClickException(str(exc)) from None
    stamp = runtime.now().astimezone(runtime.settings.tz).strftime("%Y-%m-%d-%H%M%S")
    folder = bundle.write(out_dir / f"{bundle.ref}-subject-access-{stamp}")
    click.echo(f"Written to {folder}: export.json, summary.html and "
               f"{len(bundle.files) - 2} recording(s).")
    if bundle.missing_recordings:
        click.echo(f"{bundle.missing_recordings} recording(s) could not be fetched from "
                   "Twilio just now: run the export again later.", err=True)
    click.echo(f"{bundle.for_review} item(s) are marked for review before release: read "
               "summary.html first, and send nothing until they are settled.")


@people_group.command("erase")
@click.argument("ref")
@click.option("--reason", required=True, help="Why, for the audit (e.g. 'retention period "
              "ended').")
@click.option("--early", is_flag=True, help="Erase within the retention period (an erasure "
              "request the council has agreed).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(ref: str, reason: str, early: bool, yes: bool) -> None:
    """Erase person REF, whose cases are all closed and past retention: everything about
    them goes except each case's SG4a statistics. It cannot be undone."""
    from bot.services import people

    runtime = runtime_or_exit()
    if not yes:
        click.confirm(f"Erase {ref} and everything held about them? This cannot be undone",
                      abort=True)
    try:
        erasure = people.erase(runtime, ref, actor=_actor(), reason=reason, early=early)
    except people.ErasureRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(erasure.summary())


@people_group.command("allow-again")
@click.argument("ref")
def allow_again_command(ref: str) -> None:
    """Let an import bring back REF, erased here: a person who comes back with a new
    concern (the case system still uses their reference)."""
    from bot.services import people

    kinds = people.allow_again(runtime_or_exit(), ref, actor=_actor())
    if not kinds:
        raise click.ClickException(f"'{ref}' was not erased here: an import takes it as it is.")
    click.echo(f"{ref} may be imported again.")


@click.command("retention")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
def retention_command(dry_run: bool) -> None:
    """Delete what the retention settings say is due (the scheduler does this hourly)."""
    from bot.records import retention

    runtime = runtime_or_exit()
    outcomes = retention.sweep(runtime, dry_run=dry_run)
    for outcome in outcomes:
        click.echo(outcome.line(dry_run))
    if dry_run:
        click.echo("Nothing was deleted (dry run).")
    if any(o.failed for o in outcomes):
        raise SystemExit(1)
