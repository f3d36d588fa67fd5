"""A case closed here stays closed unless the case system says, with a date, that it reopened.

Closing is something staff do here (`caseline cases close`): a nightly file that still has
the case's old stage must not quietly reopen it. A file reopens a closed case only with a
`reopened_at` later than the closure; the reopened case then starts without its old news,
closure summary and SG4a record, so callers hear nothing about it until news is posted.
"""

from __future__ import annotations

from typing import Any

from bot.delivery import outbox
from bot.records.audit import record_interaction

from ..models import Case, CaseUpdate, Direction, Stage, utcnow
from .checks import Row
from .ownership import KEEP_HERE, MISSING, decide, plain

CLOSURE_FIELDS = ("closed_at", "closure_summary", "msp_asked", "msp_achieved", "risk_result")
# What a reopened case starts without: none of it is true of the reopened case.
CLEARED_ON_REOPEN = (*CLOSURE_FIELDS, "latest_news", "news_updated_at", "next_contact_by")
AFTER_CLOSURE = ("closure", "feedback")  # contact that only makes sense for a closed case


def guard(applier, row: Row, case: Case, values: dict[str, Any]) -> dict[str, Any]:
    """The values the ordinary merge may decide; reopens or reports a closed case's stage."""
    base = applier.bases[id(case)][2]
    if case.is_closed and "stage" not in values:
        # No stage in the file: its empty closure fields cannot undo a closure made here,
        # even without a baseline to tell (a record imported before baselines existed).
        return {name: value for name, value in values.items()
                if name not in CLOSURE_FIELDS or name in base}
    if not case.is_closed or values["stage"] == Stage.CLOSED:
        return values
    reopened = values.get("reopened_at")
    newly_reopened = reopened is not None and plain(reopened) != base.get("reopened_at")
    if newly_reopened and (case.closed_at is None or reopened > case.closed_at):
        return _reopen(applier, row, case, values, base)
    if newly_reopened:
        applier.conflict(row, case, "reopened_at", (
            f"{row.label} reopened_at: the file says the case reopened on {reopened:%Y-%m-%d},"
            f" before it was closed here on {case.closed_at:%Y-%m-%d}; it stays closed. If it"
            " was reopened after that, correct reopened_at; otherwise close it in the case"
            " system too, so the file says stage: closed"))
    elif decide(case.stage, values["stage"], base.get("stage", MISSING)) == KEEP_HERE \
            and not applier.interactive:
        applier.report.kept += 1  # the file still says what it said before the closure
    else:
        if "stage" not in base:  # no baseline to tell: from now on the file's stage is known
            base["stage"] = plain(values["stage"])
        applier.conflict(row, case, "stage", (
            f"{row.label} stage: {'this request' if applier.interactive else 'the file'} says"
            f" '{values['stage'].value}', but the case was closed here on"
            f" {case.closed_at:%Y-%m-%d}; it stays closed. If the case system reopened it, give"
            " reopened_at (the date it reopened); otherwise close it in the case system too,"
            " so it says stage: closed"))
    return {name: value for name, value in values.items()
            if name not in ("stage", "reopened_at", *CLOSURE_FIELDS)}


def _reopen(applier, row: Row, case: Case, values: dict[str, Any], base: dict) -> dict:
    """Reopen the case as the file says; return the values left for the ordinary merge."""
    before = {name: plain(getattr(case, name)) for name in CLEARED_ON_REOPEN}
    for name in CLEARED_ON_REOPEN:
        setattr(case, name, "" if name in ("closure_summary", "latest_news") else None)
    case.stage, case.reopened_at = values["stage"], values["reopened_at"]
    for name in ("stage", "reopened_at"):
        base[name] = plain(values[name])
    # What the file says afresh about the reopened case is taken; what it said before is
    # about the old enquiry and stays out.
    for name in CLEARED_ON_REOPEN:
        if name in values and plain(values[name]) not in (base.get(name, before[name]),
                                                          before[name]):
            setattr(case, name, values[name])
            base[name] = plain(values[name])
    if case.latest_news and case.news_updated_at is None:
        case.news_updated_at = utcnow()
    session = applier.session
    dropped = outbox.cancel_pending(session, case_id=case.id, purposes=AFTER_CLOSURE,
                                    reason="the case was reopened before it was sent")
    text = (f"Reopened by import from {applier.file_name}: the case system reopened it on "
            f"{case.reopened_at:%Y-%m-%d}. Callers hear no news until news is posted.")
    session.add(CaseUpdate(case_id=case.id, kind="reopened", text=text, recorded_by=applier.actor,
                           details={"file": applier.file_name, "closure": before,
                                    "contact_cancelled": dropped}))
    record_interaction(session, kind="case_reopened", direction=Direction.INTERNAL,
                       case_id=case.id, person_id=case.person_id, summary=text,
                       actor=applier.actor)
    applier.report.reopened += 1
    return {name: value for name, value in values.items()
            if name not in ("stage", "reopened_at", *CLEARED_ON_REOPEN)}
