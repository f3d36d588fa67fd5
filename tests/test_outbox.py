"""The outbox sends each text or call once, through the real twilio-python client and a
fake Twilio that behaves like Twilio (errors, hangs, signed callbacks out of order)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot import jobs
from bot.delivery import outbox, sending
from bot.delivery.queues import Work, dispatch
from bot.delivery.sender import TwilioSender
from bot.models import (
    Channel,
    OutboxMessage,
    OutboxStatus,
    SendAttempt,
    StaffAction,
    utcnow,
)
from tests.factories import make_person

OFFICE_HOURS = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)  # a Wednesday morning

MOBILE = "+447700900123"


def _add_text(runtime, key="reply/1", to=MOBILE, body="Your worker is Sam.", person=True):
    with runtime.session() as session:
        person_id = make_person(session, number=to).id if person else None
        row = outbox.add(session, key=key, purpose="reply", channel=Channel.SMS, to=to,
                         body=body, person_id=person_id)
    return row.id


def _row(runtime, row_id) -> OutboxMessage:
    with Session(runtime.engine) as session:
        return session.get(OutboxMessage, row_id)


def _attempts(runtime, row_id) -> list[SendAttempt]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(SendAttempt).where(SendAttempt.outbox_id == row_id)
                                 .order_by(SendAttempt.number)))


def _actions(runtime) -> list[StaffAction]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(StaffAction)))


def _wait_status(runtime, fake, row_id, *statuses):
    return fake.wait_for(lambda: _row(runtime, row_id).status in statuses, timeout=10)


def test_the_same_key_is_one_row(runtime):
    first = _add_text(runtime)
    with runtime.session() as session:
        again = outbox.add(session, key="reply/1", purpose="reply", channel=Channel.SMS,
                           to=MOBILE, body="Different body")
    assert again.id == first
    with Session(runtime.engine) as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_a_text_is_sent_and_followed_to_delivered(live_runtime, fake_twilio):
    row_id = _add_text(live_runtime)
    assert sending.send(live_runtime, row_id) == "sent"
    _wait_status(live_runtime, fake_twilio, row_id, OutboxStatus.DELIVERED)
    [attempt] = _attempts(live_runtime, row_id)
    assert attempt.twilio_sid.startswith("SM") and attempt.status == "delivered"
    [message] = fake_twilio.messages
    assert message["to"] == MOBILE and message["body"] == "Your worker is Sam."


def test_a_row_sent_twice_is_sent_once(live_runtime, fake_twilio):
    row_id = _add_text(live_runtime)
    assert sending.send(live_runtime, row_id) == "sent"
    assert sending.send(live_runtime, row_id) == "not due or already taken"
    assert len(fake_twilio.messages) == 1


def test_the_same_row_enqueued_twice_runs_once_through_rq(live_runtime, fake_twilio,
                                                          monkeypatch):
    from rq import SimpleWorker

    from bot.delivery.queues import queues

    _use_runtime_in_jobs(monkeypatch, live_runtime)
    row_id = _add_text(live_runtime)  # the commit enqueues it once
    dispatch(live_runtime, Work(send_now=(row_id,)))  # and again
    dispatch(live_runtime, Work(send_now=(row_id,)))
    connection = live_runtime.redis
    assert sum(q.count for q in queues(connection)) == 1
    SimpleWorker(queues(connection), connection=connection).work(burst=True)
    _wait_status(live_runtime, fake_twilio, row_id, OutboxStatus.DELIVERED)
    assert len(fake_twilio.messages) == 1


def test_a_job_redis_lost_from_its_queue_is_handed_over_again_and_sent_once(
        live_runtime, fake_twilio, monkeypatch):
    """Redis loses a queue's list but keeps its jobs (an eviction, a restore from an
    older copy): the job still says "queued" and will never run. The outbox sweep must
    not take it for alive: the row is handed over again and sent, once."""
    from rq import Queue, SimpleWorker

    from bot.delivery.queues import has_live_job, queue_for, queues, send_job_id

    _use_runtime_in_jobs(monkeypatch, live_runtime)
    row_id = _add_text(live_runtime)  # the commit hands it to RQ
    connection = live_runtime.redis
    queue = Queue(queue_for("reply"), connection=connection)
    assert queue.get_job_ids() == [send_job_id(row_id, 1)]
    assert has_live_job(connection, row_id, 1)
    connection.delete(queue.key)  # the list goes; the job's own record stays
    assert not has_live_job(connection, row_id, 1)
    later = live_runtime.now() + outbox.ENQUEUED_TOO_LONG + timedelta(minutes=1)
    assert sending.sweep(live_runtime, now=later)["enqueued"] == 1
    assert queue.get_job_ids() == [send_job_id(row_id, 1)]
    SimpleWorker(queues(connection), connection=connection).work(burst=True)
    _wait_status(live_runtime, fake_twilio, row_id, OutboxStatus.DELIVERED)
    assert sending.sweep(live_runtime, now=later)["enqueued"] == 0
    assert len(fake_twilio.messages) == 1


def _use_runtime_in_jobs(monkeypatch, runtime):
    monkeypatch.setattr(jobs, "_runtime", runtime)


FINAL = [(21610, "replied STOP"), (21211, "not valid"), (21614, "not a mobile"),
         (30006, "landline"), (30007, "filtered")]


@pytest.mark.parametrize("code, words", FINAL)
def test_final_errors_end_the_row_and_raise_an_action(live_runtime, fake_twilio, code, words):
    fake_twilio.state.fail_create(code)
    row_id = _add_text(live_runtime)
    assert sending.send(live_runtime, row_id) == "failed: final"
    row = _row(live_runtime, row_id)
    assert row.status is OutboxStatus.FAILED
    [action] = _actions(live_runtime)
    assert action.kind == "send_failed"
    assert "Edith Marsh" in action.summary and words in action.summary
    assert action.person_id == row.person_id


@pytest.mark.parametrize("fail", [dict(http_status=429), dict(http_status=500),
                                  dict(http_status=503), dict(code=30003)])
def test_retryable_errors_wait_and_try_again(live_runtime, fake_twilio, fail):
    fake_twilio.state.fail_create(**fail)
    row_id = _add_text(live_runtime)
    assert sending.send(live_runtime, row_id) == "failed: retry"
    row = _row(live_runtime, row_id)
    assert row.status is OutboxStatus.PENDING
    assert row.not_before > utcnow() + timedelta(seconds=20)
    assert _actions(live_runtime) == []
    with Session(live_runtime.engine) as session:  # the back-off has passed
        session.get(OutboxMessage, row_id).not_before = utcnow()
        session.commit()
    assert sending.send(live_runtime, row_id) == "sent"
    assert [a.number for a in _attempts(live_runtime, row_id)] == [1, 2]


def test_retries_stop_at_the_cap_with_an_action(live_runtime, fake_twilio):
    from dataclasses import replace

    live_runtime.settings = replace(live_runtime.settings, outbound_max_attempts=2)
    fake_twilio.state.fail_create(http_status=503, count=None)
    row_id = _add_text(live_runtime)
    sending.send(live_runtime, row_id)
    with Session(live_runtime.engine) as session:
        session.get(OutboxMessage, row_id).not_before = utcnow()
        session.commit()
    assert sending.send(live_runtime, row_id) == "failed: retry"
    assert _row(live_runtime, row_id).status is OutboxStatus.FAILED
    assert "gave up after 2 tries" in _actions(live_runtime)[0].summary


def test_connection_refused_is_retried(live_runtime, fake_twilio):
    from dataclasses import replace

    from tests.conftest import free_port

    live_runtime.settings = replace(live_runtime.settings,
                                    twilio_api_base=f"http://127.0.0.1:{free_port()}")
    live_runtime.__dict__.pop("sender", None)
    row_id = _add_text(live_runtime)
    assert sending.send(live_runtime, row_id) == "failed: retry"
    assert _row(live_runtime, row_id).status is OutboxStatus.PENDING


@pytest.mark.parametrize("code, ends", [(30003, OutboxStatus.PENDING),
                                        (30006, OutboxStatus.FAILED),
                                        (30007, OutboxStatus.FAILED)])
def test_delivery_failures_from_callbacks(live_runtime, fake_twilio, code, ends):
    fake_twilio.state.fail_delivery(code)
    row_id = _add_text(live_runtime)
    sending.send(live_runtime, row_id)
    _wait_status(live_runtime, fake_twilio, row_id, ends)
    assert _attempts(live_runtime, row_id)[0].error_code == code


def test_30005_is_retried_once_then_final(live_runtime, fake_twilio):
    fake_twilio.state.fail_delivery(30005, count=2)
    row_id = _add_text(live_runtime)
    sending.send(live_runtime, row_id)
    _wait_status(live_runtime, fake_twilio, row_id, OutboxStatus.PENDING)
    with Session(live_runtime.engine) as session:
        session.get(OutboxMessage, row_id).not_before = utcnow()
        session.commit()
    sending.send(live_runtime, row_id)
    _wait_status(live_runtime, fake_twilio, row_id, OutboxStatus.FAILED)
    assert "twice" in _actions(live_runtime)[0].summary


def test_callbacks_repeated_and_out_of_order_end_at_the_furthest(live_runtime, fake_twilio):
    fake_twilio.state.set_chaos(True, duplicate=0.9, reorder=0.9, seed=7)
    ids = [_add_text(live_runtime, key=f"reply/{n}", person=False) for n in range(6)]
    for row_id in ids:
        sending.send(live_runtime, row_id)
    fake_twilio.wait_for(lambda: fake_twilio.state.idle, timeout=10)
    statuses = [c["params"].get("MessageStatus") for c in fake_twilio.callbacks]
    assert len(statuses) > 3 * len(ids)  # some came twice
    for row_id in ids:
        assert _row(live_runtime, row_id).status is OutboxStatus.DELIVERED
        assert _attempts(live_runtime, row_id)[0].status == "delivered"


def test_a_request_whose_answer_never_came_is_found_not_resent(live_runtime, fake_twilio):
    from dataclasses import replace

    live_runtime.settings = replace(live_runtime.settings)
    live_runtime.__dict__["sender"] = TwilioSender(live_runtime.settings, timeout=0.5)
    fake_twilio.state.hang_create(seconds=3, when="after")
    fake_twilio.state.set_chaos(False)
    row_id = _add_text(live_runtime)
    assert sending.send(live_runtime, row_id) == "failed: ambiguous"
    assert _attempts(live_runtime, row_id)[0].status in ("unknown", "queued", "sent",
                                                         "delivered")
    fake_twilio.state.release()
    assert sending.reconcile(live_runtime, row_id, 1) in ("found", "nothing to do")
    _wait_status(live_runtime, fake_twilio, row_id, OutboxStatus.DELIVERED)
    assert len(fake_twilio.messages) == 1


def test_a_request_twilio_never_got_goes_to_a_person(live_runtime, fake_twilio):
    live_runtime.__dict__["sender"] = TwilioSender(live_runtime.settings, timeout=0.5)
    fake_twilio.state.hang_create(seconds=2, when="before")
    row_id = _add_text(live_runtime)
    assert sending.send(live_runtime, row_id) == "failed: ambiguous"
    fake_twilio.wait_for(lambda: fake_twilio.state.held == 0, timeout=5)
    assert sending.reconcile(live_runtime, row_id, 1) == "needs check"
    assert _row(live_runtime, row_id).status is OutboxStatus.NEEDS_CHECK
    [action] = _actions(live_runtime)
    assert action.kind == "send_unknown" and "Check with them" in action.summary
    assert fake_twilio.messages == []


@pytest.mark.parametrize("outcome, status, detail", [
    ("answered", OutboxStatus.NOT_ANSWERED, "not_verified"),  # nobody gave the PIN
    ("machine", OutboxStatus.NOT_ANSWERED, "machine"),
    ("no-answer", OutboxStatus.NOT_ANSWERED, "no-answer"),
    ("busy", OutboxStatus.NOT_ANSWERED, "busy"),
])
def test_call_outcomes(live_runtime, fake_twilio, outcome, status, detail):
    live_runtime.clock = lambda: OFFICE_HOURS  # a check-in call waits for the daytime window
    fake_twilio.state.set_call_outcome(outcome)
    with live_runtime.session() as session:
        person = make_person(session, number="+441134960123")
        row = outbox.add(session, key="check_in/1", purpose="check_in", channel=Channel.VOICE,
                         to="+441134960123", flow="check_in", person_id=person.id)
    assert sending.send(live_runtime, row.id) == "sent"
    _wait_status(live_runtime, fake_twilio, row.id, status)
    assert _row(live_runtime, row.id).call_outcome == detail
    [call] = fake_twilio.calls
    assert call["to"] == "+441134960123"


def test_an_unanswered_call_goes_to_its_listener(live_runtime, fake_twilio, monkeypatch):
    seen = []
    monkeypatch.setattr(outbox, "_call_listeners", [lambda session, row: seen.append(row.id)])
    live_runtime.clock = lambda: OFFICE_HOURS  # a check-in call waits for the daytime window
    fake_twilio.state.set_call_outcome("busy")
    with live_runtime.session() as session:
        row = outbox.add(session, key="check_in/2", purpose="check_in", channel=Channel.VOICE,
                         to="+441134960123", flow="check_in")
    sending.send(live_runtime, row.id)
    _wait_status(live_runtime, fake_twilio, row.id, OutboxStatus.NOT_ANSWERED)
    assert seen == [row.id]
    assert _actions(live_runtime) == []  # the listener decides, not the outbox
