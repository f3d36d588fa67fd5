"""Telling people when their case changes: closure confirmations, news, a new worker.

Installed as case-event listeners, so each notice is written in the same transaction
as the change that caused it (one outbox row per recipient), whether the change came
from the command line or, later, the REST API. A call that nobody answers is tried
again later within the recipient's window, then becomes a staff action.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import Session, select

from bot.delivery import outbox
from bot.models import Case, Channel, OutboxMessage
from bot.records import events
from bot.runtime import Runtime

from . import contact

log = logging.getLogger(__name__)

# event kind -> (purpose, flow)
NOTICES = {"closed": ("closure", "closure_notice"), "news": ("news", "news_notice"),
           "worker": ("worker_change", "worker_notice")}
CALL_TRIES = 3  # a first call and two more, hours apart, before a person is asked to act
RETRY_AFTER = timedelta(hours=2)
_installed: dict[str, object] = {}


def install(runtime: Runtime) -> None:
    """Send notices for case changes made through this runtime (idempotent)."""
    def on_case_event(session: Session, event: events.CaseEvent) -> None:
        notify(session, runtime, event)

    def on_not_answered(session: Session, row: OutboxMessage) -> None:
        call_again_later(session, runtime, row)

    if "events" in _installed:
        events.unsubscribe(_installed["events"])
    _installed["events"] = events.subscribe(on_case_event)
    outbox._call_listeners[:] = [on_not_answered]


def uninstall() -> None:
    if "events" in _installed:
        events.unsubscribe(_installed.pop("events"))
    outbox._call_listeners.clear()


def notify(session: Session, runtime: Runtime, event: events.CaseEvent) -> int:
    if event.kind not in NOTICES:
        return 0
    purpose, flow = NOTICES[event.kind]
    case = session.get(Case, event.case_id)
    now = runtime.now()
    stamp = _stamp(case, event)
    from bot.inbound.conversation import Flows

    flows = Flows.get(str(runtime.settings.flows_path))
    if flow not in flows:
        log.warning("no flow %r in %s: no %s notices are sent", flow,
                    runtime.settings.flows_path, purpose)
        return 0
    rows = 0
    today = now.astimezone(runtime.settings.tz).date()
    recipients = contact.recipients(session, case, purpose, today=today)
    if not recipients and purpose != "news":
        contact.cannot_reach(session, case, purpose, today=today)
    for to in recipients:
        rows += len(contact.schedule(session, runtime.settings, flows, case=case, to=to,
                                       purpose=purpose, flow=flow,
                                       key=f"{purpose}/{case.id}/{stamp}/{to.who_id}", now=now))
    return rows


def _stamp(case: Case, event: events.CaseEvent) -> str:
    """What makes this change unique: the closure, the news time, the new worker."""
    if event.kind == "news":
        return f"{case.news_updated_at:%Y%m%dT%H%M%S}"
    if event.kind == "worker":
        return f"w{event.details.get('to_worker_id')}"
    return "closed"


def call_again_later(session: Session, runtime: Runtime, row: OutboxMessage) -> None:
    """An unanswered (or machine-answered) call: try again later, then ask a person."""
    tries = len(session.exec(select(OutboxMessage.id).where(
        OutboxMessage.key.startswith(row.key.split("/retry")[0]))).all())
    if row.channel != Channel.VOICE or tries >= CALL_TRIES:
        outbox._raise_for(session, row, "call_not_answered",
                          f"was not answered after {tries} tries ({row.call_outcome}).")
        return
    settings = runtime.settings
    window = contact.window_for(session, row.person_id, row.representative_id)
    when = contact.next_in_window(runtime.now() + RETRY_AFTER, settings, window)
    outbox.add(session, key=f"{row.key.split('/retry')[0]}/retry{tries}", purpose=row.purpose,
               channel=Channel.VOICE, to=row.to_number, flow=row.flow, case_id=row.case_id,
               person_id=row.person_id, representative_id=row.representative_id,
               not_before=when)
