"""`caseline clock`: show, move or reset the line's time (never in production).

Moving the clock lets a person or a test play a case's whole life in minutes: set it three
weeks ahead and the next sweep (`caseline sweep`, or the scheduler within five minutes)
finds the check-ins due. What it moves and what it does not is said in bot/clock.py.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import click

from bot import clock
from bot.config import ConfigError, Settings, load_settings

_STEP = re.compile(r"^\+(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if settings.is_production:
        raise click.ClickException("The line's clock cannot be moved in production: "
                                   "it runs on real time.")
    clock.use(clock.file_for(settings.instance_path))  # `+3d` counts from the line's time
    return settings


def _describe(settings: Settings) -> str:
    path = clock.file_for(settings.instance_path)
    shift = clock.read_offset(path)
    shown = (clock.real_now() + shift).astimezone(settings.tz)
    line = f"The line's time is {shown:%A %d %B %Y, %H:%M} ({settings.timezone})"
    if not shift:
        return line + ": real time."
    ahead = "ahead of" if shift > timedelta(0) else "behind"
    return f"{line}: {_span(abs(shift))} {ahead} real time (kept in {path})."


def _span(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    days, minutes = divmod(minutes, 24 * 60)
    parts = [f"{days} day(s)"] if days else []
    return " ".join(parts + [f"{minutes // 60} h {minutes % 60:02d} min"])


def parse_moment(text: str, settings: Settings) -> datetime:
    """`2026-12-20T10:00` or `2026-12-20` (the line's time zone), or `+3d`, `+6h`, `+30m`
    from the line's time now."""
    step = _STEP.match(text.strip())
    if step:
        amount, unit = step.groups()
        return clock.now() + timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"'{text}' is not a time: write 2026-12-20T10:00, 2026-12-20, or +3d, +6h, +30m."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.tz)


@click.group("clock", invoke_without_command=True)
@click.pass_context
def clock_group(context: click.Context) -> None:
    """Show the line's time; `set` moves it, `reset` goes back to real time."""
    if context.invoked_subcommand is None:
        click.echo(_describe(_settings()))


@clock_group.command("set")
@click.argument("when")
def clock_set(when: str) -> None:
    """Move the line's time to WHEN: 2026-12-20T10:00, 2026-12-20, or +3d / +6h / +30m.

    Every process that shares the instance folder sees it within a second."""
    settings = _settings()
    moment = parse_moment(when, settings)
    if moment < clock.now() - timedelta(minutes=1):
        click.echo("Warning: this moves the line's time back; what was due may be due again.",
                   err=True)
    clock.move_to(clock.file_for(settings.instance_path), moment)
    click.echo(_describe(settings))


@clock_group.command("reset")
def clock_reset() -> None:
    """Go back to real time."""
    settings = _settings()
    if not clock.reset(clock.file_for(settings.instance_path)):
        click.echo("The line's clock was not moved.")
    click.echo(_describe(settings))
