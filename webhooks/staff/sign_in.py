"""Signing in (password, then a TOTP code) and out. A wrong password, an unknown e-mail, a
locked account and a wrong code all get the same words, so nothing says which it was."""

from __future__ import annotations

import logging

from flask import make_response, redirect, render_template, request, session, url_for

from bot.services import staff_accounts as accounts

from .blueprint import COOKIE, bp, clear_pending, now, runtime, safe_next, set_session_cookie

log = logging.getLogger(__name__)
PENDING_SECONDS = 300  # between the password and the code
NOT_RIGHT = ("The e-mail address, password or code is not right, or the account is waiting "
             f"{accounts.LOCK_MINUTES} minutes after {accounts.MAX_FAILURES} tries. Try again.")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("sign_in.html", title="Sign in", next=target, error=None)
    email = request.form.get("email", "")
    with runtime().session() as db:
        account = accounts.check_first_factor(db, email, request.form.get("password", ""),
                                              now())
        account_id = account.id if account else None
    if account_id is None:
        log.info("staff sign-in refused")
        return render_template("sign_in.html", title="Sign in", next=target, error=NOT_RIGHT,
                               email=email), 401
    clear_pending()
    session["pending_account"], session["pending_at"] = account_id, now().timestamp()
    return redirect(url_for("staff.code", next=target))


@bp.route("/sign-in/code", methods=["GET", "POST"])
def code():
    target = safe_next(request.values.get("next"))
    pending = session.get("pending_account")
    fresh = now().timestamp() - float(session.get("pending_at") or 0) < PENDING_SECONDS
    if not pending or not fresh:
        clear_pending()
        return redirect(url_for("staff.sign_in", next=target))
    if request.method == "GET":
        return render_template("code.html", title="Enter your code", next=target, error=None)
    with runtime().session() as db:
        from sqlmodel import select

        from bot.models import StaffAccount

        # The row is held, so parallel guesses are counted one by one.
        account = db.exec(select(StaffAccount).where(StaffAccount.id == pending)
                          .with_for_update()).first()
        ok = bool(account and not account.disabled_at and not accounts.locked(account, now())
                  and accounts.check_code(account, request.form.get("code", ""), now()))
        token = accounts.start_session(db, account, now()) if ok else None
    if not ok:
        return render_template("code.html", title="Enter your code", next=target,
                               error=NOT_RIGHT), 401
    clear_pending()
    session.modified = True
    log.info("staff signed in: account %s", pending)
    return set_session_cookie(make_response(redirect(target)), token)


@bp.post("/sign-out")
def sign_out():
    with runtime().session() as db:
        accounts.end_session(db, request.cookies.get(COOKIE, ""), now())
    response = make_response(redirect(url_for("staff.sign_in")))
    response.delete_cookie(COOKIE, path="/staff")
    return response
