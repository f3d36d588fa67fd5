"""The contact sweep spread over workers: the scheduler's job queues a chunk of open cases a
job on the bulk queue, two real `caseline worker` processes run them side by side, every
due case gets its check-in once, and the same sweep again writes nothing."""

from __future__ import annotations

import time
from collections import Counter

from rq import Queue
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlmodel import select

from bot.delivery.queues import BULK_QUEUE
from bot.models import Case, OutboxMessage, Stage
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
