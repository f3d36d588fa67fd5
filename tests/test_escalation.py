"""An action nobody takes on is raised to the team manager: a case's alarm played over an
afternoon and a weekend, with the clock moved and the real webhooks, queue and sweep."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot import clock
from bot.jobs import escalation_sweep_job
from bot.models import Interaction, OutboxMessage, StaffAction, Team
from bot.records import escalation
from bot.records.staff_actions import raise_action
from tests.test_staff import staff  # noqa: F401  (the fixture)

EDITH = "+447700900101"
MANAGER_MOBILE = "+447700900555"
LONDON = ZoneInfo("Europe/London")


class Clock:
    """The line's own clock (bot/clock.py), which every timestamp it writes follows."""

    def __init__(self, runtime, start: datetime):
        self.path = clock.file_for(runtime.settings.instance_path)
        self.at = start

    @property
    def at(self) -> datetime:
        return clock.now()

    @at.setter
    def at(self, moment: datetime) -> None:
        clock.move_to(self.path, moment)

    def move(self, **by):
        self.at = clock.now() + timedelta(**by)


def _manager_has_a_mobile(runtime):
    with runtime.session() as session:
        team = session.exec(select(Team).where(Team.ref == "T-LEEDS")).one()
        team.manager_contact = MANAGER_MOBILE


def _sweep(runtime) -> int:
    with runtime.session() as session:
        return escalation.escalate(session, runtime.settings, runtime.now())


def _alarm(phone):
    edith = phone(EDITH)
    edith.text("news")
    edith.text("4821")
    edith.text("I feel unsafe")


def test_an_urgent_alarm_nobody_takes_is_raised_once_to_the_manager(
        demo_runtime, phone, staff):  # noqa: F811
    clock = Clock(demo_runtime, datetime(2026, 12, 1, 10, 0, tzinfo=LONDON))  # a Tuesday
    _manager_has_a_mobile(demo_runtime)
    _alarm(phone)
    limit = demo_runtime.settings.escalate_urgent_minutes
    clock.move(minutes=limit - 1)
    assert _sweep(demo_runtime) == 0  # not yet
    clock.move(minutes=2)
    assert _sweep(demo_runtime) == 1
    clock.move(minutes=5)
    assert _sweep(demo_runtime) == 0  # raised once
    with demo_runtime.session() as session:
        action = session.exec(select(StaffAction).where(StaffAction.case_id.is_not(None),
                                                        StaffAction.urgency == "urgent")).one()
        assert action.escalated_at is not None and action.acknowledged_at is None
        texts = session.exec(select(OutboxMessage).where(
            OutboxMessage.purpose == "escalation")).all()
        assert [t.to_number for t in texts] == [MANAGER_MOBILE]
        body = texts[0].body
        assert f"action {action.id}, case SG-100101" in body and f"{limit + 1} minutes" in body
        # References only: nothing of what Edith said, nor her name or number.
        assert "Edith" not in body and "unsafe" not in body and "900101" not in body
        entry = session.exec(select(Interaction).where(
            Interaction.kind == "action_escalated")).one()
        assert entry.case_id == action.case_id
    manager = staff("manager", team="T-LEEDS", worker=None)
    manager.sign_in()
    rows = manager.http.get("/staff/queue?show=raised").get_data(as_text=True)
    assert "Raised to the manager" in rows and "SG-100101" in rows
    case = manager.http.get("/staff/cases/SG-100101").get_data(as_text=True)
    assert "staff action raised to the manager" in case


def test_an_action_taken_on_in_time_is_never_raised(demo_runtime, phone, staff):  # noqa: F811
    clock = Clock(demo_runtime, datetime(2026, 12, 1, 10, 0, tzinfo=LONDON))
    _alarm(phone)
    worker = staff()
    worker.sign_in()
    with demo_runtime.session() as session:
        ids = [a.id for a in session.exec(select(StaffAction))]
    clock.move(minutes=10)
    for action_id in ids:
        assert worker.post(f"/staff/actions/{action_id}/acknowledge").status_code == 302
    clock.move(days=3)
    assert _sweep(demo_runtime) == 0


def test_a_friday_afternoon_request_is_raised_on_monday_morning_not_at_the_weekend(
        demo_runtime):
    clock = Clock(demo_runtime, datetime(2026, 12, 4, 16, 0, tzinfo=LONDON))  # a Friday
    _manager_has_a_mobile(demo_runtime)
    with demo_runtime.session() as session:
        team = session.exec(select(Team).where(Team.ref == "T-LEEDS")).one()
        raise_action(session, kind="call_back", summary="Call back a relative.",
                     team_id=team.id, worker_id=None, dedupe_key="call_back/test")
    for _ in range(6):  # Saturday 16:00 … Sunday 22:00, every 6 hours
        clock.move(hours=6)
        assert _sweep(demo_runtime) == 0
    clock.at = datetime(2026, 12, 7, 9, 5, tzinfo=LONDON)  # Monday, the office open
    assert _sweep(demo_runtime) == 1
    with demo_runtime.session() as session:
        text = session.exec(select(OutboxMessage).where(
            OutboxMessage.purpose == "escalation")).one()
        assert "A staff action has waited 2 days 17 hours" in text.body
        assert "case" not in text.body.split("(")[1]  # no case: no case reference


def test_a_manager_without_a_mobile_still_sees_it_raised_on_the_queue(demo_runtime, phone):
    clock = Clock(demo_runtime, datetime(2026, 12, 1, 10, 0, tzinfo=LONDON))
    _alarm(phone)  # the demo's manager has a landline: no text can reach it
    clock.move(hours=2)
    assert _sweep(demo_runtime) >= 1
    with demo_runtime.session() as session:
        assert not session.exec(select(OutboxMessage).where(
            OutboxMessage.purpose == "escalation")).all()
        assert session.exec(select(StaffAction).where(
            StaffAction.escalated_at.is_not(None))).first() is not None


def test_the_scheduled_job_runs_the_sweep_once_a_period(demo_runtime, phone, monkeypatch):
    import bot.jobs

    clock = Clock(demo_runtime, datetime(2026, 12, 1, 10, 0, tzinfo=LONDON))
    monkeypatch.setattr(bot.jobs, "worker_runtime", lambda: demo_runtime)
    _alarm(phone)
    clock.move(hours=1)
    assert escalation_sweep_job() >= 1
    assert escalation_sweep_job() is None  # the same period: skipped


def test_waited_words():
    assert escalation.waited_words(timedelta(seconds=20)) == "less than a minute"
    assert escalation.waited_words(timedelta(minutes=31)) == "31 minutes"
    assert escalation.waited_words(timedelta(minutes=61)) == "1 hour 1 minute"
    assert escalation.waited_words(timedelta(days=2, hours=17, minutes=5)) == "2 days 17 hours"
