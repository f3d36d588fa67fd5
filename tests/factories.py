"""Keyword-default factories for test data (drama-range numbers and invented names only)."""

from __future__ import annotations

from sqlmodel import Session

from bot.models import Case, LineType, Person, PersonPhone, Representative, Stage, Team, Worker


def make_team(session: Session, **overrides) -> Team:
    values = dict(ref="T-LEEDS", name="Leeds adult safeguarding", duty_number="+441134960000",
                  out_of_hours_number="+441134960999", manager_name="Priya Shah",
                  manager_contact="+441134960001")
    return _add(session, Team(**{**values, **overrides}))


def make_worker(session: Session, team: Team | None = None, **overrides) -> Worker:
    if "team_id" not in overrides:
        overrides["team_id"] = (team or make_team(session)).id
    values = dict(ref="W-1", first_name="Sam", last_name="Okafor", direct_number="+441134960123")
    return _add(session, Worker(**{**values, **overrides}))


def make_person(session: Session, number: str = "+447700900123", **overrides) -> Person:
    values = dict(ref="P-1", first_name="Edith", last_name="Marsh")
    person = _add(session, Person(**{**values, **overrides}))
    kind = LineType.MOBILE if number.startswith("+447") else LineType.LANDLINE
    _add(session, PersonPhone(person_id=person.id, number=number, line_type=kind,
                              is_primary=True))
    return person


def make_case(session: Session, person: Person | None = None, worker: Worker | None = None,
              **overrides) -> Case:
    person = person or make_person(session)
    worker = worker or make_worker(session)
    values = dict(ref="SG-1001", person_id=person.id, worker_id=worker.id, stage=Stage.ENQUIRY,
                  latest_news="Sam has spoken to the care home.")
    return _add(session, Case(**{**values, **overrides}))


def make_representative(session: Session, person: Person, **overrides) -> Representative:
    values = dict(ref="R-1", person_id=person.id, first_name="Joan", last_name="Marsh",
                  relationship="daughter", number="+447700900456", line_type=LineType.MOBILE,
                  consent_scopes=["status", "closure"])
    return _add(session, Representative(**{**values, **overrides}))


def _add(session: Session, row):
    session.add(row)
    session.flush()
    return row


# How flows/case_update.yaml says each stage: a reply holding one of these told the caller
# how the case stands.
STATUS_WORDS = ("deciding what to do", "finding out what happened", "agreed a plan",
                "checking that the plan", "case is closed")


def tells_status(text: str) -> bool:
    return any(words in text for words in STATUS_WORDS)
