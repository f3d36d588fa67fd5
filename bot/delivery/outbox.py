"""The outbox: every text or call the line makes, written first, sent once by a job.

A row is added in the same transaction as the change that caused it, with a unique
key per intended message, so the same intent written twice is one row. A job claims
the row with a conditional UPDATE, so only one worker ever sends a given attempt.
Before the request leaves, the attempt is marked "requesting": if a worker dies
after that point, nobody can know whether Twilio took the request, so the row is
never resent blindly; it waits for a status callback or a look-up at Twilio, and
failing both it is handed to a person.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from bot.db import ids_from_sequence
from bot.models import (
    Channel,
    ConversationState,
    Direction,
    OutboxMessage,
    OutboxStatus,
    Person,
    Representative,
    SendAttempt,
    utcnow,
)
from bot.phones import mask
from bot.records.audit import record_interaction
from bot.records.staff_actions import raise_action
from bot.runtime import after_commit, after_commit_items

from .queues import Work, enqueue_new_rows
from .sender import Accepted, Outcome, SendError, classify_code

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (30, 120, 600, 1800, 3600)  # before attempt 2, 3, 4, ...
RECONCILE_AFTER = timedelta(minutes=2)  # wait for callbacks before looking at Twilio
CLAIMED_TOO_LONG = timedelta(minutes=2)  # a worker died before the request left
ENQUEUED_TOO_LONG = timedelta(minutes=10)  # the job was lost (e.g. Redis restarted)
SETTLE_AFTER = timedelta(minutes=10)  # Twilio took it, but no final status came since
SETTLE_EVERY_SECONDS = 600  # how often the sweep asks Twilio about one such row
SETTLE_GIVE_UP = timedelta(hours=2)  # then a person is asked to check it

# Status words in the order they can happen; a callback never moves an attempt back.
MESSAGE_RANK = {"claimed": 0, "requesting": 0, "unknown": 0, "accepted": 1, "scheduled": 1,
                "queued": 1, "sending": 2, "sent": 3, "delivered": 5, "undelivered": 5,
                "failed": 5, "canceled": 5, "read": 6}
CALL_RANK = {"claimed": 0, "requesting": 0, "unknown": 0, "queued": 1, "initiated": 2,
             "ringing": 3, "in-progress": 4, "answered": 4, "completed": 5, "busy": 5,
             "no-answer": 5, "failed": 5, "canceled": 5}
CALL_NOT_ANSWERED = {"busy": "busy", "no-answer": "no-answer", "canceled": "no-answer"}


def add(session: Session, *, key: str, purpose: str, channel: Channel, to: str, body: str = "",
        flow: str = "", from_number: str = "", case_id: int | None = None,
        person_id: int | None = None, representative_id: int | None = None,
        not_before: datetime | None = None,
        surely_new: bool = False) -> OutboxMessage | NewRow:
    """Add an intended text or call, once per key; returns the (new or existing) row.

    `surely_new`: the caller has just read every key of the case (a sweep's chunk, in a
    transaction of its own). The row is then neither looked up nor flushed on its own, nor
    made an ORM object: it is written with the chunk's other new rows in one statement as
    the chunk commits (a `NewRow` stands for it until then), and the same key added
    meanwhile by someone else fails the chunk's commit, whose job is tried again and
    finds it."""
    values = dict(key=key, purpose=purpose, channel=channel, to_number=to, body=body,
                  flow=flow, from_number=from_number, case_id=case_id, person_id=person_id,
                  representative_id=representative_id, not_before=not_before)
    if surely_new:
        return _add_in_bulk(session, values)
    row = OutboxMessage(**values)
    existing = session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()
    if existing is not None:
        return existing
    try:
        with session.begin_nested():  # another transaction may add the same key at once
            session.add(row)
    except sa.exc.IntegrityError:
        return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()
    after_commit(session, enqueue_new_rows, row.id)  # handed to RQ once committed
    return row


@dataclass
class NewRow:
    """A row a sweep's chunk added, until the chunk commits and writes it: what handing it
    to RQ needs (`queues.enqueue_new_rows`), and its id once written."""

    key: str
    purpose: str
    not_before: datetime | None
    id: int | None = None
    status: OutboxStatus = OutboxStatus.PENDING


_TABLE = OutboxMessage.__table__
_IN_BULK = "caseline_outbox_in_bulk"  # session.info: [(NewRow, the row's values)]


def _add_in_bulk(session: Session, values: dict) -> NewRow:
    now = utcnow()
    row = NewRow(values["key"], values["purpose"], values["not_before"])
    session.info.setdefault(_IN_BULK, []).append((row, {
        **values, "status": OutboxStatus.PENDING, "attempt_count": 0, "enqueued_at": None,
        "call_outcome": "", "last_error": "", "created_at": now, "updated_at": now}))
    after_commit(session, enqueue_new_rows, row)  # its id is known once written
    return row


def in_bulk(session: Session) -> list[NewRow]:
    """The rows added with `surely_new` in this session and not written yet."""
    return [row for row, _values in session.info.get(_IN_BULK, ())]


@sa.event.listens_for(OrmSession, "before_commit")
def _write_in_bulk(session: OrmSession) -> None:
    """A chunk's new rows, as it commits: ids from the table's sequence in one query, then
    one executemany (PostgreSQL); one INSERT a row elsewhere (SQLite: one machine, few)."""
    pending = session.info.pop(_IN_BULK, None)
    if not pending:
        return
    ids = ids_from_sequence(session, _TABLE.c.id, len(pending))
    if ids is None:
        for row, values in pending:
            row.id = session.execute(sa.insert(_TABLE).values(values)
                                     .returning(_TABLE.c.id)).scalar_one()
        return
    for (row, values), new_id in zip(pending, ids, strict=True):
        row.id = values["id"] = new_id
    session.execute(sa.insert(_TABLE), [values for _row, values in pending])


def cancel_pending(session: Session, *, case_id: int, purposes: tuple[str, ...],
                   reason: str) -> int:
    """Drop what waits to be sent for a case (not what is in flight); how many rows."""
    rows = session.exec(select(OutboxMessage).where(
        OutboxMessage.case_id == case_id, OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.purpose.in_(purposes))).all()
    for row in rows:
        row.status, row.last_error = OutboxStatus.CANCELLED, reason[:300]
        session.add(row)
    return len(rows)


def added_in(session: Session) -> list:
    """The rows added (not found) in this session so far: ids, or `NewRow`s."""
    return after_commit_items(session, enqueue_new_rows)


def claim(session: Session, row_id: int, *, now: datetime) -> SendAttempt | None:
    """Take a due, pending row for one new attempt; None if it is not ours to send."""
    table = OutboxMessage.__table__
    result = session.execute(
        table.update()
        .where(table.c.id == row_id, table.c.status == OutboxStatus.PENDING.value,
               sa.or_(table.c.not_before.is_(None), table.c.not_before <= now))
        .values(status=OutboxStatus.SENDING.value, attempt_count=table.c.attempt_count + 1,
                updated_at=now)
    )
    if result.rowcount != 1:
        return None
    row = session.get(OutboxMessage, row_id, populate_existing=True)
    attempt = SendAttempt(outbox_id=row.id, number=row.attempt_count, started_at=now)
    session.add(attempt)
    session.flush()
    return attempt


def mark_requesting(session: Session, attempt_id: int, *, now: datetime) -> bool:
    """From here on, Twilio may have the request: it is never resent blindly.

    False if the claim was given up meanwhile (a sweep thought this worker dead and
    released the row): then this worker must not send.
    """
    table = SendAttempt.__table__
    result = session.execute(table.update().where(
        table.c.id == attempt_id, table.c.status == "claimed").values(
        status="requesting", requested_at=now))
    return result.rowcount == 1


def release(session: Session, attempt: SendAttempt) -> None:
    """Give a claim back before any request left (its worker died, or lost Redis while
    waiting for its turn): the row is pending again, to be sent by the next job."""
    row = session.get(OutboxMessage, attempt.outbox_id)
    attempt.status = "abandoned"
    row.status = OutboxStatus.PENDING
    session.add_all([attempt, row])


def record_accepted(session: Session, attempt: SendAttempt, accepted: Accepted) -> None:
    """Store Twilio's sid; a callback may already have moved the attempt further."""
    known = bool(attempt.twilio_sid)
    attempt.twilio_sid = accepted.sid
    session.add(attempt)
    row = session.get(OutboxMessage, attempt.outbox_id)
    if not known:
        _on_timeline(session, row, accepted.sid)
    apply_status(session, row, attempt, accepted.status)


def _on_timeline(session: Session, row: OutboxMessage, sid: str) -> None:
    """A text or call Twilio took from us: on the case's timeline with its sid (the words
    stay in the outbox row, shown only to those allowed to read messages)."""
    voice = row.channel is Channel.VOICE
    record_interaction(session, kind="call_out" if voice else "text_out",
                       direction=Direction.OUTBOUND, channel=row.channel, case_id=row.case_id,
                       person_id=row.person_id, representative_id=row.representative_id,
                       number=row.to_number, twilio_sid=sid, summary=row.purpose, actor="line")


def record_failure(session: Session, attempt: SendAttempt, error: SendError, *,
                   now: datetime, max_attempts: int) -> Work:
    """Decide what a failed request means for the row: retry, wait and look, or stop."""
    row = session.get(OutboxMessage, attempt.outbox_id)
    if attempt.twilio_sid:
        # A status callback arrived while our request hung: Twilio has it, and its
        # callbacks (or the sweep's look at Twilio) carry it on from here.
        log.info("outbox %s attempt %s: %s, but Twilio already reported %s", row.id,
                 attempt.number, error.outcome.value, attempt.status)
        return Work()
    attempt.error_code = error.code
    attempt.finished_at = now
    row.last_error = error.reason[:300]
    if error.outcome is Outcome.AMBIGUOUS:
        attempt.status = "unknown"
        log.warning("outbox %s attempt %s: %s; will check with Twilio", row.id, attempt.number,
                    error.reason)
        return Work(reconcile=((row.id, attempt.number, now + RECONCILE_AFTER),))
    attempt.status = "failed"
    return _after_failure(session, row, attempt, error.outcome, error.reason, now=now,
                          max_attempts=max_attempts)


def _after_failure(session: Session, row: OutboxMessage, attempt: SendAttempt,
                   outcome: Outcome, reason: str, *, now: datetime, max_attempts: int) -> Work:
    row.last_error = reason[:300]
    if outcome is Outcome.CHECK and _earlier_check_failure(session, row, attempt):
        outcome, reason = Outcome.FINAL, f"{reason} (twice)"
    if outcome is not Outcome.FINAL and row.attempt_count >= max_attempts:
        outcome, reason = Outcome.FINAL, f"{reason}; gave up after {row.attempt_count} tries"
    if outcome is Outcome.FINAL:
        fail(session, row, reason)
        return Work()
    delay = BACKOFF_SECONDS[min(row.attempt_count, len(BACKOFF_SECONDS)) - 1]
    row.status = OutboxStatus.PENDING
    row.not_before = now + timedelta(seconds=delay)
    log.info("outbox %s attempt %s failed (%s); retry in %ss", row.id, attempt.number, reason,
             delay)
    return Work(send_later=((row.id, row.attempt_count + 1, row.not_before),))


def _earlier_check_failure(session: Session, row: OutboxMessage, attempt: SendAttempt) -> bool:
    codes = session.exec(select(SendAttempt.error_code).where(
        SendAttempt.outbox_id == row.id, SendAttempt.number < attempt.number)).all()
    return any(classify_code(code)[0] is Outcome.CHECK for code in codes if code)


def fail(session: Session, row: OutboxMessage, reason: str) -> None:
    """End the row and raise a staff action naming who could not be reached and why."""
    row.status = OutboxStatus.FAILED
    _raise_for(session, row, "send_failed", f"could not be sent: {reason}.")


def needs_check(session: Session, row: OutboxMessage, reason: str) -> None:
    """Hand an unknowable send to a person rather than risk sending it twice."""
    row.status = OutboxStatus.NEEDS_CHECK
    _raise_for(session, row, "send_unknown",
               f"may or may not have been sent ({reason}). Check with them before "
               "sending it again.")


def _raise_for(session: Session, row: OutboxMessage, kind: str, what: str) -> None:
    thing = "text" if row.channel == Channel.SMS else "call"
    summary = f"The {row.purpose.replace('_', ' ')} {thing} to {_recipient(session, row)} {what}"
    raise_action(session, kind=kind, summary=summary, case_id=row.case_id,
                 person_id=row.person_id, dedupe_key=f"outbox/{row.id}/{kind}")
    log.warning("outbox %s to %s ended: %s", row.id, mask(row.to_number), kind)


def _recipient(session: Session, row: OutboxMessage) -> str:
    from bot.phones import display

    number = display(row.to_number)
    if row.representative_id:
        rep = session.get(Representative, row.representative_id)
        return f"{rep.full_name} ({rep.relationship}, {number})"
    if row.person_id:
        return f"{session.get(Person, row.person_id).full_name} ({number})"
    return number


def apply_status(session: Session, row: OutboxMessage, attempt: SendAttempt, status: str, *,
                 error_code: int | None = None, answered_by: str = "",
                 now: datetime | None = None, max_attempts: int = 5) -> Work:
    """Move an attempt (and its row) forward to Twilio's `status`; never backwards."""
    ranks = MESSAGE_RANK if row.channel == Channel.SMS else CALL_RANK
    if ranks.get(status, -1) <= ranks.get(attempt.status, -1):
        return Work()  # a repeat, or older news arriving late
    attempt.status = status
    attempt.error_code = error_code or attempt.error_code
    attempt.answered_by = answered_by or attempt.answered_by
    if ranks[status] >= 5:
        attempt.finished_at = now or utcnow()
    session.add(attempt)
    if attempt.number != row.attempt_count or row.status in _ENDED:
        return Work()  # news about a superseded attempt does not change the row
    if row.channel == Channel.SMS:
        return _message_row(session, row, attempt, status, now, max_attempts)
    return _call_row(session, row, attempt, status, now, max_attempts)


_ENDED = {OutboxStatus.FAILED, OutboxStatus.NEEDS_CHECK, OutboxStatus.CANCELLED}


def _message_row(session, row, attempt, status, now, max_attempts) -> Work:
    if status == "sent":
        row.status = OutboxStatus.SENT
    elif status in ("delivered", "read"):
        row.status = OutboxStatus.DELIVERED
    elif status in ("undelivered", "failed", "canceled"):
        outcome, reason = classify_code(attempt.error_code)
        return _after_failure(session, row, attempt, outcome, reason, now=now or utcnow(),
                              max_attempts=max_attempts)
    return Work()


def _call_row(session, row, attempt, status, now, max_attempts) -> Work:
    if status in ("in-progress", "answered") and not _is_machine(attempt.answered_by):
        # A call that runs a flow is only done once the person has heard it (see below).
        row.status = OutboxStatus.SENT if row.flow else OutboxStatus.ANSWERED
    elif status == "completed" or status in CALL_NOT_ANSWERED:
        if _is_machine(attempt.answered_by):
            _not_answered(session, row, "machine")
        elif status in CALL_NOT_ANSWERED:
            _not_answered(session, row, CALL_NOT_ANSWERED[status])
        elif row.flow and not _verified_on_call(session, attempt.twilio_sid):
            # Someone answered but never gave the PIN: the message was not passed on.
            _not_answered(session, row, "not_verified")
        else:
            row.status = OutboxStatus.ANSWERED
    elif status == "failed":
        outcome, reason = classify_code(attempt.error_code)
        return _after_failure(session, row, attempt, outcome, reason, now=now or utcnow(),
                              max_attempts=max_attempts)
    return Work()


def _verified_on_call(session: Session, call_sid: str | None) -> bool:
    """Did whoever answered our call give the right PIN? Then the answer that carried the
    message was served, however the call ended (even "press 2 to end the call")."""
    if not call_sid:
        return False
    state = session.exec(select(ConversationState).where(
        ConversationState.key == f"voice:{call_sid}")).first()
    return bool(state and state.state.get("verified"))


def _is_machine(answered_by: str) -> bool:
    return answered_by.startswith(("machine", "fax"))


def _not_answered(session: Session, row: OutboxMessage, outcome: str) -> None:
    """A call nobody answered is the caller's to decide about; listeners get told."""
    row.status = OutboxStatus.NOT_ANSWERED
    row.call_outcome = outcome
    for listener in list(_call_listeners):
        listener(session, row)
    if not _call_listeners:
        _raise_for(session, row, "call_not_answered", f"was not answered ({outcome}).")


_call_listeners: list = []


def on_call_not_answered(listener):
    """Register what to do when a call is not answered (e.g. try again later, or text)."""
    if listener not in _call_listeners:
        _call_listeners.append(listener)
    return listener


def adopt(session: Session, attempt: SendAttempt, sid: str) -> None:
    """Record the sid of an attempt whose answer never reached us (found later)."""
    if not attempt.twilio_sid:
        attempt.twilio_sid = sid
        session.add(attempt)
        _on_timeline(session, session.get(OutboxMessage, attempt.outbox_id), sid)


def find_attempt(session: Session, *, sid: str, outbox_id: str | None,
                 attempt_number: str | None) -> SendAttempt | None:
    """The attempt a status callback is about: by sid, or by the ids in its URL.

    The attempt is locked: the worker that sent it may be storing Twilio's answer.
    """
    locked = select(SendAttempt).with_for_update()
    if sid:
        found = session.exec(locked.where(SendAttempt.twilio_sid == sid)).first()
        if found is not None:
            return found
    if outbox_id and attempt_number and outbox_id.isdigit() and attempt_number.isdigit():
        found = session.exec(locked.where(
            SendAttempt.outbox_id == int(outbox_id),
            SendAttempt.number == int(attempt_number))).first()
        if found is not None and sid:
            adopt(session, found, sid)
        return found
    return None


def latest_attempt(session: Session, row: OutboxMessage) -> SendAttempt | None:
    return session.exec(select(SendAttempt).where(
        SendAttempt.outbox_id == row.id, SendAttempt.number == row.attempt_count)).first()
