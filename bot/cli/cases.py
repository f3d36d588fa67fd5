"""`caseline cases ...`: the case changes a worker makes, as thin calls on the services."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import date

import click

# The services' OUTCOMES and RISKS names (a test keeps them equal): importing the services
# here would load the database layer for `caseline cases --help`.
OUTCOME_NAMES = ("fully", "partially", "not-achieved", "none-expressed", "not-asked",
                 "dont-know", "not-recorded")
RISK_NAMES = ("remained", "reduced", "removed")


def _services():
    from bot.services import cases as case_service

    return case_service


def _actor() -> str:
    """Who made a change from the command line, for the case history."""
    return f"cli:{getpass.getuser()}"


def _run(change: Callable, *args, **kwargs):
    """Apply one change in one transaction; a refused change exits 1 with its reason."""
    from .common import runtime_or_exit

    runtime = runtime_or_exit()
    try:
        with runtime.session() as session:
            return change(session, *args, actor=_actor(), **kwargs)
    except _services().CaseChangeError as exc:
        raise click.ClickException(str(exc)) from None


DATE = click.DateTime(formats=["%Y-%m-%d"])
CHECK_ONLY = click.option("--check", is_flag=True,
                          help="Only check the words and their text cost; change nothing.")


def _show_advice(ref: str, text: str, what: str) -> None:
    """The wording checks the flows get, for words a worker wrote; and their text cost."""
    advice = _run(lambda session, actor: _services().advise(session, ref, text, what))
    for warning in advice.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(f"The {what} takes {advice.parts} text part(s) on its own ({advice.encoding}).")


@click.group("cases")
def cases_group() -> None:
    """Change a case: post news, change worker, close, pause contact."""


@cases_group.command("news")
@click.argument("ref")
@click.argument("text")
@click.option("--next-contact", type=DATE, help="When the person will next hear (YYYY-MM-DD).")
@CHECK_ONLY
def news(ref: str, text: str, next_contact, check: bool) -> None:
    """Post the latest news on case REF, in plain words the person will hear.

    It is read to the person and texted to the relatives and friends they let hear news,
    so it is checked as the flows are: jargon, long sentences, the reading grade, "you",
    and characters that make a text cost more.
    """
    if check:
        return _show_advice(ref, text, "news")
    when: date | None = next_contact.date() if next_contact else None
    case = _run(_services().post_news, ref, text, next_contact_by=when)
    _show_advice(ref, text, "news")
    click.echo(f"News posted on {case.ref}.")


@cases_group.command("worker")
@click.argument("ref")
@click.argument("worker_ref", metavar="WORKER")
def worker(ref: str, worker_ref: str) -> None:
    """Make WORKER (a worker reference) the named worker for case REF."""
    case = _run(_services().change_worker, ref, worker_ref)
    click.echo(f"{case.ref} now has worker {worker_ref}.")


@cases_group.command("close")
@click.argument("ref")
@click.option("--summary", required=True, help="What happened, in plain words.")
@click.option("--outcomes", required=True, type=click.Choice(OUTCOME_NAMES),
              help="Were the person's wished-for outcomes achieved (SG4a).")
@click.option("--risk", required=True, type=click.Choice(RISK_NAMES),
              help="The risk at closure.")
@CHECK_ONLY
def close(ref: str, summary: str, outcomes: str, risk: str, check: bool) -> None:
    """Close case REF with what happened and the Making Safeguarding Personal record.

    The summary is read to the person and to those they trust, in the same words: it is
    checked as news is, and "you" in it is pointed out.
    """
    if check:
        return _show_advice(ref, summary, "closure summary")
    case = _run(_services().close_case, ref, summary=summary, outcomes=outcomes, risk=risk)
    _show_advice(ref, summary, "closure summary")
    click.echo(f"{case.ref} is closed.")


@cases_group.command("pause")
@click.argument("ref")
@click.option("--until", required=True, type=DATE, help="Last day of the pause (YYYY-MM-DD).")
def pause(ref: str, until) -> None:
    """Pause check-ins and notices to the person on case REF until a date."""
    case = _run(_services().pause_contact, ref, until.date())
    click.echo(f"Contact for {case.ref} is paused until {until.date().isoformat()}.")
