"""The database goes away (its connection cut through a proxy) while people text the line
and Twilio reports on our sends: nothing they said is lost, danger still reaches the
emergency duty mobile at once, and every send is settled once the database is back."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot import db, jobs
from bot.delivery import outbox, sending
from bot.inbound import spool
from bot.models import Channel, InboundEvent, OutboxMessage, OutboxStatus, StaffAction, utcnow
from bot.runtime import Runtime
from tests.conftest import serving
from tests.faults import TcpProxy

EDITH, ARTHUR = "+447700900101", "+447700900102"
EDT_MOBILE = "+447700900998"  # LINE_OUT_OF_HOURS_NUMBER outside production


@pytest.fixture
def cut_able(demo_runtime, fake_twilio):
    """(runtime through a proxy that can be cut, the proxy, phone(number) for its web)."""
    if demo_runtime.engine.url.get_backend_name() != "postgresql":
        pytest.skip("cutting the connection needs a database server")
    url = demo_runtime.engine.url
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).mend()
    engine = db.make_engine(url.set(port=proxy.port).render_as_string(hide_password=False),
                            connect_args={"connect_timeout": 2})
    with serving(Runtime(demo_runtime.settings, _engine=engine), fake_twilio) as live:
        yield live, proxy, _phones(live)
    proxy.cut()
    engine.dispose()


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


def _run_jobs(runtime):
    from rq import SimpleWorker

    from bot.delivery.queues import queues

    jobs._runtime = runtime
    try:
        SimpleWorker(queues(runtime.redis), connection=runtime.redis).work(burst=True)
    finally:
        jobs._runtime = None


@pytest.mark.one_backend
def test_texts_during_a_database_outage_are_kept_and_handled_once_it_is_back(
        cut_able, fake_twilio, demo_runtime):
    live, proxy, phone = cut_able
    proxy.cut()
    [unsafe] = phone(EDITH).text("I feel unsafe")
    [message] = phone(ARTHUR).text("STOP")
    for answer in (unsafe, message):  # the safe answer: 999 and the front door
        assert "999" in answer and "0113 496 0500" in answer and "07700 900000" not in answer
    assert live.redis.llen(spool.SPOOL_KEY) == 2

    _run_jobs(live)  # the urgent queue: the duty mobile is told now, database or not
    [alert] = [m for m in fake_twilio.messages if m["to"] == EDT_MOBILE]
    assert "feel unsafe" in alert["body"] and "07700 900101" in alert["body"]

    proxy.mend()
    assert spool.replay(live) == 2
    assert live.redis.llen(spool.SPOOL_KEY) == 0 and spool.replay(live) == 0
    with Session(demo_runtime.engine) as session:
        assert session.exec(select(StaffAction).where(StaffAction.kind == "danger")).one()
        assert len(session.exec(select(InboundEvent)).all()) == 2
        from bot.models import OptOut

        assert session.exec(select(OptOut).where(OptOut.number == ARTHUR)).one()
        alerts = session.exec(select(OutboxMessage).where(
            OutboxMessage.purpose == "danger_alert")).all()
    assert alerts == []  # the duty mobile was told already: not a second time


@pytest.mark.one_backend
def test_status_callbacks_lost_in_the_outage_are_settled_afterwards(cut_able, fake_twilio,
                                                                    demo_runtime):
    live, proxy, _phone = cut_able
    with live.session() as session:
        row = outbox.add(session, key="t/1", purpose="reply", channel=Channel.SMS,
                         to=EDITH, body="Your worker will call you today.")
        session.flush()
        row.enqueued_at = utcnow()  # this test sends it itself
    fake_twilio.state.callback_delay = 0.5  # the news comes after the cut
    assert sending.send(live, row.id) == "sent"
    proxy.cut()
    fake_twilio.wait_for(lambda: fake_twilio.state.idle, timeout=10)  # callbacks answered 200
    proxy.mend()
    with Session(demo_runtime.engine) as session:
        assert session.get(OutboxMessage, row.id).status is OutboxStatus.SENDING
    counts = sending.sweep(live, now=utcnow() + outbox.SETTLE_AFTER + timedelta(minutes=1))
    assert counts["settling"] == 1
    _run_jobs(live)
    with Session(demo_runtime.engine) as session:
        assert session.get(OutboxMessage, row.id).status is OutboxStatus.DELIVERED
