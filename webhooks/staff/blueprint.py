"""The staff pages' blueprint and what every page shares: the session, CSRF, headers.

Sessions are rows (`StaffSession`): the cookie holds a random token, Secure when the line
is served over HTTPS, HttpOnly and SameSite=Lax; a session ends when idle or too old. The
queue page polls a small fragment (no long-held connection takes a web worker from Twilio).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf

from bot.services import staff_accounts as accounts

HERE = Path(__file__).parent
COOKIE = "caseline_staff"
OPEN_ENDPOINTS = {"staff.sign_in", "staff.code", "staff.static"}
POLLED = {"staff.queue_rows"}  # fetched by the page itself: not someone using it
bp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates",
               static_folder="static", static_url_path="/static")


def runtime():
    return current_app.extensions["caseline"]


def now():
    """The line's time (a test or `caseline clock` may move it)."""
    return runtime().now()


@bp.before_request
def signed_in_and_same_site():
    """No page without a session; no form post without its CSRF token."""
    g.account = None
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except CSRFError:
            return _refuse_post()
        except Exception:  # flask-wtf raises ValidationError for a missing or bad token
            return _refuse_post()
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    settings = runtime().settings
    with runtime().session() as db:
        account = accounts.resume(db, request.cookies.get(COOKIE, ""), now(),
                                  idle=timedelta(minutes=settings.staff_idle_minutes),
                                  longest=timedelta(hours=settings.staff_session_hours),
                                  touch=request.endpoint not in POLLED)
        if account is not None:
            db.expunge(account)
    if account is None:
        if request.endpoint in POLLED:
            return "", 401  # the page reloads itself, to the sign-in page
        target = request.full_path if request.method == "GET" else url_for("staff.queue")
        return redirect(url_for("staff.sign_in", next=target.rstrip("?")))
    g.account = account
    return None


@bp.after_request
def guarded(response):
    """Nothing here may be framed, cached or sniffed; scripts come only from here."""
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "staff.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_filter("phone")
def phone(number: str) -> str:
    """'+441134960123' -> '0113 496 0123', as staff write and dial it."""
    from bot.phones import display

    return display(number) if number else ""


@bp.app_template_filter("told")
def told(fields: list[str]) -> str:
    """A disclosure's case fields as what the caller learnt, in the consent scopes' words:
    'how the case stands; the latest news' rather than 'stage, latest_news, has_news'."""
    from bot.engine.disclosure import SCOPE_FIELDS
    from bot.services.consent import SCOPE_WORDS

    shown = set(fields)
    words = [SCOPE_WORDS[scope] for scope in SCOPE_WORDS if shown & SCOPE_FIELDS[scope]]
    return "; ".join(words) or "only that the line knows them (no case detail)"


@bp.app_context_processor
def forms():
    return {"csrf_token": generate_csrf, "account": g.get("account")}


def _refuse_post():
    from flask import render_template

    return render_template("refused.html", title="This form has expired"), 400


def safe_next(target: str | None) -> str:
    """Only a path on this site (never another site, never //host)."""
    target = target or ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/staff") or "//" in target:
        return url_for("staff.queue")
    return target


def set_session_cookie(response, token: str):
    secure = runtime().settings.public_url.startswith("https://") or \
        runtime().settings.is_production
    response.set_cookie(COOKIE, token, httponly=True, secure=secure, samesite="Lax",
                        path="/staff")
    return response


def clear_pending():
    session.pop("pending_account", None)
    session.pop("pending_at", None)

