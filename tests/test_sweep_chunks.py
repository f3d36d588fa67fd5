"""The contact sweep spread over workers: the scheduler's job queues a chunk of open cases a
job on the bulk queue, two real `caseline worker` processes run them side by side, every
due case gets its check-in once, and the same sweep again writes nothing."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from rq import Queue
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlmodel import select

from bot.delivery.queues import BULK_QUEUE
from bot.models import Case, Channel, OutboxMessage, OutboxStatus, Stage
from bot.outreach import sweeps
from tests.faults import start_process, stop_process


def _contact_rows(runtime) -> list[str]:
    with runtime.session() as session:
        return sorted(session.exec(select(OutboxMessage.key).where(
            OutboxMessage.purpose.in_(("check_in", "watchdog")))))


def _drained(runtime, timeout=60) -> None:
    queue = Queue(BULK_QUEUE, connection=runtime.redis)
    started = StartedJobRegistry(queue=queue)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not [j for j in queue.job_ids if j.startswith("contacts-")] and not [
                j for j in started.get_job_ids() if j.startswith("contacts-")]:
            return
        time.sleep(0.2)
    raise AssertionError("the chunk jobs did not finish")


def test_chunks_run_on_two_workers_once_each(demo_runtime, monkeypatch):
    monkeypatch.setattr(sweeps, "CHUNK", 2)  # 7 open demo cases: 4 chunks
    now = demo_runtime.now()
    with demo_runtime.session() as session:
        open_ids = list(session.exec(select(Case.id).where(Case.stage != Stage.CLOSED)))
    planned = sweeps.plan(demo_runtime, now)
    assert planned["chunks"] == (len(open_ids) + 1) // 2
    workers = [start_process(demo_runtime.settings, "worker") for _ in range(2)]
    try:
        _drained(demo_runtime)
        first = _contact_rows(demo_runtime)
        assert first and len(first) == len(set(first))
        checked_in = {int(key.split("/")[1]) for key in first if key.startswith("check_in/")}
        assert checked_in and checked_in <= set(open_ids)
        # Fired again in the same period (a second scheduler, a retry): nothing new.
        sweeps.plan(demo_runtime, now)
        _drained(demo_runtime)
        assert _contact_rows(demo_runtime) == first
    finally:
        for worker in workers:
            stop_process(worker)
    failed = FailedJobRegistry(queue=Queue(BULK_QUEUE, connection=demo_runtime.redis))
    assert failed.get_job_ids() == []


def test_in_one_process_the_chunks_give_what_one_pass_gave(demo_runtime, monkeypatch):
    """`caseline sweep` runs the same chunks here: with chunks of one case or of all, the
    same rows."""
    now = demo_runtime.now()
    monkeypatch.setattr(sweeps, "CHUNK", 1)
    made = sweeps.check_ins(demo_runtime, now) + sweeps.watchdog(demo_runtime, now)
    rows = _contact_rows(demo_runtime)
    assert made == len(rows) > 0
    monkeypatch.setattr(sweeps, "CHUNK", 500)
    assert sweeps.check_ins(demo_runtime, now) + sweeps.watchdog(demo_runtime, now) == 0
    kinds = Counter(key.split("/")[0] for key in rows)
    assert kinds["check_in"] > 0


# ---- Redis dies while the workers sweep: nothing lost, nothing doubled -------------------

def _first_tries(runtime) -> list[OutboxMessage]:
    """Every text and call the sweeps wrote, without the later tries of unanswered calls."""
    with runtime.session() as session:
        return [r for r in session.exec(select(OutboxMessage)) if "/retry" not in r.key]


def _wait(what, timeout: float, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"waited {timeout} s in vain")


@pytest.mark.one_backend
def test_redis_dying_mid_sweep_loses_no_check_in_and_sends_none_twice(
        demo_runtime, fake_twilio, tmp_path, monkeypatch):
    """The first chunks have written their check-ins when Redis dies (their send jobs, and
    the chunks still queued, die with it); Redis comes back empty. The outbox sweep hands
    the written check-ins to RQ again, the scheduler's next firing re-plans the sweep (here
    called by hand: it fires every 5 minutes), and every due case gets its check-in once."""
    from bot import clock
    from tests.conftest import serving
    from tests.faults import RedisServer

    own_redis = RedisServer(tmp_path).start()
    moment = datetime(2026, 12, 2, 12, 30, tzinfo=UTC)  # a Wednesday: every window is open
    clock_file = clock.file_for(demo_runtime.settings.instance_path)
    clock.move_to(clock_file, moment)
    monkeypatch.setattr(sweeps, "CHUNK", 1)  # a job a case: the outage falls between them
    try:
        with serving(demo_runtime, fake_twilio, redis_url=own_redis.url,
                     outbox_sweep_seconds=2) as live:
            live.clock = clock.now
            workers = [start_process(live.settings, "worker") for _ in range(2)]
            scheduler = None
            try:
                sweeps.plan(live, moment)
                _wait(lambda: [r for r in _first_tries(live) if r.purpose in CONTACTS],
                      timeout=60, every=0.02)
                own_redis.stop()
                time.sleep(3)
                own_redis.start()  # back, and empty
                scheduler = start_process(live.settings, "scheduler")  # the outbox sweep
                sweeps.plan(live, moment)  # the contact sweep's next firing
                due = {c.id for c in _open_cases_due(live, moment)}

                def all_sent():
                    """A check-in (or the watchdog's text, which stands for it) for every
                    due case; every text delivered and every call made (a call nobody
                    answered is tried later: not waited for)."""
                    rows = _first_tries(live)
                    checked_in = {int(r.key.split("/")[1]) for r in rows
                                  if r.purpose in CONTACTS}
                    return rows if checked_in >= due and all(
                        r.status is OutboxStatus.DELIVERED if r.channel is Channel.SMS
                        else r.status is not OutboxStatus.PENDING for r in rows) else None

                try:
                    rows = _wait(all_sent, timeout=90, every=0.5)
                except AssertionError:
                    raise AssertionError(f"due {sorted(due)}; rows " + ", ".join(
                        f"{r.key} {r.status}" for r in _first_tries(live))) from None
                assert all(p.poll() is None for p in workers), "a worker quit on the outage"
            finally:
                for process in [*workers, scheduler]:
                    if process is not None:
                        stop_process(process)
    finally:
        clock.reset(clock_file)
        own_redis.stop()
    assert due and len({r.key for r in rows}) == len(rows)
    heard = Counter("/".join(r.key.split("/")[1:3]) for r in rows if r.purpose in CONTACTS)
    assert set(heard.values()) == {1}  # each case's each recipient: one contact, not two
    texts = [r.to_number for r in rows if r.channel is Channel.SMS]
    calls = [r.to_number for r in rows if r.channel is Channel.VOICE]
    assert texts and calls
    # Each reached Twilio once: none lost with Redis, none sent again by the recovery.
    assert Counter(m["to"] for m in fake_twilio.messages) == Counter(texts)
    assert Counter(c["to"] for c in fake_twilio.calls) == Counter(calls)


CONTACTS = ("check_in", "watchdog")  # a case due both gets the watchdog's text alone


def _open_cases_due(runtime, now) -> list[Case]:
    with runtime.session() as session:
        return [c for c in session.exec(select(Case).where(Case.stage != Stage.CLOSED))
                if (now - c.opened_at).days >= runtime.settings.check_in_every_days]


def test_a_sweeps_texts_are_handed_to_rq_at_once_each_for_its_moment(demo_runtime):
    """The sweep's new rows go to RQ in one round trip after the chunk commits: each a job
    of its own, waiting for its contact window (or queued, if that is open), never left
    for the outbox sweep to find."""
    from rq.registry import ScheduledJobRegistry

    from bot.delivery.queues import _rq_moment, send_job_id
    from bot.models import utcnow

    assert sweeps.check_ins(demo_runtime, demo_runtime.now()) > 0
    queue = Queue(BULK_QUEUE, connection=demo_runtime.redis)
    scheduled = ScheduledJobRegistry(queue=queue)
    rows = [r for r in _first_tries(demo_runtime) if r.purpose == "check_in"]
    assert rows
    for row in rows:
        job_id = send_job_id(row.id, 1)
        assert row.enqueued_at is not None
        if row.not_before is not None and row.not_before > utcnow():
            assert scheduled.get_scheduled_time(job_id) == _rq_moment(row.not_before)
        else:
            assert job_id in queue.job_ids
