"""Sending an outbox row once, checking a send whose answer never came, and the sweep
that recovers rows a lost job, a dead worker or a Redis outage left behind.

This is the work behind the RQ jobs in `bot/jobs.py`; it takes its runtime as an
argument, so tests run it with any runtime and any sender.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlmodel import select

from bot.models import Channel, OutboxMessage, OutboxStatus, SendAttempt
from bot.redis_conn import REDIS_DOWN
from bot.runtime import Runtime

from . import outbox
from .pacing import Pacer
from .queues import Work, dispatch, has_live_job
from .sender import SendError

log = logging.getLogger(__name__)

def send(runtime: Runtime, row_id: int, *, sender=None) -> str:
    sender = sender or runtime.sender
    settings = runtime.settings
    if _deferred_to_window(runtime, row_id):
        return "outside the contact window: deferred"
    attempt, row = _claim_when_due(runtime, row_id)
    if attempt is None:
        return row
    try:
        _pace(runtime, row)
    except REDIS_DOWN:
        with runtime.session() as session:  # nothing left: the sweep sends it once Redis is back
            outbox.release(session, session.get(SendAttempt, attempt.id))
        raise
    with runtime.session() as session:
        if not outbox.mark_requesting(session, attempt.id, now=runtime.now()):
            return "claim given up while waiting: not sent"
    callback = (f"{settings.public_url.rstrip('/')}/twilio/status"
                f"?outbox={row.id}&attempt={attempt.number}")
    try:
        accepted = _request(runtime, sender, row, callback, attempt.number)
    except SendError as error:
        with runtime.session() as session:
            # Read afresh, locked: while the request hung, a status callback may have told
            # us Twilio took it; our copy from before the request must not overwrite that.
            attempt = session.get(SendAttempt, attempt.id, with_for_update=True,
                                  populate_existing=True)
            work = outbox.record_failure(session, attempt, error, now=runtime.now(),
                                         max_attempts=settings.outbound_max_attempts)
        dispatch(runtime, work)
        return f"failed: {error.outcome.value}"
    with runtime.session() as session:
        # Locked: a status callback may be moving the same attempt at this moment.
        attempt = session.get(SendAttempt, attempt.id, with_for_update=True)
        outbox.record_accepted(session, attempt, accepted)
    return "sent"


def _claim_when_due(runtime: Runtime, row_id: int):
    """(attempt, row) once the row is ours to send, or (None, why not).

    RQ starts a job on a whole second and the machines' clocks differ a little, so a retry
    can wake just before its row is due: it waits those moments rather than give up, and a
    job woken well before its time re-arms itself. Either way it never waits for the sweep.
    """
    for _ in range(2):
        with runtime.session() as session:
            attempt = outbox.claim(session, row_id, now=runtime.now())
            row = session.get(OutboxMessage, row_id)
            if attempt is not None:
                return attempt, row
            if row is None or row.status is not OutboxStatus.PENDING or row.not_before is None:
                return None, "not due or already taken"
            early = (row.not_before - runtime.now()).total_seconds()
            next_attempt = row.attempt_count + 1
        if early > EARLY_WAKE_SECONDS:
            dispatch(runtime, Work(send_later=((row_id, next_attempt, row.not_before),)))
            return None, f"not due for {early:.0f} s: re-armed"
        time.sleep(max(0.0, early) + 0.01)
    return None, "not due"


EARLY_WAKE_SECONDS = 5.0


def _deferred_to_window(runtime: Runtime, row_id: int) -> bool:
    """Contact we start is never sent outside the recipient's window, even when a retry or a
    backlog brings it to a worker late in the evening: it waits for the next window."""
    from bot.outreach import contact

    now = runtime.now()
    with runtime.session() as session:
        row = session.get(OutboxMessage, row_id)
        if row is None or row.status is not OutboxStatus.PENDING \
                or row.purpose not in contact.SCOPE_FOR:
            return False
        window = contact.window_for(session, row.person_id, row.representative_id)
        when = contact.next_in_window(now, runtime.settings, window)
        if when <= now:
            return False
        row.not_before = when
    dispatch(runtime, Work(send_later=((row_id, row.attempt_count + 1, when),)))
    return True


def _request(runtime: Runtime, sender, row: OutboxMessage, callback: str, attempt: int):
    settings = runtime.settings
    if row.channel == Channel.SMS:
        from_ = (row.from_number or settings.twilio_messaging_service_sid
                 or settings.twilio_phone_number)
        return sender.send_text(to=row.to_number, from_=from_, body=row.body,
                                status_callback=callback)
    from_ = row.from_number or settings.twilio_voice_number or settings.twilio_phone_number
    base = f"{settings.public_url.rstrip('/')}/twilio/voice"
    return sender.start_call(to=row.to_number, from_=from_, url=f"{base}/outbound?outbox={row.id}",
                             status_callback=callback, timeout=settings.outbound_ring_seconds,
                             amd_callback=f"{base}/amd?outbox={row.id}&attempt={attempt}")


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


def settle(runtime: Runtime, row_id: int, attempt_number: int, *, sender=None) -> str:
    """Twilio took it but its news never came (e.g. status callbacks arrived while the
    database was down): ask Twilio for the status now; one that will not settle goes to a
    person."""
    sender = sender or runtime.sender
    settings = runtime.settings
    with runtime.session() as session:
        row = session.get(OutboxMessage, row_id)
        attempt = session.exec(select(SendAttempt).with_for_update().where(
            SendAttempt.outbox_id == row_id, SendAttempt.number == attempt_number)).first()
        if row is None or attempt is None or not attempt.twilio_sid \
                or row.status is not OutboxStatus.SENDING or row.attempt_count != attempt_number:
            return "nothing to do"
        waited = runtime.now() - (attempt.requested_at or attempt.started_at)
        try:
            found = sender.fetch(channel=row.channel.value, sid=attempt.twilio_sid)
        except SendError as error:
            if waited >= outbox.SETTLE_GIVE_UP:
                outbox.needs_check(session, row, f"Twilio could not be asked: {error.reason}")
                return "needs check"
            return f"Twilio could not be asked ({error.outcome.value}); will ask again"
        work = outbox.apply_status(session, row, attempt, found.status,
                                   error_code=found.error_code, answered_by=found.answered_by,
                                   now=runtime.now(), max_attempts=settings.outbound_max_attempts)
        if row.status is OutboxStatus.SENDING and waited >= outbox.SETTLE_GIVE_UP:
            outbox.needs_check(session, row, f"Twilio still says '{found.status}' after "
                               f"{waited.total_seconds() // 60:.0f} minutes")
            return "needs check"
        status = row.status.value
    dispatch(runtime, work)
    return f"settled: {found.status} ({status})"


def _matching(row: OutboxMessage, found: list):
    for item in found:
        if row.channel != Channel.SMS or item.body == row.body:
            return item
    return None


def sweep(runtime: Runtime, *, now: datetime | None = None) -> dict:
    """Recover rows a lost job, a dead worker or a Redis outage left behind.

    Run every minute: a due row with no job waiting in RQ (Redis lost it, or was down
    when the row was added) is handed over again at once, so after any outage the
    waiting rows go out within a minute.
    """
    now = now or runtime.now()
    work = Work()
    counts = {"enqueued": 0, "released": 0, "checking": 0, "settling": 0}
    jobs = _JobLook(runtime)
    with runtime.session() as session:
        for row in session.exec(select(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.PENDING)):
            due = row.not_before is None or row.not_before <= now
            stale = row.enqueued_at is None or row.enqueued_at < now - outbox.ENQUEUED_TOO_LONG
            if due and (stale or not jobs.waiting(row.id, row.attempt_count + 1)):
                work += Work(send_now=(row.id,))
                counts["enqueued"] += 1
        for row in session.exec(select(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.SENDING)):
            attempt = outbox.latest_attempt(session, row)
            if attempt is None:
                continue
            if attempt.twilio_sid:
                if (attempt.requested_at or attempt.started_at) < now - outbox.SETTLE_AFTER \
                        and jobs.may_settle(row.id, attempt.number):
                    work += Work(settle=((row.id, attempt.number, None),))  # at once
                    counts["settling"] += 1
                continue
            if attempt.status == "claimed" and attempt.started_at < now - outbox.CLAIMED_TOO_LONG:
                outbox.release(session, attempt)  # the worker died before the request left
                work += Work(send_now=(row.id,))
                counts["released"] += 1
            elif attempt.status in ("requesting", "unknown") and (
                    attempt.requested_at or attempt.started_at) < now - outbox.RECONCILE_AFTER:
                work += Work(reconcile=((row.id, attempt.number, now),))
                counts["checking"] += 1
    counts["unprocessed"] = _unprocessed_inbound(runtime, now)
    dispatch(runtime, work)
    return counts


class _JobLook:
    """What RQ holds, for the sweep; with Redis down it assumes jobs wait (the ten-minute
    rule still applies) and lets nothing be settled (nothing could be enqueued anyway)."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def waiting(self, row_id: int, attempt: int) -> bool:
        try:
            return has_live_job(self.runtime.redis, row_id, attempt)
        except REDIS_DOWN:
            return True

    def may_settle(self, row_id: int, attempt: int) -> bool:
        """At most one look at Twilio per row every `SETTLE_EVERY`."""
        try:
            return bool(self.runtime.redis.set(f"caseline:settle:{row_id}:{attempt}", "1",
                                               nx=True, ex=outbox.SETTLE_EVERY_SECONDS))
        except REDIS_DOWN:
            return False


def _unprocessed_inbound(runtime: Runtime, now: datetime) -> int:
    """A text or call step stored but never answered (the web process failed on it): a
    person must look, since it may have been someone asking for help."""
    from bot.models import InboundEvent
    from bot.phones import display
    from bot.records.staff_actions import raise_action

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
