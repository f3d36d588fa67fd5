"""Raising staff actions: the visible end of every failure to reach someone."""

from __future__ import annotations

import logging
from datetime import date

from sqlmodel import Session, select

from bot.models import ActionStatus, ActionUrgency, Case, Direction, StaffAction, Worker, utcnow

log = logging.getLogger(__name__)

BY_CASE = object()  # raise_action's default: assign by the case (see responsible_for)


def raise_action(
    session: Session,
    *,
    kind: str,
    summary: str,
    urgency: ActionUrgency = ActionUrgency.NORMAL,
    case_id: int | None = None,
    person_id: int | None = None,
    worker_id: int | None | object = BY_CASE,
    team_id: int | None = None,
    dedupe_key: str | None = None,
    today: date | None = None,
) -> StaffAction:
    """Add a staff action; with `dedupe_key`, an existing action for the same reason is reused.

    Unless `worker_id` is given, an action about a case goes to whoever answers for it
    today (`responsible_for`): its worker, their cover while they are away, else the duty
    team (no worker, the team's queue)."""
    if dedupe_key:
        existing = session.exec(
            select(StaffAction).where(StaffAction.dedupe_key == dedupe_key)
        ).first()
        if existing is not None:
            return existing
    if worker_id is BY_CASE:
        case = session.get(Case, case_id) if case_id else None
        worker, team = responsible_for(session, case, today or utcnow().date())
        worker_id, team_id = (worker.id if worker else None), team_id or team
    action = StaffAction(
        kind=kind, summary=summary, urgency=urgency, case_id=case_id, person_id=person_id,
        worker_id=worker_id, team_id=team_id, dedupe_key=dedupe_key,
    )
    session.add(action)
    session.flush()
    if case_id or person_id:
        from .audit import record_interaction  # audit imports the models only

        record_interaction(session, kind="action_raised", direction=Direction.INTERNAL,
                           case_id=case_id, person_id=person_id,
                           summary=f"{kind} ({urgency.value})", actor="line")
    log.info("staff action %s raised: kind=%s urgency=%s case=%s", action.id, kind,
             urgency.value, case_id)
    return action


def responsible_for(session: Session, case: Case | None, today) -> tuple[Worker | None,
                                                                         int | None]:
    """(who answers for the case today, its team's id): the named worker; while they are
    away their cover; if the cover is away too (or there is none), nobody by name, so the
    team's duty queue takes it."""
    if case is None:
        return None, None
    worker = session.get(Worker, case.worker_id)
    if worker is None:
        return None, None
    if not worker.is_away(today):
        return worker, worker.team_id
    cover = session.get(Worker, worker.cover_worker_id) if worker.cover_worker_id else None
    if cover is not None and not cover.is_away(today):
        return cover, worker.team_id
    return None, worker.team_id


def open_actions(session: Session, *, kind: str | None = None) -> list[StaffAction]:
    query = select(StaffAction).where(StaffAction.status == ActionStatus.OPEN)
    if kind:
        query = query.where(StaffAction.kind == kind)
    return list(session.exec(query.order_by(StaffAction.id)))
