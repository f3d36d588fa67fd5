"""Retention: a month and then years of the line played with its clock moved, through the
signed webhooks, the staff pages and the API; the sweep deletes exactly what is due, kind
by kind, keeps every case's timeline, deletes Twilio's copy of a message once ours is
stored (at the fake Twilio on a real port), and a second run deletes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.config import ConfigError, load_settings
from bot.delivery import outbox
from bot.delivery.queues import BULK_QUEUE
from bot.jobs import retention_sweep_job
from bot.models import (
    ApiCall,
    Case,
    CaseView,
    Channel,
    ConversationState,
    Disclosure,
    InboundEvent,
    Interaction,
    OutboxMessage,
    OutboxStatus,
    Person,
    PinGuard,
    Recording,
    StaffSession,
    Stage,
)
from bot.records import recordings, retention
from bot.runtime import Runtime
from bot.schedule import sweeps
from bot.services import api_tokens
from tests.test_escalation import Clock
from tests.test_recordings import _leave_a_message, line  # noqa: F401  (the fixture)
from tests.test_staff import staff  # noqa: F401  (the fixture)
from webhooks import create_app

LONDON = ZoneInfo("Europe/London")
EDITH, ARTHUR, MARGARET = "+447700900101", "+447700900102", "+447700900103"


def _counts(runtime) -> dict[str, int]:
    """What a dry run says is due, by kind."""
    return {outcome.kind: outcome.count for outcome in retention.sweep(runtime, dry_run=True)}


def _rows(runtime, table, *where) -> list:
    with runtime.session() as session:
        return list(session.exec(select(table).where(*where)))


def _timeline(runtime, open_only=False) -> tuple[int, int]:
    """How many timeline entries and disclosures the cases (or the open ones) have."""
    cases = select(Case.id).where(Case.stage != Stage.CLOSED) if open_only else \
        select(Case.id)
    with runtime.session() as session:
        entries = session.exec(select(sa.func.count()).select_from(Interaction).where(
            Interaction.case_id.in_(cases))).one()
        told = session.exec(select(sa.func.count()).select_from(Disclosure).where(
            Disclosure.case_id.in_(cases))).one()
        return entries, told


def test_a_month_of_the_line_then_the_sweep_deletes_exactly_what_is_due(
        demo_runtime, phone, staff):  # noqa: F811
    clock = Clock(demo_runtime, datetime(2026, 11, 2, 10, 0, tzinfo=LONDON))
    # 2 November: Arthur hears his news; Margaret gets her PIN wrong; a worker signs in
    # and reads a case; the case system calls the API.
    arthur = phone(ARTHUR)
    arthur.text("news")
    assert "case" in " ".join(arthur.text("3164")).lower()
    margaret = phone(MARGARET)
    margaret.text("news")
    margaret.text("0000")
    pages = staff()
    pages.sign_in()
    assert pages.http.get("/staff/cases/SG-100101").status_code == 200
    with demo_runtime.session() as session:
        token = api_tokens.create(session, name="mosaic", scopes=["read"]).secret
    api = create_app(demo_runtime).test_client()
    assert api.get("/api/v1/cases/SG-100102", headers={
        "Authorization": f"Bearer {token}"}).status_code == 200
    old_guards = {g.number for g in _rows(demo_runtime, PinGuard)}
    # 27 November: Edith hears hers.
    clock.at = datetime(2026, 11, 27, 10, 0, tzinfo=LONDON)
    edith = phone(EDITH)
    edith.text("news")
    edith.text("4821")
    timeline_before = _timeline(demo_runtime)
    edith_requests = {e.key for e in _rows(demo_runtime, InboundEvent,
                                           InboundEvent.number == EDITH)}
    assert edith_requests and len(_rows(demo_runtime, InboundEvent)) > len(edith_requests)

    # 2 December, 10:01: Arthur's and Margaret's requests are 30 days old and a minute.
    clock.at = datetime(2026, 12, 2, 10, 1, tzinfo=LONDON)
    due = _counts(demo_runtime)
    assert due["inbound_requests"] == len(_rows(demo_runtime, InboundEvent)) - len(
        edith_requests)
    assert due["conversations"] == 2 and due["staff_sessions"] == 1
    assert due["pin_guards"] == len(old_guards) >= 2  # Margaret's number and her own budget
    assert due["api_calls"] == due["case_views"] == due["caseless_audit"] == 0
    assert due["case_records"] == 0  # every demo case is open
    assert len(_rows(demo_runtime, InboundEvent)) > len(edith_requests)  # dry: nothing gone

    done = {o.kind: o.count for o in retention.sweep(demo_runtime)}
    assert done == due
    assert {e.key for e in _rows(demo_runtime, InboundEvent)} == edith_requests
    assert [c.number for c in _rows(demo_runtime, ConversationState)] == [EDITH]
    assert {g.number for g in _rows(demo_runtime, PinGuard)}.isdisjoint(old_guards)
    assert _rows(demo_runtime, StaffSession) == []
    assert _timeline(demo_runtime) == timeline_before  # the timeline is never cut short
    assert set(_counts(demo_runtime).values()) == {0}  # a second run has nothing to do

    # Nine years on: the audit has had its eight years, and so has the record of Margaret,
    # whose case closed in 2026; the other cases are still open.
    open_cases = _timeline(demo_runtime, open_only=True)
    clock.at = datetime(2035, 12, 3, 10, 0, tzinfo=LONDON)
    done = {o.kind: o.count for o in retention.sweep(demo_runtime)}
    assert done["api_calls"] == 1 and done["case_views"] == 1
    assert done["caseless_audit"] >= 2  # the account and the token were made
    assert done["case_records"] == 1
    assert _rows(demo_runtime, Person, Person.ref == "P-003") == []
    assert _rows(demo_runtime, ApiCall) == [] and _rows(demo_runtime, CaseView) == []
    assert [r.kind for r in _rows(demo_runtime, Interaction, Interaction.case_id.is_(None),
                                  Interaction.person_id.is_(None))] == ["person_erased"]
    assert _timeline(demo_runtime, open_only=True) == open_cases
    assert set(_counts(demo_runtime).values()) == {0}


def test_only_words_of_texts_to_no_case_are_blanked_and_the_row_stays(demo_runtime):
    clock = Clock(demo_runtime, datetime(2026, 9, 1, 10, 0, tzinfo=LONDON))
    with demo_runtime.session() as session:
        for key, case_id in (("alert/1", None), ("news/1", _case_id(session, "SG-100101"))):
            row = outbox.add(session, key=key, purpose="alert" if case_id is None else "news",
                             channel=Channel.SMS, to="+447700900998", body="words",
                             case_id=case_id)
            row.status = OutboxStatus.DELIVERED
    clock.at = datetime(2026, 11, 29, 10, 0, tzinfo=LONDON)  # 89 days
    assert _counts(demo_runtime)["message_words"] == 0
    clock.move(days=2)
    assert {o.kind: o.count for o in retention.sweep(demo_runtime)}["message_words"] == 1
    rows = {r.key: r.body for r in _rows(demo_runtime, OutboxMessage)}
    assert rows == {"alert/1": "", "news/1": "words"}  # the case's words are its timeline's


def _case_id(session, ref):
    return session.exec(select(Case.id).where(Case.ref == ref)).one()


def test_twilio_copy_of_a_message_goes_once_ours_is_stored_and_never_before(
        line, phone, fake_twilio):  # noqa: F811
    _leave_a_message(phone)
    assert _counts(line)["twilio_recordings"] == 0  # not copied: Twilio's is the only one
    with line.session() as session:
        assert recordings.copy_new(session, line.settings) == {"copied": 1, "failed": 0}
    sid = _rows(line, Recording)[0].twilio_sid
    assert _counts(line)["twilio_recordings"] == 1 and fake_twilio.state.deleted_recordings \
        == set()

    down = Runtime(replace(line.settings, twilio_api_base="http://127.0.0.1:9"),
                   _engine=line.engine)
    failed = {o.kind: o for o in retention.sweep(down)}["twilio_recordings"]
    assert (failed.count, failed.failed) == (0, 1)  # tried again next time
    assert _rows(line, Recording)[0].twilio_deleted_at is None

    done = {o.kind: o for o in retention.sweep(line)}["twilio_recordings"]
    assert (done.count, done.failed) == (1, 0)
    assert fake_twilio.state.deleted_recordings == {sid}
    kept = _rows(line, Recording)[0]
    assert kept.twilio_deleted_at is not None and kept.audio  # ours is still played
    assert _counts(line)["twilio_recordings"] == 0
    down.close()


def test_twilio_keep_days_wait_after_our_copy(line, phone, fake_twilio):  # noqa: F811
    keeping = Runtime(replace(line.settings, twilio_recordings_keep_days=2),
                      _engine=line.engine)
    _leave_a_message(phone)
    with line.session() as session:
        recordings.copy_new(session, line.settings)
    later = keeping.now() + timedelta(days=1)
    assert {o.kind: o.count for o in retention.sweep(keeping, now=later)}[
        "twilio_recordings"] == 0
    later += timedelta(days=1, minutes=1)
    assert {o.kind: o.count for o in retention.sweep(keeping, now=later)}[
        "twilio_recordings"] == 1
    assert len(fake_twilio.state.deleted_recordings) == 1
    keeping.close()


def test_the_scheduler_runs_it_hourly_on_the_bulk_queue_once_a_period(
        runtime, monkeypatch):
    from bot import jobs

    assert (retention_sweep_job, 3600, BULK_QUEUE) in [
        (func, every, queue) for func, every, queue in sweeps(runtime.settings)]
    monkeypatch.setattr(jobs, "_runtime", runtime)
    monkeypatch.setattr(jobs, "_runtime_pid", __import__("os").getpid())
    first = retention_sweep_job()
    assert first and all(count == 0 for _, count, _ in first)
    assert retention_sweep_job() is None  # the same period: skipped


def test_the_command_says_what_it_would_delete(caseline, phone):
    phone(EDITH).text("news")
    out = caseline("retention", "--dry-run")
    assert "Twilio's raw requests older than 30 days: 0 would be deleted" in out
    assert "people whose last case closed over 8 years ago: 0 would be erased" in out
    assert out.strip().endswith("Nothing was deleted (dry run).")
    assert "0 deleted" in caseline("retention")


@pytest.mark.parametrize("name,value,ok", [
    ("TWILIO_RECORDINGS_KEEP_DAYS", "0", True), ("TWILIO_RECORDINGS_KEEP_DAYS", "-1", False),
    ("RETAIN_INBOUND_REQUESTS_DAYS", "0", False), ("RETAIN_AUDIT_YEARS", "six", False)])
def test_retention_settings_are_checked(name, value, ok):
    env = {"CASELINE_ENV": "test", name: value}
    if ok:
        assert getattr(load_settings(env, env_file=None), name.lower()) == int(value)
        return
    with pytest.raises(ConfigError) as refused:
        load_settings(env, env_file=None)
    assert name in str(refused.value)


def test_finished_actions_and_texts_about_no_case_go_after_the_audit_years(demo_runtime):
    """A text the line failed on raises an action about no case with the caller's number;
    an alert to the duty mobile is a text to no case: both are kept with the audit."""
    from bot.delivery import sending
    from bot.models import StaffAction
    from bot.services import actions

    clock = Clock(demo_runtime, datetime(2026, 9, 1, 10, 0, tzinfo=LONDON))
    with demo_runtime.session() as session:
        session.add(InboundEvent(key="sms:SMlost", channel=Channel.SMS, number=EDITH,
                                 params={}, received_at=clock.at - timedelta(minutes=10)))
        alert = outbox.add(session, key="alert/9", purpose="alert", channel=Channel.SMS,
                           to="+447700900998", body="words")
        alert.status = OutboxStatus.DELIVERED
    assert sending._unprocessed_inbound(demo_runtime, clock.at) == 1
    with demo_runtime.session() as session:
        action = session.exec(select(StaffAction).where(StaffAction.kind == "inbound_failed")
                              ).one()
        actions.mark_done(session, action.id, "Rang them back.", actor="Sam Okafor")
    clock.at = datetime(2034, 8, 28, 10, 0, tzinfo=LONDON)  # not yet eight years
    due = _counts(demo_runtime)
    assert (due["caseless_actions"], due["caseless_texts"]) == (0, 0)
    clock.at = datetime(2034, 9, 2, 10, 0, tzinfo=LONDON)
    done = {o.kind: o.count for o in retention.sweep(demo_runtime)}
    assert (done["caseless_actions"], done["caseless_texts"]) == (1, 1)
    assert _rows(demo_runtime, StaffAction, StaffAction.kind == "inbound_failed") == []
    assert _rows(demo_runtime, OutboxMessage, OutboxMessage.key == "alert/9") == []
