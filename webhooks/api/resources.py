"""Records as the API shows them, and which a team-limited token may see."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from bot.importer.kinds import MODELS
from bot.models import Case, Person, PersonPhone, Representative, Team, Worker

from . import schemas
from .auth import Caller
from .problems import ApiProblem


def _ref(session: Session, model, record_id: int | None) -> str | None:
    record = session.get(model, record_id) if record_id else None
    return record.ref if record else None


def _clock(value) -> str:
    return f"{value:%H:%M}"


def team_out(session: Session, team: Team) -> dict:
    return schemas.TeamOut(
        ref=team.ref, name=team.name, duty_number=team.duty_number,
        out_of_hours_number=team.out_of_hours_number,
        office_days=[d for d in team.office_days.split(",") if d],
        office_opens=_clock(team.office_opens), office_closes=_clock(team.office_closes),
        manager_name=team.manager_name, manager_contact=team.manager_contact).model_dump(
        mode="json")


def worker_out(session: Session, worker: Worker) -> dict:
    return schemas.WorkerOut(
        ref=worker.ref, first_name=worker.first_name, last_name=worker.last_name,
        direct_number=worker.direct_number, team=_ref(session, Team, worker.team_id) or "",
        away_until=worker.away_until, cover=_ref(session, Worker, worker.cover_worker_id),
    ).model_dump(mode="json")


def person_out(session: Session, person: Person) -> dict:
    phones = session.exec(select(PersonPhone).where(PersonPhone.person_id == person.id)
                          .order_by(PersonPhone.is_primary.desc(), PersonPhone.id)).all()
    needs = {name: getattr(person, name) for name in schemas.PersonOut.model_fields
             if hasattr(person, name) and name not in ("phones",)}
    needs["contact_window_start"] = _clock(person.contact_window_start)
    needs["contact_window_end"] = _clock(person.contact_window_end)
    return schemas.PersonOut(**needs, phones=[p.number for p in phones],
                             has_pin=bool(person.pin_hash)).model_dump(mode="json")


def representative_out(session: Session, rep: Representative) -> dict:
    return schemas.RepresentativeOut(
        ref=rep.ref, person=_ref(session, Person, rep.person_id) or "",
        first_name=rep.first_name, last_name=rep.last_name, relationship=rep.relationship,
        number=rep.number, has_pin=bool(rep.pin_hash), language=rep.language,
        consent=list(rep.consent_scopes), authority=rep.authority.value,
        consent_recorded_by=rep.consent_recorded_by,
        consent_recorded_at=rep.consent_recorded_at,
        contact_window_start=_clock(rep.contact_window_start),
        contact_window_end=_clock(rep.contact_window_end)).model_dump(mode="json")


def case_out(session: Session, case: Case) -> dict:
    person = session.get(Person, case.person_id)
    worker = session.get(Worker, case.worker_id)
    return schemas.CaseOut(
        ref=case.ref, person=person.ref, worker=worker.ref,
        team=_ref(session, Team, worker.team_id) or "", stage=case.stage.value,
        latest_news=case.latest_news, news_date=case.news_updated_at,
        next_contact_by=case.next_contact_by, desired_outcome=case.desired_outcome,
        withhold_details=case.withhold_details, discreet=person.discreet,
        check_in_every_days=case.check_in_every_days, opened_at=case.opened_at,
        closed_at=case.closed_at, reopened_at=case.reopened_at,
        closure_summary=case.closure_summary,
        msp_asked=case.msp_asked.value if case.msp_asked else None,
        msp_achieved=case.msp_achieved.value if case.msp_achieved else None,
        risk_result=case.risk_result.value if case.risk_result else None,
    ).model_dump(mode="json")


SHOW = {"teams": team_out, "workers": worker_out, "people": person_out,
        "representatives": representative_out, "cases": case_out}


# ---- a team-limited token sees its team's records only ----------------------------------

def team_ids_of(session: Session, kind: str, record: Any) -> set[int]:
    """The teams a record belongs to: a person (or their representative) to the teams of
    their cases; a record with no case yet belongs to none, so any team may set it up."""
    if kind == "teams":
        return {record.id}
    if kind == "workers":
        return {record.team_id}
    if kind == "cases":
        return {session.get(Worker, record.worker_id).team_id}
    person_id = record.id if kind == "people" else record.person_id
    return set(session.exec(select(Worker.team_id).join(Case, Case.worker_id == Worker.id)
                            .where(Case.person_id == person_id)).all())


def may_see(session: Session, who: Caller, kind: str, record: Any) -> bool:
    if who.team_id is None:
        return True
    teams = team_ids_of(session, kind, record)
    return who.team_id in teams or (not teams and kind in ("people", "representatives"))


def check_team(session: Session, who: Caller, kind: str, record: Any, ref: str) -> None:
    """403 for a record of another team (the refusal is audited with the call)."""
    if not may_see(session, who, kind, record):
        raise ApiProblem(403, f"This token is limited to one team; {schemas.SINGULAR[kind]} "
                              f"'{ref}' belongs to another.")


REFERRED = {"cases": {"person": "people", "worker": "workers"},
            "workers": {"team": "teams", "cover": "workers"},
            "representatives": {"person": "people"}}


def check_references(session: Session, who: Caller, kind: str, values: dict) -> None:
    """A team-limited token may point a record only at its own team's records (a case at
    another team's person would open that person to it; a worker of another team would
    hand the case over)."""
    if who.team_id is None:
        return
    for name, target in REFERRED.get(kind, {}).items():
        ref = values.get(name)
        if not isinstance(ref, str):
            continue
        record = session.exec(select(MODELS[target]).where(MODELS[target].ref == ref)).first()
        if record is not None and not may_see(session, who, target, record):
            raise ApiProblem(403, f"This token is limited to one team; {name} '{ref}' "
                                  "belongs to another.")


def visible_query(who: Caller, kind: str, query):
    """Limit a list query to the token's team, in SQL."""
    if who.team_id is None:
        return query
    if kind == "teams":
        return query.where(Team.id == who.team_id)
    if kind == "workers":
        return query.where(Worker.team_id == who.team_id)
    if kind == "cases":
        return query.join(Worker, Case.worker_id == Worker.id).where(
            Worker.team_id == who.team_id)
    in_team = select(Case.person_id).join(Worker, Case.worker_id == Worker.id).where(
        Worker.team_id == who.team_id)
    column = Person.id if kind == "people" else Representative.person_id
    return query.where(column.in_(in_team))
