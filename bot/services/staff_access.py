"""Need to know: which cases and which actions a member of staff may see.

One place decides, for the queue, the case pages and (through the same rules) any later page:
- a worker: their team's cases and queue (they answer for cases, and cover colleagues');
- a manager: their team's;
- duty: every open urgent action, and the cases those are about (and their own team's);
- admin: everything.
An action of no team (the line's front door: a caller who could not be told apart) is in
every queue.
"""

from __future__ import annotations

from sqlmodel import Session, select

from ..models import ActionStatus, ActionUrgency, Case, StaffAccount, StaffAction, Worker


def team_of_case(session: Session, case: Case) -> int | None:
    worker = session.get(Worker, case.worker_id)
    return worker.team_id if worker else None


def may_open(session: Session, account: StaffAccount, case: Case) -> bool:
    if account.role == "admin":
        return True
    if account.team_id is not None and team_of_case(session, case) == account.team_id:
        return True
    if account.role == "duty":
        return session.exec(select(StaffAction.id).where(
            StaffAction.case_id == case.id, StaffAction.status == ActionStatus.OPEN,
            StaffAction.urgency == ActionUrgency.URGENT)).first() is not None
    return False


def may_change(session: Session, account: StaffAccount, case: Case) -> bool:
    """Post news, close: the case's own team (or an admin). Duty may read another team's
    case while an urgent action is open on it, not change it."""
    if account.role == "admin":
        return True
    return account.team_id is not None and team_of_case(session, case) == account.team_id


def actions_query(account: StaffAccount):
    """The actions this account's queue holds (before any filter they choose)."""
    query = select(StaffAction)
    if account.role == "admin":
        return query
    # An action of no team (a caller we could not tell, the line's front door) is everyone's
    # to see: otherwise it would wait for an admin.
    team_rule = (StaffAction.team_id == account.team_id) | StaffAction.team_id.is_(None)
    if account.role == "duty":
        urgent = (StaffAction.urgency == ActionUrgency.URGENT) & (
            StaffAction.status == ActionStatus.OPEN)
        return query.where(urgent | team_rule)
    return query.where(team_rule)


def may_handle(session: Session, account: StaffAccount, action: StaffAction) -> bool:
    visible = actions_query(account).where(StaffAction.id == action.id)
    return session.exec(visible).first() is not None
