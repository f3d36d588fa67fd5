"""Staff accounts and signing in: a password (scrypt) and a TOTP code for everyone, because
the staff pages show safeguarding data. Sessions live here too, so a session can be ended.

Made by an admin from the CLI (`caseline staff create`) or, later, the admin page: one way.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import StaffAccount, StaffSession, Team, Worker

ROLES = {
    "worker": "their own cases, and their team's queue",
    "manager": "their team's cases and queue",
    "duty": "every open urgent action, and the cases they are about",
    "admin": "accounts, tokens and teams, and every case",
}
MAX_FAILURES = 5  # wrong passwords or codes in a row before the account waits
LOCK_MINUTES = 15
MIN_PASSWORD = 12
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ISSUER = "Caseline"


class AccountError(ValueError):
    """An account cannot be made or changed so; the message says why and what to do."""


@dataclass(frozen=True)
class NewAccount:
    account: StaffAccount
    totp_secret: str  # shown once, for the authenticator app (or a letter)

    @property
    def totp_uri(self) -> str:
        return pyotp.TOTP(self.totp_secret).provisioning_uri(name=self.account.email,
                                                              issuer_name=ISSUER)


def create(session: Session, *, email: str, name: str, role: str, password: str,
           team_ref: str | None = None, worker_ref: str | None = None) -> NewAccount:
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise AccountError(f"'{email}' is not an e-mail address.")
    if session.exec(select(StaffAccount).where(StaffAccount.email == email)).first():
        raise AccountError(f"There is an account for {email} already.")
    if role not in ROLES:
        raise AccountError(f"Role must be one of: {', '.join(ROLES)}.")
    check_password(password)
    worker = _by_ref(session, Worker, worker_ref, "worker")
    team = _by_ref(session, Team, team_ref, "team")
    if role == "worker" and worker is None:
        raise AccountError("A worker's account needs --worker REF, so their cases are theirs.")
    if role == "manager" and team is None and worker is None:
        raise AccountError("A manager's account needs --team REF.")
    team_id = team.id if team else (worker.team_id if worker else None)
    secret = pyotp.random_base32()
    account = StaffAccount(email=email, name=" ".join(name.split()), role=role, team_id=team_id,
                           worker_id=worker.id if worker else None,
                           password_hash=generate_password_hash(password),
                           totp_secret=secret)
    session.add(account)
    session.flush()
    return NewAccount(account, secret)


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"Use a password of at least {MIN_PASSWORD} characters (three or "
                           "four words are easy to remember).")


def find(session: Session, email: str, *, lock: bool = False) -> StaffAccount | None:
    """The account; `lock` holds its row, so parallel tries are counted one by one."""
    query = select(StaffAccount).where(StaffAccount.email == (email or "").strip().lower())
    return session.exec(query.with_for_update() if lock else query).first()


def locked(account: StaffAccount, now: datetime) -> bool:
    return bool(account.locked_until and account.locked_until > now)


def check_first_factor(session: Session, email: str, password: str, now: datetime
                       ) -> StaffAccount | None:
    """The account, if the password is right and it may sign in; a failure counts."""
    account = find(session, email, lock=True)
    # The hash is always checked first: an unknown, a locked and a disabled account take
    # as long to refuse as a wrong password, so timing tells nobody which e-mails exist.
    right = check_password_hash(account.password_hash if account else _dummy_hash(),
                                password or "")
    if account is None or account.disabled_at or locked(account, now):
        return None
    if not right:
        failed(account, now)
        return None
    return account


def check_code(account: StaffAccount, code: str, now: datetime) -> bool:
    """A TOTP code from the account's app (this 30 s step or the one either side)."""
    code = "".join((code or "").split())
    totp = pyotp.TOTP(account.totp_secret)
    step = _matching_step(totp, code, now)
    # A code is good once: one seen over a shoulder cannot be used again in its minute.
    ok = step is not None and step > (account.totp_last_step or 0)
    if ok:
        account.failed_signins, account.locked_until = 0, None
        account.totp_last_step = step
    else:
        failed(account, now)
    return ok


def _matching_step(totp: pyotp.TOTP, code: str, now: datetime) -> int | None:
    """The 30 s step (this one or one either side) whose code this is, if any."""
    if not (code.isdigit() and len(code) == totp.digits):
        return None
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def failed(account: StaffAccount, now: datetime) -> None:
    account.failed_signins += 1
    if account.failed_signins >= MAX_FAILURES:
        account.locked_until, account.failed_signins = now + timedelta(minutes=LOCK_MINUTES), 0


def current_code(account: StaffAccount, now: datetime) -> str:
    """The code an authenticator app would show now (for `caseline staff code`, outside
    production only: a newcomer signs in without a phone)."""
    return pyotp.TOTP(account.totp_secret).at(now)


# ---- sessions ----------------------------------------------------------------------------

def start_session(session: Session, account: StaffAccount, now: datetime) -> str:
    """A new session; the token goes in the cookie, only its hash stays here."""
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(account_id=account.id, token_hash=_hash(token), created_at=now,
                             last_seen_at=now))
    return token


def resume(session: Session, token: str, now: datetime, idle: timedelta, longest: timedelta,
           *, touch: bool = True) -> StaffAccount | None:
    """The signed-in account for this cookie, or None once idle or too old (then ended).
    `touch=False` (a page polling by itself) does not count as someone using it."""
    if not token:
        return None
    row = session.exec(select(StaffSession).where(StaffSession.token_hash == _hash(token))
                       ).first()
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at > idle or now - row.created_at > longest:
        row.ended_at = now
        return None
    account = session.get(StaffAccount, row.account_id)
    if account is None or account.disabled_at:
        row.ended_at = now
        return None
    if touch:
        row.last_seen_at = now
    return account


def end_session(session: Session, token: str, now: datetime) -> None:
    row = session.exec(select(StaffSession).where(StaffSession.token_hash == _hash(token))
                       ).first()
    if row is not None and row.ended_at is None:
        row.ended_at = now


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _by_ref(session: Session, model, ref: str | None, what: str):
    if not ref:
        return None
    found = session.exec(select(model).where(model.ref == ref)).first()
    if found is None:
        raise AccountError(f"There is no {what} '{ref}'. Check the reference.")
    return found


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when there is no such account, so timing tells nothing."""
    return generate_password_hash(secrets.token_hex(8))
