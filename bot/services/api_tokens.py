"""API tokens: made, listed, revoked and checked here only, for the CLI and the staff pages.

A token is shown once, when it is made; only its SHA-256 is stored. It reads
`cl_<prefix>_<secret>`: the prefix finds the row without scanning, the secret (256 random
bits) makes guessing hopeless, so a fast hash is enough and no slow hash is needed.

Making and revoking one is audited (an `Interaction` of kind `api_token_*`, with no case):
who, which token (name and prefix), never the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.records.audit import record_interaction

from ..models import ApiToken, Direction, Team, utcnow

SCOPES = {
    "read": "read teams, workers, people, representatives and cases",
    "write": "create and change them (upserts, news, closure, worker, pauses)",
    "timeline": "read each case's timeline of contacts (without message bodies)",
    "messages": "see message bodies and transcriptions in the timeline",
    "actions": "read the action queue, assign actions and mark them done",
    "admin": "everything, for every team",
}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")
TOKEN_RE = re.compile(r"^cl_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$")


class TokenError(ValueError):
    """A token cannot be made or revoked; the message says why and what to do. `field`
    names the form field to fix (name, scopes, team), if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the whole token, shown once


def create(session: Session, *, name: str, scopes: list[str], team_ref: str | None = None,
           actor: str = "cli") -> NewToken:
    """Make a token (audited as made by `actor`); its text is returned once, never stored."""
    name = " ".join((name or "").split())
    if not NAME_RE.match(name):
        raise TokenError("Give the token a name of letters, digits, spaces, '.', '_' or '-' "
                         "(at most 100), e.g. mosaic-nightly.", "name")
    if session.exec(select(ApiToken).where(ApiToken.name == name)).first() is not None:
        raise TokenError(f"A token named '{name}' exists; choose another name, or revoke it "
                         "first.", "name")
    scopes = _check_scopes(scopes)
    team_id = None
    if team_ref:
        team = session.exec(select(Team).where(Team.ref == team_ref)).first()
        if team is None:
            raise TokenError(f"There is no team '{team_ref}'. Check the reference.", "team")
        team_id = team.id
    prefix = secrets.token_hex(4)
    while session.exec(select(ApiToken).where(ApiToken.prefix == prefix)).first() is not None:
        prefix = secrets.token_hex(4)
    secret = f"cl_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(name=name, prefix=prefix, token_hash=_hash(secret), scopes=scopes,
                     team_id=team_id, created_by=(actor or "cli")[:200])
    session.add(token)
    session.flush()
    _audit(session, "api_token_made", actor,
           f"Made the API token '{name}' (cl_{prefix}_…), scopes {', '.join(scopes)}, "
           f"{'team ' + team_ref if team_ref else 'all teams'}.")
    return NewToken(token, secret)


def revoke(session: Session, name: str, *, actor: str = "cli",
           when: datetime | None = None) -> ApiToken:
    """Stop the token working at once (audited); revoking it again changes nothing."""
    token = session.exec(select(ApiToken).where(ApiToken.name == name)
                         .with_for_update()).first()
    if token is None:
        raise TokenError(f"There is no token named '{name}'; `caseline api-token list` shows "
                         "them.")
    if token.revoked_at is None:
        token.revoked_at = when or utcnow()
        _audit(session, "api_token_revoked", actor,
               f"Revoked the API token '{token.name}' (cl_{token.prefix}_…).")
    return token


def listed(session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(ApiToken.id)))


def find(session: Session, presented: str) -> ApiToken | None:
    """The live token this text is, or None (unknown, malformed or revoked)."""
    match = TOKEN_RE.match(presented or "")
    if match is None:
        return None
    token = session.exec(select(ApiToken).where(ApiToken.prefix == match.group(1))).first()
    if token is None or token.revoked_at is not None:
        return None
    if not hmac.compare_digest(token.token_hash, _hash(presented)):
        return None
    return token


def allows(token: ApiToken, scope: str) -> bool:
    return "admin" in token.scopes or scope in token.scopes


def _check_scopes(scopes: list[str]) -> list[str]:
    wanted = sorted({s.strip() for s in scopes if s.strip()})
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown or not wanted:
        raise TokenError(f"Scopes must be some of: {', '.join(SCOPES)} (e.g. read and "
                         f"write); not {', '.join(unknown) or 'none'}. Choose at least one.",
                         "scopes")
    return wanted


def _audit(session: Session, kind: str, actor: str, summary: str) -> None:
    """One audit entry about a token (no case): its name and prefix, never its text."""
    record_interaction(session, kind=kind, direction=Direction.INTERNAL,
                       actor=(actor or "cli")[:200], summary=summary)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
