"""Retention: deleting what the line no longer needs, kind by kind, on the council's policy.

The scheduler runs `sweep` every hour; `caseline retention --dry-run` says what it would
delete now without deleting anything. Each kind is deleted in batches, a commit each, so a
large backlog never holds a long lock, and running it again deletes nothing new.

What goes, and when (settings in `.env.example`):
- Twilio's raw requests (`inbound_event`: what was texted, the numbers) after days. The
  case timeline keeps its own entry for each contact, so it is never cut short by this.
- Where a conversation was (`conversation_state`) days after its last turn.
- The words of texts that belong to no case (duty mobile alerts, texts to managers,
  replies to unknown numbers); a case's texts are its timeline's and stay with it.
- Staff sign-in sessions after they end, and PIN failure counts no longer locking.
- Twilio's copy of a message left on a call, through its API, once ours is stored
  (`TWILIO_RECORDINGS_KEEP_DAYS` after). One never copied is never deleted there.
- The audit (API calls, case page views, account and token changes), and finished staff
  actions and texts that belong to no case (they may give a caller's number), after years.
- A person's whole record years after their last case closed: erased as
  `caseline people erase` does (bot/services/people.py), keeping the SG4a statistics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.models import (
    ActionStatus,
    ApiCall,
    CaseView,
    ConversationState,
    Disclosure,
    InboundEvent,
    Interaction,
    OutboxMessage,
    OutboxStatus,
    PinGuard,
    Recording,
    SendAttempt,
    StaffAction,
    StaffSession,
)

log = logging.getLogger(__name__)

BATCH = 1000
RECORDING_BATCH = 50  # one Twilio request each
# The most a run does of the slow kinds (a request to Twilio, a whole person's record):
# a backlog goes over several hourly runs, and every other kind still runs each hour.
RECORDINGS_A_RUN, ERASURES_A_RUN = 1000, 200
YEAR = timedelta(days=365)
FINISHED = [OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.ANSWERED,
            OutboxStatus.NOT_ANSWERED, OutboxStatus.FAILED, OutboxStatus.CANCELLED]


@dataclass
class Outcome:
    """What one kind's sweep did (or, dry, would do)."""

    kind: str
    words: str  # what it is, and how old it must be, in plain words
    count: int = 0
    failed: int = 0

    def line(self, dry_run: bool) -> str:
        verb = "would be deleted" if dry_run else "deleted"
        if self.kind == "message_words":
            verb = "would be blanked" if dry_run else "blanked"
        if self.kind == "case_records":
            verb = "would be erased" if dry_run else "erased"
        text = f"{self.words}: {self.count} {verb}"
        return text + (f", {self.failed} failed (tried again next time)" if self.failed else "")


def sweep(runtime, *, now: datetime | None = None, dry_run: bool = False,
          batch: int = BATCH) -> list[Outcome]:
    """Apply every retention rule once; with `dry_run`, only count what is due."""
    now = now or runtime.now()
    s = runtime.settings
    results = [
        _delete(runtime, "inbound_requests",
                f"Twilio's raw requests older than {s.retain_inbound_requests_days} days",
                InboundEvent, _inbound_due(now - timedelta(days=s.retain_inbound_requests_days)),
                dry_run, batch),
        _delete(runtime, "conversations",
                f"conversations unused for {s.retain_conversations_days} days",
                ConversationState,
                _conversations_due(now, now - timedelta(days=s.retain_conversations_days)),
                dry_run, batch),
        _blank_words(runtime, now - timedelta(days=s.retain_message_words_days),
                     s.retain_message_words_days, dry_run, batch),
        _delete(runtime, "staff_sessions",
                f"staff sign-in sessions ended {s.retain_sign_ins_days} days ago",
                StaffSession, _sessions_due(now - timedelta(days=s.retain_sign_ins_days)),
                dry_run, batch),
        _delete(runtime, "pin_guards",
                f"PIN failure counts unchanged for {s.retain_sign_ins_days} days",
                PinGuard, _pin_guards_due(now, now - timedelta(days=s.retain_sign_ins_days)),
                dry_run, batch),
        _twilio_recordings(runtime, now, dry_run),
    ]
    audit_cutoff = now - s.retain_audit_years * YEAR
    for kind, words, table, column in (
            ("api_calls", "API calls", ApiCall, ApiCall.created_at),
            ("case_views", "case page views", CaseView, CaseView.created_at)):
        results.append(_delete(runtime, kind, f"{words} older than "
                               f"{s.retain_audit_years} years", table,
                               select(table.id).where(column < audit_cutoff), dry_run, batch))
    results.append(_caseless_audit(runtime, audit_cutoff, s.retain_audit_years, dry_run, batch))
    results.append(_delete(runtime, "caseless_actions", f"finished staff actions about no "
                           f"case, older than {s.retain_audit_years} years", StaffAction,
                           select(StaffAction.id).where(
                               StaffAction.case_id.is_(None), StaffAction.person_id.is_(None),
                               StaffAction.status == ActionStatus.DONE,
                               StaffAction.created_at < audit_cutoff), dry_run, batch))
    results.append(_delete(runtime, "caseless_texts", f"texts and calls to no case, older "
                           f"than {s.retain_audit_years} years", OutboxMessage,
                           select(OutboxMessage.id).where(
                               OutboxMessage.case_id.is_(None),
                               OutboxMessage.status.in_(FINISHED),
                               OutboxMessage.created_at < audit_cutoff), dry_run, batch,
                           before=_their_attempts))
    results.append(_case_records(runtime, now, dry_run))
    for result in results:
        if result.count or result.failed:
            log.info("retention %s: %d%s%s", result.kind, result.count,
                     f" ({result.failed} failed)" if result.failed else "",
                     " (dry run)" if dry_run else "")
    return results


def _count(session: Session, due) -> int:
    """How many rows `due` selects: what a dry run reports."""
    return session.exec(select(sa.func.count()).select_from(due.subquery())).one()


def _inbound_due(cutoff: datetime):
    return select(InboundEvent.id).where(InboundEvent.received_at < cutoff)


def _conversations_due(now: datetime, cutoff: datetime):
    # Still running (not expired) is never due, however old its last turn.
    return select(ConversationState.id).where(
        ConversationState.updated_at < cutoff,
        sa.or_(ConversationState.expires_at.is_(None), ConversationState.expires_at < now))


def _sessions_due(cutoff: datetime):
    return select(StaffSession.id).where(sa.or_(
        StaffSession.ended_at < cutoff,
        sa.and_(StaffSession.ended_at.is_(None), StaffSession.last_seen_at < cutoff)))


def _pin_guards_due(now: datetime, cutoff: datetime):
    return select(PinGuard.id).where(
        PinGuard.updated_at < cutoff,
        sa.or_(PinGuard.locked_until.is_(None), PinGuard.locked_until < now))


def _delete(runtime, kind: str, words: str, table, due, dry_run: bool,
            batch: int, before: Callable[[Session, list[int]], None] | None = None) -> Outcome:
    """Delete the rows whose ids `due` selects, `batch` at a time (a commit each)."""
    outcome = Outcome(kind, words)
    with runtime.session() as session:
        if dry_run:
            outcome.count = _count(session, due)
            return outcome
        while ids := list(session.exec(due.order_by(table.id).limit(batch))):
            if before is not None:
                before(session, ids)
            session.execute(sa.delete(table).where(table.id.in_(ids)))
            session.commit()
            outcome.count += len(ids)
            if len(ids) < batch:
                break
    return outcome


def _blank_words(runtime, cutoff: datetime, days: int, dry_run: bool, batch: int) -> Outcome:
    """The words of finished texts that belong to no case (the row stays: its key keeps
    the same intent from being sent twice)."""
    outcome = Outcome("message_words", f"words of texts to no case, sent {days} days ago")
    due = select(OutboxMessage.id).where(
        OutboxMessage.case_id.is_(None), OutboxMessage.body != "",
        OutboxMessage.status.in_(FINISHED), OutboxMessage.updated_at < cutoff)
    with runtime.session() as session:
        if dry_run:
            outcome.count = _count(session, due)
            return outcome
        while ids := list(session.exec(due.order_by(OutboxMessage.id).limit(batch))):
            session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                            .values(body=""))
            session.commit()
            outcome.count += len(ids)
    return outcome


def _their_attempts(session: Session, ids: list[int]) -> None:
    session.execute(sa.delete(SendAttempt).where(SendAttempt.outbox_id.in_(ids)))


def _twilio_recordings(runtime, now: datetime, dry_run: bool) -> Outcome:
    """Delete Twilio's copy of each message ours holds, through Twilio's API."""
    from bot.delivery.sender import SendError

    days = runtime.settings.twilio_recordings_keep_days
    outcome = Outcome("twilio_recordings", "messages left on calls, Twilio's copy, "
                      + ("once ours is stored" if days == 0 else f"{days} days after ours"))
    due = select(Recording).where(Recording.copied_at.is_not(None),
                                  Recording.twilio_deleted_at.is_(None),
                                  Recording.copied_at <= now - timedelta(days=days))
    with runtime.session() as session:
        if dry_run:
            outcome.count = _count(session, due.with_only_columns(Recording.id))
            return outcome
        tried: set[int] = set()
        while len(tried) < RECORDINGS_A_RUN and (rows := list(session.exec(
                due.where(Recording.id.not_in(tried) if tried else sa.true())
                .order_by(Recording.id).limit(RECORDING_BATCH)))):
            for recording in rows:
                tried.add(recording.id)
                try:
                    runtime.sender.delete_recording(sid=recording.twilio_sid)
                except SendError as exc:
                    log.warning("Twilio's copy of recording %s not deleted yet: %s",
                                recording.id, exc.reason)
                    outcome.failed += 1
                    continue
                recording.twilio_deleted_at = now
                session.add(recording)
                session.commit()
                outcome.count += 1
    return outcome


def _caseless_audit(runtime, cutoff: datetime, years: int, dry_run: bool,
                    batch: int) -> Outcome:
    """Timeline rows about no case and no person: staff account and token changes,
    contacts from numbers the line does not know. A message left with them goes too, once
    Twilio's copy is deleted (until then the row waits)."""
    waiting_at_twilio = select(Recording.interaction_id).where(
        Recording.twilio_deleted_at.is_(None))
    due = select(Interaction.id).where(
        Interaction.case_id.is_(None), Interaction.person_id.is_(None),
        Interaction.representative_id.is_(None), Interaction.created_at < cutoff,
        Interaction.id.not_in(waiting_at_twilio))

    def dependents(session: Session, ids: list[int]) -> None:
        session.execute(sa.delete(Disclosure).where(Disclosure.interaction_id.in_(ids)))
        session.execute(sa.delete(Recording).where(Recording.interaction_id.in_(ids)))

    return _delete(runtime, "caseless_audit", f"account, token and unknown-number entries "
                   f"older than {years} years", Interaction, due, dry_run, batch,
                   before=dependents)


def _case_records(runtime, now: datetime, dry_run: bool) -> Outcome:
    """Erase each person whose last case closed more than RETAIN_CASE_RECORDS_YEARS ago."""
    from bot.services import people

    years = runtime.settings.retain_case_records_years
    outcome = Outcome("case_records", f"people whose last case closed over {years} years ago")
    with runtime.session() as session:
        due = people.past_retention(session, now, years)
    if dry_run:
        outcome.count = len(due)
        return outcome
    for ref in due[:ERASURES_A_RUN]:
        try:
            people.erase(runtime, ref, actor="retention", reason=f"the {years}-year "
                         "retention period after the last case closed", now=now)
            outcome.count += 1
        except people.ErasureRefused as exc:  # e.g. Twilio would not delete a recording
            log.warning("a person past retention was not erased yet: %s", exc)
            outcome.failed += 1
    return outcome
