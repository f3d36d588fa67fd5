"""Raising untouched staff actions to the team manager, so nothing waits unseen.

An open action nobody has taken on ("Take it" on the queue sets `acknowledged_at`) is
raised once: after `ESCALATE_URGENT_MINUTES` if urgent, `ESCALATE_AFTER_HOURS` if not.
Raising marks the action (every queue shows "raised to the manager" and puts it first for
managers), writes it on the case's timeline, and texts the manager's mobile (the team's
`manager_contact`) with references only: no names, no numbers, nothing of the case.

Only while the team's office is open: out of hours an alarm already goes to the emergency
duty team's mobile, and a manager is not woken for an action the office will see first
thing. Idempotent: a raised action has `escalated_at` and the text has a key of its own.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.config import Settings
from bot.delivery import outbox
from bot.models import (
    ActionStatus,
    ActionUrgency,
    Case,
    Channel,
    Direction,
    StaffAction,
    Team,
)
from bot.phones import is_mobile

from .audit import record_interaction

log = logging.getLogger(__name__)

# Already for the manager: raising it to them again would only repeat it.
FOR_THE_MANAGER = {"no_news_manager"}


def limit_for(action: StaffAction, settings: Settings) -> timedelta:
    if action.urgency is ActionUrgency.URGENT:
        return timedelta(minutes=settings.escalate_urgent_minutes)
    return timedelta(hours=settings.escalate_after_hours)


def untouched(session: Session, settings: Settings, now: datetime) -> list[StaffAction]:
    """Open actions nobody took on, older than their urgency's limit, not raised yet."""
    oldest_limit = min(timedelta(minutes=settings.escalate_urgent_minutes),
                       timedelta(hours=settings.escalate_after_hours))
    candidates = session.exec(select(StaffAction).where(
        StaffAction.status == ActionStatus.OPEN, StaffAction.acknowledged_at.is_(None),
        StaffAction.escalated_at.is_(None), StaffAction.kind.not_in(FOR_THE_MANAGER),
        StaffAction.created_at <= now - oldest_limit).order_by(StaffAction.id))
    return [a for a in candidates if now - a.created_at >= limit_for(a, settings)]


def escalate(session: Session, settings: Settings, now: datetime) -> int:
    """Raise every action that is due and whose office is open; returns how many."""
    from bot.inbound.office_hours import is_office_open
    from bot.inbound.teams import front_door

    raised = 0
    teams: dict[int | None, Team] = {}
    for action in untouched(session, settings, now):
        if action.team_id not in teams:
            teams[action.team_id] = (session.get(Team, action.team_id) if action.team_id
                                     else None) or front_door(settings)
        team = teams[action.team_id]
        if not is_office_open(team, now, settings.tz):
            continue
        _raise(session, settings, action, team, now)
        raised += 1
    return raised


def _raise(session: Session, settings: Settings, action: StaffAction, team: Team,
           now: datetime) -> None:
    action.escalated_at = now
    session.add(action)
    waited = waited_words(now - action.created_at)
    case = session.get(Case, action.case_id) if action.case_id else None
    if case is not None:
        record_interaction(session, kind="action_escalated", direction=Direction.INTERNAL,
                           case_id=case.id, person_id=action.person_id, actor="line",
                           summary=f"{action.kind} raised to the team manager: nobody took "
                                   f"it on for {waited}")
    if team.id is not None and is_mobile(team.manager_contact):
        reference = f", case {case.ref}" if case else ""
        urgency = "An urgent" if action.urgency is ActionUrgency.URGENT else "A"
        body = (f"{settings.organisation_name} staff pages: {urgency} staff action has "
                f"waited {waited} with nobody taking it on (action {action.id}{reference}). "
                "Please open the queue.")
        outbox.add(session, key=f"escalation/{action.id}", purpose="escalation",
                   channel=Channel.SMS, to=team.manager_contact, body=body,
                   case_id=case.id if case else None)
    log.info("staff action %s raised to the team manager after %s", action.id, waited)


def waited_words(waited: timedelta) -> str:
    """'45 minutes', '1 hour 5 minutes', '2 days 3 hours': as the queue says it."""
    minutes = int(waited.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour")] if days else [(hours, "hour"), (minutes, "minute")]
    words = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts if n]
    return " ".join(words) or "less than a minute"
