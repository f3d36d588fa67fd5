"""Who is calling the API, what they may do, how often, and the audit of every call.

Runs before the request is parsed: a missing or bad token is 401 even for a malformed
request, a scope the token lacks is 403. Every call, refused or not, leaves one audit row.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis
from flask import Response, current_app, g, request

from bot.models import ApiCall, utcnow
from bot.services import api_tokens

from .problems import ApiProblem

log = logging.getLogger(__name__)

SCOPE_OF: dict[str, str] = {}  # endpoint -> the scope it needs
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Caller:
    """The token behind this request, as plain values (no session needed)."""

    id: int
    name: str
    scopes: tuple[str, ...]
    team_id: int | None

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def needs(scope: str):
    """Mark a view with the scope it needs: `@needs("read")` under the route."""
    def mark(view):
        SCOPE_OF[f"api.{view.__name__}"] = scope
        return view
    return mark


def runtime():
    return current_app.extensions["caseline"]


def caller() -> Caller:
    return g.api_caller


def subject(text: str, path: str | None = None) -> None:
    """What the call is about, for the audit (e.g. "case C-1"); `path` replaces the
    request's own in the audit (an erasure must not write the reference back)."""
    g.api_subject = text[:120]
    if path is not None:
        g.api_path = path


def authenticate() -> None:
    """before_request: the token, its scope for this endpoint, and the rate limit."""
    g.api_caller, g.api_subject = None, ""
    if request.endpoint in ("api.openapi_json", "api.docs") or request.endpoint is None:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="caseline"'}
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiProblem(401, "Send a token as 'Authorization: Bearer <token>'. An "
                         "administrator makes one with: caseline api-token create.",
                         headers=challenge)
    with runtime().session() as session:
        token = api_tokens.find(session, presented.strip())
        if token is None:
            raise ApiProblem(401, "This token is not known, or it was revoked. Ask an "
                             "administrator for a new one.", headers=challenge)
        now = utcnow()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            token.last_used_at = now  # once a minute is enough to see a token in use
        g.api_caller = Caller(token.id, token.name, tuple(token.scopes), token.team_id)
    _limit_rate(g.api_caller)
    scope = SCOPE_OF.get(request.endpoint)
    if scope and not g.api_caller.allows(scope):
        raise ApiProblem(403, f"This token may not do this: it needs the '{scope}' scope "
                         f"({api_tokens.SCOPES[scope]}); it has {', '.join(g.api_caller.scopes)}.")


def _limit_rate(who: Caller) -> None:
    """A fixed window per token in Redis; with Redis down the call goes on (and says so in
    the log): the case system must not be cut off by a cache."""
    limit = runtime().settings.api_calls_per_minute
    window = int(time.time() // WINDOW_SECONDS)
    key = f"caseline:api:rate:{who.id}:{window}"
    try:
        client = runtime().redis
        count = client.incr(key)
        if count == 1:
            client.expire(key, WINDOW_SECONDS * 2)
    except redis.RedisError as exc:
        log.warning("API rate limit not checked: Redis unavailable (%s)", type(exc).__name__)
        return
    if count > limit:
        wait = WINDOW_SECONDS - int(time.time() % WINDOW_SECONDS)
        raise ApiProblem(429, f"More than {limit} calls a minute from this token. Wait "
                         f"{wait} s (Retry-After) and go on.", headers={"Retry-After": str(wait)})


def audit(response: Response) -> Response:
    """after_request: one row per call: who, what, when, and the answer's status."""
    who = getattr(g, "api_caller", None)
    if request.endpoint in ("api.openapi_json", "api.docs"):
        return response
    try:
        with runtime().session() as session:
            session.add(ApiCall(token_id=who.id if who else None, method=request.method,
                                path=getattr(g, "api_path", request.path)[:300],
                                status=response.status_code,
                                subject=getattr(g, "api_subject", "")))
    except Exception as exc:  # the answer is already made; the log says the audit failed
        log.error("API call not audited (%s)", type(exc).__name__)
    return response
