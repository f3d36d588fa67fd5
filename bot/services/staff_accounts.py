"""Staff accounts and signing in: a password (scrypt) and a TOTP code for everyone, because
the staff pages show safeguarding data. Sessions live here too, so a session can be ended.

Made and changed by an admin from the CLI (`caseline staff create|disable|enable|unlock|
new-code`) or the admin pages (`/staff/admin/accounts`), through the functions here: one way.
Every change is audited (an `Interaction` of kind `staff_account_*` or
`staff_second_factor_new`, with no case): who did what to which account, never a password or
a secret.
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

from bot.records.audit import record_interaction

from ..models import Direction, StaffAccount, StaffSession, Team, Worker

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
    """An account cannot be made or changed so; the message says why and what to do.
    `field` names the form field to fix (email, name, role, team, worker, password), if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewAccount:
    account: StaffAccount
    totp_secret: str  # shown once, for the authenticator app (or a letter)

    @property
    def totp_uri(self) -> str:
        return pyotp.TOTP(self.totp_secret).provisioning_uri(name=self.account.email,
                                                              issuer_name=ISSUER)


def create(session: Session, *, email: str, name: str, role: str, password: str,
           team_ref: str | None = None, worker_ref: str | None = None,
           actor: str = "cli") -> NewAccount:
    """Make an account (audited as made by `actor`); its TOTP secret is returned once."""
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email):
        raise AccountError(f"'{email}' is not an e-mail address. Give one like "
                           "name@example.org.", "email")
    if session.exec(select(StaffAccount).where(StaffAccount.email == email)).first():
        raise AccountError(f"There is an account for {email} already. Use another address, "
                           "or change that account instead.", "email")
    name = " ".join((name or "").split())
    if not name:
        raise AccountError("Give the name colleagues know them by, e.g. Priya Shah.", "name")
    if role not in ROLES:
        raise AccountError(f"Role must be one of: {', '.join(ROLES)}.", "role")
    check_password(password)
    worker = _by_ref(session, Worker, worker_ref, "worker")
    team = _by_ref(session, Team, team_ref, "team")
    if role == "worker" and worker is None:
        raise AccountError("A worker's account needs their worker record (with the CLI: "
                           "--worker REF), so their cases are theirs.", "worker")
    if role == "manager" and team is None and worker is None:
        raise AccountError("A manager's account needs their team (with the CLI: --team REF).",
                           "team")
    if team is not None and worker is not None and worker.team_id != team.id:
        raise AccountError(f"{worker.full_name} ({worker.ref}) is not in team {team.ref}. "
                           "Choose their own team, or no team.", "team")
    team_id = team.id if team else (worker.team_id if worker else None)
    secret = pyotp.random_base32()
    account = StaffAccount(email=email, name=name, role=role, team_id=team_id,
                           worker_id=worker.id if worker else None,
                           password_hash=generate_password_hash(password),
                           totp_secret=secret)
    session.add(account)
    session.flush()
    where = ", ".join(filter(None, [f"team {team.ref}" if team else "",
                                    f"worker {worker.ref}" if worker else ""]))
    _audit(session, "staff_account_made", actor,
           f"Made the account {email} ({name}), role {role}"
           f"{', ' + where if where else ''}.")
    return NewAccount(account, secret)


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"Use a password of at least {MIN_PASSWORD} characters (three or "
                           "four words are easy to remember).", "password")


PASSWORD_LETTERS = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read out or written


def new_password() -> str:
    """A first password to hand over once (about 99 random bits): four groups of five."""
    return "-".join("".join(secrets.choice(PASSWORD_LETTERS) for _ in range(5))
                    for _ in range(4))


def find(session: Session, email: str, *, lock: bool = False) -> StaffAccount | None:
    """The account; `lock` holds its row, so parallel tries are counted one by one."""
    query = select(StaffAccount).where(StaffAccount.email == (email or "").strip().lower())
    return session.exec(query.with_for_update() if lock else query).first()


def locked(account: StaffAccount, now: datetime) -> bool:
    return bool(account.locked_until and account.locked_until > now)


def listed(session: Session) -> list[StaffAccount]:
    """Every account, in the order they were made."""
    return list(session.exec(select(StaffAccount).order_by(StaffAccount.id)))


def state(account: StaffAccount, now: datetime, tz=None) -> str:
    """'active', 'locked until 14:05' or 'disabled', in words (never colour alone); times
    in `tz` (the line's time zone) when given, else UTC."""
    if account.disabled_at:
        return "disabled"
    if locked(account, now):
        when = account.locked_until.astimezone(tz) if tz else account.locked_until
        return f"locked until {when:%H:%M}{'' if tz else ' (UTC)'}"
    return "active"


# ---- what an admin changes -------------------------------------------------------------

def account_for(session: Session, email: str) -> StaffAccount:
    """The account, held for the change; or an AccountError saying so."""
    account = find(session, email, lock=True)
    if account is None:
        raise AccountError(f"There is no account for {(email or '').strip().lower()}; "
                           "`caseline staff list` shows them.")
    return account


def disable(session: Session, email: str, *, now: datetime, actor: str = "cli",
            actor_id: int | None = None) -> StaffAccount:
    """Stop the account signing in and end its open sessions at once. `actor_id` is the
    account doing it (from the pages): nobody disables themselves."""
    account = account_for(session, email)
    if actor_id is not None and account.id == actor_id:
        raise AccountError("You cannot disable your own account. Ask another admin to, if "
                           "it must be.")
    ended = end_sessions(session, account, now)
    if account.disabled_at is None:
        account.disabled_at = now
    _audit(session, "staff_account_disabled", actor,
           f"Disabled the account {account.email}; {ended} open session(s) ended.")
    return account


def enable(session: Session, email: str, *, actor: str = "cli") -> StaffAccount:
    """Let a disabled account sign in again (with its password and second factor)."""
    account = account_for(session, email)
    account.disabled_at = None
    _audit(session, "staff_account_enabled", actor, f"Enabled the account {account.email}.")
    return account


def unlock(session: Session, email: str, *, actor: str = "cli") -> StaffAccount:
    """Forget the failed sign-ins, so a locked account need not wait."""
    account = account_for(session, email)
    account.failed_signins, account.locked_until = 0, None
    _audit(session, "staff_account_unlocked", actor, f"Unlocked the account {account.email}.")
    return account


def new_second_factor(session: Session, email: str, *, actor: str = "cli") -> NewAccount:
    """A new TOTP secret (shown once); codes from the old one stop working at once."""
    account = account_for(session, email)
    account.totp_secret = pyotp.random_base32()
    account.totp_last_step = None
    _audit(session, "staff_second_factor_new", actor,
           f"Gave the account {account.email} a new second factor; the old one stopped "
           "working.")
    return NewAccount(account, account.totp_secret)


def end_sessions(session: Session, account: StaffAccount, now: datetime) -> int:
    """End every open session of the account; how many there were."""
    rows = list(session.exec(select(StaffSession).where(
        StaffSession.account_id == account.id, StaffSession.ended_at.is_(None))))
    for row in rows:
        row.ended_at = now
    return len(rows)


def _audit(session: Session, kind: str, actor: str, summary: str) -> None:
    """One audit entry about an account (no case): never a password or a secret."""
    record_interaction(session, kind=kind, direction=Direction.INTERNAL,
                       actor=(actor or "cli")[:200], summary=summary)


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
        raise AccountError(f"There is no {what} '{ref}'. Check the reference.", what)
    return found


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when there is no such account, so timing tells nothing."""
    return generate_password_hash(secrets.token_hex(8))
