"""The RQ queues, and handing outbox work to them once a transaction has committed.

Job arguments are ids, never objects. Job ids are derived from the row id and the
attempt to come (`outbox-12-a1`), so the same attempt enqueued twice is refused by
RQ; the conditional claim in `outbox.claim` is what makes a duplicate harmless.

Jobs are named by their path in `bot/jobs.py` (RQ stores that name in Redis), so this
module never imports the code that runs them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlmodel import select

from bot import clock
from bot.models import OutboxMessage, OutboxStatus, utcnow

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

# One queue: sends are paced per number by the outbound code, not by queue priority.
QUEUE_NAMES = ("caseline",)

SEND_JOB = "bot.jobs.send_outbox_message"
CHECK_JOB = "bot.jobs.reconcile_outbox_message"

FAILURE_TTL = 7 * 24 * 3600
_DEAD_JOB = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}


def queues(connection: redis.Redis) -> list[Queue]:
    return [Queue(name, connection=connection) for name in QUEUE_NAMES]


@dataclass(frozen=True)
class Work:
    """What must be enqueued once a transaction that changed the outbox commits."""

    send_now: tuple[int, ...] = ()
    send_later: tuple[tuple[int, int, datetime], ...] = ()  # (row id, attempt, when)
    reconcile: tuple[tuple[int, int, datetime], ...] = ()

    def __add__(self, other: Work) -> Work:
        return Work(self.send_now + other.send_now, self.send_later + other.send_later,
                    self.reconcile + other.reconcile)


def enqueue_new_rows(runtime: Runtime, row_ids: list[int]) -> None:
    """Run by `Runtime.session` after a commit that added outbox rows (see `outbox.add`)."""
    dispatch(runtime, Work(send_now=tuple(row_ids)))


def dispatch(runtime: Runtime, work: Work) -> None:
    """Enqueue what a committed transaction asked for; Redis being down loses nothing."""
    try:
        connection = runtime.redis
        if work.send_now:
            _enqueue_sends(runtime, connection, work.send_now)
        for row_id, attempt, when in work.send_later:
            _enqueue(connection, f"outbox-{row_id}-a{attempt}", SEND_JOB, row_id, at=when)
        for row_id, attempt, when in work.reconcile:
            _enqueue(connection, f"outbox-{row_id}-check{attempt}", CHECK_JOB, row_id, attempt,
                     at=when)
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        # The rows are safe in the database; the sweep enqueues them when Redis is back.
        log.warning("could not enqueue outbox work (%s); the sweep will", type(exc).__name__)


def _enqueue_sends(runtime: Runtime, connection: redis.Redis, row_ids) -> None:
    """Hand pending rows to RQ, one job per attempt to come, and note when."""
    with runtime.session() as session:
        rows = session.exec(select(OutboxMessage).where(
            OutboxMessage.id.in_(list(row_ids)), OutboxMessage.status == OutboxStatus.PENDING))
        for row in rows:
            job_id = f"outbox-{row.id}-a{row.attempt_count + 1}"
            _enqueue(connection, job_id, SEND_JOB, row.id, at=row.not_before)
            row.enqueued_at = runtime.now()


def _enqueue(connection: redis.Redis, job_id: str, func: str, *args,
             at: datetime | None) -> None:
    queue = queues(connection)[0]
    options = dict(job_id=job_id, unique=True, result_ttl=0, failure_ttl=FAILURE_TTL)
    at = _rq_moment(at) if at is not None and at > utcnow() else None
    for _ in range(2):
        try:
            if at is not None:
                queue.enqueue_at(at, func, *args, **options)
            else:
                queue.enqueue(func, *args, **options)
            return
        except DuplicateJobError:
            if not _drop_if_dead(connection, job_id):
                return  # the same job is already waiting or running: nothing to add


def _rq_moment(at: datetime) -> datetime:
    """When RQ should start a job due at `at` (the line's time): the matching real moment,
    rounded up to a whole second, because RQ drops the fraction and would otherwise start
    the job just before it is due (and the claim would refuse it)."""
    real = clock.to_real(at)
    if real.microsecond:
        real = real.replace(microsecond=0) + timedelta(seconds=1)
    return real


def _drop_if_dead(connection: redis.Redis, job_id: str) -> bool:
    """A finished or failed job under the same id may be replaced; a live one may not."""
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return True
    if job.get_status(refresh=True) in _DEAD_JOB:
        job.delete()
        return True
    return False


def wait_for_queue_empty(connection: redis.Redis, seconds: float = 10.0) -> bool:
    """For tests and the demo: True once no job waits in any queue."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(q.count == 0 for q in queues(connection)):
            return True
        time.sleep(0.05)
    return False

