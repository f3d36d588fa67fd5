"""Who is calling and proving it by PIN: shared numbers, lockouts, case reference + PIN."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.inbound.identity import candidates_for_case, candidates_for_number, check_pin, is_locked
from bot.models import PersonPhone, StaffAction, utcnow
from bot.models.types import LineType
from bot.pins import hash_pin
from tests.factories import make_case, make_person, make_representative

KEY = "test-pin-key"
LANDLINE = "+441144960707"


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as session:
        yield session


def _couple_and_daughter(session):
    harold = make_person(session, number=LANDLINE, ref="P-H", first_name="Harold",
                         pin_hash=hash_pin("3748", KEY, salt="P-H"))
    jean = make_person(session, number="+447700900108", ref="P-J", first_name="Jean",
                       pin_hash=hash_pin("5281", KEY, salt="P-J"))
    session.add(PersonPhone(person_id=jean.id, number=LANDLINE, line_type=LineType.LANDLINE))
    case = make_case(session, person=harold, ref="SG-2001")
    for parent, ref in ((harold, "R-H"), (jean, "R-J")):
        make_representative(session, parent, ref=ref, number="+447700900301",
                            pin_hash=hash_pin("9182", KEY, salt=ref))
    session.flush()
    return harold, jean, case


def _check(session, number, pin, now=None, keys=None, candidates=None):
    return check_pin(session, guard_keys=keys or [number],
                     candidates=candidates if candidates is not None
                     else candidates_for_number(session, number),
                     pin=pin, key=KEY, now=now or utcnow(), max_attempts=5, lock_minutes=60)


def test_a_shared_landline_belongs_to_both_and_the_pin_says_who(session):
    _couple_and_daughter(session)
    names = [c.first_name for c in candidates_for_number(session, LANDLINE)]
    assert names == ["Harold", "Jean"]
    result = _check(session, LANDLINE, "5281")
    assert result.ok and [m.first_name for m in result.matches] == ["Jean"]


def test_a_daughter_for_two_parents_matches_both_records(session):
    _couple_and_daughter(session)
    result = _check(session, "+447700900301", "9182")
    assert result.ok and {m.ref for m in result.matches} == {"R-H", "R-J"}


def test_unknown_number_has_no_candidates(session):
    _couple_and_daughter(session)
    assert candidates_for_number(session, "+447700900999") == []
    assert candidates_for_number(session, None) == []


def test_wrong_pins_lock_the_number_and_raise_one_action(session):
    _couple_and_daughter(session)
    now = utcnow()
    for attempt in range(4):
        result = _check(session, LANDLINE, "0000", now=now + timedelta(seconds=attempt))
        assert not result.ok and not result.locked
    result = _check(session, LANDLINE, "0000", now=now + timedelta(seconds=5))
    assert result.locked and result.just_locked
    # Locked: even the right PIN is not checked now, and no second action is raised.
    assert _check(session, LANDLINE, "3748", now=now + timedelta(minutes=1)).locked
    actions = session.exec(select(StaffAction)).all()
    assert [a.kind for a in actions] == ["pin_locked"]
    assert "Harold" in actions[0].summary and "3748" not in actions[0].summary
    assert is_locked(session, LANDLINE, now + timedelta(minutes=59))
    # The lock lifts after its time; the right PIN works again.
    later = now + timedelta(minutes=61)
    assert not is_locked(session, LANDLINE, later)
    assert _check(session, LANDLINE, "3748", now=later).ok


def test_old_failures_are_forgiven(session):
    _couple_and_daughter(session)
    now = utcnow()
    for attempt in range(4):
        _check(session, LANDLINE, "0000", now=now + timedelta(seconds=attempt))
    result = _check(session, LANDLINE, "0000", now=now + timedelta(hours=2))
    assert not result.locked


def test_case_reference_and_pin_from_a_withheld_number(session):
    _couple_and_daughter(session)
    candidates = candidates_for_case(session, " sg-2001 ")
    assert {c.ref for c in candidates} == {"P-H", "R-H"}
    result = _check(session, None, "3748", keys=["withheld:CA1", "ref:SG-2001"],
                    candidates=candidates)
    assert result.ok and result.matches[0].ref == "P-H"
    assert candidates_for_case(session, "SG-404") == []
    assert {c.ref for c in candidates_for_case(session, "2001")} == {"P-H", "R-H"}  # keypad


def test_guessing_one_reference_from_many_calls_locks_the_reference(session):
    _couple_and_daughter(session)
    candidates = candidates_for_case(session, "SG-2001")
    for call in range(5):
        result = _check(session, None, "1111", keys=[f"withheld:CA{call}", "ref:SG-2001"],
                        candidates=candidates)
    assert result.locked
    assert _check(session, None, "3748", keys=["withheld:CA99", "ref:SG-2001"],
                  candidates=candidates).locked
