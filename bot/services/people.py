"""Finding a person by reference, and erasing one whose record has passed retention.

Erasure keeps only what the law needs: each case's SG4a record (stage, dates, team, the
outcomes asked and achieved, the risk at closure) on a case and person with no name, no
reference, no words; the person's own feedback answers (the MSP figures); opt-outs, a
number's wish not to be texted, tied to no one; and one audit entry that says who erased
whom (the reference only), when and why. Everything else about them goes: their details,
numbers, PIN, the people they trust, the timeline and disclosures, messages and their
audio (Twilio's copy first), texts sent, the raw requests, conversations, staff actions,
the import's copy of their records, and their references in the API's audit. A keyed digest
of each reference is kept (bot/records/erasures.py) so that the case system, which may hold
the record for longer, does not bring it back with its next import.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.inbound.identity import HOLDER, REFERENCE
from bot.models import (
    ApiCall,
    Case,
    CaseUpdate,
    ConversationState,
    Direction,
    Disclosure,
    ImportBaseline,
    InboundEvent,
    Interaction,
    OutboxMessage,
    Person,
    PersonPhone,
    PinGuard,
    Recording,
    Representative,
    SendAttempt,
    StaffAction,
    Stage,
)
from bot.records import erasures
from bot.records.audit import record_interaction

log = logging.getLogger(__name__)

YEAR = timedelta(days=365)
ERASED = "erased"


class PersonNotFound(LookupError):
    pass


class ErasureRefused(ValueError):
    """Why this person cannot be erased now, in words an administrator can act on."""


def find_person(session: Session, ref: str) -> Person:
    """The person with this reference, or the person whose case it is."""
    person = session.exec(select(Person).where(Person.ref == ref)).first()
    if person is None:
        case = session.exec(select(Case).where(Case.ref == ref)).first()
        person = session.get(Person, case.person_id) if case is not None else None
    if person is None or person.ref.startswith(f"{ERASED}-"):
        raise PersonNotFound(f"There is no person or case '{ref}'. Check the reference "
                             "(a person's, e.g. P-100101, or one of their cases').")
    return person


def cases_of(session: Session, person: Person) -> list[Case]:
    return list(session.exec(select(Case).where(Case.person_id == person.id)
                             .order_by(Case.opened_at)))


def last_closed(cases: list[Case], person: Person) -> datetime:
    """When the person's last case closed (with no case, when their record was made)."""
    return max((c.closed_at or c.updated_at for c in cases), default=person.created_at)


def past_retention(session: Session, now: datetime, years: int) -> list[str]:
    """References of people with no open case whose last closure is `years` ago."""
    cutoff = now - years * YEAR
    open_cases = select(Case.person_id).where(Case.stage != Stage.CLOSED)
    recent = select(Case.person_id).where(
        sa.func.coalesce(Case.closed_at, Case.updated_at) >= cutoff)
    with_cases = select(Case.person_id)
    rows = session.exec(select(Person.ref).where(
        Person.id.not_in(open_cases), Person.id.not_in(recent),
        sa.or_(Person.id.in_(with_cases), Person.created_at < cutoff),
        Person.ref.not_like(f"{ERASED}-%")).order_by(Person.id)).all()
    return list(rows)


@dataclass
class Erasure:
    ref: str
    cases: list[str]
    removed: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        counts = ", ".join(f"{n} {table}" for table, n in self.removed.items() if n)
        return (f"{self.ref} erased, with {len(self.cases)} case(s) kept as statistics only. "
                f"Removed: {counts or 'nothing else'}.")


def erase(runtime, ref: str, *, actor: str, reason: str, early: bool = False,
          now: datetime | None = None) -> Erasure:
    """Erase the person `ref`; ErasureRefused (nothing changed) if they may not be yet."""
    now = now or runtime.now()
    if not reason.strip():
        raise ErasureRefused("Say why the person is erased (--reason), e.g. 'retention "
                             "period ended' or 'erasure request agreed on 2 December 2026'.")
    with runtime.session() as session:
        # One transaction, the person's row locked: an import cannot reopen a case or add
        # a number between the checks and the erasure.
        person = _erasable(session, runtime.settings, ref, now, early)
        session.refresh(person, with_for_update=True)
        ids = _ids(session, person)
        interactions = _interaction_ids(session, person, ids)
        _delete_at_twilio(runtime, session, interactions)
        erasure = _erase_rows(session, person, ids, interactions, runtime.settings.pin_key)
        record_interaction(session, kind="person_erased", direction=Direction.INTERNAL,
                           actor=actor[:200], summary=f"Person {erasure.ref} erased, with "
                           f"{len(erasure.cases)} case(s) kept as SG4a statistics only. "
                           f"Why: {reason.strip()[:500]}")
    log.warning("a person was erased (%d cases kept as statistics)", len(erasure.cases))
    return erasure


def allow_again(runtime, ref: str, *, actor: str) -> list[str]:
    """Let an import bring back a reference erased here (a person with a new concern)."""
    with runtime.session() as session:
        kinds = erasures.forget(session, runtime.settings.pin_key, ref)
        if kinds:
            record_interaction(session, kind="erased_allowed_again", actor=actor[:200],
                               direction=Direction.INTERNAL, summary=f"{ref} may be "
                               "imported again (it was erased here).")
    return kinds


def _erasable(session: Session, settings, ref: str, now: datetime, early: bool) -> Person:
    try:
        person = find_person(session, ref)
    except PersonNotFound as exc:
        raise ErasureRefused(str(exc)) from None
    cases = cases_of(session, person)
    still_open = [c for c in cases if c.stage != Stage.CLOSED]
    if still_open:
        listed = ", ".join(f"{c.ref} ({c.stage.value})" for c in still_open)
        raise ErasureRefused(f"{person.ref} has an open case: {listed}. A person is erased "
                             "only once every case of theirs is closed; nothing was erased.")
    years = settings.retain_case_records_years
    until = last_closed(cases, person) + years * YEAR
    if not early and until > now and not cases:
        raise ErasureRefused(
            f"{person.ref} has no case; their record was made on "
            f"{_day(person.created_at)}, and the retention period "
            f"(RETAIN_CASE_RECORDS_YEARS={years}) keeps it until {_day(until)}. To erase it "
            "earlier, run again with --early and the reason. Nothing was erased.")
    if not early and until > now:
        raise ErasureRefused(
            f"{person.ref}'s last case closed on {_day(last_closed(cases, person))}; the "
            f"retention period (RETAIN_CASE_RECORDS_YEARS={years}) keeps the record until "
            f"{_day(until)}. To erase it earlier (an erasure request the council has "
            "agreed), run again with --early and the reason. Nothing was erased.")
    return person


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


def _delete_at_twilio(runtime, session: Session, interactions: list[int]) -> None:
    """Twilio's copy of each of their messages goes first: once our rows are gone nothing
    would know to delete it. A failure erases nothing (the transaction rolls back; what
    Twilio already deleted answers 404 next time, which counts as deleted)."""
    from bot.delivery.sender import SendError

    waiting = session.exec(select(Recording).where(Recording.interaction_id.in_(interactions),
                                                   Recording.twilio_deleted_at.is_(None))).all()
    for recording in waiting:
        try:
            runtime.sender.delete_recording(sid=recording.twilio_sid)
        except SendError as exc:
            raise ErasureRefused(f"Twilio's copy of a message they left could not be deleted "
                                 f"({exc.reason}); nothing was erased. Try again later.") \
                from None


@dataclass
class _Ids:
    cases: list[int]
    representatives: list[int]
    numbers: list[str]  # theirs and their representatives', used by no one else on file
    refs: dict[str, list[str]]  # by kind: the person's, their cases', their representatives'


def _ids(session: Session, person: Person) -> _Ids:
    cases = cases_of(session, person)
    reps = list(session.exec(select(Representative).where(
        Representative.person_id == person.id)))
    numbers = set(session.exec(select(PersonPhone.number).where(
        PersonPhone.person_id == person.id))) | {r.number for r in reps}
    shared = set(session.exec(select(PersonPhone.number).where(
        PersonPhone.person_id != person.id, PersonPhone.number.in_(numbers)))) | set(
        session.exec(select(Representative.number).where(
            Representative.person_id != person.id, Representative.number.in_(numbers))))
    return _Ids([c.id for c in cases], [r.id for r in reps], sorted(numbers - shared),
                {"people": [person.ref], "cases": [c.ref for c in cases],
                 "representatives": [r.ref for r in reps]})


def _interaction_ids(session: Session, person: Person, ids: _Ids) -> list[int]:
    """Their timeline entries, and entries of no one's from their numbers or their calls
    (a transcription that found no message of its own is kept with only the call's sid)."""
    caseless_theirs = sa.and_(Interaction.case_id.is_(None), Interaction.person_id.is_(None),
                              Interaction.number.in_(ids.numbers))
    found = set(session.exec(select(Interaction.id).where(sa.or_(
        Interaction.case_id.in_(ids.cases), Interaction.person_id == person.id,
        Interaction.representative_id.in_(ids.representatives), caseless_theirs))))
    sids = _call_sids(session, person, ids, list(found))
    found |= set(session.exec(select(Interaction.id).where(
        Interaction.case_id.is_(None), Interaction.person_id.is_(None),
        Interaction.twilio_sid.in_(sorted(sids)))))
    return sorted(found)


def _erase_rows(session: Session, person: Person, ids: _Ids, interactions: list[int],
                pin_key: str) -> Erasure:
    erasure = Erasure(person.ref, [c.ref for c in cases_of(session, person)])
    call_sids = _call_sids(session, person, ids, interactions)
    outbox = select(OutboxMessage.id).where(sa.or_(
        OutboxMessage.case_id.in_(ids.cases), OutboxMessage.person_id == person.id,
        OutboxMessage.representative_id.in_(ids.representatives),
        sa.and_(OutboxMessage.case_id.is_(None), OutboxMessage.to_number.in_(ids.numbers))))
    outbox_ids = list(session.exec(outbox))
    steps = [
        ("recordings", sa.delete(Recording).where(Recording.interaction_id.in_(interactions))),
        ("disclosures", sa.delete(Disclosure).where(sa.or_(
            Disclosure.interaction_id.in_(interactions), Disclosure.case_id.in_(ids.cases)))),
        ("timeline entries", sa.delete(Interaction).where(Interaction.id.in_(interactions))),
        ("case updates", sa.delete(CaseUpdate).where(CaseUpdate.case_id.in_(ids.cases))),
        ("staff actions", sa.delete(StaffAction).where(sa.or_(
            StaffAction.case_id.in_(ids.cases), StaffAction.person_id == person.id,
            *naming_numbers(ids.numbers)))),
        ("send attempts", sa.delete(SendAttempt).where(SendAttempt.outbox_id.in_(outbox_ids))),
        ("texts and calls", sa.delete(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids))),
        ("raw requests", sa.delete(InboundEvent).where(sa.or_(
            InboundEvent.number.in_(ids.numbers), *_call_keys(call_sids)))),
        ("conversations", sa.delete(ConversationState).where(sa.or_(
            ConversationState.number.in_(ids.numbers),
            ConversationState.key.in_([f"voice:{sid}" for sid in call_sids])))),
        ("PIN failure counts", sa.delete(PinGuard).where(PinGuard.number.in_(
            ids.numbers + _holder_keys(person.id, ids.representatives)
            + [f"{REFERENCE}{ref}" for ref in ids.refs["cases"]]
            + [f"withheld:{sid}" for sid in sorted(call_sids)]))),
        ("import records", sa.delete(ImportBaseline).where(sa.or_(
            sa.and_(ImportBaseline.kind == "people", ImportBaseline.record_id == person.id),
            sa.and_(ImportBaseline.kind == "cases", ImportBaseline.record_id.in_(ids.cases)),
            sa.and_(ImportBaseline.kind == "representatives",
                    ImportBaseline.record_id.in_(ids.representatives))))),
        ("people they trust", sa.delete(Representative).where(
            Representative.id.in_(ids.representatives))),
        ("numbers", sa.delete(PersonPhone).where(PersonPhone.person_id == person.id)),
    ]
    for what, statement in steps:
        erasure.removed[what] = session.execute(statement).rowcount
    _scrub_api_audit(session, [ref for refs in ids.refs.values() for ref in refs])
    erasures.remember(session, pin_key, ids.refs)  # so an import does not bring them back
    _anonymise(session, person, ids.cases)
    return erasure


def _call_sids(session: Session, person: Person, ids: _Ids, interactions: list[int]) -> set[str]:
    """The Twilio sids of their calls, in and out: a call we made to them has our number
    as its From, so its raw requests and conversation are found by the call's sid."""
    sids = set(session.exec(select(Interaction.twilio_sid).where(
        Interaction.id.in_(interactions), Interaction.twilio_sid.startswith("CA"))))
    sids |= set(session.exec(select(SendAttempt.twilio_sid).join(
        OutboxMessage, OutboxMessage.id == SendAttempt.outbox_id).where(
        SendAttempt.twilio_sid.startswith("CA"), sa.or_(
            OutboxMessage.case_id.in_(ids.cases), OutboxMessage.person_id == person.id,
            OutboxMessage.representative_id.in_(ids.representatives)))))
    return {sid for sid in sids if sid}


def naming_numbers(numbers: list[str]) -> list:
    """Staff actions about no case that give one of these numbers in their words (a text
    that could not be handled, a number locked by PIN guesses)."""
    from bot.phones import display

    forms = {form for number in numbers for form in (number, display(number))}
    return [sa.and_(StaffAction.case_id.is_(None), StaffAction.summary.contains(form))
            for form in sorted(forms)]


def _holder_keys(person_id: int, rep_ids: list[int]) -> list[str]:
    """Each one's own PIN guess budget (bot/inbound/identity.py `holder_key`)."""
    return [f"{HOLDER}person:{person_id}"] + [f"{HOLDER}representative:{r}" for r in rep_ids]


def _call_keys(call_sids: set[str]) -> list:
    return [InboundEvent.key.startswith(f"voice:{sid}:") for sid in sorted(call_sids)]


def _scrub_api_audit(session: Session, refs: list[str]) -> None:
    """The API's audit keeps who called what and when; their references become 'erased',
    matched as whole path segments and words (erasing P-1 leaves /people/P-10 alone)."""
    for ref in refs:
        whole = re.compile(rf"(?<![A-Za-z0-9._:-]){re.escape(ref)}(?![A-Za-z0-9._:-])")
        rows = session.exec(select(ApiCall).where(sa.or_(
            ApiCall.path.contains(ref), ApiCall.subject.contains(ref)))).all()
        for call in rows:
            call.path, call.subject = whole.sub(ERASED, call.path), whole.sub(ERASED,
                                                                             call.subject)
            session.add(call)


def _anonymise(session: Session, person: Person, case_ids: list[int]) -> None:
    """What is left: the SG4a record on rows that say nothing of who it was."""
    for case in session.exec(select(Case).where(Case.id.in_(case_ids))):
        case.ref = f"{ERASED}-case-{case.id}"
        case.latest_news = case.desired_outcome = case.closure_summary = ""
        case.news_updated_at = case.next_contact_by = None
        case.withhold_details = False
        session.add(case)
    blank = Person(ref=f"{ERASED}-{person.id}", first_name="", last_name="")
    for name in Person.model_fields:
        if name not in ("id", "created_at"):
            setattr(person, name, getattr(blank, name))
    session.add(person)
