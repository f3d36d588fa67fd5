"""Regression tests for problems an independent review found (privacy and reliability)."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.delivery import outbox, sending
from bot.models import (
    Channel,
    ConversationState,
    InboundEvent,
    OptOut,
    StaffAction,
    utcnow,
)

EDITH = "+447700900101"
OFFICE_HOURS = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)


def test_yes_on_a_call_answers_the_danger_question_even_after_stop(phone, demo_runtime):
    demo_runtime.clock = lambda: OFFICE_HOURS
    edith = phone(EDITH)
    edith.text("STOP")
    edith.call()
    edith.say("I feel unsafe", confidence=0.3)  # heard unclearly: the line asks to confirm
    step = edith.say("yes", confidence=0.9)
    assert "9 9 9" in step.text
    with Session(demo_runtime.engine) as session:
        kinds = {a.kind for a in session.exec(select(StaffAction))}
        assert session.exec(select(OptOut)).all()  # still opted out of texts
    assert "danger" in kinds


def test_pins_and_references_are_not_kept_in_stored_requests(phone, demo_runtime):
    demo_runtime.clock = lambda: OFFICE_HOURS
    edith = phone(EDITH)
    edith.text("Any news?")
    edith.text("4821")
    edith.call()
    edith.press("1")
    edith.press("4821")
    edith.say("four eight two one")
    with Session(demo_runtime.engine) as session:
        stored = [e.params for e in session.exec(select(InboundEvent))]
        states = [str(c.state) for c in session.exec(select(ConversationState))]
    assert "4821" not in str(stored) and "four eight two one" not in str(stored)
    assert any(p.get("Body") == "Any news?" for p in stored)  # ordinary words are kept
    assert all("_pin_token" not in s for s in states)  # verified: no sealed PIN left behind


def test_a_claim_released_by_the_sweep_is_never_sent_by_its_old_worker(runtime):
    with runtime.session() as session:
        row = outbox.add(session, key="reply/1", purpose="reply", channel=Channel.SMS,
                         to=EDITH, body="Hello.")
        attempt = outbox.claim(session, row.id, now=utcnow())
    sending.sweep(runtime, now=utcnow() + timedelta(minutes=10))  # thinks the worker died
    with runtime.session() as session:
        assert outbox.mark_requesting(session, attempt.id, now=utcnow()) is False


def test_a_stored_step_nobody_answered_reaches_staff(runtime):
    with runtime.session() as session:
        session.add(InboundEvent(key="sms:SM" + "3" * 32, channel=Channel.SMS, number=EDITH,
                                 params={"Body": "help"}))
    counts = sending.sweep(runtime, now=utcnow() + timedelta(minutes=5))
    assert counts["unprocessed"] == 1
    assert sending.sweep(runtime, now=utcnow() + timedelta(minutes=6))["unprocessed"] == 0
    with Session(runtime.engine) as session:
        [action] = session.exec(select(StaffAction)).all()
    assert action.kind == "inbound_failed" and "07700 900101" in action.summary


def test_one_wrong_guess_counts_once_not_twice(phone, demo_runtime):
    demo_runtime.clock = lambda: OFFICE_HOURS
    from bot.models import PinGuard

    edith = phone(EDITH)
    edith.text("Any news?")
    edith.text("1111")  # wrong PIN: the line asks for the case reference
    edith.text("999999")
    with Session(demo_runtime.engine) as session:
        guard = session.exec(select(PinGuard).where(PinGuard.number == EDITH)).one()
    assert guard.failures == 1


def test_a_repeat_is_audited_like_the_first_telling(phone, demo_runtime):
    from bot.models import Disclosure

    demo_runtime.clock = lambda: OFFICE_HOURS
    edith = phone(EDITH)
    edith.call()
    edith.press("1")
    edith.press("4821")
    with Session(demo_runtime.engine) as session:
        first = len(session.exec(select(Disclosure)).all())
    edith.press("*")
    with Session(demo_runtime.engine) as session:
        after = len(session.exec(select(Disclosure)).all())
    assert first > 0 and after == 2 * first


def test_a_late_check_in_waits_for_the_next_window(demo_runtime):
    from bot.models import OutboxMessage
    from bot.outreach import sweeps

    noon = datetime(2027, 1, 27, 12, 0, tzinfo=UTC)
    demo_runtime.clock = lambda: noon
    sweeps.check_ins(demo_runtime)
    demo_runtime.clock = lambda: noon + timedelta(hours=10)  # 10pm: the worker is late
    with Session(demo_runtime.engine) as session:
        row = session.exec(select(OutboxMessage).where(
            OutboxMessage.to_number == EDITH)).first()
    assert sending.send(demo_runtime, row.id) == "outside the contact window: deferred"
    with Session(demo_runtime.engine) as session:
        later = session.get(OutboxMessage, row.id)
    assert later.not_before.astimezone(demo_runtime.settings.tz).hour == 10
    assert later.attempt_count == 0
