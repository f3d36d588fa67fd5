"""Records that stay true, played through the CLI and the signed webhooks with a clock that
moves: the right team's numbers after the PIN, and a closure that ends pending contact."""

from datetime import UTC, datetime

from sqlmodel import Session, select

from bot.models import OutboxMessage, OutboxStatus
from bot.outreach import notices, sweeps

JEAN, JEAN_PIN = "+447700900108", "5281"  # Don Valley (T-SHEFF): duty 0114 496 0000
EDITH = "+447700900101"


def _texts(phone, *bodies) -> str:
    return "\n".join(t for body in bodies for t in phone.text(body))


def _rows(runtime, case_ref, purposes):
    from bot.models import Case

    with Session(runtime.engine) as session:
        case = session.exec(select(Case).where(Case.ref == case_ref)).one()
        return list(session.exec(select(OutboxMessage).where(
            OutboxMessage.case_id == case.id, OutboxMessage.purpose.in_(purposes))))


def test_after_the_pin_a_don_valley_closure_gives_don_valleys_numbers(demo_runtime, phone,
                                                                      caseline):
    demo_runtime.clock = lambda: datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    caseline("cases", "close", "SG-100108", "--summary", "Jean's new carer is in place.",
             "--outcomes", "fully", "--risk", "reduced")
    heard = _texts(phone(JEAN), "any news?", JEAN_PIN)
    assert "closed" in heard and "0114 496 0000" in heard
    assert "0113 496 0000" not in heard and "0113 496 0500" not in heard  # nor Airedale's


def test_closing_a_case_drops_the_check_in_still_waiting_to_go(demo_runtime, phone, caseline):
    """Wednesday evening the check-in sweep writes Edith's check-in for the morning window;
    the case is closed that night. In the morning only the closure goes out."""
    notices.install(demo_runtime)
    evening = datetime(2026, 12, 9, 20, 30, tzinfo=UTC)
    demo_runtime.clock = lambda: evening
    assert sweeps.check_ins(demo_runtime) > 0
    waiting = _rows(demo_runtime, "SG-100101", ("check_in", "watchdog"))
    assert waiting and all(r.status is OutboxStatus.PENDING and r.not_before > evening
                           for r in waiting)
    caseline("cases", "close", "SG-100101", "--summary", "Edith is safe at home.",
             "--outcomes", "fully", "--risk", "removed")
    after = _rows(demo_runtime, "SG-100101", ("check_in", "watchdog"))
    assert {r.status for r in after} == {OutboxStatus.CANCELLED}
    assert all("closed" in r.last_error for r in after)
    assert _rows(demo_runtime, "SG-100101", ("closure",))  # what she will hear instead

    from bot.delivery import sending

    morning = datetime(2026, 12, 10, 10, 0, tzinfo=UTC)
    demo_runtime.clock = lambda: morning
    for row in after:
        assert sending.send(demo_runtime, row.id) == "not due or already taken"
    assert sweeps.check_ins(demo_runtime) == 0  # and no new one for a closed case


# ---- 3. while the worker is away, their cover (or the duty team) gets the actions ---------

ARTHUR, ARTHUR_PIN = "+447700900102", "3164"  # Rachel's case; she is away, Tom covers


def _actions(runtime, kind):
    from bot.models import StaffAction, Worker

    with Session(runtime.engine) as session:
        return [(a, session.get(Worker, a.worker_id) if a.worker_id else None)
                for a in session.exec(select(StaffAction).where(StaffAction.kind == kind))]


def _away(runtime, ref, until):
    from bot.models import Worker

    with Session(runtime.engine) as session:
        worker = session.exec(select(Worker).where(Worker.ref == ref)).one()
        worker.away_until = until
        session.add(worker)
        session.commit()


def test_a_call_back_while_the_worker_is_away_goes_to_the_cover_and_says_so(
        demo_runtime, phone):
    moment = {"now": datetime(2026, 12, 2, 11, 0, tzinfo=UTC)}
    demo_runtime.clock = lambda: moment["now"]
    arthur = phone(ARTHUR)
    heard = _texts(arthur, "any news?", ARTHUR_PIN)
    assert "Tom" in heard  # the cover is named
    _texts(arthur, "1")  # ask for a call back
    [(action, worker)] = _actions(demo_runtime, "call_back")
    assert worker.first_name == "Tom" and action.team_id is not None
    moment["now"] = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)  # the next day he asks again
    again = _texts(phone(ARTHUR), "any news?", ARTHUR_PIN)
    assert "We asked Tom to call you" in again and "Rachel to call" not in again


def test_with_the_cover_away_too_the_duty_team_takes_it(demo_runtime, phone):
    from datetime import date

    moment = {"now": datetime(2026, 12, 2, 11, 0, tzinfo=UTC)}
    demo_runtime.clock = lambda: moment["now"]
    _away(demo_runtime, "W-103", date(2026, 12, 31))  # Tom is away as well
    _texts(phone(ARTHUR), "any news?", ARTHUR_PIN, "1")
    [(action, worker)] = _actions(demo_runtime, "call_back")
    assert worker is None and action.team_id is not None  # the team's duty queue
    moment["now"] = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
    again = _texts(phone(ARTHUR), "any news?", ARTHUR_PIN)
    assert "We asked the duty team to call you" in again


def test_unsafe_and_no_news_for_an_away_workers_case_go_to_the_cover(demo_runtime, phone):
    notices.install(demo_runtime)
    demo_runtime.clock = lambda: datetime(2026, 12, 9, 11, 0, tzinfo=UTC)  # news is late
    sweeps.run_all(demo_runtime)  # the watchdog: its text is also Arthur's check-in
    [(_no_news, worker)] = [(a, w) for a, w in _actions(demo_runtime, "no_news")
                            if a.summary.startswith("Case SG-100102")]
    assert worker.first_name == "Tom"
    _texts(phone(ARTHUR), "3")  # "I feel unsafe", in reply to the line's question
    [(unsafe, worker)] = _actions(demo_runtime, "feels_unsafe")
    assert worker.first_name == "Tom" and unsafe.urgency.value == "urgent"


# ---- 6. small ones ------------------------------------------------------------------------

STRANGER = "+447700900999"
JOAN, JOAN_PIN = "+447700900201", "5937"  # Edith's daughter


def _one_action(runtime, kind):
    [(action, _worker)] = _actions(runtime, kind)
    return action


def test_start_after_stop_closes_the_stop_action(demo_runtime, phone):
    from bot.models import ActionStatus

    edith = phone(EDITH)
    edith.text("STOP")
    assert _one_action(demo_runtime, "opted_out").status is ActionStatus.OPEN
    edith.text("START")
    action = _one_action(demo_runtime, "opted_out")
    assert action.status is ActionStatus.DONE and "START" in action.done_by


def test_a_message_from_an_unverified_caller_carries_their_number(demo_runtime, phone):
    demo_runtime.clock = lambda: datetime(2026, 12, 5, 23, 0, tzinfo=UTC)  # office closed
    caller = phone(STRANGER)
    caller.call()
    step = caller.press("0")
    assert step.record, step.text  # out of hours: a message is taken
    caller.leave_message(seconds=8)
    assert "Their number: 07700 900999" in _one_action(demo_runtime, "message").summary


def test_a_repeated_transcription_is_added_once(demo_runtime, phone):
    from bot.models import Interaction

    demo_runtime.clock = lambda: datetime(2026, 12, 5, 23, 0, tzinfo=UTC)
    caller = phone(STRANGER)
    caller.call()
    caller.press("0")
    caller.leave_message(seconds=8)
    form = {"CallSid": caller.call_sid, "AccountSid": caller.account_sid,
            "TranscriptionSid": "TR" + "1" * 32, "TranscriptionText": "Please ring me.",
            "TranscriptionStatus": "completed"}
    for _ in range(3):  # Twilio retries a callback it thinks failed
        assert caller.post("/twilio/voice/transcription", form)[0] == 200
    with Session(demo_runtime.engine) as session:
        [left] = session.exec(select(Interaction).where(Interaction.kind == "message_left"))
    assert left.summary.count("Transcription: Please ring me.") == 1


def test_a_call_back_for_a_relative_without_consent_warns_the_worker(demo_runtime, phone):
    from bot.models import Representative

    with Session(demo_runtime.engine) as session:
        joan = session.exec(select(Representative).where(Representative.ref == "R-001")).one()
        joan.consent_scopes = []  # Edith withdrew her consent
        session.add(joan)
        session.commit()
    demo_runtime.clock = lambda: datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    heard = _texts(phone(JOAN), "any news?", JOAN_PIN)
    assert "Sam" not in heard and "enquiry" not in heard  # she is told nothing
    _texts(phone(JOAN), "call me back")
    summary = _one_action(demo_runtime, "call_back").summary
    assert "Careful: they have no consent" in summary and "tell them nothing" in summary
