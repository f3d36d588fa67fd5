"""Who is calling: the people and representatives at a number, and proving it by PIN.

Caller ID is not identity (it can be spoofed), so a number only says who *might* be
calling; nothing personal is said until a PIN matches. Failed PINs are counted per
calling number (and per case reference, for withheld numbers), and too many lock
that number's PIN checks for a while and raise a staff action. A lock never shuts
anyone out of help: reaching a person and a call back to the number on file stay open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.models import ActionUrgency, Case, Person, PersonPhone, PinGuard, Representative
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


def candidates_for_number(session: Session, number: str | None) -> list[Candidate]:
    """People whose numbers include `number`, and representatives with that number."""
    if not number:
        return []
    people = session.exec(select(Person).join(PersonPhone, PersonPhone.person_id == Person.id)
                          .where(PersonPhone.number == number, Person.deceased.is_(False))
                          .order_by(Person.id)).all()
    reps = session.exec(select(Representative).where(Representative.number == number)
                        .order_by(Representative.id)).all()
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


def _person(p: Person) -> Candidate:
    return Candidate("person", p.id, p.id, p.ref, p.first_name, p.pin_hash)


def _representative(r: Representative) -> Candidate:
    return Candidate("representative", r.id, r.person_id, r.ref, r.first_name, r.pin_hash)


def check_pin(session: Session, *, guard_keys: list[str], candidates: list[Candidate],
              pin: str, key: str, now: datetime, max_attempts: int,
              lock_minutes: int) -> PinCheck:
    """Check `pin` against every candidate, counting failures on each guard key."""
    guards = [_guard(session, k) for k in guard_keys]
    if any(g.locked_until and g.locked_until > now for g in guards):
        return PinCheck(ok=False, locked=True)
    # Every candidate is checked (constant time each) so timing says nothing about who.
    matches = tuple(c for c in candidates if c.pin_hash and verify_pin(pin, c.pin_hash, key,
                                                                        salt=c.ref))
    if matches:
        for guard in guards:
            guard.failures, guard.first_failure_at = 0, None
        return PinCheck(ok=True, matches=matches)
    just_locked = False
    for guard in guards:
        just_locked |= _count_failure(guard, now, max_attempts, lock_minutes)
    if just_locked:
        _raise_lock_action(session, guard_keys, candidates, now, lock_minutes)
    return PinCheck(ok=False, locked=just_locked, just_locked=just_locked)


def is_locked(session: Session, guard_key: str, now: datetime) -> bool:
    guard = session.exec(select(PinGuard).where(PinGuard.number == guard_key)).first()
    return bool(guard and guard.locked_until and guard.locked_until > now)


def _guard(session: Session, key: str) -> PinGuard:
    """The guard row, locked: parallel calls from one number must not lose a failure."""
    locked = select(PinGuard).where(PinGuard.number == key).with_for_update()
    guard = session.exec(locked).first()
    if guard is None:
        try:
            with session.begin_nested():
                session.add(PinGuard(number=key))
        except sa.exc.IntegrityError:
            pass  # another call created it a moment ago
        guard = session.exec(locked.execution_options(populate_existing=True)).one()
    return guard


def _count_failure(guard: PinGuard, now: datetime, max_attempts: int, lock_minutes: int) -> bool:
    """Count one failure; True when this one locks the guard."""
    window = timedelta(minutes=lock_minutes)
    if guard.first_failure_at is None or guard.first_failure_at < now - window:
        guard.failures, guard.first_failure_at = 0, now  # old failures are forgiven
    guard.failures += 1
    if guard.failures >= max_attempts:
        guard.locked_until = now + window
        guard.failures, guard.first_failure_at = 0, None
        return True
    return False


def _raise_lock_action(session: Session, guard_keys: list[str], candidates: list[Candidate],
                       now: datetime, lock_minutes: int) -> None:
    names = ", ".join(sorted({c.first_name for c in candidates})) or "nobody we know"
    person_ids = sorted({c.person_id for c in candidates})
    case = None
    if len(person_ids) == 1:
        case = session.exec(select(Case).where(Case.person_id == person_ids[0])
                            .order_by(Case.id.desc())).first()
    raise_action(
        session, kind="pin_locked", urgency=ActionUrgency.NORMAL,
        summary=(f"Too many wrong PINs from one phone (may be for: {names}). PIN checks from "
                 f"it are blocked for {lock_minutes} minutes. If it was them, call back on a "
                 "number on file; if not, someone may be trying to get their details."),
        person_id=person_ids[0] if len(person_ids) == 1 else None,
        case_id=case.id if case else None,
        dedupe_key=f"pin_locked/{guard_keys[0]}/{now:%Y%m%d%H%M}",
    )
