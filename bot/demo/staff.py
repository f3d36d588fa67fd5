"""The demo's staff account: Sam Okafor (worker W-101, Leeds), so a newcomer can sign in to
/staff/ at once. Its password is printed and its TOTP code can be read without a phone
(`caseline staff code`): a demo, never production."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot.services import staff_accounts as accounts

EMAIL = "sam.okafor@example.org"
PASSWORD = "demo staff password"  # invented; the demo's data is invented too


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    totp_secret: str


def ensure(session: Session) -> DemoAccount:
    """Make the account the first time; later runs keep it (and its secret)."""
    account = accounts.find(session, EMAIL)
    if account is None:
        account = accounts.create(session, email=EMAIL, name="Sam Okafor", role="worker",
                                  password=PASSWORD, worker_ref="W-101",
                                  actor="demo").account
    return DemoAccount(EMAIL, PASSWORD, account.totp_secret)
