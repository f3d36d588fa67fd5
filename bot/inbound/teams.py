"""Whose numbers and hours a caller hears: the case's own team, or the line's front door.

Before the PIN nobody's case may shape what is said, so every caller hears the line's
general numbers (settings `LINE_*`), which are right for every team.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.config import Settings, parse_clock
from bot.models import Case, Team, Worker
from bot.phones import normalise
from bot.records.team_cache import get_team


def front_door(settings: Settings) -> Team:
    """The line's general numbers and hours, shaped as a team (never stored)."""
    return Team(ref="line", name=settings.organisation_name,
                duty_number=normalise(settings.line_duty_number),
                out_of_hours_number=normalise(settings.line_out_of_hours_number),
                office_days=settings.line_office_days,
                office_opens=parse_clock(settings.line_office_opens),
                office_closes=parse_clock(settings.line_office_closes))


def team_of(session: Session, case: Case | None) -> Team | None:
    if case is None:
        return None
    worker = session.get(Worker, case.worker_id)
    return get_team(session, worker.team_id) if worker else None


def answering_team(session: Session, settings: Settings, case: Case | None) -> Team:
    """The case's team once we know the case, else the front door."""
    return team_of(session, case) or front_door(settings)
