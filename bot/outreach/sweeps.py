"""The periodic sweeps: check-ins, the no-news watchdog, and MSP feedback after closure.

Every sweep is idempotent: each contact has a key naming its case, recipient and
period (or the news it follows), so running a sweep twice, or two schedulers at
once, creates nothing new.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.delivery import outbox
from bot.models import ActionUrgency, Case, OutboxMessage, Stage, Team, Worker
from bot.records.staff_actions import raise_action
from bot.runtime import Runtime

from . import contact

log = logging.getLogger(__name__)


def _flows(runtime: Runtime):
    from bot.inbound.conversation import Flows

    return Flows.get(str(runtime.settings.flows_path))


def _open_cases(session: Session) -> list[Case]:
    return list(session.exec(select(Case).where(Case.stage != Stage.CLOSED).order_by(Case.id)))


def check_ins(runtime: Runtime, now: datetime | None = None) -> int:
    """A check-in per open case every `check_in_every_days` (default 7), in each window."""
    now = now or runtime.now()
    made = 0
    with runtime.session() as session:
        for case in _open_cases(session):
            days = case.check_in_every_days or runtime.settings.check_in_every_days
            age = (now - case.opened_at).days
            if age < days or _contacted_within(session, case, now, days):
                continue
            period = age // days
            made += _contact(session, runtime, case, "check_in", "checkin", now,
                             key=lambda to, c=case, p=period: f"check_in/{c.id}/{to.who_id}/{p}")
    return made


def _contacted_within(session: Session, case: Case, now: datetime, days: int) -> bool:
    """A check-in or watchdog contact already went out (or waits) in the last `days`."""
    recent = session.exec(select(OutboxMessage.id).where(
        OutboxMessage.case_id == case.id,
        OutboxMessage.purpose.in_(("check_in", "watchdog")),
        OutboxMessage.created_at > now - timedelta(days=days))).first()
    return recent is not None


def watchdog(runtime: Runtime, now: datetime | None = None) -> int:
    """No news for N days, or a missed next-contact date: tell the person they are not
    forgotten, and put the case in front of its worker and the team manager."""
    now = now or runtime.now()
    settings = runtime.settings
    today = now.astimezone(settings.tz).date()
    made = 0
    with runtime.session() as session:
        for case in _open_cases(session):
            if not why_contact_is_due(case, now, today, settings.watchdog_days):
                continue
            last_news = case.news_updated_at or case.opened_at
            missed = case.next_contact_by is not None and case.next_contact_by < today
            episode = last_news.date().isoformat()  # new news starts a new episode
            made += _contact(session, runtime, case, "watchdog", "not_forgotten", now,
                             key=lambda to, c=case, e=episode: f"watchdog/{c.id}/{to.who_id}/{e}")
            _raise_for_staff(session, case, episode, missed, now, settings.watchdog_days)
    return made


def why_contact_is_due(case: Case, now: datetime, today, days: int) -> str:
    """Why an open case needs contact now ('' if it does not): the one rule the watchdog
    and the staff pages' overview share."""
    if case.next_contact_by is not None and case.next_contact_by < today:
        return f"missed its next-contact date ({case.next_contact_by:%d %B})"
    last_news = case.news_updated_at or case.opened_at
    if now - last_news >= timedelta(days=days):
        return f"no news for {(now - last_news).days} days"
    return ""


def _raise_for_staff(session: Session, case: Case, episode: str, missed: bool, now, days) -> None:
    worker = session.get(Worker, case.worker_id)
    team = session.get(Team, worker.team_id)
    why = (f"missed its next-contact date ({case.next_contact_by:%d %B})" if missed
           else f"has had no news for {days} days or more")
    raise_action(session, kind="no_news", urgency=ActionUrgency.NORMAL,
                 summary=f"Case {case.ref} {why}. Post news (caseline cases news) or call "
                         "the person.",
                 case_id=case.id, person_id=case.person_id, team_id=team.id,
                 today=now.date(), dedupe_key=f"no_news/{case.id}/{episode}")
    raise_action(session, kind="no_news_manager", urgency=ActionUrgency.NORMAL,
                 summary=f"For {team.manager_name or 'the team manager'}: case {case.ref} "
                         f"({worker.full_name}) {why}.",
                 case_id=case.id, person_id=case.person_id, team_id=team.id,
                 worker_id=None, dedupe_key=f"no_news_manager/{case.id}/{episode}")


def feedback(runtime: Runtime, now: datetime | None = None) -> int:
    """Once, N days after closure, ask the person (or representative) the MSP questions."""
    now = now or runtime.now()
    settings = runtime.settings
    due_before = now - timedelta(days=settings.feedback_after_days)
    too_old = now - timedelta(days=settings.feedback_after_days + 30)
    made = 0
    with runtime.session() as session:
        closed = session.exec(select(Case).where(
            Case.stage == Stage.CLOSED, Case.closed_at <= due_before,
            Case.closed_at > too_old)).all()
        for case in closed:
            made += _contact(session, runtime, case, "feedback", "feedback", now,
                             key=lambda to, c=case: f"feedback/{c.id}/{to.who_id}")
    return made


def _contact(session: Session, runtime: Runtime, case: Case, purpose: str, flow: str, now,
             key) -> int:
    """Schedule one contact per recipient; returns how many new rows were written."""
    today = now.astimezone(runtime.settings.tz).date()
    made = 0
    recipients = contact.recipients(session, case, purpose, today=today)
    if not recipients:
        contact.cannot_reach(session, case, purpose, today=today)
    for to in recipients:
        before = len(outbox.added_in(session))
        contact.schedule(session, runtime.settings, _flows(runtime), case=case, to=to,
                         purpose=purpose, flow=flow, key=key(to), now=now)
        made += len(outbox.added_in(session)) - before
    return made


def run_all(runtime: Runtime) -> dict:
    """Every contact sweep once (the scheduler fires this; each part is idempotent)."""
    return {"check_ins": check_ins(runtime), "watchdog": watchdog(runtime),
            "feedback": feedback(runtime)}
