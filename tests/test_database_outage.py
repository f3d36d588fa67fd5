"""The database goes away (its connection cut through a proxy) while people text the line
and Twilio reports on our sends: nothing they said is lost, danger still reaches the
emergency duty mobile at once, and every send is settled once the database is back."""

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot import clock, db
from bot.delivery import outbox
from bot.inbound import spool
from bot.models import (
    Channel,
    InboundEvent,
    OptOut,
    OutboxMessage,
    OutboxStatus,
    SendAttempt,
    StaffAction,
    utcnow,
)
from bot.runtime import Runtime
from tests.conftest import serving
from tests.faults import TcpProxy, start_process, stop_process

EDITH, ARTHUR = "+447700900101", "+447700900102"
EDT_MOBILE = "+447700900998"  # LINE_OUT_OF_HOURS_NUMBER outside production


@pytest.fixture
def cut_able(demo_runtime, fake_twilio):
    """(runtime through a proxy that can be cut, the proxy, phone(number) for its web).

    The web app, and the worker and scheduler processes a test starts with its settings,
    all reach the database through the proxy: cutting it is the database going away."""
    if demo_runtime.engine.url.get_backend_name() != "postgresql":
        pytest.skip("cutting the connection needs a database server")
    url = demo_runtime.engine.url
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).mend()
    through = url.set(port=proxy.port).render_as_string(hide_password=False)
    engine = db.make_engine(through, connect_args={"connect_timeout": 2})
    settings = replace(demo_runtime.settings, database_url=through, outbox_sweep_seconds=2)
    with serving(Runtime(settings, _engine=engine), fake_twilio) as live:
        yield live, proxy, _phones(live)
    proxy.cut()
    engine.dispose()


@pytest.fixture
def services(cut_able):
    """A real `caseline worker` and `caseline scheduler`, sweeping every 2 seconds."""
    live = cut_able[0]
    started = [start_process(live.settings, "worker"), start_process(live.settings, "scheduler")]
    yield started
    for process in started:
        stop_process(process)


def _phones(runtime):
    from bot.tryout.phone_sim import SimulatedPhone, path_of
    from webhooks import create_app

    client = create_app(runtime).test_client()

    def transport(url, form, headers):
        response = client.post(path_of(url), data=form, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    def make(number):
        s = runtime.settings
        return SimulatedPhone(transport, public_url=s.public_url, auth_token=s.twilio_auth_token,
                              from_number=number, to_number=s.twilio_phone_number)
    return make


def _one(runtime, query):
    with Session(runtime.engine) as session:
        return session.exec(query).first()


@pytest.mark.one_backend
def test_texts_during_a_database_outage_are_kept_and_handled_once_it_is_back(
        cut_able, services, fake_twilio, demo_runtime):
    live, proxy, phone = cut_able
    proxy.cut()
    [unsafe] = phone(EDITH).text("I feel unsafe")
    [stop] = phone(ARTHUR).text("STOP")
    for answer in (unsafe, stop):  # the safe answer: 999 and the front door
        assert "999" in answer and "0113 496 0500" in answer and "07700 900000" not in answer
    # The worker tells the duty mobile at once, database or not.
    fake_twilio.wait_for(lambda: [m for m in fake_twilio.messages if m["to"] == EDT_MOBILE],
                         timeout=30)
    [alert] = [m for m in fake_twilio.messages if m["to"] == EDT_MOBILE]
    assert "feel unsafe" in alert["body"] and "07700 900101" in alert["body"]
    assert live.redis.llen(spool.SPOOL_KEY) == 2  # nothing to hand over while it is down

    proxy.mend()  # the scheduler's next sweeps replay both
    fake_twilio.wait_for(lambda: _one(demo_runtime, select(OptOut).where(
        OptOut.number == ARTHUR)) is not None, timeout=30)
    fake_twilio.wait_for(lambda: _one(demo_runtime, select(StaffAction).where(
        StaffAction.kind == "danger")) is not None, timeout=30)
    assert live.redis.llen(spool.SPOOL_KEY) == 0 and live.redis.llen(spool.WORKING_KEY) == 0
    with Session(demo_runtime.engine) as session:
        assert len(session.exec(select(InboundEvent)).all()) == 2
        alerts = session.exec(select(OutboxMessage).where(
            OutboxMessage.purpose == "danger_alert")).all()
    assert alerts == []  # the duty mobile was told already: not a second time
    assert len([m for m in fake_twilio.messages if m["to"] == EDT_MOBILE]) == 1


@pytest.mark.one_backend
def test_status_callbacks_lost_in_the_outage_are_settled_afterwards(cut_able, services,
                                                                    fake_twilio, demo_runtime):
    live, proxy, _phone = cut_able
    fake_twilio.state.callback_delay = 1.0  # Twilio's news comes after the cut
    with live.session() as session:
        row = outbox.add(session, key="t/1", purpose="reply", channel=Channel.SMS,
                         to=EDITH, body="Your worker will call you today.")
    fake_twilio.wait_for(lambda: _one(demo_runtime, select(SendAttempt.twilio_sid).where(
        SendAttempt.outbox_id == row.id)), timeout=30)  # the worker stored Twilio's sid
    proxy.cut()
    fake_twilio.wait_for(lambda: fake_twilio.state.idle, timeout=15)  # callbacks all lost
    proxy.mend()
    assert _one(demo_runtime, select(OutboxMessage.status).where(
        OutboxMessage.id == row.id)) is OutboxStatus.SENDING
    later = utcnow() + outbox.SETTLE_AFTER + timedelta(minutes=1)
    clock.move_to(clock.file_for(live.settings.instance_path), later)  # what the sweep reads
    try:
        fake_twilio.wait_for(lambda: _one(demo_runtime, select(OutboxMessage.status).where(
            OutboxMessage.id == row.id)) is OutboxStatus.DELIVERED, timeout=45)
    finally:
        clock.reset(clock.file_for(live.settings.instance_path))
