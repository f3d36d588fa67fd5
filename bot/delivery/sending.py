"""RQ jobs: send an outbox row, check an unknown send, sweep for stuck rows.

Job arguments are ids, never objects. Job ids are derived from the row id and the
attempt to come (`outbox-12-a1`), so the same attempt enqueued twice is refused by
RQ; the conditional claim in `outbox.claim` is what makes a duplicate harmless.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

import redis
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlmodel import select

from . import outbox
from .models import Channel, OutboxMessage, OutboxStatus, SendAttempt, utcnow
from .outbound import Outcome, SendError, TwilioSender
from .pacing import Pacer
from .queues import QUEUE_NAMES, queues
from .runtime import Runtime

log = logging.getLogger(__name__)

FAILURE_TTL = 7 * 24 * 3600
_DEAD_JOB = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}

_runtime: Runtime | None = None


def worker_runtime() -> Runtime:
    """One runtime per worker process, built from the environment on first use."""
    global _runtime
    if _runtime is None:
        from . import notices

        _runtime = Runtime.from_env()
        notices.install(_runtime)
    return _runtime


# --- jobs (run by `caseline worker`) -------------------------------------------------------

def send_outbox_message(row_id: int) -> str:
    """Send one outbox row once: claim, pace, request, record."""
    return send(worker_runtime(), row_id)


def reconcile_outbox_message(row_id: int, attempt_number: int) -> str:
    """Find out what happened to a request whose answer never arrived."""
    return reconcile(worker_runtime(), row_id, attempt_number)


def contact_sweeps_job() -> dict | None:
    """Check-ins, the watchdog and MSP feedback (see bot/sweeps.py)."""
    from . import sweeps
    from .schedule import run_once

    runtime = worker_runtime()
    return run_once(runtime.redis, "contacts", 300, lambda: sweeps.run_all(runtime))


def sweep_outbox_job() -> dict | None:
    from .schedule import run_once

    runtime = worker_runtime()
    return run_once(runtime.redis, "outbox", 60, lambda: sweep(runtime))


# --- the work itself (testable with any runtime) --------------------------------------------

def send(runtime: Runtime, row_id: int, *, sender=None) -> str:
    sender = sender or runtime.sender
    settings = runtime.settings
    if _deferred_to_window(runtime, row_id):
        return "outside the contact window: deferred"
    with runtime.session() as session:
        attempt = outbox.claim(session, row_id, now=runtime.now())
        if attempt is None:
            return "not due or already taken"
        row = session.get(OutboxMessage, row_id)
    _pace(runtime, row)
    with runtime.session() as session:
        if not outbox.mark_requesting(session, attempt.id, now=runtime.now()):
            return "claim given up while waiting: not sent"
    callback = (f"{settings.public_url.rstrip('/')}/twilio/status"
                f"?outbox={row.id}&attempt={attempt.number}")
    try:
        accepted = _request(runtime, sender, row, callback)
    except SendError as error:
        with runtime.session() as session:
            attempt = session.merge(attempt)
            work = outbox.record_failure(session, attempt, error, now=runtime.now(),
                                         max_attempts=settings.outbound_max_attempts)
        dispatch(runtime, work)
        return f"failed: {error.outcome.value}"
    with runtime.session() as session:
        # Locked: a status callback may be moving the same attempt at this moment.
        attempt = session.get(SendAttempt, attempt.id, with_for_update=True)
        outbox.record_accepted(session, attempt, accepted)
    return "sent"


def _deferred_to_window(runtime: Runtime, row_id: int) -> bool:
    """Contact we start is never sent outside the recipient's window, even when a retry or a
    backlog brings it to a worker late in the evening: it waits for the next window."""
    from . import proactive
    from .models import Person

    now = runtime.now()
    with runtime.session() as session:
        row = session.get(OutboxMessage, row_id)
        if row is None or row.status is not OutboxStatus.PENDING \
                or row.purpose not in proactive.SCOPE_FOR:
            return False
        window = proactive.DEFAULT_WINDOW
        if row.person_id and not row.representative_id:
            person = session.get(Person, row.person_id)
            window = (person.contact_window_start, person.contact_window_end)
        when = proactive.next_in_window(now, runtime.settings, window)
        if when <= now:
            return False
        row.not_before = when
    dispatch(runtime, outbox.Work(send_later=((row_id, row.attempt_count + 1, when),)))
    return True


def _request(runtime: Runtime, sender, row: OutboxMessage, callback: str):
    settings = runtime.settings
    if row.channel == Channel.SMS:
        from_ = (row.from_number or settings.twilio_messaging_service_sid
                 or settings.twilio_phone_number)
        return sender.send_text(to=row.to_number, from_=from_, body=row.body,
                                status_callback=callback)
    from_ = row.from_number or settings.twilio_voice_number or settings.twilio_phone_number
    url = f"{settings.public_url.rstrip('/')}/twilio/voice/outbound?outbox={row.id}"
    return sender.start_call(to=row.to_number, from_=from_, url=url, status_callback=callback,
                             timeout=settings.outbound_ring_seconds)


def _pace(runtime: Runtime, row: OutboxMessage) -> None:
    """Texts are paced per sending number; new calls per account (Twilio's limits)."""
    settings = runtime.settings
    if row.channel == Channel.SMS:
        number = (row.from_number or settings.twilio_messaging_service_sid
                  or settings.twilio_phone_number)
        key, rate = f"sms:{number}", settings.outbound_texts_per_second
    else:
        key, rate = f"calls:{settings.twilio_account_sid}", settings.outbound_calls_per_second
    Pacer(runtime.redis, rate).wait(key)


def reconcile(runtime: Runtime, row_id: int, attempt_number: int, *, sender=None) -> str:
    """After an unknown send: adopt what Twilio has, or hand the row to a person."""
    sender = sender or runtime.sender
    with runtime.session() as session:
        row = session.get(OutboxMessage, row_id)
        attempt = session.exec(select(SendAttempt).where(
            SendAttempt.outbox_id == row_id, SendAttempt.number == attempt_number)).first()
        if attempt is None or attempt.twilio_sid or row.status is not OutboxStatus.SENDING:
            return "nothing to do"  # a status callback told us in the meantime
        since = (attempt.requested_at or attempt.started_at) - outbox.RECONCILE_AFTER
        try:
            found = sender.find_recent(channel=row.channel.value, to=row.to_number, since=since)
        except SendError as error:
            outbox.needs_check(session, row, f"Twilio could not be asked: {error.reason}")
            return "needs check"
        match = _matching(row, found)
        if match is None:
            outbox.needs_check(session, row, "Twilio has no record of it, and no news came")
            return "needs check"
        outbox.adopt(session, attempt, match.sid)
        outbox.apply_status(session, row, attempt, match.status,
                            max_attempts=runtime.settings.outbound_max_attempts)
        return "found"


def _matching(row: OutboxMessage, found: list):
    for item in found:
        if row.channel != Channel.SMS or item.body == row.body:
            return item
    return None


def sweep(runtime: Runtime, *, now: datetime | None = None) -> dict:
    """Recover rows a lost job, a dead worker or a Redis outage left behind."""
    now = now or runtime.now()
    work = outbox.Work()
    counts = {"enqueued": 0, "released": 0, "checking": 0}
    with runtime.session() as session:
        for row in session.exec(select(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.PENDING)):
            due = row.not_before is None or row.not_before <= now
            stale = row.enqueued_at is None or row.enqueued_at < now - outbox.ENQUEUED_TOO_LONG
            if due and stale:
                work = _merge(work, outbox.Work(send_now=(row.id,)))
                counts["enqueued"] += 1
        for row in session.exec(select(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.SENDING)):
            attempt = outbox.latest_attempt(session, row)
            if attempt is None or attempt.twilio_sid:
                continue
            if attempt.status == "claimed" and attempt.started_at < now - outbox.CLAIMED_TOO_LONG:
                attempt.status = "abandoned"  # the worker died before the request left
                row.status = OutboxStatus.PENDING
                work = _merge(work, outbox.Work(send_now=(row.id,)))
                counts["released"] += 1
            elif attempt.status in ("requesting", "unknown") and (
                    attempt.requested_at or attempt.started_at) < now - outbox.RECONCILE_AFTER:
                work = _merge(work, outbox.Work(reconcile=((row.id, attempt.number, now),)))
                counts["checking"] += 1
    counts["unprocessed"] = _unprocessed_inbound(runtime, now)
    dispatch(runtime, work)
    return counts


def _unprocessed_inbound(runtime: Runtime, now: datetime) -> int:
    """A text or call step stored but never answered (the web process failed on it): a
    person must look, since it may have been someone asking for help."""
    from .models import InboundEvent
    from .phones import display
    from .staff_actions import raise_action

    stuck = 0
    with runtime.session() as session:
        for event in session.exec(select(InboundEvent).where(
                InboundEvent.processed_at.is_(None),
                InboundEvent.received_at < now - outbox.RECONCILE_AFTER)):
            what = "A text" if event.channel.value == "sms" else "A call"
            who = display(event.number) if event.number else "a withheld number"
            raise_action(session, kind="inbound_failed", summary=(
                f"{what} from {who} at {event.received_at:%H:%M on %d %B} could not be "
                "handled by the line. Please contact them."), dedupe_key=f"inbound/{event.key}")
            event.processed_at = now  # flagged once; a Twilio retry would still be answered
            stuck += 1
    return stuck


def _merge(a: outbox.Work, b: outbox.Work) -> outbox.Work:
    return outbox.Work(a.send_now + b.send_now, a.send_later + b.send_later,
                       a.reconcile + b.reconcile)


# --- handing work to RQ ----------------------------------------------------------------------

def dispatch(runtime: Runtime, work: outbox.Work) -> None:
    """Enqueue what a committed transaction asked for; Redis being down loses nothing."""
    try:
        connection = runtime.redis
        if work.send_now:
            _enqueue_sends(runtime, connection, work.send_now)
        for row_id, attempt, when in work.send_later:
            _enqueue(connection, f"outbox-{row_id}-a{attempt}", send_outbox_message, row_id,
                     at=when)
        for row_id, attempt, when in work.reconcile:
            _enqueue(connection, f"outbox-{row_id}-check{attempt}", reconcile_outbox_message,
                     row_id, attempt, at=when)
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
            _enqueue(connection, job_id, send_outbox_message, row.id, at=row.not_before)
            row.enqueued_at = runtime.now()


def _enqueue(connection: redis.Redis, job_id: str, func, *args, at: datetime | None) -> None:
    queue = queues(connection)[0]
    options = dict(job_id=job_id, unique=True, result_ttl=0, failure_ttl=FAILURE_TTL)
    for _ in range(2):
        try:
            if at is not None and at > utcnow():
                queue.enqueue_at(at, func, *args, **options)
            else:
                queue.enqueue(func, *args, **options)
            return
        except DuplicateJobError:
            if not _drop_if_dead(connection, job_id):
                return  # the same job is already waiting or running: nothing to add


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


def enqueue_new_rows(runtime: Runtime, row_ids: list[int]) -> None:
    """Called after a commit that added outbox rows (see Runtime.session)."""
    dispatch(runtime, outbox.Work(send_now=tuple(row_ids)))


def wait_for_queue_empty(connection: redis.Redis, seconds: float = 10.0) -> bool:
    """For tests and the demo: True once no job waits in any queue."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(q.count == 0 for q in queues(connection)):
            return True
        time.sleep(0.05)
    return False


__all__ = ["QUEUE_NAMES", "Outcome", "TwilioSender", "dispatch", "reconcile", "send", "sweep"]
