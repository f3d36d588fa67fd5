"""`caseline report`: reports for the team and the national return."""

from __future__ import annotations

from datetime import timedelta

import click

from .common import runtime_or_exit


@click.group("report")
def report_group() -> None:
    """Reports for the team and the national return."""


@report_group.command("msp")
@click.option("--from", "start", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="First day (YYYY-MM-DD).")
@click.option("--to", "end", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="Last day, included (YYYY-MM-DD).")
def report_msp(start, end) -> None:
    """Making Safeguarding Personal: the SG4a record at closure and the person's own view."""
    from sqlmodel import Session

    from bot.records.reports import msp_report

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
