"""Changes to a case: news, a new worker, closure, a pause in contact.

Each change writes a case update (the case's history) and an audit entry, and
emits a case event, all in the caller's transaction.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, select

from bot.delivery import outbox
from bot.records.audit import record_interaction
from bot.records.events import CaseEvent, emit

from ..models import (
    Case,
    CaseUpdate,
    Direction,
    MspAchieved,
    MspAsked,
    Person,
    RiskResult,
    Stage,
    Worker,
    utcnow,
)
from . import wording

MAX_NEWS_LENGTH = 600  # read aloud, this is already a minute of speech

# `--outcomes` words mapped to the SG4a pair (asked, achieved). "Achieved" is only
# recorded when the person was asked and expressed outcomes, as in the national return.
OUTCOMES = {
    "fully": (MspAsked.ASKED_EXPRESSED, MspAchieved.FULLY),
    "partially": (MspAsked.ASKED_EXPRESSED, MspAchieved.PARTIALLY),
    "not-achieved": (MspAsked.ASKED_EXPRESSED, MspAchieved.NOT),
    "none-expressed": (MspAsked.ASKED_NOT_EXPRESSED, None),
    "not-asked": (MspAsked.NO, None),
    "dont-know": (MspAsked.DONT_KNOW, None),
    "not-recorded": (MspAsked.NOT_RECORDED, None),
}
RISKS = {"remained": RiskResult.REMAINED, "reduced": RiskResult.REDUCED,
         "removed": RiskResult.REMOVED}


class CaseChangeError(ValueError):
    """A change that cannot be made; the message says why and what to do instead."""


def get_case(session: Session, ref: str) -> Case:
    case = session.exec(select(Case).where(Case.ref == ref)).first()
    if case is None:
        raise CaseChangeError(f"There is no case '{ref}'. Check the reference.")
    return case


def post_news(session: Session, ref: str, text: str, *, actor: str,
              next_contact_by: date | None = None, today: date | None = None) -> Case:
    """Set the case's latest news (and, optionally, when the person will next hear)."""
    case = _open_case(session, ref)
    text = _clean(text, "news")
    if not text:
        raise CaseChangeError("The news is empty. Write what has happened, in plain words.")
    if len(text) > MAX_NEWS_LENGTH:
        raise CaseChangeError(
            f"The news is {len(text)} characters; keep it under {MAX_NEWS_LENGTH} "
            "so it can be read out and texted."
        )
    if next_contact_by and next_contact_by < (today or utcnow().date()):
        raise CaseChangeError(f"The next contact date {next_contact_by} is in the past.")
    case.latest_news = text
    case.news_updated_at = utcnow()
    if next_contact_by:
        case.next_contact_by = next_contact_by
    details = {"next_contact_by": next_contact_by.isoformat()} if next_contact_by else {}
    _record(session, case, "news", text, actor, details)
    return case


def change_worker(session: Session, ref: str, worker_ref: str, *, actor: str) -> Case:
    """Make another worker the named worker for the case."""
    case = _open_case(session, ref)
    worker = session.exec(select(Worker).where(Worker.ref == worker_ref)).first()
    if worker is None:
        raise CaseChangeError(f"There is no worker '{worker_ref}'. Check the reference.")
    if worker.id == case.worker_id:
        raise CaseChangeError(f"{worker.full_name} is already the worker for {ref}.")
    previous = case.worker_id
    case.worker_id = worker.id
    details = {"from_worker_id": previous, "to_worker_id": worker.id}
    _record(session, case, "worker", f"Worker is now {worker.full_name}.", actor, details)
    return case


def close_case(session: Session, ref: str, *, summary: str, outcomes: str, risk: str,
               actor: str, when: datetime | None = None) -> Case:
    """Close the case with what happened and the worker's SG4a record."""
    case = _open_case(session, ref)
    summary = _clean(summary, "closure summary")
    if not summary:
        raise CaseChangeError("Say what happened: the summary is what the person will hear.")
    if outcomes not in OUTCOMES:
        raise CaseChangeError(f"Outcomes '{outcomes}' is not one of: {', '.join(OUTCOMES)}.")
    if risk not in RISKS:
        raise CaseChangeError(f"Risk '{risk}' is not one of: {', '.join(RISKS)}.")
    case.msp_asked, case.msp_achieved = OUTCOMES[outcomes]
    case.risk_result = RISKS[risk]
    case.stage = Stage.CLOSED
    case.closed_at = when or utcnow()
    case.closure_summary = summary
    # A check-in or watchdog text still waiting (a retry, one held for the contact window)
    # would ask someone how they are about a case that is over: the closure says it all.
    dropped = outbox.cancel_pending(session, case_id=case.id, purposes=CASE_CONTACT,
                                    reason="the case was closed before it was sent")
    details = {"outcomes": outcomes, "risk": risk, "contact_cancelled": dropped}
    _record(session, case, "closed", summary, actor, details)
    return case


CASE_CONTACT = ("check_in", "watchdog")  # contact about an open case, ended by its closure


def pause_contact(session: Session, ref: str, until: date, *, actor: str,
                  today: date | None = None) -> Case:
    """Stop check-ins and notices to the case's person until a date (inclusive)."""
    case = get_case(session, ref)
    if until < (today or utcnow().date()):
        raise CaseChangeError(f"The pause end {until} is in the past.")
    person = session.get(Person, case.person_id)
    person.contact_paused_until = until
    _record(session, case, "paused", f"Contact paused until {until.isoformat()}.", actor,
            {"until": until.isoformat()})
    return case


def set_next_contact(session: Session, ref: str, when: date, *, actor: str,
                     today: date | None = None) -> Case:
    """When the person will next hear from us (callers hear it; the watchdog checks it)."""
    case = _open_case(session, ref)
    if when < (today or utcnow().date()):
        raise CaseChangeError(f"The next contact date {when} is in the past.")
    case.next_contact_by = when
    _record(session, case, "next_contact", f"Next contact by {when.isoformat()}.", actor,
            {"next_contact_by": when.isoformat()})
    return case


def mark_away(session: Session, worker_ref: str, until: date | None, *, cover_ref: str | None,
              actor: str, today: date | None = None) -> Worker:
    """A worker away until a date (inclusive), with a colleague covering (or none: the duty
    team); `until=None` says they are back. Callers hear who to call from the next turn."""
    worker = session.exec(select(Worker).where(Worker.ref == worker_ref)).first()
    if worker is None:
        raise CaseChangeError(f"There is no worker '{worker_ref}'. Check the reference.")
    cover = None
    if cover_ref:
        cover = session.exec(select(Worker).where(Worker.ref == cover_ref)).first()
        if cover is None or cover.id == worker.id:
            raise CaseChangeError("Choose a colleague to cover, not the worker who is away.")
        if cover.team_id != worker.team_id:
            raise CaseChangeError(f"{cover.full_name} is in another team: choose a colleague"
                                  " in the same team, or the duty team.")
    if until is not None and until < (today or utcnow().date()):
        raise CaseChangeError(f"The last day away, {until}, is in the past.")
    worker.away_until, worker.cover_worker_id = until, cover.id if cover else None
    text = (f"{worker.full_name} is away until {until.isoformat()}; "
            f"{cover.full_name if cover else 'the duty team'} covers." if until
            else f"{worker.full_name} is back.")
    for case in session.exec(select(Case).where(Case.worker_id == worker.id,
                                                Case.stage != Stage.CLOSED)):
        session.add(CaseUpdate(case_id=case.id, kind="away", text=text, recorded_by=actor,
                               details={"until": until.isoformat() if until else None,
                                        "cover_worker_id": worker.cover_worker_id}))
        record_interaction(session, kind="case_away", direction=Direction.INTERNAL,
                           case_id=case.id, person_id=case.person_id, summary=text,
                           actor=actor)
    return worker


def advise(session: Session, ref: str, text: str, what: str) -> wording.Advice:
    """What to improve in news or a closure summary for case REF before it is posted: both
    are read to the person and to the relatives and friends they trust."""
    case = get_case(session, ref)
    person = session.get(Person, case.person_id)
    return wording.advice(text, what, about=person.first_name)


def _clean(text: str, what: str) -> str:
    try:
        return wording.clean(text, what)
    except wording.WordingError as exc:
        raise CaseChangeError(str(exc)) from None


def _open_case(session: Session, ref: str) -> Case:
    case = get_case(session, ref)
    if case.is_closed:
        raise CaseChangeError(f"Case {ref} is closed; it cannot be changed.")
    return case


def _record(session: Session, case: Case, kind: str, text: str, actor: str,
            details: dict) -> None:
    session.add(CaseUpdate(case_id=case.id, kind=kind, text=text, details=details,
                           recorded_by=actor))
    record_interaction(session, kind=f"case_{kind}", direction=Direction.INTERNAL,
                       case_id=case.id, person_id=case.person_id, summary=text, actor=actor)
    emit(session, CaseEvent(kind=kind, case_id=case.id, actor=actor, details=details))
