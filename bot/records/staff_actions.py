"""Raising staff actions: the visible end of every failure to reach someone."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from bot.models import ActionStatus, ActionUrgency, StaffAction

log = logging.getLogger(__name__)


def raise_action(
    session: Session,
    *,
    kind: str,
    summary: str,
    urgency: ActionUrgency = ActionUrgency.NORMAL,
    case_id: int | None = None,
    person_id: int | None = None,
    worker_id: int | None = None,
    team_id: int | None = None,
    dedupe_key: str | None = None,
) -> StaffAction:
    """Add a staff action; with `dedupe_key`, an existing action for the same reason is reused."""
    if dedupe_key:
        existing = session.exec(
            select(StaffAction).where(StaffAction.dedupe_key == dedupe_key)
        ).first()
        if existing is not None:
            return existing
    action = StaffAction(
        kind=kind, summary=summary, urgency=urgency, case_id=case_id, person_id=person_id,
        worker_id=worker_id, team_id=team_id, dedupe_key=dedupe_key,
    )
    session.add(action)
    session.flush()
    log.info("staff action %s raised: kind=%s urgency=%s case=%s", action.id, kind,
             urgency.value, case_id)
    return action


def open_actions(session: Session, *, kind: str | None = None) -> list[StaffAction]:
    query = select(StaffAction).where(StaffAction.status == ActionStatus.OPEN)
    if kind:
        query = query.where(StaffAction.kind == kind)
    return list(session.exec(query.order_by(StaffAction.id)))
