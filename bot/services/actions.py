"""Working the action queue: listing, assigning, marking done with a note; and staff notes.

The API and the staff pages both call these, so an action is handled the same way from
either, and each step lands on the case's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from bot.records.audit import record_interaction

from ..models import (
    ActionStatus,
    ActionUrgency,
    Case,
    Direction,
    StaffAction,
    Team,
    Worker,
    utcnow,
)

MAX_NOTE = 2000


class ActionError(ValueError):
    """An action cannot be changed so; the message says why and what to do."""


@dataclass(frozen=True)
class Filters:
    team_id: int | None = None
    worker_ref: str | None = None
    urgency: str | None = None
    kind: str | None = None
    status: str | None = "open"
    unassigned: bool = False


def queue(session: Session, filters: Filters, *, after: int = 0, limit: int = 50,
          only_team: int | None = None) -> list[StaffAction]:
    """Oldest first (by id, so a cursor holds); `only_team` limits it to one team's."""
    query = select(StaffAction).where(StaffAction.id > after)
    for team in (filters.team_id, only_team):
        if team is not None:
            query = query.where(StaffAction.team_id == team)
    if filters.worker_ref:
        query = query.join(Worker, StaffAction.worker_id == Worker.id).where(
            Worker.ref == filters.worker_ref)
    if filters.unassigned:
        query = query.where(StaffAction.worker_id.is_(None))
    if filters.urgency:
        query = query.where(StaffAction.urgency == ActionUrgency(filters.urgency))
    if filters.kind:
        query = query.where(StaffAction.kind == filters.kind)
    if filters.status:
        query = query.where(StaffAction.status == ActionStatus(filters.status))
    return list(session.exec(query.order_by(StaffAction.id).limit(limit)))


def get(session: Session, action_id: int) -> StaffAction:
    action = session.get(StaffAction, action_id)
    if action is None:
        raise ActionError(f"There is no action {action_id}.")
    return action


def assign(session: Session, action_id: int, worker_ref: str, *, actor: str) -> StaffAction:
    action = get(session, action_id)
    worker = session.exec(select(Worker).where(Worker.ref == worker_ref)).first()
    if worker is None:
        raise ActionError(f"There is no worker '{worker_ref}'. Check the reference.")
    if action.status is ActionStatus.DONE:
        raise ActionError(f"Action {action_id} is done already; it cannot be assigned.")
    if action.team_id is not None and worker.team_id != action.team_id:
        raise ActionError(f"{worker.full_name} is in another team, whose queue does not show "
                          "this action: give it to someone in its team.")
    action.worker_id, action.team_id = worker.id, action.team_id or worker.team_id
    _timeline(session, action, "action_assigned", f"{action.kind}: to {worker.full_name}",
              actor)
    return action


def mark_done(session: Session, action_id: int, note: str, *, actor: str) -> StaffAction:
    action = get(session, action_id)
    note = " ".join((note or "").split())
    if not note:
        raise ActionError("Say what was done, in a note, so the next person knows.")
    if len(note) > MAX_NOTE:
        raise ActionError(f"The note is {len(note)} characters; keep it under {MAX_NOTE}.")
    if action.status is ActionStatus.DONE:
        raise ActionError(f"Action {action_id} was done already, by {action.done_by}.")
    action.status, action.done_at, action.done_by = ActionStatus.DONE, utcnow(), actor
    _timeline(session, action, "action_done", f"{action.kind}: {note}", actor)
    return action


def add_note(session: Session, case: Case, text: str, *, actor: str) -> None:
    """A staff note on the case's timeline (what a worker learnt, so no one asks again)."""
    text = " ".join((text or "").split())
    if not text:
        raise ActionError("The note is empty: write what happened.")
    if len(text) > MAX_NOTE:
        raise ActionError(f"The note is {len(text)} characters; keep it under {MAX_NOTE}.")
    record_interaction(session, kind="staff_note", direction=Direction.INTERNAL,
                       case_id=case.id, person_id=case.person_id, summary=text, actor=actor)


def team_ref(session: Session, action: StaffAction) -> str | None:
    team = session.get(Team, action.team_id) if action.team_id else None
    return team.ref if team else None


def _timeline(session: Session, action: StaffAction, kind: str, text: str, actor: str) -> None:
    if action.case_id or action.person_id:
        record_interaction(session, kind=kind, direction=Direction.INTERNAL,
                           case_id=action.case_id, person_id=action.person_id, summary=text,
                           actor=actor)
