"""The admin pages (`/staff/admin/`): staff accounts and API tokens, for admins only.

They change what the CLI changes (`caseline staff ...`, `caseline api-token ...`) through the
same services (`bot/services/staff_accounts.py`, `bot/services/api_tokens.py`), which audit
every change with the admin's name and e-mail. A second factor's secret, a first password
made here and a new token are shown once, on a page that is never cached (every staff page is
sent `Cache-Control: no-store`), and never logged.
"""

from __future__ import annotations

import logging

from flask import abort, g, make_response, redirect, render_template, request, url_for
from sqlmodel import func, select

from bot.models import ApiToken, StaffAccount, StaffSession, Team, Worker
from bot.services import api_tokens as tokens
from bot.services import staff_accounts as accounts

from .blueprint import bp, now, runtime

log = logging.getLogger(__name__)

ROLE_CHOICES = [
    ("worker", "Worker: their own cases, and their team's queue"),
    ("manager", "Manager: their team's cases and queue"),
    ("duty", "Duty: every open urgent action, and the cases they are about"),
    ("admin", "Admin: these pages, and every case"),
]
DONE = {
    "disabled": "The account is disabled and its sessions are ended.",
    "enabled": "The account is enabled: it can sign in again.",
    "unlocked": "The account is unlocked: it can sign in at once.",
    "revoked": "The token is revoked: it no longer works.",
}


@bp.before_request
def admins_only():
    """Every admin page and form is for admins; anyone else is refused (and it is logged).
    Registered after the sign-in check, so `g.account` is known (or the request is gone)."""
    if not (request.endpoint or "").startswith("staff.admin") or g.get("account") is None:
        return None
    if g.account.role == "admin":
        return None
    log.info("admin page refused: account %s", g.account.id)
    return render_template(
        "refused.html", title="Only admins can do this",
        message="These pages change who may sign in and what the case system may do, so "
                "only an admin can open them. Ask an admin if something needs changing."), 403


def _actor() -> str:
    """Who did it, in the audit: a name and the e-mail that makes it one person."""
    return f"{g.account.name} ({g.account.email})"


def _shown_once(html: str):
    """A page with a secret on it: never stored by the browser or anything between."""
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get("/admin/")
def admin_home():
    return redirect(url_for("staff.admin_accounts"))


# ---- staff accounts -----------------------------------------------------------------------

@bp.get("/admin/accounts")
def admin_accounts():
    tz = runtime().settings.tz
    with runtime().session() as db:
        teams = {t.id: t for t in db.exec(select(Team))}
        workers = {w.id: w for w in db.exec(select(Worker))}
        rows = [{"account": a, "team": teams.get(a.team_id), "worker": workers.get(a.worker_id),
                 "state": accounts.state(a, now(), tz)} for a in accounts.listed(db)]
        return render_template("admin_accounts.html", title="Staff accounts", rows=rows,
                               done=DONE.get(request.args.get("done", "")))


def _choices(db) -> dict:
    teams = list(db.exec(select(Team).order_by(Team.name)))
    names = {t.id: t.name for t in teams}
    workers = list(db.exec(select(Worker).order_by(Worker.last_name, Worker.first_name)))
    return {"teams": teams, "role_choices": ROLE_CHOICES,
            "workers": [(w, names.get(w.team_id, "")) for w in workers]}


@bp.route("/admin/accounts/new", methods=["GET", "POST"])
def admin_new_account():
    """Make an account: its TOTP secret (and a first password, if one was made here) are
    shown once on the next page."""
    form = {name: request.form.get(name, "").strip()
            for name in ("email", "name", "role", "team", "worker")}
    typed = request.form.get("password", "")
    with runtime().session() as db:
        context = {"form": form, "errors": {}, "title": "Make a staff account",
                   "min_password": accounts.MIN_PASSWORD, "password_typed": bool(typed),
                   **_choices(db)}
        if request.method == "GET":
            return render_template("admin_account_new.html", **context)
        password = typed or accounts.new_password()
        try:
            made = accounts.create(db, email=form["email"], name=form["name"],
                                   role=form["role"], password=password,
                                   team_ref=form["team"] or None,
                                   worker_ref=form["worker"] or None, actor=_actor())
        except accounts.AccountError as exc:
            db.rollback()
            context["errors"] = {exc.field or "email": str(exc)}
            return render_template("admin_account_new.html", **context), 400
        html = render_template(
            "admin_secret.html", title="Account made", account_made=made.account,
            heading=f"Account made for {made.account.name}", secret=made.totp_secret,
            uri=made.totp_uri, password=None if typed else password)
    log.info("admin made staff account %s", made.account.id)
    return _shown_once(html)


def _account(db, account_id: int) -> StaffAccount:
    account = db.get(StaffAccount, account_id)
    if account is None:
        abort(404)
    return account


def _account_context(db, account: StaffAccount, errors: dict) -> dict:
    last = db.exec(select(func.max(StaffSession.created_at)).where(
        StaffSession.account_id == account.id)).first()
    return {"shown": account, "errors": errors, "title": f"{account.name}'s account",
            "team": db.get(Team, account.team_id) if account.team_id else None,
            "worker": db.get(Worker, account.worker_id) if account.worker_id else None,
            "state": accounts.state(account, now(), runtime().settings.tz),
            "is_locked": accounts.locked(account, now()), "last_signed_in": last,
            "tz": runtime().settings.tz, "is_me": account.id == g.account.id,
            "max_failures": accounts.MAX_FAILURES, "lock_minutes": accounts.LOCK_MINUTES,
            "done": DONE.get(request.args.get("done", ""))}


@bp.get("/admin/accounts/<int:account_id>")
def admin_account(account_id: int):
    with runtime().session() as db:
        account = _account(db, account_id)
        return render_template("admin_account.html", **_account_context(db, account, {}))


def _account_change(account_id: int, field: str, change, done: str):
    """One change to an account through its service; a refusal is shown on its page, linked
    to the button it is about."""
    with runtime().session() as db:
        account = _account(db, account_id)
        try:
            change(db, account.email)
        except accounts.AccountError as exc:
            db.rollback()
            account = _account(db, account_id)
            return render_template("admin_account.html", **_account_context(
                db, account, {field: str(exc)})), 409
    return redirect(url_for("staff.admin_account", account_id=account_id, done=done))


@bp.post("/admin/accounts/<int:account_id>/disable")
def admin_disable_account(account_id: int):
    return _account_change(account_id, "disable", lambda db, email: accounts.disable(
        db, email, now=now(), actor=_actor(), actor_id=g.account.id), "disabled")


@bp.post("/admin/accounts/<int:account_id>/enable")
def admin_enable_account(account_id: int):
    return _account_change(account_id, "enable", lambda db, email: accounts.enable(
        db, email, actor=_actor()), "enabled")


@bp.post("/admin/accounts/<int:account_id>/unlock")
def admin_unlock_account(account_id: int):
    return _account_change(account_id, "unlock", lambda db, email: accounts.unlock(
        db, email, actor=_actor()), "unlocked")


@bp.post("/admin/accounts/<int:account_id>/second-factor")
def admin_new_second_factor(account_id: int):
    """A new TOTP secret, shown once; codes from the old one stop working at once."""
    with runtime().session() as db:
        account = _account(db, account_id)
        made = accounts.new_second_factor(db, account.email, actor=_actor())
        html = render_template(
            "admin_secret.html", title="New second factor", account_made=made.account,
            heading=f"A new second factor for {made.account.name}", secret=made.totp_secret,
            uri=made.totp_uri, password=None, replaced=True)
    log.info("admin gave staff account %s a new second factor", account_id)
    return _shown_once(html)


# ---- API tokens ---------------------------------------------------------------------------

@bp.get("/admin/tokens")
def admin_tokens():
    with runtime().session() as db:
        teams = {t.id: t for t in db.exec(select(Team))}
        rows = [{"token": t, "team": teams.get(t.team_id)} for t in tokens.listed(db)]
        return render_template("admin_tokens.html", title="API tokens", rows=rows,
                               tz=runtime().settings.tz,
                               done=DONE.get(request.args.get("done", "")))


@bp.route("/admin/tokens/new", methods=["GET", "POST"])
def admin_new_token():
    """Make a token for the case system: the token is shown once on the next page."""
    form = {"name": request.form.get("name", "").strip(),
            "scopes": request.form.getlist("scopes"), "team": request.form.get("team", "")}
    with runtime().session() as db:
        context = {"form": form, "errors": {}, "title": "Make an API token",
                   "scope_choices": list(tokens.SCOPES.items()),
                   "teams": list(db.exec(select(Team).order_by(Team.name)))}
        if request.method == "GET":
            return render_template("admin_token_new.html", **context)
        try:
            made = tokens.create(db, name=form["name"], scopes=form["scopes"],
                                 team_ref=form["team"] or None, actor=_actor())
        except tokens.TokenError as exc:
            db.rollback()
            context["errors"] = {exc.field or "name": str(exc)}
            return render_template("admin_token_new.html", **context), 400
        team = db.get(Team, made.token.team_id) if made.token.team_id else None
        html = render_template("admin_token_made.html", title="Token made", made=made.token,
                               team=team, secret=made.secret)
    log.info("admin made API token %s", made.token.id)
    return _shown_once(html)


@bp.route("/admin/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
def admin_revoke_token(token_id: int):
    """Asks first; then the token stops working at once."""
    with runtime().session() as db:
        token = db.get(ApiToken, token_id)
        if token is None:
            abort(404)
        if request.method == "GET":
            team = db.get(Team, token.team_id) if token.team_id else None
            return render_template("admin_token_revoke.html", title=f"Revoke '{token.name}'",
                                   token=token, team=team, tz=runtime().settings.tz)
        try:
            tokens.revoke(db, token.name, actor=_actor(), when=now())
        except tokens.TokenError as exc:  # gone since the page was shown
            db.rollback()
            return render_template("refused.html", title="That could not be done",
                                   message=str(exc)), 409
    return redirect(url_for("staff.admin_tokens", done="revoked"))
