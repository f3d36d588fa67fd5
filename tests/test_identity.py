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


# ---- one guess budget per person, whatever the route ----------------------------------------

def _failures(session, key):
    from bot.models import PinGuard

    guard = session.exec(select(PinGuard).where(PinGuard.number == key)).first()
    return guard.failures if guard else 0


def _by_ref(session, pin, call, now, source="withheld", counted=()):
    return check_pin(session, guard_keys=[f"withheld:CA{call}"],
                     candidates=candidates_for_case(session, "SG-2001"), pin=pin, key=KEY,
                     now=now, max_attempts=5, lock_minutes=60, source=source,
                     counted=counted)


def _ref_route(session, pin, call, now, source="withheld", counted=()):
    """The reference route as the line runs it: the reference's own key."""
    return check_pin(session, guard_keys=["ref:SG-2001"],
                     candidates=candidates_for_case(session, "SG-2001"), pin=pin, key=KEY,
                     now=now, max_attempts=5, lock_minutes=60, source=source,
                     counted=counted)


def test_guesses_by_number_and_by_reference_share_one_budget_per_person(session):
    harold, jean, _ = _couple_and_daughter(session)
    now = utcnow()
    for attempt in range(3):  # three from the landline, tried on Harold and Jean
        assert not _check(session, LANDLINE, "0000", now=now + timedelta(seconds=attempt)).ok
    for call in range(2):  # two with Harold's case reference, from withheld numbers
        assert not _ref_route(session, "0000", call, now + timedelta(seconds=10 + call)).ok
    assert _failures(session, f"holder:person:{harold.id}") == 0  # locked: count restarts
    # Harold's budget is spent, so even his right PIN is not checked, from any route...
    assert _check(session, LANDLINE, "3748", now=now + timedelta(minutes=1)).locked
    # ...but Jean, on the same landline, was tried only three times: she still gets in.
    result = _check(session, LANDLINE, "5281", now=now + timedelta(minutes=2))
    assert result.ok and [m.first_name for m in result.matches] == ["Jean"]


def test_a_reference_guess_counts_against_each_holder_it_is_tried_on(session):
    harold, _, _ = _couple_and_daughter(session)
    rep = next(c for c in candidates_for_case(session, "SG-2001") if c.kind == "representative")
    _ref_route(session, "0000", 1, utcnow())
    assert _failures(session, f"holder:person:{harold.id}") == 1
    assert _failures(session, f"holder:representative:{rep.id}") == 1
    assert _failures(session, "ref:SG-2001") == 1


def test_a_pin_already_tried_at_the_number_is_not_charged_twice_for_the_reference(session):
    harold, _, _ = _couple_and_daughter(session)
    daughter = candidates_for_number(session, "+447700900301")  # R-H and R-J
    now = utcnow()
    assert not _check(session, "+447700900301", "0000", now=now).ok
    _ref_route(session, "0000", 1, now, source="+447700900301", counted=tuple(daughter))
    for rep in daughter:
        assert _failures(session, f"holder:representative:{rep.id}") == 1
    assert _failures(session, f"holder:person:{harold.id}") == 1


def test_the_reference_lock_is_an_outer_bound_a_right_pin_does_not_lift(session):
    _couple_and_daughter(session)
    now = utcnow()
    for call in range(4):
        _ref_route(session, "1111", call, now + timedelta(seconds=call))
    assert _ref_route(session, "3748", 9, now + timedelta(seconds=5)).ok  # Harold, at last
    # The reference's count stands: one more wrong guess, from anywhere, locks it.
    assert _ref_route(session, "1111", 10, now + timedelta(seconds=6)).locked
    assert _ref_route(session, "3748", 11, now + timedelta(seconds=7)).locked


def test_one_open_action_per_lock_that_says_when_it_came_from_several_numbers(session):
    _couple_and_daughter(session)
    now = utcnow()
    sources = ["+447700900555", "+447700900556", "withheld", "+447700900557", "withheld"]
    for call, source in enumerate(sources):
        _check(session, source if source != "withheld" else None, "1111",
               now=now + timedelta(seconds=call), keys=[f"{source}:{call}"], candidates=[])
        _ref_route(session, "1111", call, now + timedelta(seconds=call), source=source)
    later = now + timedelta(minutes=61)  # the lock lifts; the stranger goes on
    for call, source in enumerate(sources):
        _ref_route(session, "2222", call, later + timedelta(seconds=call), source=source)
    actions = session.exec(select(StaffAction).where(StaffAction.kind == "pin_locked")).all()
    assert len(actions) == 1  # two locks while nobody had acted: one action, kept up to date
    summary = actions[0].summary
    assert "4 different numbers (07700 900555, 07700 900556, a withheld number," \
           " 07700 900557)" in summary and "someone else may be trying" in summary
    assert "Locked again" in summary and "1111" not in summary and "2222" not in summary


def test_a_lock_from_the_persons_own_phone_says_where_it_came_from(session):
    _couple_and_daughter(session)
    now = utcnow()
    for attempt in range(5):
        check_pin(session, guard_keys=[LANDLINE], candidates=candidates_for_number(session,
                                                                                   LANDLINE),
                  pin="0000", key=KEY, now=now + timedelta(seconds=attempt), max_attempts=5,
                  lock_minutes=60, source=LANDLINE)
    [action] = session.exec(select(StaffAction).where(StaffAction.kind == "pin_locked")).all()
    assert "they came from 0114 496 0707." in action.summary
    assert "different numbers" not in action.summary
