"""The action queue and the case page: what staff work from all day."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from sqlmodel import select

from bot.models import (
    ActionStatus,
    ActionUrgency,
    Case,
    CaseView,
    Person,
    Representative,
    StaffAction,
    Team,
    Worker,
)
from bot.records import timeline
from bot.services import actions as queue_service
from bot.services import staff_access as access

from .blueprint import bp, now, runtime

SHOWS = {"all": "Everything I may see", "mine": "Mine", "team": "My team",
         "unassigned": "Unassigned", "raised": "Raised to the manager"}


def _actions(db, show: str, kind: str | None) -> list[StaffAction]:
    """Open actions: urgent first, then the longest waiting."""
    account = g.account
    query = access.actions_query(account).where(StaffAction.status == ActionStatus.OPEN)
    if show == "mine" and account.worker_id:
        query = query.where(StaffAction.worker_id == account.worker_id)
    elif show == "team" and account.team_id:
        query = query.where(StaffAction.team_id == account.team_id)
    elif show == "unassigned":
        query = query.where(StaffAction.worker_id.is_(None))
    elif show == "raised":
        query = query.where(StaffAction.escalated_at.is_not(None))
    if kind:
        query = query.where(StaffAction.kind == kind)
    found = list(db.exec(query.limit(500)))
    # A manager sees what was raised to them first within each urgency.
    raised_first = account.role == "manager"
    return sorted(found, key=lambda a: (a.urgency != ActionUrgency.URGENT,
                                        raised_first and a.escalated_at is None,
                                        a.created_at, a.id))


def _rows(db, actions: list[StaffAction]) -> list[dict]:
    cases = {c.id: c for c in db.exec(select(Case).where(
        Case.id.in_({a.case_id for a in actions if a.case_id})))}
    workers = {w.id: w for w in db.exec(select(Worker))}
    rows = []
    for action in actions:
        waited = max(int((now() - action.created_at).total_seconds() // 60), 0)
        case = cases.get(action.case_id)
        rows.append({"action": action, "case": case, "waited": _waited(waited),
                     "worker": workers.get(action.worker_id),
                     "urgent": action.urgency == ActionUrgency.URGENT})
    return rows


def _waited(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h {minutes % 60} min" if hours < 24 else f"{hours // 24} days"


def _queue_context(db):
    show = request.args.get("show", "all")
    show = show if show in SHOWS else "all"
    kind = request.args.get("kind") or None
    actions = _actions(db, show, kind)
    kinds = sorted({a.kind for a in _actions(db, "all", None)})
    workers = list(db.exec(select(Worker).where(Worker.team_id == g.account.team_id))) \
        if g.account.team_id else list(db.exec(select(Worker)))
    return {"rows": _rows(db, actions), "show": show, "shows": SHOWS, "kind": kind,
            "kinds": kinds, "workers": workers,
            "urgent": sum(a.urgency == ActionUrgency.URGENT for a in actions)}


@bp.get("/")
def queue():
    with runtime().session() as db:
        return render_template("queue.html", title="Action queue", **_queue_context(db))


@bp.get("/queue")
def queue_rows():
    """The queue's table alone: the page fetches it every few seconds."""
    with runtime().session() as db:
        return render_template("queue_rows.html", **_queue_context(db))


def _action_for(db, action_id: int) -> StaffAction:
    action = db.get(StaffAction, action_id)
    if action is None or not access.may_handle(db, g.account, action):
        abort(404)
    return action


def _back():
    target = request.form.get("back") or ""
    return redirect(target if target.startswith("/staff") and "//" not in target
                    else url_for("staff.queue"))


@bp.post("/actions/<int:action_id>/acknowledge")
def acknowledge(action_id: int):
    with runtime().session() as db:
        action = _action_for(db, action_id)
        if action.acknowledged_at is None:
            action.acknowledged_at, action.acknowledged_by = now(), g.account.name
            if g.account.worker_id and action.worker_id is None:
                action.worker_id = g.account.worker_id
    return _back()


@bp.post("/actions/<int:action_id>/assign")
def assign(action_id: int):
    return _act(action_id, lambda db: queue_service.assign(
        db, action_id, request.form.get("worker", ""), actor=g.account.name))


@bp.post("/actions/<int:action_id>/done")
def done(action_id: int):
    return _act(action_id, lambda db: queue_service.mark_done(
        db, action_id, request.form.get("note", ""), actor=g.account.name))


def _act(action_id: int, change):
    """One change to an action this account may handle, through the queue's service."""
    with runtime().session() as db:
        _action_for(db, action_id)
        try:
            change(db)
        except queue_service.ActionError as exc:
            return _error(str(exc))
    return _back()


def _error(message: str):
    return render_template("refused.html", title="That could not be done", message=message), 409


# ---- the case page ---------------------------------------------------------------------

@bp.get("/cases/<ref>")
def case_page(ref: str):
    with runtime().session() as db:
        case = db.exec(select(Case).where(Case.ref == ref)).first()
        if case is None:
            abort(404)
        refused = viewed(db, case, "This case is another team's. Your request to see it has "
                                   "been recorded.")
        if refused:
            return refused
        timeline.sequence(db)
        db.flush()
        entries = timeline.entries(db, timeline.Reader(bodies=True), case_id=case.id,
                                   limit=1000)
        person = db.get(Person, case.person_id)
        worker = db.get(Worker, case.worker_id)
        cover = db.get(Worker, worker.cover_worker_id) if worker.cover_worker_id else None
        team = db.get(Team, worker.team_id)
        reps = list(db.exec(select(Representative).where(
            Representative.person_id == person.id)))
        actions = _rows(db, list(db.exec(select(StaffAction).where(
            StaffAction.case_id == case.id, StaffAction.status == ActionStatus.OPEN))))
        return render_template("case.html", title=f"{person.full_name} ({case.ref})",
                               case=case, person=person, worker=worker, cover=cover,
                               team=team, reps=reps, entries=list(reversed(entries)),
                               rows=actions, today=now().date(),
                               may_change=access.may_change(db, g.account, case))


def viewed(db, case: Case, refusal: str):
    """Record this look at the case (need to know, audited whether let in or not); the
    refusal page to return if it is not this account's to see, else None."""
    allowed = access.may_open(db, g.account, case)
    db.add(CaseView(account_id=g.account.id, case_id=case.id, allowed=allowed))
    if allowed:
        return None
    db.commit()
    return render_template("refused.html", title="Not your case", message=refusal), 403


# ---- changing a case from its page --------------------------------------------------------

OUTCOME_CHOICES = [
    ("fully", "Yes, asked and outcomes expressed: fully achieved"),
    ("partially", "Yes, asked and outcomes expressed: partially achieved"),
    ("not-achieved", "Yes, asked and outcomes expressed: not achieved"),
    ("none-expressed", "Yes, asked, but no outcomes were expressed"),
    ("not-asked", "No, they were not asked"),
    ("dont-know", "Don't know"),
    ("not-recorded", "Not recorded"),
]
RISK_CHOICES = [("reduced", "Risk reduced"), ("removed", "Risk removed"),
                ("remained", "Risk remained")]


def _open_case(db, ref: str) -> Case:
    """The case, if this account may change it (a refusal is audited as a view)."""
    case = db.exec(select(Case).where(Case.ref == ref)).first()
    if case is None:
        abort(404)
    if not access.may_change(db, g.account, case):
        db.add(CaseView(account_id=g.account.id, case_id=case.id, allowed=False))
        db.commit()
        abort(403)
    return case


@bp.route("/cases/<ref>/news", methods=["GET", "POST"])
def post_news(ref: str):
    """News in plain words: checked as the flows are, shown with its text cost, posted
    once the writer has seen the advice."""
    from bot.importer.values import parse_date
    from bot.services import cases as case_service

    text = request.form.get("text", "").strip()
    when = request.form.get("next_contact", "").strip()
    with runtime().session() as db:
        case = _open_case(db, ref)
        person = db.get(Person, case.person_id)
        context = {"case": case, "person": person, "text": text, "next_contact": when,
                   "title": f"News for {person.full_name}"}
        if request.method == "GET" or not text:
            error = "Write the news, in plain words." if request.method == "POST" else None
            return render_template("news.html", advice=None, error=error, **context)
        advice = case_service.advise(db, ref, text, "news")
        if request.form.get("checked") != text:  # first see the advice and the cost
            return render_template("news.html", advice=advice, error=None, **context)
        try:
            next_contact = parse_date(when) if when else None
            case_service.post_news(db, ref, text, actor=g.account.name,
                                   next_contact_by=next_contact,
                                   today=now().astimezone(runtime().settings.tz).date())
        except (ValueError, case_service.CaseChangeError) as exc:
            db.rollback()
            return render_template("news.html", advice=advice, error=str(exc), **context), 409
    return redirect(url_for("staff.case_page", ref=ref))


@bp.route("/cases/<ref>/close", methods=["GET", "POST"])
def close_case(ref: str):
    """Close with what happened (read to the person and those allowed) and the SG4a record."""
    from bot.services import cases as case_service

    summary = request.form.get("summary", "").strip()
    outcomes, risk = request.form.get("outcomes", ""), request.form.get("risk", "")
    with runtime().session() as db:
        case = _open_case(db, ref)
        person = db.get(Person, case.person_id)
        context = {"case": case, "person": person, "summary": summary, "outcomes": outcomes,
                   "risk": risk, "outcome_choices": OUTCOME_CHOICES,
                   "risk_choices": RISK_CHOICES, "title": f"Close {person.full_name}'s case"}
        if request.method == "GET":
            return render_template("close.html", errors={}, advice=None, **context)
        errors = {}
        if not summary:
            errors["summary"] = "Say what happened: the summary is what the person will hear."
        if outcomes not in dict(OUTCOME_CHOICES):
            errors["outcomes"] = "Choose whether outcomes were asked for, and achieved."
        if risk not in dict(RISK_CHOICES):
            errors["risk"] = "Choose what happened to the risk."
        if errors:
            return render_template("close.html", errors=errors, advice=None, **context), 400
        advice = case_service.advise(db, ref, summary, "closure summary")
        if request.form.get("checked") != summary:  # first see the advice and the cost
            return render_template("close.html", errors={}, advice=advice, **context)
        try:
            case_service.close_case(db, ref, summary=summary, outcomes=outcomes, risk=risk,
                                    actor=g.account.name, when=now())
        except case_service.CaseChangeError as exc:
            db.rollback()
            return render_template("close.html", errors={"summary": str(exc)}, advice=None,
                                   **context), 409
    return redirect(url_for("staff.case_page", ref=ref))


@bp.get("/cases/<ref>/change")
def change_case(ref: str):
    """Next contact, the named worker, the worker away with cover, a pause, a new PIN."""
    with runtime().session() as db:
        case = _open_case(db, ref)
        return render_template("change.html", **_change_context(db, case, {}))


def _change_context(db, case: Case, errors: dict) -> dict:
    person = db.get(Person, case.person_id)
    worker = db.get(Worker, case.worker_id)
    team = list(db.exec(select(Worker).where(Worker.team_id == worker.team_id)
                        .order_by(Worker.last_name)))
    return {"case": case, "person": person, "worker": worker, "colleagues": team,
            "errors": errors, "title": f"Change {person.full_name}'s case",
            "reps": list(db.exec(select(Representative).where(
                Representative.person_id == person.id)))}


def _changed(ref: str, field: str, change):
    """Run one change through its service; a refusal is shown on the change page, with the
    field to fix."""
    from bot.services import cases as case_service
    from bot.services.pins import PinChangeError

    with runtime().session() as db:
        case = _open_case(db, ref)
        try:
            shown = change(db, case)
        except (ValueError, case_service.CaseChangeError, PinChangeError) as exc:
            db.rollback()
            case = db.exec(select(Case).where(Case.ref == ref)).one()
            return render_template("change.html", **_change_context(db, case, {field: str(exc)})
                                   ), 409
    # A page to show (the new PIN) is shown; otherwise back to the case.
    return shown if isinstance(shown, str) else redirect(url_for("staff.case_page", ref=ref))


def _date(name: str, needed: str | None = None):
    """The form's date `name`; empty is None, or, if `needed` says what it is, a refusal."""
    from bot.importer.values import parse_date

    text = request.form.get(name, "").strip()
    if not text and needed:
        raise ValueError(f"Give {needed}, as YYYY-MM-DD.")
    return parse_date(text) if text else None


def _today():
    return now().astimezone(runtime().settings.tz).date()


@bp.post("/cases/<ref>/next-contact")
def set_next_contact(ref: str):
    from bot.services import cases as case_service

    return _changed(ref, "next_contact", lambda db, case: case_service.set_next_contact(
        db, ref, _date("next_contact", "the date they will next hear from us"),
        actor=g.account.name, today=_today()))


@bp.post("/cases/<ref>/worker")
def change_worker(ref: str):
    from bot.services import cases as case_service

    return _changed(ref, "worker", lambda db, case: case_service.change_worker(
        db, ref, request.form.get("worker", ""), actor=g.account.name))


@bp.post("/cases/<ref>/away")
def worker_away(ref: str):
    from bot.services import cases as case_service

    def change(db, case):
        worker = db.get(Worker, case.worker_id)
        case_service.mark_away(db, worker.ref, _date("away_until"),
                               cover_ref=request.form.get("cover") or None,
                               actor=g.account.name, today=_today())
    return _changed(ref, "away_until", change)


@bp.post("/cases/<ref>/pause")
def pause_contact(ref: str):
    from bot.services import cases as case_service

    return _changed(ref, "until", lambda db, case: case_service.pause_contact(
        db, ref, _date("until", "the last day of the pause"), actor=g.account.name,
        today=_today()))


@bp.post("/cases/<ref>/pin")
def reset_pin(ref: str):
    """A new PIN for the person or one of their representatives, shown once (for a
    letter): only its keyed hash is kept."""
    from bot.services.pins import new_pin, set_pin

    def change(db, case):
        holder = request.form.get("holder", "")
        person = db.get(Person, case.person_id)
        reps = {r.ref: r for r in db.exec(select(Representative).where(
            Representative.person_id == person.id))}
        if holder != person.ref and holder not in reps:
            raise ValueError("Choose whose PIN to reset.")
        pin = new_pin()
        who, _ = set_pin(db, pin, key=runtime().settings.pin_key,
                         person_ref=holder if holder == person.ref else None,
                         representative_ref=holder if holder in reps else None,
                         actor=g.account.name)
        return render_template("pin.html", title="The new PIN", case=case, who=who, pin=pin)
    return _changed(ref, "holder", change)
