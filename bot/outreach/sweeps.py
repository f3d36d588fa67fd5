"""The periodic sweeps: check-ins, the no-news watchdog, and MSP feedback after closure.

Every sweep is idempotent: each contact has a key naming its case, recipient and
period (or the news it follows), so running a sweep twice, or two schedulers at
once, creates nothing new.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.db import among
from bot.delivery import outbox
from bot.inbound.known import prefetch
from bot.models import ActionUrgency, Case, OutboxMessage, Stage, Team, Worker
from bot.records.staff_actions import raise_action
from bot.runtime import Runtime

from . import contact

log = logging.getLogger(__name__)


def _flows(runtime: Runtime):
    from bot.inbound.conversation import Flows

    return Flows.get(str(runtime.settings.flows_path))


CHUNK = 500  # open cases a chunk: one transaction, one job on the bulk queue
CHUNK_JOB = "bot.jobs.contact_chunk_job"  # by name: bot.jobs sits above this module


def case_chunks(session: Session, size: int | None = None) -> Iterator[tuple[int, int]]:
    """(first id, last id) of each run of `size` (CHUNK) open cases, reading only one run's
    ids at a time, so planning 500,000 cases takes no more memory than planning 500."""
    size, after = size or CHUNK, 0
    while ids := list(session.exec(select(Case.id).where(Case.stage != Stage.CLOSED,
                                                         Case.id > after)
                                   .order_by(Case.id).limit(size))):
        yield ids[0], ids[-1]
        after = ids[-1]


def _open_cases(session: Session, first: int, last: int, *also) -> list[Case]:
    return list(session.exec(select(Case).where(Case.stage != Stage.CLOSED, Case.id >= first,
                                                Case.id <= last, *also).order_by(Case.id)))


def _maybe_due(now: datetime, today, days: int):
    """`why_contact_is_due` in SQL, so the watchdog loads only the few cases it may
    contact, not a whole chunk (the Python rule still decides)."""
    last_news = sa.func.coalesce(Case.news_updated_at, Case.opened_at)
    cutoff = now.astimezone(UTC) - timedelta(days=days)  # as the Python rule: elapsed time
    return sa.or_(Case.next_contact_by < today, last_news <= cutoff)


def _by_chunk(runtime: Runtime, sweep, now: datetime) -> int:
    """Run `sweep(runtime, now, first, last)` over every chunk in this process, one
    transaction a chunk (`caseline sweep`; the scheduler spreads chunks over workers)."""
    with runtime.session() as session:
        chunks = list(case_chunks(session))
    return sum(sweep(runtime, now, first, last) for first, last in chunks)


def check_ins(runtime: Runtime, now: datetime | None = None, first: int | None = None,
              last: int | None = None) -> int:
    """A check-in per open case every `check_in_every_days` (default 7), in each window;
    for the open cases with ids first..last, or every one."""
    now = now or runtime.now()
    if first is None:
        return _by_chunk(runtime, check_ins, now)
    made = 0
    with runtime.session() as session:
        cases = _open_cases(session, first, last)
        due = [c for c in cases if (now - c.opened_at).days >= _every(runtime, c)]
        longest = max((_every(runtime, c) for c in due), default=0)
        last_contact = _last_contacts(session, due, now - timedelta(days=longest))
        # A check-in or watchdog contact already sent (or waiting) in the case's period.
        due = [c for c in due if last_contact.get(c.id) is None
               or last_contact[c.id] <= now - timedelta(days=_every(runtime, c))]
        prefetch(session, due)
        for case in due:
            days = _every(runtime, case)
            age = (now - case.opened_at).days
            period = age // days
            made += _contact(session, runtime, case, "check_in", "checkin", now,
                             key=lambda to, c=case, p=period: f"check_in/{c.id}/{to.who_id}/{p}")
    return made


def _every(runtime: Runtime, case: Case) -> int:
    return case.check_in_every_days or runtime.settings.check_in_every_days


def _last_contacts(session: Session, cases: list[Case], since: datetime) -> dict[int, datetime]:
    """{case id: when its latest check-in or watchdog contact was written} since `since`,
    for these cases, in one query."""
    if not cases:
        return {}
    rows = session.exec(select(OutboxMessage.case_id, sa.func.max(OutboxMessage.created_at))
                        .where(among(session, OutboxMessage.case_id, [c.id for c in cases]),
                               OutboxMessage.purpose.in_(("check_in", "watchdog")),
                               OutboxMessage.created_at > since)
                        .group_by(OutboxMessage.case_id))
    return dict(rows.all())


def watchdog(runtime: Runtime, now: datetime | None = None, first: int | None = None,
             last: int | None = None) -> int:
    """No news for N days, or a missed next-contact date: tell the person they are not
    forgotten, and put the case in front of its worker and the team manager."""
    now = now or runtime.now()
    if first is None:
        return _by_chunk(runtime, watchdog, now)
    settings = runtime.settings
    today = now.astimezone(settings.tz).date()
    made = 0
    with runtime.session() as session:
        due = [case for case in _open_cases(session, first, last,
                                            _maybe_due(now, today, settings.watchdog_days))
               if why_contact_is_due(case, now, today, settings.watchdog_days)]
        prefetch(session, due)
        for case in due:
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
    """Every contact sweep once, here (`caseline sweep`; each part is idempotent). The
    watchdog goes first: its "not forgotten" text counts as the period's check-in, so a
    case due both hears from us once, not twice in the same hour."""
    watched = watchdog(runtime)
    return {"check_ins": check_ins(runtime), "watchdog": watched,
            "feedback": feedback(runtime)}


def chunk(runtime: Runtime, first: int, last: int, now: datetime) -> dict:
    """The watchdog, then check-ins, for the open cases with ids first..last (one job):
    a case due both gets the watchdog's text alone (see `run_all`)."""
    watched = watchdog(runtime, now, first, last)
    return {"check_ins": check_ins(runtime, now, first, last), "watchdog": watched}


def plan(runtime: Runtime, now: datetime | None = None) -> dict:
    """What the scheduler fires: a job for each chunk of open cases on the bulk queue (so
    workers run them side by side, behind urgent sends, and more workers sweep more
    cases), every chunk at the same moment `now`; then feedback, which is few closed
    cases, here. Queued again within a period, a chunk writes nothing new."""
    from rq import Queue, Retry

    from bot.delivery.queues import BULK_QUEUE

    now = now or runtime.now()
    queue = Queue(BULK_QUEUE, connection=runtime.redis)
    stamp = now.strftime("%Y%m%dT%H%M")
    with runtime.session() as session:
        chunks = list(case_chunks(session))
    for first, last in chunks:
        queue.enqueue(CHUNK_JOB, first, last, now.isoformat(), result_ttl=0,
                      job_id=f"contacts-{stamp}-{first}", retry=Retry(3, [30, 60, 120]))
    return {"chunks": len(chunks), "feedback": feedback(runtime, now)}
