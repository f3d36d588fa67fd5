"""Records that stay true, played through the CLI and the signed webhooks with a clock that
moves: the right team's numbers after the PIN, and a closure that ends pending contact."""

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from bot.cli.main import cli
from bot.models import OutboxMessage, OutboxStatus
from bot.outreach import notices, sweeps

JEAN, JEAN_PIN = "+447700900108", "5281"  # Don Valley (T-SHEFF): duty 0114 496 0000
EDITH = "+447700900101"


@pytest.fixture
def caseline(demo_runtime, monkeypatch):
    """`caseline ...` as an administrator runs it, on the same database."""
    s = demo_runtime.settings
    for name, value in {"CASELINE_ENV": "test", "DATABASE_URL": s.database_url,
                        "REDIS_URL": s.redis_url, "PIN_KEY": s.pin_key,
                        "INSTANCE_DIR": s.instance_dir}.items():
        monkeypatch.setenv(name, value)

    def run(*args):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return run


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
    sweeps.run_all(demo_runtime)  # the watchdog, and a check-in to Arthur
    [(_no_news, worker)] = [(a, w) for a, w in _actions(demo_runtime, "no_news")
                            if a.summary.startswith("Case SG-100102")]
    assert worker.first_name == "Tom"
    _texts(phone(ARTHUR), "3")  # "I feel unsafe", in reply to the line's question
    [(unsafe, worker)] = _actions(demo_runtime, "feels_unsafe")
    assert worker.first_name == "Tom" and unsafe.urgency.value == "urgent"
