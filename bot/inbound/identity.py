"""Who is calling: the people and representatives at a number, and proving it by PIN.

Caller ID is not identity (it can be spoofed), so a number only says who *might* be
calling; nothing personal is said until a PIN matches. Failed PINs are counted per
calling number, per case reference (for withheld numbers), and per person or
representative they were tried against, whatever the route; too many lock PIN checks
for a while and raise one staff action. A lock never shuts anyone out of help:
reaching a person and a call back to the number on file stay open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from bot import phones
from bot.inbound.known import known
from bot.models import (
    ActionStatus,
    ActionUrgency,
    Case,
    Person,
    PersonPhone,
    PinGuard,
    Representative,
    StaffAction,
)
from bot.pins import verify_pin
from bot.records.staff_actions import raise_action


@dataclass(frozen=True)
class Candidate:
    """Someone a number (or a case reference) may belong to."""

    kind: str  # "person" or "representative"
    id: int
    person_id: int
    ref: str
    first_name: str
    pin_hash: str | None


@dataclass(frozen=True)
class PinCheck:
    ok: bool
    matches: tuple[Candidate, ...] = ()
    locked: bool = False
    just_locked: bool = False


# Every turn asks these: built once, with the number bound at each call, so SQLAlchemy
# neither builds the statement again nor works out its cache key (half a query's cost).
_PEOPLE_AT = (select(Person).join(PersonPhone, PersonPhone.person_id == Person.id)
              .where(PersonPhone.number == sa.bindparam("number"), Person.deceased.is_(False))
              .order_by(Person.id))
_REPRESENTATIVES_AT = (select(Representative)
                       .where(Representative.number == sa.bindparam("number"))
                       .order_by(Representative.id))
_GUARD_LOCKED = select(PinGuard).where(PinGuard.number == sa.bindparam("key")).with_for_update()


def candidates_for_number(session: Session, number: str | None,
                          keep: list | None = None) -> list[Candidate]:
    """People whose numbers include `number`, and representatives with that number (the
    records themselves are added to `keep`, for a caller that reads them again)."""
    if not number:
        return []
    memo = known(session)
    if memo is not None and number in memo.at_number:  # a sweep read its whole chunk's
        return [candidate_of(record) for record in memo.at_number[number]]
    people = session.exec(_PEOPLE_AT, params={"number": number}).all()
    reps = session.exec(_REPRESENTATIVES_AT, params={"number": number}).all()
    if keep is not None:
        keep.extend([*people, *reps])
    return [_person(p) for p in people] + [_representative(r) for r in reps]


def find_case(session: Session, reference: str) -> Case | None:
    """The case a caller names: its reference as written, or just its digits (keyed on a
    phone keypad, "SG-100101" is 100101), when those digits name exactly one case."""
    ref = "".join((reference or "").split()).upper()
    if not ref:
        return None
    case = session.exec(select(Case).where(Case.ref == ref)).first()
    if case is not None or not ref.isdigit():
        return case
    found = [c for c in session.exec(select(Case).where(Case.ref.like(f"%{ref}")))
             if "".join(ch for ch in c.ref if ch.isdigit()) == ref]
    return found[0] if len(found) == 1 else None


def candidates_for_case(session: Session, reference: str) -> list[Candidate]:
    """The person and representatives of the case with this reference."""
    case = find_case(session, reference)
    if case is None:
        return []
    person = session.get(Person, case.person_id)
    reps = session.exec(select(Representative).where(Representative.person_id == person.id)
                        .order_by(Representative.id)).all()
    return [_person(person)] + [_representative(r) for r in reps]


def candidate_of(record) -> Candidate:
    """A Representative's, or a person's (a Person, or a sweep's PersonAt)."""
    return _representative(record) if isinstance(record, Representative) else _person(record)


def _person(p) -> Candidate:
    return Candidate("person", p.id, p.id, p.ref, p.first_name, p.pin_hash)


def _representative(r: Representative) -> Candidate:
    return Candidate("representative", r.id, r.person_id, r.ref, r.first_name, r.pin_hash)


def check_pin(session: Session, *, guard_keys: list[str], candidates: list[Candidate],
              pin: str, key: str, now: datetime, max_attempts: int, lock_minutes: int,
              source: str = "", counted: tuple[Candidate, ...] = ()) -> PinCheck:
    """Check `pin` against every candidate whose own guess budget is not spent.

    A wrong PIN counts once on each route key (the calling number, a case reference) and
    once against each person or representative it was tried on, whatever the route: each
    holder has one budget, so a stranger gains nothing by switching from the number to a
    case reference. `counted` are the holders this same PIN was already charged to (the
    number's, before the reference was asked for). `source` is where the guess came from.
    """
    holders = {c: holder_key(c) for c in candidates}
    guards = _guards(session, [*guard_keys, *holders.values()])
    if any(_locked(guards[k], now) for k in guard_keys):
        return PinCheck(ok=False, locked=True)
    open_ = [c for c in candidates if not _locked(guards[holders[c]], now)]
    if candidates and not open_:
        return PinCheck(ok=False, locked=True)  # everyone this could be is locked for now
    # Every candidate is checked (constant time each) so timing says nothing about who.
    matches = tuple(c for c in open_ if c.pin_hash and verify_pin(pin, c.pin_hash, key,
                                                                   salt=c.ref))
    if matches:
        # The phone that proved itself, and whoever it proved, start afresh; a case
        # reference's count is an outer bound that only time lifts.
        for guard_key in [*guard_keys, *(holders[m] for m in matches)]:
            if not guard_key.startswith(REFERENCE):
                guards[guard_key].failures, guards[guard_key].first_failure_at = 0, None
                guards[guard_key].sources = []
        return PinCheck(ok=True, matches=matches)
    charged = [*guard_keys, *(holders[c] for c in open_ if c not in counted)]
    locked_now = [guards[k] for k in charged
                  if _count_failure(guards[k], now, max_attempts, lock_minutes, source)]
    if locked_now:
        _raise_lock_action(session, locked_now, open_ or candidates, now, lock_minutes)
    # While someone this could be is locked, a PIN that matches nobody open may be theirs:
    # say it cannot be checked, not that it was wrong.
    some_locked = len(open_) < len(candidates)
    return PinCheck(ok=False, locked=bool(locked_now) or some_locked,
                    just_locked=bool(locked_now))


REFERENCE = "ref:"  # the guard key of a case reference tried from a withheld number
HOLDER = "holder:"


def holder_key(candidate: Candidate) -> str:
    """The guard key of one person's (or representative's) own guess budget."""
    return f"{HOLDER}{candidate.kind}:{candidate.id}"


def is_locked(session: Session, guard_key: str, now: datetime) -> bool:
    guard = session.exec(select(PinGuard).where(PinGuard.number == guard_key)).first()
    return _locked(guard, now)


def _locked(guard: PinGuard | None, now: datetime) -> bool:
    return bool(guard and guard.locked_until and guard.locked_until > now)


def _guards(session: Session, keys: list[str]) -> dict[str, PinGuard]:
    """The guard rows, locked, always in the same order so parallel calls never deadlock."""
    return {key: _guard(session, key) for key in sorted(set(keys))}


def _guard(session: Session, key: str) -> PinGuard:
    """The guard row, locked: parallel calls from one number must not lose a failure."""
    guard = session.exec(_GUARD_LOCKED, params={"key": key}).first()
    if guard is None:
        try:
            with session.begin_nested():
                session.add(PinGuard(number=key))
        except sa.exc.IntegrityError:
            pass  # another call created it a moment ago
        guard = session.exec(_GUARD_LOCKED, params={"key": key},
                             execution_options={"populate_existing": True}).one()
    return guard


MAX_SOURCES = 20  # enough to show staff it was many numbers; a guard row stays small


def _count_failure(guard: PinGuard, now: datetime, max_attempts: int, lock_minutes: int,
                   source: str) -> bool:
    """Count one failure (and where it came from); True when this one locks the guard."""
    window = timedelta(minutes=lock_minutes)
    if guard.first_failure_at is None or guard.first_failure_at < now - window:
        guard.failures, guard.first_failure_at = 0, now  # old failures are forgiven
        guard.sources = []
    guard.failures += 1
    if source and source not in guard.sources and len(guard.sources) < MAX_SOURCES:
        guard.sources = [*guard.sources, source]  # a new list, so the change is saved
    if guard.failures >= max_attempts:
        guard.locked_until = now + window
        guard.failures, guard.first_failure_at = 0, None
        return True
    return False


def _raise_lock_action(session: Session, locked: list[PinGuard], candidates: list[Candidate],
                       now: datetime, lock_minutes: int) -> None:
    """One open action per person locked out (or per phone, if it could be several
    people): a lock that comes again while staff have not yet acted updates it."""
    names = ", ".join(sorted({c.first_name for c in candidates})) or "nobody we know"
    person_ids = sorted({c.person_id for c in candidates})
    person_id = person_ids[0] if len(person_ids) == 1 else None
    sources = list(dict.fromkeys(s for guard in locked for s in guard.sources))
    summary = (f"Too many wrong PINs (may be for: {names}): {_where_from(sources)} PIN checks"
               f" for them are blocked for {lock_minutes} minutes."
               " The line still puts callers through to a person and takes call-back"
               " requests. If it was them, call back on a number on file (and reset the PIN"
               " with `caseline pin set` if they have forgotten it).")
    subject = f"person:{person_id}" if person_id else locked[0].number
    existing = session.exec(select(StaffAction).where(
        StaffAction.kind == "pin_locked", StaffAction.status == ActionStatus.OPEN,
        StaffAction.dedupe_key.startswith(f"pin_locked/{subject}/"))).first()
    if existing is not None:
        existing.summary = summary + " (Locked again before this action was done.)"
        if len(sources) > 1:
            existing.urgency = ActionUrgency.URGENT
        session.add(existing)
        return
    case = None
    if person_id:
        case = session.exec(select(Case).where(Case.person_id == person_id)
                            .order_by(Case.id.desc())).first()
    # Guesses from several phones look like someone hunting for the person's details (an
    # abuser looking for where they are): that is for the duty team today, not next week.
    urgency = ActionUrgency.URGENT if len(sources) > 1 else ActionUrgency.NORMAL
    raise_action(session, kind="pin_locked", urgency=urgency, summary=summary,
                 person_id=person_id, case_id=case.id if case else None,
                 dedupe_key=f"pin_locked/{subject}/{now:%Y%m%d%H%M%S}")


def _where_from(sources: list[str]) -> str:
    """Where the wrong PINs came from, plainly: several numbers means someone else."""
    shown = [phones.display(s) if s.startswith("+") else "a withheld number" for s in sources]
    if len(sources) > 1:
        return (f"they came from {len(sources)} different numbers ({', '.join(shown)}), so"
                " someone else may be trying to get their details, not the person forgetting"
                " their PIN.")
    if sources:
        return f"they came from {shown[0]}."
    return ""
