
"""Delivery under faults, with real `caseline worker` and `caseline scheduler` processes,
a Redis server of the test's own that it stops and starts (never the machine's), and the
fake Twilio failing: retries on time, urgent first, outages survived and recovered from
within the sweep period, sends whose news was lost settled at Twilio."""

import os
import signal
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot import jobs
from bot.delivery import outbox, sending
from bot.delivery.sender import TwilioSender
from bot.models import Channel, OutboxMessage, OutboxStatus, SendAttempt, StaffAction, utcnow
from bot.runtime import Runtime
from tests.conftest import free_port, serving
from tests.faults import RedisServer, start_process, stop_process

EDT_MOBILE, MOBILE = "+447700900998", "+447700900123"


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def _start(runtime: Runtime, what: str):
    return start_process(runtime.settings, what)


def _stop(process, sig=signal.SIGTERM) -> None:
    stop_process(process, sig)


def _add(runtime, count, *, prefix, purpose="reply", to=MOBILE):
    with runtime.session() as session:
        return [outbox.add(session, key=f"{prefix}/{n}", purpose=purpose, channel=Channel.SMS,
                           to=to, body=f"{prefix} {n}").id for n in range(count)]


def _rows(runtime, ids=None) -> list[OutboxMessage]:
    with Session(runtime.engine) as session:
        query = select(OutboxMessage)
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(ids))
        return list(session.exec(query))


def _delivered(runtime, ids) -> bool:
    return all(r.status is OutboxStatus.DELIVERED for r in _rows(runtime, ids))


def _attempts(runtime, row_id) -> list[SendAttempt]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(SendAttempt).where(SendAttempt.outbox_id == row_id)
                                 .order_by(SendAttempt.number)))


# ---- 1. a retry runs at its time, urgent work first ---------------------------------------

@pytest.mark.one_backend
def test_a_refused_danger_alert_is_retried_after_its_back_off_not_the_sweeps(
        live_runtime, fake_twilio):
    """20 danger alerts refused once with 429 all go out after the 30 s back-off (RQ's
    whole-second timing used to start the retry early; the claim refused it and the row
    waited ten minutes for the sweep)."""
    fake_twilio.state.fail_create(20429, count=20)
    workers = [_start(live_runtime, "worker") for _ in range(2)]
    try:
        ids = _add(live_runtime, 20, prefix="danger", purpose="danger_alert", to=EDT_MOBILE)
        fake_twilio.wait_for(lambda: _delivered(live_runtime, ids), timeout=90)
    finally:
        for worker in workers:
            _stop(worker)
    back_offs = []
    for row_id in ids:
        first, second = _attempts(live_runtime, row_id)  # refused once, then sent
        assert first.status == "failed" and first.error_code == 20429
        back_offs.append((second.started_at - first.started_at).total_seconds())
    assert min(back_offs) >= outbox.BACKOFF_SECONDS[0]
    assert max(back_offs) < outbox.BACKOFF_SECONDS[0] + 15, back_offs
    assert len(fake_twilio.messages) == 20


def test_an_urgent_alert_goes_ahead_of_bulk_check_ins(live_runtime, fake_twilio):
    paced = Runtime(replace(live_runtime.settings, outbound_texts_per_second=5),
                    _engine=live_runtime.engine)
    worker = _start(paced, "worker")
    try:
        bulk = _add(paced, 40, prefix="checkin", purpose="checkin.ask")
        fake_twilio.wait_for(lambda: len(fake_twilio.messages) >= 3, timeout=30)
        [alarm] = _add(paced, 1, prefix="danger", purpose="danger_alert", to=EDT_MOBILE)
        fake_twilio.wait_for(lambda: _delivered(paced, [alarm]), timeout=30)
        before = [m for m in fake_twilio.messages if m["to"] != EDT_MOBILE]
    finally:
        _stop(worker)
    assert len(before) <= 6, "the alarm waited behind the check-ins"
    assert len(bulk) == 40


def test_a_retry_woken_early_waits_for_its_moment(live_runtime, fake_twilio):
    [row_id] = _add(live_runtime, 1, prefix="soon")
    with live_runtime.session() as session:
        session.get(OutboxMessage, row_id).not_before = live_runtime.now() + timedelta(
            seconds=0.8)
    assert sending.send(live_runtime, row_id) == "sent"  # not "not due"
    [row_id] = _add(live_runtime, 1, prefix="later")
    with live_runtime.session() as session:
        session.get(OutboxMessage, row_id).not_before = live_runtime.now() + timedelta(
            minutes=5)
    assert "re-armed" in sending.send(live_runtime, row_id)
    from bot.delivery.queues import has_live_job

    assert has_live_job(live_runtime.redis, row_id, 1)  # it will run at its time


# ---- 4. a timed-out send keeps what Twilio told us meanwhile ------------------------------

def test_a_timed_out_send_keeps_the_sid_a_callback_brought(live_runtime, fake_twilio):
    """Twilio takes the text and its callbacks arrive while our request hangs until it
    times out: the stale copy of the attempt must not wipe out the sid and status."""
    fake_twilio.state.hang_create(seconds=3, when="after")
    [row_id] = _add(live_runtime, 1, prefix="hung")
    impatient = TwilioSender(live_runtime.settings, timeout=1.0)
    with live_runtime.session() as session:  # no hand-over to RQ: this test sends it
        session.get(OutboxMessage, row_id).enqueued_at = utcnow()
    result = sending.send(live_runtime, row_id, sender=impatient)
    assert result == "failed: ambiguous"
    fake_twilio.wait_for(lambda: _rows(live_runtime, [row_id])[0].status
                         is OutboxStatus.DELIVERED, timeout=10)
    [attempt] = _attempts(live_runtime, row_id)
    assert attempt.twilio_sid == fake_twilio.messages[0]["sid"]
    assert attempt.status == "delivered"
    assert len(fake_twilio.messages) == 1


@pytest.mark.one_backend
def test_a_worker_whose_request_timed_out_keeps_what_the_callbacks_said(live_runtime,
                                                                        fake_twilio):
    """The same through a real worker and Twilio's real client, whose 15 s timeout ends
    the hung request long after the callbacks said the text was delivered."""
    fake_twilio.state.hang_create(seconds=18, when="after")
    worker = _start(live_runtime, "worker")
    try:
        [row_id] = _add(live_runtime, 1, prefix="hung")
        fake_twilio.wait_for(lambda: fake_twilio.state.describe()["held"], timeout=20)
        fake_twilio.wait_for(lambda: not fake_twilio.state.describe()["held"], timeout=40)
        time.sleep(1.0)  # the worker records its timeout
    finally:
        _stop(worker)
    [attempt] = _attempts(live_runtime, row_id)
    assert attempt.twilio_sid == fake_twilio.messages[0]["sid"]
    assert attempt.status == "delivered"
    assert _rows(live_runtime, [row_id])[0].status is OutboxStatus.DELIVERED


# ---- 3. sends whose news never came are settled at Twilio --------------------------------

def test_lost_status_callbacks_are_settled_by_asking_twilio(runtime, fake_twilio):
    """The callbacks go nowhere (the web could not store them): the row stays `sending`
    until the sweep asks Twilio, which says delivered."""
    with serving(runtime, fake_twilio) as live:
        deaf = Runtime(replace(live.settings, public_url=f"http://127.0.0.1:{free_port()}"),
                       _engine=live.engine)
        [row_id] = _add(live, 1, prefix="deaf")
        assert sending.send(deaf, row_id) == "sent"
        fake_twilio.wait_for(lambda: fake_twilio.state.idle, timeout=10)
        assert _rows(live, [row_id])[0].status is OutboxStatus.SENDING
        counts = sending.sweep(live, now=utcnow() + outbox.SETTLE_AFTER + timedelta(minutes=1))
        assert counts["settling"] == 1
        _run_jobs(live)
        assert _rows(live, [row_id])[0].status is OutboxStatus.DELIVERED
        again = sending.sweep(live, now=utcnow() + outbox.SETTLE_AFTER + timedelta(minutes=1))
        assert again["settling"] == 0


def test_a_send_that_cannot_be_settled_goes_to_a_person(runtime, fake_twilio):
    with serving(runtime, fake_twilio) as live:
        deaf = Runtime(replace(live.settings, public_url=f"http://127.0.0.1:{free_port()}"),
                       _engine=live.engine)
        [row_id] = _add(live, 1, prefix="deaf")
        assert sending.send(deaf, row_id) == "sent"
        [attempt] = _attempts(live, row_id)
        unreachable = TwilioSender(replace(live.settings, twilio_api_base="http://127.0.0.1:1"))
        live.clock = lambda: utcnow() + timedelta(minutes=30)
        assert "will ask again" in sending.settle(live, row_id, attempt.number,
                                                  sender=unreachable)
        assert _rows(live, [row_id])[0].status is OutboxStatus.SENDING
        live.clock = lambda: utcnow() + outbox.SETTLE_GIVE_UP + timedelta(minutes=1)
        assert sending.settle(live, row_id, attempt.number, sender=unreachable) \
            == "needs check"
        with Session(live.engine) as session:
            assert session.exec(select(StaffAction)).one().kind == "send_unknown"


def _run_jobs(runtime):
    from rq import SimpleWorker

    from bot.delivery.queues import queues

    # This process, not a forked horse: the shared engine must not be dropped unclosed.
    jobs._runtime, jobs._runtime_pid = runtime, os.getpid()
    try:
        connection = runtime.redis
        SimpleWorker(queues(connection), connection=connection).work(burst=True)
    finally:
        jobs._runtime = None


# ---- 2 and 5. a Redis outage: survived, and recovered from within the sweep period -------

@pytest.mark.one_backend
def test_workers_and_the_scheduler_survive_a_redis_outage_and_catch_up(
        runtime, fake_twilio, own_redis):
    sweep_every = 3
    with serving(runtime, fake_twilio, redis_url=own_redis.url,
                 outbox_sweep_seconds=sweep_every) as live:
        processes = [_start(live, "worker"), _start(live, "worker"), _start(live, "scheduler")]
        try:
            before = _add(live, 5, prefix="before")
            fake_twilio.wait_for(lambda: _delivered(live, before), timeout=30)
            own_redis.stop()
            during = _add(live, 5, prefix="during")  # stored; handing them to RQ fails
            time.sleep(6)  # an outage longer than a worker's first reconnect attempts
            assert all(p.poll() is None for p in processes), "a process quit on the outage"
            own_redis.start()  # back, and empty: every job it held is gone
            back = time.monotonic()
            fake_twilio.wait_for(lambda: _delivered(live, during), timeout=60)
            caught_up = time.monotonic() - back
            assert all(p.poll() is None for p in processes)
        finally:
            for process in processes:
                _stop(process)
    bodies = [m["body"] for m in fake_twilio.messages]
    assert sorted(bodies) == sorted({*bodies}) and len(bodies) == 10  # none lost or doubled
    # Within a sweep period (plus a worker's reconnect back-off and the send itself).
    assert caught_up < sweep_every + 20, caught_up


@pytest.mark.one_backend
def test_a_worker_started_while_redis_is_down_waits_for_it(runtime, fake_twilio, own_redis):
    """RQ's worker names itself to Redis as it is made: a worker (re)starting while Redis
    is down (a machine booting, or mid-outage after RQ gave up a job) waits, not quits."""
    with serving(runtime, fake_twilio, redis_url=own_redis.url) as live:
        own_redis.stop()
        worker = _start(live, "worker")
        try:
            time.sleep(4)
            assert worker.poll() is None, "the worker quit because Redis was down"
            own_redis.start()
            rows = _add(live, 1, prefix="after")  # handed to RQ at the commit
            fake_twilio.wait_for(lambda: _delivered(live, rows), timeout=60)
            assert worker.poll() is None
        finally:
            _stop(worker)


# ---- 8. the fake Twilio answers the calls we make -----------------------------------------

WINIFRED, WINIFRED_PIN = "+441134960505", "6045"


@pytest.fixture
def morning(live_runtime):
    """A weekday morning for this process and the workers (which read the moved clock
    from the instance folder): calls we start are made only inside contact windows."""
    from datetime import UTC, datetime

    from bot import clock

    moment = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    path = clock.file_for(live_runtime.settings.instance_path)
    clock.move_to(path, moment)
    live_runtime.clock = clock.now
    yield
    clock.reset(path)


def _close_winifreds_case(runtime):
    from bot.outreach import notices
    from bot.services import cases as case_service

    notices.install(runtime)
    with runtime.session() as session:
        case_service.close_case(session, "SG-100105", summary="The new lock is working.",
                                outcomes="fully", risk="reduced", actor="test")
    [row] = [r for r in _rows(runtime) if r.to_number == WINIFRED and r.purpose == "closure"]
    return row


@pytest.mark.parametrize("script, heard_closure, status", [
    ([WINIFRED_PIN], True, OutboxStatus.ANSWERED),  # gives her PIN: the closure is passed on
    ([], False, OutboxStatus.NOT_ANSWERED),  # hears the greeting and hangs up: tried again
])
def test_the_fake_answers_our_call_and_follows_its_twiml(demo_runtime, live_runtime, fake_twilio,
                                                         morning, script, heard_closure, status):
    fake_twilio.state.set_answerer(script, to=WINIFRED)
    row = _close_winifreds_case(live_runtime)
    worker = _start(live_runtime, "worker")
    try:
        fake_twilio.wait_for(lambda: _rows(live_runtime, [row.id])[0].status is status,
                             timeout=30)
    finally:
        _stop(worker)
    [call] = fake_twilio.calls
    said = fake_twilio.state.conversation(call["sid"])
    assert said.pressed == script
    assert any("PIN" in words for words in said.heard)
    assert any("We closed" in words for words in said.heard) is heard_closure


def test_a_machine_hears_only_our_number(demo_runtime, live_runtime, fake_twilio, morning):
    fake_twilio.state.set_call_outcome("machine", to=WINIFRED)
    row = _close_winifreds_case(live_runtime)
    worker = _start(live_runtime, "worker")
    try:
        fake_twilio.wait_for(lambda: _rows(live_runtime, [row.id])[0].status
                             is OutboxStatus.NOT_ANSWERED, timeout=30)
    finally:
        _stop(worker)
    [call] = fake_twilio.calls
    said = fake_twilio.state.conversation(call["sid"])
    assert said.heard and all("Winifred" not in w and "closed" not in w for w in said.heard)
    # Asynchronous AMD: no silence while Twilio listens; what the machine records first
    # (the greeting, the PIN question) names nobody, and once Twilio says "machine" the
    # call is redirected to our number, which it records, and ends.
    params = fake_twilio.state.find("calls", call["sid"])["params"]
    assert params["AsyncAmd"] == "true" and params["MachineDetection"] == "DetectMessageEnd"
    assert "/twilio/voice/amd?outbox=" in params["AsyncAmdStatusCallback"]
    assert any("Please call us on" in w for w in said.heard) and said.ended_by == "line"
    with Session(live_runtime.engine) as session:
        [attempt] = session.exec(select(SendAttempt).where(SendAttempt.outbox_id == row.id))
    assert attempt.answered_by == "machine_end_beep"


def test_after_stop_the_fake_refuses_texts_as_twilio_does(live_runtime, fake_twilio):
    fake_twilio.state.opt_out(MOBILE)
    [row_id] = _add(live_runtime, 1, prefix="after-stop")
    with live_runtime.session() as session:
        session.get(OutboxMessage, row_id).enqueued_at = utcnow()
    assert sending.send(live_runtime, row_id) == "failed: final"
    with Session(live_runtime.engine) as session:
        action = session.exec(select(StaffAction)).one()
    assert "STOP" in action.summary
    fake_twilio.state.opt_out(MOBILE, stopped=False)  # START again
    [row_id] = _add(live_runtime, 1, prefix="after-start")
    assert sending.send(live_runtime, row_id) == "sent"
