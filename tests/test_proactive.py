"""The line reaches out by itself: check-ins, the watchdog, notices and MSP feedback, each
on the recipient's channel and in their window, once (tests with a controlled clock)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import Session, select

from bot.models import (
    Case,
    Channel,
    ConversationState,
    FeedbackAnswer,
    LineType,
    OutboxMessage,
    Person,
    PersonPhone,
    Representative,
    StaffAction,
    Stage,
    Team,
    Worker,
)
from bot.outreach import notices, sweeps
from bot.services import cases as case_service

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # Wednesday, inside 10am-7pm
EVENING = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)


def _at(runtime, moment):
    runtime.clock = lambda: moment
    return runtime


def _rows(runtime, **where):
    with Session(runtime.engine) as session:
        query = select(OutboxMessage)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(session.exec(query.order_by(OutboxMessage.id)))


def _many_cases(runtime, count=1000):
    """A quarter each: mobile (text), landline (call), no phone calls with a representative
    (text to them), and opened too recently to be due."""
    with Session(runtime.engine) as session:
        team = Team(ref="T", name="Team", duty_number="+441134960000",
                    out_of_hours_number="+441134960999", manager_name="Priya Shah")
        session.add(team)
        session.flush()
        worker = Worker(ref="W", first_name="Sam", last_name="Okafor",
                        direct_number="+441134960123", team_id=team.id)
        session.add(worker)
        session.flush()
        for n in range(count):
            kind = n % 4
            person = Person(ref=f"P{n}", first_name="Edith", last_name=f"Test{n}",
                            no_phone_calls=kind == 2)
            session.add(person)
            session.flush()
            number = f"+4477009{n % 1000:05d}" if kind in (0,) else f"+4411349{60000 + n % 1000}"
            session.add(PersonPhone(person_id=person.id, number=number, is_primary=True,
                                    line_type=LineType.MOBILE if kind == 0 else
                                    LineType.LANDLINE))
            if kind == 2:
                session.add(Representative(ref=f"R{n}", person_id=person.id, first_name="Joan",
                                           last_name="Test", relationship="daughter",
                                           number=f"+4477009{(n + 500) % 1000:05d}",
                                           line_type=LineType.MOBILE,
                                           consent_scopes=["status"]))
            opened = NOON - timedelta(days=2 if kind == 3 else 8)
            session.add(Case(ref=f"SG-{n}", person_id=person.id, worker_id=worker.id,
                             stage=Stage.ENQUIRY, opened_at=opened, news_updated_at=NOON))
        session.commit()


@pytest.mark.slow
def test_a_sweep_over_1000_cases_makes_exactly_the_due_check_ins_once(runtime):
    _many_cases(_at(runtime, NOON))
    made = sweeps.check_ins(runtime)
    assert made == 750
    rows = _rows(runtime, purpose="check_in")
    assert len(rows) == 750
    texts = [r for r in rows if r.channel == Channel.SMS]
    calls = [r for r in rows if r.channel == Channel.VOICE]
    assert len(calls) == 250 and all(r.to_number.startswith("+44113") for r in calls)
    assert len(texts) == 500 and all(r.to_number.startswith("+447700") for r in texts)
    assert sum(1 for r in texts if r.representative_id) == 250  # "no phone calls": the rep
    assert all(r.not_before == NOON for r in rows)  # inside the window: now
    assert all(len(r.body) <= 160 for r in texts)  # a check-in fits one part
    assert sweeps.check_ins(runtime) == 0
    assert len(_rows(runtime, purpose="check_in")) == 750


def test_outside_the_window_a_check_in_waits_for_the_next_morning(demo_runtime):
    _at(demo_runtime, EVENING)
    sweeps.check_ins(demo_runtime)
    rows = _rows(demo_runtime, purpose="check_in")
    assert rows
    for row in rows:
        local = row.not_before.astimezone(demo_runtime.settings.tz)
        assert local.date() == date(2026, 11, 26)
    # Kerry's own window is noon to 2pm (see the demo data).
    with Session(demo_runtime.engine) as session:
        kerry = session.exec(select(Person).where(Person.first_name == "Kerry")).one()
    [hers] = [r for r in rows if r.person_id == kerry.id and not r.representative_id]
    assert hers.not_before.astimezone(demo_runtime.settings.tz).time() == time(12, 0)


def test_paused_and_deceased_people_get_nothing(demo_runtime):
    with Session(demo_runtime.engine) as session:
        for person in session.exec(select(Person)):
            person.contact_paused_until = date(2099, 1, 1) if person.id % 2 else None
            person.deceased = not person.id % 2
        session.commit()
    _at(demo_runtime, NOON + timedelta(days=60))
    assert sweeps.check_ins(demo_runtime) == 0
    assert sweeps.watchdog(demo_runtime) == 0


def test_a_check_in_text_reply_reaches_the_case_in_the_same_request(demo_runtime, phone):
    _at(demo_runtime, NOON + timedelta(days=60))
    sweeps.check_ins(demo_runtime)
    [row] = [r for r in _rows(demo_runtime, purpose="check_in") if r.to_number == "+447700900101"]
    assert "How are you?" in row.body and "Sam" not in row.body
    reply = phone("+447700900101").text("3")
    assert any("999" in r for r in reply)
    with Session(demo_runtime.engine) as session:
        urgent = session.exec(select(StaffAction).where(StaffAction.urgency == "urgent")).all()
    assert urgent and urgent[0].case_id == row.case_id


def test_the_watchdog_fires_after_n_days_and_not_before(runtime):
    _many_cases(_at(runtime, NOON), count=4)
    assert sweeps.watchdog(_at(runtime, NOON + timedelta(days=9))) == 0
    assert sweeps.watchdog(_at(runtime, NOON + timedelta(days=10))) == 4
    assert sweeps.watchdog(runtime) == 0  # once per quiet spell
    with Session(runtime.engine) as session:
        kinds = sorted(a.kind for a in session.exec(select(StaffAction)))
    assert kinds == ["no_news"] * 4 + ["no_news_manager"] * 4
    body = _rows(runtime, purpose="watchdog", channel=Channel.SMS)[0].body
    assert "not forgotten" in body


def test_a_case_due_a_check_in_and_the_watchdog_hears_from_us_once(runtime, monkeypatch):
    """A chunk job finds a case due both (a check-in period has passed, and no news for
    the watchdog's days): the person gets the watchdog's text alone, and staff are told.
    The next period's check-in still goes; the watchdog does not repeat itself."""
    def at(moment):
        monkeypatch.setattr("bot.clock.now", lambda: moment)  # when rows are written
        return _at(runtime, moment)

    _many_cases(at(NOON), count=1)  # opened 8 days before NOON, news at NOON
    with Session(runtime.engine) as session:
        case_id = session.exec(select(Case.id)).one()
    both_due = NOON + timedelta(days=10)  # a check-in is due, and the watchdog
    sweeps.chunk(at(both_due), case_id, case_id, both_due)
    assert [r.purpose for r in _rows(runtime, channel=Channel.SMS)] == ["watchdog"]
    with Session(runtime.engine) as session:
        kinds = sorted(a.kind for a in session.exec(select(StaffAction)))
    assert kinds == ["no_news", "no_news_manager"]
    sweeps.chunk(at(both_due + timedelta(days=3)), case_id, case_id, both_due
                 + timedelta(days=3))  # the same period, the same quiet spell: nothing
    assert len(_rows(runtime)) == 1
    next_period = both_due + timedelta(days=7)
    sweeps.chunk(at(next_period), case_id, case_id, next_period)
    assert [r.purpose for r in _rows(runtime, channel=Channel.SMS)] == ["watchdog",
                                                                        "check_in"]


def test_a_missed_next_contact_date_wakes_the_watchdog(runtime):
    _many_cases(_at(runtime, NOON), count=1)
    with Session(runtime.engine) as session:
        session.exec(select(Case)).one().next_contact_by = date(2026, 11, 24)
        session.commit()
    assert sweeps.watchdog(runtime) == 1


def test_closing_a_case_confirms_to_the_person_and_closure_representatives(demo_runtime):
    notices.install(_at(demo_runtime, NOON))
    with demo_runtime.session() as session:
        case_service.close_case(session, "SG-100101", summary="Edith is safe at home now.",
                                outcomes="fully", risk="removed", actor="t")
    rows = _rows(demo_runtime, purpose="closure")
    assert sorted(r.to_number for r in rows) == ["+447700900101", "+447700900201"]
    assert all("closed" in r.body for r in rows)


def test_news_notifies_the_person_and_representatives_with_the_news_scope(demo_runtime):
    notices.install(_at(demo_runtime, NOON))
    with demo_runtime.session() as session:
        case_service.post_news(session, "SG-100101", "Sam spoke to the bank.", actor="t")
        case_service.post_news(session, "SG-100102", "A carer now comes twice a day.",
                               actor="t")
    rows = {r.to_number: r for r in _rows(demo_runtime, purpose="news")}
    # Edith and Arthur by their own channel; Daniel (news scope); not Joan (no news scope).
    assert sorted(rows) == ["+447700900101", "+447700900102", "+447700900202"]
    assert "twice a day" in rows["+447700900202"].body
    assert "Sam spoke to the bank." in rows["+447700900101"].body


def test_a_new_worker_is_named_to_those_who_may_know(demo_runtime):
    notices.install(_at(demo_runtime, NOON))
    with demo_runtime.session() as session:
        case_service.change_worker(session, "SG-100101", "W-103", actor="t")
    rows = _rows(demo_runtime, purpose="worker_change")
    by_number = {r.to_number: r.body for r in rows}
    assert "Tom Hartley" in by_number["+447700900101"]
    assert "Tom Hartley" not in by_number.get("+447700900201", "")  # no worker scope


def test_feedback_is_asked_once_n_days_after_closure(demo_runtime, phone):
    _at(demo_runtime, NOON)
    with demo_runtime.session() as session:
        case_service.close_case(session, "SG-100101", summary="Edith is safe.",
                                outcomes="partially", risk="reduced", actor="t", when=NOON)
    sweeps.feedback(_at(demo_runtime, NOON + timedelta(days=6)))
    assert _rows(demo_runtime, purpose="feedback", to_number="+447700900101") == []
    sweeps.feedback(_at(demo_runtime, NOON + timedelta(days=7)))
    assert sweeps.feedback(demo_runtime) == 0  # asked once
    [row] = _rows(demo_runtime, purpose="feedback", to_number="+447700900101")
    edith = phone("+447700900101")
    edith.text("2")  # partly
    edith.text("1")
    with Session(demo_runtime.engine) as session:
        answers = {a.question: a.answer for a in session.exec(select(FeedbackAnswer))}
        case = session.get(Case, row.case_id)
    assert answers.get("outcome") == "Partially Achieved"
    assert case.msp_achieved.value == "Partially Achieved"  # the worker's record stays


def test_an_outbound_call_answered_by_a_machine_hears_no_case_detail(demo_runtime, phone):
    _at(demo_runtime, NOON + timedelta(days=60))
    sweeps.check_ins(demo_runtime)
    [row] = _rows(demo_runtime, purpose="check_in", to_number="+441134960505")  # Winifred
    winifred = phone("+441134960505")
    form = {"CallSid": "CA" + "5" * 32, "AccountSid": "AC" + "0" * 32,
            "From": demo_runtime.settings.twilio_phone_number, "To": "+441134960505",
            "CallStatus": "in-progress", "Direction": "outbound-api",
            "AnsweredBy": "machine_start"}
    status, body = winifred.post(f"/twilio/voice/outbound?outbox={row.id}", form)
    assert status == 200 and "Hangup" in body
    for secret in ("Winifred", "Sam", "Okafor", "checking that the plan", "December"):
        assert secret not in body


def test_an_outbound_call_says_nothing_before_the_pin(demo_runtime, phone):
    from bot.tryout.phone_sim import read_call_step

    _at(demo_runtime, NOON + timedelta(days=60))
    sweeps.check_ins(demo_runtime)
    [row] = _rows(demo_runtime, purpose="check_in", to_number="+441134960505")
    winifred = phone("+441134960505")
    winifred.call_sid = "CA" + "6" * 32
    form = {"CallSid": winifred.call_sid, "AccountSid": "AC" + "0" * 32,
            "From": demo_runtime.settings.twilio_phone_number, "To": "+441134960505",
            "CallStatus": "in-progress", "Direction": "outbound-api", "AnsweredBy": "human"}
    status, body = winifred.post(f"/twilio/voice/outbound?outbox={row.id}", form)
    step = read_call_step(body)
    assert "PIN" in step.text and "Winifred" not in step.text and "Sam" not in step.text
    winifred.step = step
    wrong = winifred._follow(winifred._call_post(step.gather["action"],
                                                 {"Digits": "1111", "Direction": "outbound-api",
                                                  "From": form["From"], "To": form["To"]}))
    assert "Sam" not in wrong.text and "Winifred" not in wrong.text
    with Session(demo_runtime.engine) as session:
        assert session.exec(select(ConversationState)).all()


def test_after_answering_a_check_in_the_next_text_starts_afresh(demo_runtime, phone):
    _at(demo_runtime, NOON + timedelta(days=60))
    sweeps.check_ins(demo_runtime)
    edith = phone("+447700900101")
    assert any("glad you are OK" in r for r in edith.text("1"))
    assert any("PIN" in r for r in edith.text("Any news?"))
    assert any("Sam Okafor" in r for r in edith.text("4821"))


def test_an_unanswered_check_in_call_is_tried_again_then_raised(live_runtime, fake_twilio):
    from bot.delivery import sending
    from bot.importer import import_file
    from bot.models import OutboxStatus
    from tests.conftest import DEMO_FILE

    import_file(DEMO_FILE, live_runtime.engine, pin_key=live_runtime.settings.pin_key)
    notices.install(_at(live_runtime, NOON + timedelta(days=60)))
    sweeps.check_ins(live_runtime)
    fake_twilio.state.set_call_outcome("no-answer", to="+441134960505", count=None)
    for attempt in range(3):
        [row] = [r for r in _rows(live_runtime, to_number="+441134960505")
                 if r.status is OutboxStatus.PENDING]
        if attempt:
            assert row.key.endswith(f"/retry{attempt}")
            assert row.not_before >= NOON + timedelta(days=60, hours=2)
            with Session(live_runtime.engine) as session:
                session.get(OutboxMessage, row.id).not_before = None  # the wait has passed
                session.commit()
        assert sending.send(live_runtime, row.id) == "sent"
        fake_twilio.wait_for(lambda r=row: _rows(live_runtime, id=r.id)[0].status
                             is OutboxStatus.NOT_ANSWERED, timeout=10)
    with Session(live_runtime.engine) as session:
        [action] = session.exec(select(StaffAction).where(
            StaffAction.kind == "call_not_answered")).all()
    assert "Winifred Ashby" in action.summary and "3 tries" in action.summary


def test_a_representative_stopping_texts_is_seen_by_staff(demo_runtime, phone):
    phone("+447700900201").text("STOP")  # Joan, Edith's daughter
    with Session(demo_runtime.engine) as session:
        [action] = session.exec(select(StaffAction).where(StaffAction.kind == "opted_out")).all()
    assert action.case_id is not None and "Joan" in action.summary


def test_a_contact_nobody_can_receive_becomes_a_staff_action(demo_runtime):
    with Session(demo_runtime.engine) as session:
        winifred = session.exec(select(Person).where(Person.first_name == "Winifred")).one()
        winifred.no_phone_calls = True  # a landline only, and no calls: no way to reach her
        session.commit()
    sweeps.check_ins(_at(demo_runtime, NOON + timedelta(days=60)))
    with Session(demo_runtime.engine) as session:
        [action] = session.exec(select(StaffAction).where(
            StaffAction.kind == "cannot_reach")).all()
    assert "Winifred Ashby" in action.summary and "check in" in action.summary
