"""The overview pages: cases that need contact (the watchdog's list), messages that could
not be delivered and what to try next, and the Making Safeguarding Personal report."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import g, render_template, request
from sqlmodel import select

from bot.delivery.sender import classify_code
from bot.models import Case, OutboxMessage, OutboxStatus, Person, Stage
from bot.outreach.sweeps import why_contact_is_due
from bot.records.reports import msp_report
from bot.services import staff_access as access

from .blueprint import bp, now, runtime

# What to try next, by Twilio's error: the reason is said in plain words beside it.
NEXT_STEP = {
    21211: "Check the number with the case system, and correct it there.",
    21610: "They replied STOP: call them, or ask them to text START to the line.",
    21614: "It is not a mobile: call them instead, or add a mobile number.",
    30003: "The phone was off or out of reach: try again later, or call.",
    30005: "The number may no longer be in use: check it with them or their family.",
    30006: "It is a landline: call them instead.",
    30007: "The network blocked it as unwanted: call them.",
}
FAILED = (OutboxStatus.FAILED, OutboxStatus.NEEDS_CHECK)


def _visible_cases(db) -> list[Case]:
    cases = db.exec(select(Case).where(Case.stage != Stage.CLOSED).order_by(Case.id)).all()
    return [c for c in cases if access.may_open(db, g.account, c)]


@bp.get("/overview/contact")
def needs_contact():
    """Open cases with no news for too long, or a missed next-contact date."""
    settings = runtime().settings
    today = now().astimezone(settings.tz).date()
    with runtime().session() as db:
        rows = []
        for case in _visible_cases(db):
            why = why_contact_is_due(case, now(), today, settings.watchdog_days)
            if why:
                rows.append({"case": case, "person": db.get(Person, case.person_id),
                             "why": why})
        return render_template("overview_contact.html", title="Cases that need contact",
                               rows=rows, days=settings.watchdog_days)


@bp.get("/overview/undelivered")
def undelivered():
    """Texts and calls that could not be delivered, why, and what to try next."""
    with runtime().session() as db:
        rows = []
        cases = {c.id: c for c in _visible_cases(db)}
        found = db.exec(select(OutboxMessage).where(OutboxMessage.status.in_(FAILED))
                        .order_by(OutboxMessage.created_at.desc()).limit(200)).all()
        for row in found:
            if row.case_id not in cases and g.account.role != "admin":
                continue
            code = _error_code(db, row)
            reason = classify_code(code)[1] if code else (row.last_error or "not known")
            rows.append({"row": row, "case": cases.get(row.case_id), "reason": reason,
                         "next": NEXT_STEP.get(code, "Try again later, or call them.")})
        return render_template("overview_undelivered.html", title="Not delivered",
                               rows=rows)


def _error_code(db, row: OutboxMessage) -> int | None:
    from bot.models import SendAttempt

    attempt = db.exec(select(SendAttempt).where(SendAttempt.outbox_id == row.id)
                      .order_by(SendAttempt.number.desc())).first()
    return attempt.error_code if attempt else None


@bp.get("/overview/msp")
def msp():
    """Making Safeguarding Personal: the SG4a record at closure beside people's own view."""
    today = now().astimezone(runtime().settings.tz).date()
    start_text = request.args.get("from") or (today.replace(day=1) - timedelta(days=365)
                                              ).isoformat()
    end_text = request.args.get("to") or today.isoformat()
    try:
        start = datetime.combine(datetime.fromisoformat(start_text).date(), time(),
                                 runtime().settings.tz)
        end = datetime.combine(datetime.fromisoformat(end_text).date() + timedelta(days=1),
                               time(), runtime().settings.tz)
        error = None
    except ValueError:
        start = end = None
        error = "Give the dates as YYYY-MM-DD."
    with runtime().session() as db:
        report = msp_report(db, start, end) if start else None
        return render_template("overview_msp.html", title="Making Safeguarding Personal",
                               report=report, start=start_text, end=end_text, error=error)
