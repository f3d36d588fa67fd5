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
import sqlalchemy as sa
from rq import Queue, get_current_job
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlmodel import select

from bot import clock
from bot.models import OutboxMessage, OutboxStatus, utcnow
from bot.redis_conn import REDIS_DOWN

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

# Workers take the urgent queue first: an alarm (danger, "I feel unsafe") never waits
# behind a thousand check-ins. Pacing per number still applies to both.
URGENT_QUEUE, BULK_QUEUE = "caseline-urgent", "caseline"
QUEUE_NAMES = (URGENT_QUEUE, BULK_QUEUE)
URGENT_PURPOSES = frozenset({"danger_alert", "escalation"})

SEND_JOB = "bot.jobs.send_outbox_message"
CHECK_JOB = "bot.jobs.reconcile_outbox_message"
SETTLE_JOB = "bot.jobs.settle_outbox_message"

FAILURE_TTL = 7 * 24 * 3600
_DEAD_JOB = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}


def queues(connection: redis.Redis) -> list[Queue]:
    """Every queue, most urgent first (the order a worker takes them in)."""
    return [Queue(name, connection=connection) for name in QUEUE_NAMES]


def queue_for(purpose: str) -> str:
    return URGENT_QUEUE if purpose in URGENT_PURPOSES else BULK_QUEUE


@dataclass(frozen=True)
class Work:
    """What must be enqueued once a transaction that changed the outbox commits."""

    send_now: tuple[int, ...] = ()
    send_later: tuple[tuple[int, int, datetime], ...] = ()  # (row id, attempt, when)
    reconcile: tuple[tuple[int, int, datetime], ...] = ()  # no answer came: look at Twilio
    settle: tuple[tuple[int, int, datetime | None], ...] = ()  # Twilio took it; no news since

    def __add__(self, other: Work) -> Work:
        return Work(self.send_now + other.send_now, self.send_later + other.send_later,
                    self.reconcile + other.reconcile, self.settle + other.settle)


def enqueue_new_rows(runtime: Runtime, rows: list) -> None:
    """Run by `Runtime.session` after a commit that added outbox rows (see `outbox.add`):
    their ids, or the rows themselves (a sweep's, flushed in one batch at the commit)."""
    if any(isinstance(r, int) for r in rows):
        dispatch(runtime, Work(send_now=tuple(r if isinstance(r, int) else r.id for r in rows)))
        return
    try:
        pending = [r for r in rows if r.status is OutboxStatus.PENDING]
        _enqueue_fresh(runtime, runtime.redis, pending)
    except (*REDIS_DOWN, redis.RedisError) as exc:  # e.g. out of memory: nothing was taken
        log.warning("could not enqueue outbox work (%s); the sweep will", type(exc).__name__)


def _enqueue_fresh(runtime: Runtime, connection: redis.Redis, rows: list) -> None:
    """A sweep's new rows, in one round trip to Redis. No job can hold a new row's first
    attempt yet, so RQ's one-at-a-time uniqueness check is not needed; should the outbox
    sweep hand one over at the same moment, the claim makes the twin harmless."""
    if not rows:
        return
    # MULTI/EXEC: still one round trip, and all or nothing (a job saved but never queued
    # would look alive to the outbox sweep and never be sent).
    by_name = {name: Queue(name, connection=connection) for name in QUEUE_NAMES}
    with connection.pipeline(transaction=True) as pipe:
        for row in rows:
            queue = by_name[queue_for(row.purpose)]
            job = queue.create_job(SEND_JOB, args=(row.id,), job_id=send_job_id(row.id, 1),
                                   result_ttl=0, failure_ttl=FAILURE_TTL)
            at = row.not_before
            if at is not None and at > utcnow():
                queue.schedule_job(job, _rq_moment(at), pipeline=pipe)
            else:
                queue.enqueue_job(job, pipeline=pipe)
        pipe.execute()
    with runtime.session() as session:  # when RQ took them: the outbox sweep looks at it
        session.execute(sa.update(OutboxMessage).where(
            OutboxMessage.id.in_([row.id for row in rows])).values(enqueued_at=runtime.now()))


def dispatch(runtime: Runtime, work: Work) -> None:
    """Enqueue what a committed transaction asked for; Redis being down loses nothing."""
    try:
        connection = runtime.redis
        if work.send_now:
            _enqueue_sends(runtime, connection, work.send_now)
        later = work.send_later + work.reconcile + work.settle
        queue_of = _queues_of(runtime, {row_id for row_id, _a, _w in later}) if later else {}
        for row_id, attempt, when in work.send_later:
            _enqueue(connection, queue_of[row_id], send_job_id(row_id, attempt), SEND_JOB,
                     row_id, at=when)
        for row_id, attempt, when in work.reconcile:
            _enqueue(connection, queue_of[row_id], f"outbox-{row_id}-check{attempt}", CHECK_JOB,
                     row_id, attempt, at=when)
        for row_id, attempt, when in work.settle:
            _enqueue(connection, queue_of[row_id], f"outbox-{row_id}-settle{attempt}",
                     SETTLE_JOB, row_id, attempt, at=when)
    except REDIS_DOWN as exc:
        # The rows are safe in the database; the sweep enqueues them when Redis is back.
        log.warning("could not enqueue outbox work (%s); the sweep will", type(exc).__name__)


def _enqueue_sends(runtime: Runtime, connection: redis.Redis, row_ids) -> None:
    """Hand pending rows to RQ, one job per attempt to come, and note when."""
    with runtime.session() as session:
        rows = session.exec(select(OutboxMessage).where(
            OutboxMessage.id.in_(list(row_ids)), OutboxMessage.status == OutboxStatus.PENDING))
        for row in rows:
            _enqueue(connection, queue_for(row.purpose),
                     send_job_id(row.id, row.attempt_count + 1), SEND_JOB, row.id,
                     at=row.not_before)
            row.enqueued_at = runtime.now()


def _queues_of(runtime: Runtime, row_ids: set[int]) -> dict[int, str]:
    with runtime.session() as session:
        rows = session.exec(select(OutboxMessage.id, OutboxMessage.purpose).where(
            OutboxMessage.id.in_(list(row_ids)))).all()
    return {row_id: queue_for(purpose) for row_id, purpose in rows} | {
        row_id: BULK_QUEUE for row_id in row_ids - {r for r, _p in rows}}


def send_job_id(row_id: int, attempt: int) -> str:
    return f"outbox-{row_id}-a{attempt}"


def _enqueue(connection: redis.Redis, queue_name: str, job_id: str, func: str, *args,
             at: datetime | None) -> None:
    queue = Queue(queue_name, connection=connection)
    if job_id == _current_job_id():
        # Re-armed by the job that holds this id (a retry that woke early, a text kept for
        # the contact window): the new run needs an id of its own.
        job_id = job_id[: -len(AGAIN)] if job_id.endswith(AGAIN) else job_id + AGAIN
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


AGAIN = "-again"


def _current_job_id() -> str | None:
    job = get_current_job()
    return job.id if job is not None else None


def has_live_job(connection: redis.Redis, row_id: int, attempt: int) -> bool:
    """Whether RQ holds a waiting, scheduled or running job for this attempt."""
    base = send_job_id(row_id, attempt)
    for job_id in (base, base + AGAIN):
        try:
            job = Job.fetch(job_id, connection=connection)
        except NoSuchJobError:
            continue
        if _will_run(connection, job):
            return True
    return False


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
    if not _will_run(connection, job):
        job.delete()
        return True
    return False


def _will_run(connection: redis.Redis, job: Job) -> bool:
    """Whether RQ will still run (or is running) the job. A job that says it is queued
    but is in no queue's list will never run: Redis lost the list (it was evicted, or
    restored from an older copy) and kept the job. Taken for alive, it would hold its
    row's id for ever and the text would never go."""
    status = job.get_status(refresh=True)
    if status in _DEAD_JOB:
        return False
    if status == JobStatus.QUEUED:  # in its queue, or just taken by a worker (RQ moves it
        queue = Queue(job.origin, connection=connection)  # to an intermediate list first)
        return queue.get_job_position(job.id) is not None or \
            connection.lpos(queue.intermediate_queue_key, job.id) is not None
    return True


def wait_for_queue_empty(connection: redis.Redis, seconds: float = 10.0) -> bool:
    """For tests and the demo: True once no job waits in any queue."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(q.count == 0 for q in queues(connection)):
            return True
        time.sleep(0.05)
    return False


VOICEMAIL_JOB = "bot.jobs.leave_voicemail"


def leave_voicemail(runtime: Runtime, call_sid: str) -> None:
    """A machine answered a call we made: redirect the call to the voicemail message, at
    once (the urgent queue), while the machine is still recording."""
    try:
        _enqueue(runtime.redis, URGENT_QUEUE, f"voicemail-{call_sid}", VOICEMAIL_JOB,
                 call_sid, at=None)
    except REDIS_DOWN:
        # The machine then hears the greeting and the PIN question, which say nothing
        # about anyone; the call's outcome is counted all the same.
        log.warning("no voicemail message for call %s…: Redis is unreachable", call_sid[:6])
