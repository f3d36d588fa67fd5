"""A local fake of Twilio's REST API (Messages and Calls) for tests and the demo.

Unlike a stateless OpenAPI mock it keeps what it was sent, answers with Twilio's business errors,
and posts signed status callbacks asynchronously, sometimes twice and sometimes out of order, as
Twilio does. It is a real HTTP server, so other processes (an RQ worker, the demo) can use it
through the real twilio-python client (`bot.twilio_http.make_client(..., api_base=url)`), and it
is driven and inspected over HTTP under `/_fake/` as well as from Python:

    with FakeTwilioServer(account_sid=..., auth_token=...) as fake:
        fake.state.fail_create(21610, to="+447700900999", count=None)  # every text to it fails
        fake.state.fail_delivery(30003)                   # the next text ends `undelivered`
        fake.state.hang_create(when="after")             # record the next one, then never answer
        fake.state.set_call_outcome("machine")            # the next call reaches voicemail
        ...
        fake.wait_for(lambda: len(fake.messages) == 1)

Run it on its own with `python -m bot.fake_twilio --port 5010 --account-sid AC... --auth-token ...`.
Its log shows every text and call with masked numbers and without bodies: read bodies from
`GET /_fake/messages`.
"""

from __future__ import annotations

import argparse
import heapq
import hmac
import itertools
import json
import logging
import math
import os
import random
import re
import select
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any, Self
from urllib.parse import urlencode, urlsplit

import requests
from flask import Flask, Response, current_app, request
from twilio.request_validator import RequestValidator
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler, make_server

from . import phones

__all__ = [
    "CALL_OUTCOMES",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "FakeTwilioServer",
    "FakeTwilioState",
    "create_fake_app",
    "fake_state",
    "main",
    "num_segments",
    "twilio_error",
]

log = logging.getLogger("bot.fake_twilio")  # not __name__: that is "__main__" under `-m`

API_VERSION = "2010-04-01"
API_PREFIX = f"/{API_VERSION}/Accounts"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32  # the same as bot.config.FAKE_TWILIO_SID
DEFAULT_AUTH_TOKEN = "test-only-auth-token"
DEFAULT_SENDER = "+447700900000"  # what a Messaging Service "picks" as the sender
CALL_OUTCOMES = ("answered", "machine", "no-answer", "busy", "failed")
CALL_EVENTS = ("initiated", "ringing", "answered", "completed")
RESOURCES = ("messages", "calls", "any")
MAX_BODY = 1600
MAX_TWIML = 4000

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_ALPHA_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
_MG_SID = re.compile(r"MG[0-9a-f]{32}")
_CALL_DURATION = {"answered": 12, "machine": 20}
_PROGRESS = frozenset({"accepted", "queued", "sending", "sent", "ringing", "in-progress"})

# Twilio's messages for the codes the fake produces (more_info points at the full text).
_ERROR_MESSAGES = {
    20001: "Invalid parameter: {detail}",
    20003: "Authenticate",
    20004: "Method not allowed",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21201: "No 'To' number is specified",
    21205: "Either a 'Url', 'Twiml' or 'ApplicationSid' parameter is required.",
    21211: "The 'To' number {to} is not a valid phone number.",
    21212: "The 'From' number {from_} is not a valid phone number, shortcode, or alphanumeric"
    " sender ID.",
    21213: "No 'From' number is specified",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21609: "Invalid StatusCallback url",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21701: "The Messaging Service Sid {detail} is invalid.",
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
    32018: "Twiml parameter exceeds the 4000 character limit.",
}
_STATUS_FOR_CODE = {20003: 401, 20004: 405, 20404: 404, 20429: 429, 20500: 500, 20503: 503}
_CODE_FOR_STATUS = {401: 20003, 404: 20404, 405: 20004, 429: 20429, 500: 20500, 503: 20503}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def error_message(code: int, **detail: str) -> str:
    """Twilio's message for `code`, with the placeholders that apply filled in."""
    return _ERROR_MESSAGES.get(code, f"Error {code}").format_map(_Blank(detail))


def twilio_error(code: int | None, status: int | None = None, message: str | None = None,
                 **detail: str) -> Response:
    """An error response in Twilio's JSON shape (twilio-python turns it into a
    TwilioRestException whose .code and .status are these)."""
    if code is None:
        code = _CODE_FOR_STATUS.get(status or 500, 20500)
    status = status or _STATUS_FOR_CODE.get(code, 400)
    body = {
        "code": code,
        "message": message or error_message(code, **detail),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


# --- small helpers ------------------------------------------------------------------------------

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("\f^{}\\[~]|€")


def num_segments(body: str) -> int:
    """How many SMS segments `body` takes: GSM-7 160/153 a segment, else UCS-2 70/67."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in body):
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _rfc2822(moment: datetime | None) -> str | None:
    return None if moment is None else format_datetime(moment.astimezone(UTC))


def _formatted(number: str) -> str:
    try:
        return phones.display(number)
    except ValueError:
        return number


def _safe_url(url: str) -> str:
    """A URL without its query string, for logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _client_gone(sock: socket.socket | None) -> bool:
    """True if the peer of a request's socket has closed it (timed out, killed...)."""
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _form_params(form) -> dict[str, Any]:
    """The posted form: a string per key, or a list for a repeated key."""
    params: dict[str, Any] = {}
    for key in form:
        values = form.getlist(key)
        params[key] = values[0] if len(values) == 1 else values
    return params


def _parse_when(value: str) -> datetime | date:
    """Parse a list filter value: YYYY-MM-DD, or an ISO 8601 time (UTC if no offset)."""
    value = value.strip()
    if len(value) == 10:
        return date.fromisoformat(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _time_matches(moment: datetime | None, op: str, bound: datetime | date) -> bool:
    if moment is None:
        return False
    left: datetime | date = moment.date() if not isinstance(bound, datetime) else moment
    if op == ">":
        return left >= bound
    if op == "<":
        return left <= bound
    return left == bound


# --- rules and records --------------------------------------------------------------------------


@dataclass
class _Rule:
    action: str  # fail | deliver | hang-before | hang-after | outcome
    resource: str  # messages | calls | any
    to: str | None
    remaining: int | None  # None: every matching create until reset
    params: dict[str, Any]

    def matches(self, action: str, resource: str, to: str) -> bool:
        return (
            self.action == action
            and self.resource in (resource, "any")
            and self.to in (None, to)
            and (self.remaining is None or self.remaining > 0)
        )

    def describe(self) -> dict[str, Any]:
        return {"action": self.action, "resource": self.resource, "to": self.to,
                "remaining": self.remaining, **self.params}


@dataclass
class _Hold:
    resource: str
    to: str
    when: str
    seconds: float | None
    since: float = field(default_factory=time.monotonic)
    released: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Record:
    index: int
    resource: dict[str, Any]
    params: dict[str, Any]
    times: dict[str, datetime | None]
    # When the create arrived (epoch seconds, sub-second): Twilio's dates are whole
    # seconds, too coarse to check that senders keep to a rate.
    received_at: float = field(default_factory=time.time)

    def snapshot(self) -> dict[str, Any]:
        return json.loads(json.dumps({**self.resource, "params": self.params,
                                      "received_at": self.received_at}))


@dataclass(order=True)
class _Event:
    due: float
    seq: int
    action: Callable[[], None] = field(compare=False)


@dataclass
class _Step:
    """One status change: how it changes the resource, and the callback it fires (if any)."""

    apply: Callable[[], None]
    callback: dict[str, str] | None


# --- the state: records, rules, callbacks -------------------------------------------------------


class FakeTwilioState:
    """Everything the fake knows and every way to steer it. Thread-safe."""

    def __init__(self, *, account_sid: str, auth_token: str, seed: int = 0,
                 callback_delay: float = 0.05, chaos: bool = True,
                 duplicate_probability: float = 0.1, reorder_probability: float = 0.1,
                 sender: str = DEFAULT_SENDER) -> None:
        self.account_sid = account_sid
        self._auth_token = auth_token
        self._validator = RequestValidator(auth_token)
        self.seed = seed
        self.callback_delay = callback_delay
        self.chaos = chaos
        self.duplicate_probability = duplicate_probability
        self.reorder_probability = reorder_probability
        self.sender = sender
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._messages: dict[str, _Record] = {}
        self._calls: dict[str, _Record] = {}
        self._callbacks: list[dict[str, Any]] = []
        self._refused: list[dict[str, Any]] = []
        self._rules: list[_Rule] = []
        self._holds: list[_Hold] = []
        self._events: list[_Event] = []
        self._event_seq = itertools.count()
        self._creates = itertools.count()
        self._closed = False
        self._running = 0  # scheduled actions being run right now (0 or 1)
        self._dispatcher: threading.Thread | None = None

    # -- auth ----------------------------------------------------------------------------------

    def check_auth(self, username: str | None, password: str | None) -> bool:
        """True if (username, password) are this account's SID and auth token."""
        sid_ok = hmac.compare_digest((username or "").encode(), self.account_sid.encode())
        token_ok = hmac.compare_digest((password or "").encode(), self._auth_token.encode())
        return sid_ok and token_ok

    # -- inspection ----------------------------------------------------------------------------

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message created, oldest first: Twilio's resource fields plus `params` (the
        form it was created with)."""
        with self._lock:
            return [r.snapshot() for r in self._messages.values()]

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Every call created, oldest first, shaped like `messages`."""
        with self._lock:
            return [r.snapshot() for r in self._calls.values()]

    @property
    def callbacks(self) -> list[dict[str, Any]]:
        """Every status callback attempted: sid, url, method, params, status_code or error."""
        with self._lock:
            return json.loads(json.dumps(self._callbacks))

    @property
    def refused(self) -> list[dict[str, Any]]:
        """Every create answered with an error: resource, to, code, status."""
        with self._lock:
            return list(self._refused)

    @property
    def idle(self) -> bool:
        """True when no status change or callback is waiting or being sent."""
        with self._lock:
            return not self._events and not self._running

    @property
    def held(self) -> int:
        """How many create requests are being held open right now."""
        with self._lock:
            return len(self._holds)

    def describe(self) -> dict[str, Any]:
        """Counts, held requests, pending rules and chaos settings, for `GET /_fake/state`."""
        with self._lock:
            now = time.monotonic()
            return {
                "messages": len(self._messages),
                "calls": len(self._calls),
                "callbacks": len(self._callbacks),
                "pending": len(self._events) + self._running,
                "held": [{"resource": h.resource, "to": h.to, "when": h.when,
                          "seconds": h.seconds, "held_for": round(now - h.since, 3)}
                         for h in self._holds],
                "refused": list(self._refused),
                "rules": [r.describe() for r in self._rules],
                "chaos": {"enabled": self.chaos, "duplicate": self.duplicate_probability,
                          "reorder": self.reorder_probability, "seed": self.seed},
            }

    def message(self, sid: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._messages.get(sid)
            return record.snapshot() if record else None

    def call(self, sid: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._calls.get(sid)
            return record.snapshot() if record else None

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until `predicate()` is truthy and return its value; TimeoutError after
        `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the fake Twilio did not reach the condition in {timeout}s")
            with self._changed:
                self._changed.wait(min(remaining, 0.05))

    # -- control -------------------------------------------------------------------------------

    def fail_create(self, code: int | None = None, *, http_status: int | None = None,
                    to: str | None = None, count: int | None = 1, resource: str = "messages",
                    message: str | None = None) -> None:
        """Answer creates with an error: the next `count` ones (None: every one), only those
        to `to` if given. E.g. fail_create(21610, to=X, count=None); fail_create(http_status=503).
        The HTTP status defaults from the code (20429 -> 429, 2xxxx/3xxxx -> 400)."""
        if code is None and http_status is None:
            raise ValueError("give a Twilio error code, an HTTP status, or both")
        if code is None:
            code = _CODE_FOR_STATUS.get(http_status, http_status)
        status = http_status or _STATUS_FOR_CODE.get(code, 400)
        if not 400 <= status <= 599:
            raise ValueError(f"HTTP status {status} is not an error status")
        self._add_rule("fail", resource, to, count,
                       {"code": int(code), "http_status": int(status), "message": message})

    def fail_delivery(self, code: int, *, status: str = "undelivered", to: str | None = None,
                      count: int | None = 1) -> None:
        """Accept the next `count` texts (to `to` if given) but end them `undelivered` or
        `failed` with `code` (30003, 30005, 30006, 30007...) in the last callback."""
        if status not in ("undelivered", "failed"):
            raise ValueError("a delivery failure ends 'undelivered' or 'failed'")
        self._add_rule("deliver", "messages", to, count, {"code": int(code), "status": status})

    def hang_create(self, *, seconds: float | None = None, when: str = "before",
                    to: str | None = None, count: int | None = 1,
                    resource: str = "messages") -> None:
        """Hold the next `count` create requests open for `seconds` (None: until `release()`).

        when="before": hold before recording. If the client gives up (times out, is killed)
        the request is dropped unrecorded, as if it never reached Twilio; otherwise it then
        goes on normally. when="after": record it (its callbacks start), then hold the answer:
        the resource exists but the client never learns its sid.
        """
        if when not in ("before", "after"):
            raise ValueError("when is 'before' or 'after'")
        self._add_rule(f"hang-{when}", resource, to, count, {"seconds": seconds})

    def release(self) -> int:
        """Let every held request go on; return how many there were."""
        with self._changed:
            for hold in self._holds:
                hold.released.set()
            self._changed.notify_all()
            return len(self._holds)

    def set_call_outcome(self, outcome: str, *, to: str | None = None,
                         count: int | None = 1) -> None:
        """How the next `count` calls (to `to` if given) end: answered (AnsweredBy=human when
        machine detection is on), machine (AnsweredBy=machine_start), no-answer, busy, failed.
        Calls no rule covers are answered."""
        if outcome not in CALL_OUTCOMES:
            raise ValueError(f"outcome is one of {', '.join(CALL_OUTCOMES)}")
        self._add_rule("outcome", "calls", to, count, {"outcome": outcome})

    def set_chaos(self, enabled: bool = True, *, duplicate: float | None = None,
                  reorder: float | None = None, seed: int | None = None) -> None:
        """Turn duplicate and out-of-order callbacks on or off, or change their odds (0-1)."""
        for value in (duplicate, reorder):
            if value is not None and not 0 <= value <= 1:
                raise ValueError("a probability is between 0 and 1")
        with self._changed:
            self.chaos = enabled
            if duplicate is not None:
                self.duplicate_probability = duplicate
            if reorder is not None:
                self.reorder_probability = reorder
            if seed is not None:
                self.seed = seed

    def reset(self) -> None:
        """Forget every record, rule, callback log and pending callback; release held
        requests (the chaos settings stay)."""
        with self._changed:
            for hold in self._holds:
                hold.released.set()
            self._messages.clear()
            self._calls.clear()
            self._callbacks.clear()
            self._refused.clear()
            self._rules.clear()
            self._events.clear()
            self._creates = itertools.count()
            self._changed.notify_all()

    def close(self) -> None:
        """Stop sending callbacks and release held requests. Idempotent."""
        with self._changed:
            self._closed = True
            for hold in self._holds:
                hold.released.set()
            self._events.clear()
            self._changed.notify_all()
            dispatcher = self._dispatcher
        if dispatcher is not None and dispatcher is not threading.current_thread():
            dispatcher.join(timeout=10)

    @property
    def closed(self) -> bool:
        return self._closed

    def _add_rule(self, action: str, resource: str, to: str | None, count: int | None,
                  params: dict[str, Any]) -> None:
        if resource not in RESOURCES:
            raise ValueError(f"resource is one of {', '.join(RESOURCES)}")
        if count is not None and count < 1:
            raise ValueError("count is at least 1 (or None for every matching create)")
        with self._changed:
            self._rules.append(_Rule(action, resource, to, count, params))
            self._changed.notify_all()

    def take_rule(self, action: str, resource: str, to: str) -> dict[str, Any] | None:
        """Use up one matching rule (rules for this number first) and return its params."""
        with self._lock:
            candidates = [r for r in self._rules if r.matches(action, resource, to)]
            if not candidates:
                return None
            rule = next((r for r in candidates if r.to is not None), candidates[0])
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
            return dict(rule.params)

    # -- holding requests ----------------------------------------------------------------------

    def hold(self, resource: str, to: str, when: str, seconds: float | None,
             sock: socket.socket | None) -> bool:
        """Hold the current request; return False if its client went away meanwhile or the
        fake is shutting down."""
        hold = _Hold(resource, to, when, seconds)
        with self._changed:
            if self._closed:
                return False
            self._holds.append(hold)
            self._changed.notify_all()
        log.info("holding a %s create %s recording it (%s)",
                 resource.rstrip("s"), when, f"{seconds}s" if seconds else "until released")
        deadline = None if seconds is None else time.monotonic() + seconds
        gone = False
        try:
            while not hold.released.wait(0.02):
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if _client_gone(sock):
                    gone = True
                    break
        finally:
            with self._changed:
                if hold in self._holds:
                    self._holds.remove(hold)
                self._changed.notify_all()
        return not (gone or self._closed or _client_gone(sock))

    # -- recording -----------------------------------------------------------------------------

    def note_refused(self, resource: str, to: str | None, code: int, status: int) -> None:
        with self._changed:
            self._refused.append({"resource": resource, "to": to, "code": code,
                                  "status": status})
            self._changed.notify_all()

    def record_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """Store a new message, plan its delivery and callbacks; return its resource JSON."""
        now = _now()
        sid = "SM" + uuid.uuid4().hex
        to = params["To"]
        service = params.get("MessagingServiceSid")
        body = params.get("Body", "")
        media = params.get("MediaUrl") or []
        uri = f"{API_PREFIX}/{self.account_sid}/Messages/{sid}.json"
        resource = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": _rfc2822(now),
            "date_sent": None,
            "date_updated": _rfc2822(now),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": None if service else params.get("From"),
            "messaging_service_sid": service,
            "num_media": str(len(media) if isinstance(media, list) else 1),
            "num_segments": str(num_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json",
                                 "feedback": uri.removesuffix(".json") + "/Feedback.json"},
            "to": to,
            "uri": uri,
        }
        failure = self.take_rule("deliver", "messages", to)
        with self._changed:
            index = next(self._creates)
            record = _Record(index, resource, params, {"date_created": now, "date_sent": None})
            self._messages[sid] = record
            self._changed.notify_all()
            snapshot = dict(resource)
        log.info("text %s to %s from %s: %d characters, %s segment(s)%s", sid,
                 phones.mask(to), phones.mask(params.get("From") or self.sender), len(body),
                 resource["num_segments"], f", via {service}" if service else "")
        self._plan(record, self._message_steps(record, failure), params)
        return snapshot

    def record_call(self, params: dict[str, Any]) -> dict[str, Any]:
        """Store a new call, plan its progress and callbacks; return its resource JSON."""
        now = _now()
        sid = "CA" + uuid.uuid4().hex
        to, from_ = params["To"], params["From"]
        uri = f"{API_PREFIX}/{self.account_sid}/Calls/{sid}.json"
        base = uri.removesuffix(".json")
        resource = {
            "account_sid": self.account_sid,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": _rfc2822(now),
            "date_updated": _rfc2822(now),
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": from_,
            "from_formatted": _formatted(from_),
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": sid,
            "start_time": None,
            "status": "queued",
            "subresource_uris": {name: f"{base}/{name.title()}.json" for name in
                                 ("notifications", "recordings", "payments", "events",
                                  "siprec", "streams", "transcriptions")},
            "to": to,
            "to_formatted": _formatted(to),
            "trunk_sid": None,
            "uri": uri,
        }
        rule = self.take_rule("outcome", "calls", to)
        outcome = rule["outcome"] if rule else "answered"
        with self._changed:
            index = next(self._creates)
            record = _Record(index, resource, params,
                             {"date_created": now, "start_time": None, "end_time": None})
            self._calls[sid] = record
            self._changed.notify_all()
            snapshot = dict(resource)
        log.info("call %s to %s from %s (will be: %s)", sid, phones.mask(to),
                 phones.mask(from_), outcome)
        self._plan(record, self._call_steps(record, outcome), params)
        return snapshot

    def _update(self, record: _Record, kind: str, **changes: Any) -> None:
        """Apply a status change to a record, if it still exists (reset() forgets it)."""
        store = self._messages if kind == "messages" else self._calls
        with self._changed:
            if store.get(record.resource["sid"]) is not record:
                return
            now = _now()
            for name in ("date_sent", "start_time", "end_time"):
                if changes.pop(name, False):
                    record.times[name] = now
                    record.resource[name] = _rfc2822(now)
            record.resource.update(changes, date_updated=_rfc2822(now))
            self._changed.notify_all()
        status = changes.get("status")
        if status:
            code = changes.get("error_code")
            level = logging.DEBUG if status in _PROGRESS else logging.INFO
            log.log(level, "%s %s%s", record.resource["sid"], status,
                    f" ({code} {error_message(code)})" if code else "")

    def _message_steps(self, record: _Record, failure: dict[str, Any] | None) -> list[_Step]:
        r = record.resource
        service = r["messaging_service_sid"]
        base = {"MessageSid": r["sid"], "SmsSid": r["sid"], "AccountSid": self.account_sid,
                "From": r["from"] or self.sender, "To": r["to"], "ApiVersion": API_VERSION}
        if service:
            base["MessagingServiceSid"] = service

        def step(status: str, extra: dict[str, str] | None = None, **changes: Any) -> _Step:
            params = {**base, "MessageStatus": status, "SmsStatus": status, **(extra or {})}
            return _Step(lambda: self._update(record, "messages", status=status, **changes),
                         params)

        dlr = {"RawDlrDoneDate": _now().strftime("%y%m%d%H%M")}
        steps = [step("queued", **({"from": self.sender} if service else {}))]
        if failure and failure["status"] == "failed":
            code = failure["code"]
            return [*steps, step("failed", {"ErrorCode": str(code)}, error_code=code,
                                 error_message=error_message(code))]
        steps.append(step("sent", date_sent=True))
        if failure:
            code = failure["code"]
            return [*steps, step("undelivered", {"ErrorCode": str(code), **dlr},
                                 error_code=code, error_message=error_message(code))]
        return [*steps, step("delivered", dlr)]

    def _call_steps(self, record: _Record, outcome: str) -> list[_Step]:
        r, p = record.resource, record.params
        wanted = p.get("StatusCallbackEvent") or ["completed"]
        wanted = [wanted] if isinstance(wanted, str) else wanted
        detection = p.get("MachineDetection")
        answered_by = None
        if detection and outcome == "answered":
            answered_by = "human"
        elif detection and outcome == "machine":
            answered_by = "machine_end_beep" if detection == "DetectMessageEnd" else \
                "machine_start"
        duration = _CALL_DURATION.get(outcome, 0)
        final = "completed" if outcome in ("answered", "machine") else outcome
        base = {"CallSid": r["sid"], "AccountSid": self.account_sid, "From": r["from"],
                "To": r["to"], "Caller": r["from"], "Called": r["to"],
                "Direction": "outbound-api", "ApiVersion": API_VERSION,
                "CallbackSource": "call-progress-events"}
        plan: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
            ("initiated", "initiated", {"start_time": True}, {})]
        if outcome != "busy" and outcome != "failed":
            plan.append(("ringing", "ringing", {"status": "ringing"}, {}))
        if outcome in ("answered", "machine"):
            extra = {"AnsweredBy": answered_by} if answered_by else {}
            plan.append(("answered", "in-progress",
                         {"status": "in-progress", "answered_by": answered_by}, extra))
        done = {"CallDuration": str(duration)}
        if answered_by:
            done["AnsweredBy"] = answered_by
        plan.append(("completed", final, {"status": final, "end_time": True,
                                          "duration": str(duration)}, done))
        steps, sequence = [], itertools.count()
        start = time.time()
        for i, (event, call_status, changes, extra) in enumerate(plan):
            params = None
            if event in wanted:
                when = datetime.fromtimestamp(start + (i + 1) * self.callback_delay, UTC)
                params = {**base, "CallStatus": call_status, **extra,
                          "SequenceNumber": str(next(sequence)), "Timestamp": _rfc2822(when)}
            steps.append(_Step(lambda c=changes: self._update(record, "calls", **c), params))
        return steps

    # -- callbacks -----------------------------------------------------------------------------

    def _plan(self, record: _Record, steps: list[_Step], params: dict[str, Any]) -> None:
        """Schedule the status changes, and their callbacks with this create's chaos."""
        rng = random.Random(f"{self.seed}:{record.index}")
        url = params.get("StatusCallback")
        method = str(params.get("StatusCallbackMethod") or "POST").upper()
        start, delay = time.monotonic(), self.callback_delay
        slots = [start + (i + 1) * delay for i, s in enumerate(steps) if s.callback]
        callbacks = [s.callback for s in steps if s.callback]
        order = list(range(len(callbacks)))
        duplicates: set[int] = set()
        with self._lock:
            chaos = self.chaos
            dup_p, reorder_p = self.duplicate_probability, self.reorder_probability
        # Draw the same numbers whether or not chaos is on, so one create's luck never
        # depends on another's.
        swaps = [rng.random() < reorder_p for _ in range(len(order) - 1)]
        doubles = [rng.random() < dup_p for _ in order]
        if chaos:
            for i, swap in enumerate(swaps):
                if swap:
                    order[i], order[i + 1] = order[i + 1], order[i]
            duplicates = {i for i, double in enumerate(doubles) if double}
        for i, step in enumerate(steps):
            self._schedule(start + (i + 1) * delay, step.apply)
        if not url:
            return
        sid = record.resource["sid"]
        for position, which in enumerate(order):
            payload = callbacks[which]

            def post(payload: dict[str, str] = payload) -> None:
                self._post_callback(sid, url, method, payload)

            self._schedule(slots[position], post)
            if which in duplicates:
                self._schedule(slots[position] + delay / 2, post)

    def _schedule(self, due: float, action: Callable[[], None]) -> None:
        with self._changed:
            if self._closed:
                return
            heapq.heappush(self._events, _Event(due, next(self._event_seq), action))
            if self._dispatcher is None:
                self._dispatcher = threading.Thread(target=self._dispatch, daemon=True,
                                                    name="fake-twilio-callbacks")
                self._dispatcher.start()
            self._changed.notify_all()

    def _dispatch(self) -> None:
        """Run scheduled status changes and callbacks in time order until closed."""
        while True:
            with self._changed:
                while not self._closed:
                    now = time.monotonic()
                    if self._events and self._events[0].due <= now:
                        break
                    wait = self._events[0].due - now if self._events else 0.5
                    self._changed.wait(min(wait, 0.5))
                if self._closed:
                    return
                event = heapq.heappop(self._events)
                self._running = 1
            try:
                event.action()
            except Exception:  # a fake must outlive any one callback
                log.exception("a scheduled status change or callback failed")
            finally:
                with self._changed:
                    self._running = 0
                    self._changed.notify_all()

    def _post_callback(self, sid: str, url: str, method: str, params: dict[str, str]) -> None:
        """Send one signed status callback; log and drop any failure."""
        status = params.get("MessageStatus") or params.get("CallStatus")
        entry: dict[str, Any] = {"sid": sid, "url": url, "method": method, "params": params,
                                 "status_code": None, "error": None}
        headers = {"User-Agent": "TwilioProxy/1.1",
                   "I-Twilio-Idempotency-Token": f"{sid}-{status}"}
        try:
            if method == "GET":
                target = url + ("&" if "?" in url else "?") + urlencode(params)
                headers["X-Twilio-Signature"] = self._validator.compute_signature(target, {})
                response = requests.get(target, headers=headers, timeout=(2, 5),
                                        allow_redirects=False)
            else:
                headers["X-Twilio-Signature"] = self._validator.compute_signature(url, params)
                response = requests.post(url, data=params, headers=headers, timeout=(2, 5),
                                         allow_redirects=False)
            with response:
                entry["status_code"] = response.status_code
            if not 200 <= response.status_code < 300:
                log.warning("callback for %s (%s) to %s answered HTTP %s: dropped", sid,
                            status, _safe_url(url), response.status_code)
        except requests.RequestException as exc:
            entry["error"] = type(exc).__name__
            log.warning("callback for %s (%s) to %s failed (%s): dropped", sid, status,
                        _safe_url(url), type(exc).__name__)
        with self._changed:
            self._callbacks.append(entry)
            self._changed.notify_all()


# --- the HTTP API -------------------------------------------------------------------------------


def fake_state(app: Flask | None = None) -> FakeTwilioState:
    """The FakeTwilioState behind `app` (default: the current app)."""
    return (app or current_app).extensions["fake_twilio"]


def _validate_message(p: dict[str, Any]) -> Response | None:
    to, from_, service = p.get("To"), p.get("From"), p.get("MessagingServiceSid")
    body, media = p.get("Body"), p.get("MediaUrl") or p.get("ContentSid")
    if not to:
        return twilio_error(21604)
    if not isinstance(to, str) or not _E164.fullmatch(to):
        return twilio_error(21211, to=str(to))
    if not from_ and not service:
        return twilio_error(21603)
    if from_ and not (_E164.fullmatch(from_) or _ALPHA_SENDER.fullmatch(from_)):
        return twilio_error(21212, from_=from_)
    if service and not _MG_SID.fullmatch(service):
        return twilio_error(21701, detail=service)
    if not body and not media:
        return twilio_error(21602)
    if body and len(body) > MAX_BODY:
        return twilio_error(21617)
    return _validate_callback(p)


def _validate_call(p: dict[str, Any]) -> Response | None:
    to, from_ = p.get("To"), p.get("From")
    if not to:
        return twilio_error(21201)
    if not isinstance(to, str) or not _E164.fullmatch(to):
        return twilio_error(21211, to=str(to))
    if not from_:
        return twilio_error(21213)
    if not isinstance(from_, str) or not _E164.fullmatch(from_):
        return twilio_error(21212, from_=str(from_))
    if not (p.get("Url") or p.get("Twiml") or p.get("ApplicationSid")):
        return twilio_error(21205)
    if len(p.get("Twiml") or "") > MAX_TWIML:
        return twilio_error(32018)
    events = p.get("StatusCallbackEvent") or []
    for event in [events] if isinstance(events, str) else events:
        if event not in CALL_EVENTS:
            return twilio_error(20001, detail=f"StatusCallbackEvent {event!r}")
    timeout = p.get("Timeout")
    if timeout is not None and (not str(timeout).isdigit() or not 1 <= int(timeout) <= 600):
        return twilio_error(20001, detail=f"Timeout {timeout!r} (1 to 600 seconds)")
    return _validate_callback(p)


def _validate_callback(p: dict[str, Any]) -> Response | None:
    url = p.get("StatusCallback")
    if url and urlsplit(str(url)).scheme not in ("http", "https"):
        return twilio_error(21609)
    method = str(p.get("StatusCallbackMethod") or "POST").upper()
    if method not in ("GET", "POST"):
        return twilio_error(20001, detail=f"StatusCallbackMethod {method!r}")
    return None


def _create(resource: str) -> Response:
    """Create a message or call, applying the hang and failure rules around recording it."""
    state = fake_state()
    params = _form_params(request.form)
    problem = (_validate_message if resource == "messages" else _validate_call)(params)
    to = params.get("To") if isinstance(params.get("To"), str) else None
    kind = "text" if resource == "messages" else "call"
    if problem is not None:
        payload = json.loads(problem.get_data())
        state.note_refused(resource, to, payload["code"], problem.status_code)
        log.info("refused a %s to %s: %s %s", kind, phones.mask(to), payload["code"],
                 payload["message"])
        return problem
    sock = request.environ.get("werkzeug.socket")
    hang = state.take_rule("hang-before", resource, to)
    if hang is not None and not state.hold(resource, to, "before", hang["seconds"], sock):
        log.info("dropped a %s to %s: the client went away before it was recorded", kind,
                 phones.mask(to))
        return twilio_error(20503)
    failure = state.take_rule("fail", resource, to)
    if failure is not None:
        state.note_refused(resource, to, failure["code"], failure["http_status"])
        log.info("refused a %s to %s: %s (injected)", kind, phones.mask(to), failure["code"])
        return twilio_error(failure["code"], failure["http_status"], failure["message"],
                            to=to, from_=str(params.get("From") or ""))
    record = state.record_message if resource == "messages" else state.record_call
    created = record(params)
    hang = state.take_rule("hang-after", resource, to)
    if hang is not None and not state.hold(resource, to, "after", hang["seconds"], sock):
        log.info("%s recorded, but its client went away before the answer", created["sid"])
    return _json(created, 201)


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def _list(resource: str, records: list[_Record], time_field: str, time_param: str) -> Response:
    """A page of records, newest first, filtered the way Twilio's list endpoints are."""
    args = request.args
    try:
        page_size = min(max(int(args.get("PageSize", 50)), 1), 1000)
        page = max(int(args.get("Page", 0)), 0)
        bounds = [(op, _parse_when(args[time_param + op]))
                  for op in ("", "<", ">") if args.get(time_param + op)]
    except ValueError as exc:
        return twilio_error(20001, detail=str(exc))
    wanted = {key: args[key] for key in ("To", "From", "Status") if args.get(key)}
    rows = [r for r in records
            if all(r.resource.get(k.lower()) == v for k, v in wanted.items())
            and all(_time_matches(r.times.get(time_field), op, b) for op, b in bounds)]
    rows.sort(key=lambda r: (r.times["date_created"], r.index), reverse=True)
    start = page * page_size
    chunk = rows[start:start + page_size]
    path = request.path
    kept = [(k, v) for k, v in args.items(multi=True) if k not in ("Page", "PageSize",
                                                                    "PageToken")]

    def page_uri(number: int) -> str:
        query = kept + [("PageSize", page_size), ("Page", number)]
        if number:
            query.append(("PageToken", f"PA{number}"))
        return f"{path}?{urlencode(query)}"

    return _json({
        resource: [r.resource for r in chunk],
        "end": start + max(len(chunk) - 1, 0),
        "first_page_uri": page_uri(0),
        "next_page_uri": page_uri(page + 1) if start + page_size < len(rows) else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": page_uri(page - 1) if page else None,
        "start": start,
        "uri": page_uri(page),
    })


def _register_api(app: Flask) -> None:
    messages = f"{API_PREFIX}/<account>/Messages"
    calls = f"{API_PREFIX}/<account>/Calls"

    @app.before_request
    def authenticate():
        if not request.path.startswith(API_PREFIX + "/"):
            return None
        state = fake_state()
        auth = request.authorization
        if auth is None or not state.check_auth(auth.username, auth.password):
            return twilio_error(20003)
        account = (request.view_args or {}).get("account")
        if account is not None and account != state.account_sid:
            return twilio_error(20003)
        return None

    @app.post(f"{messages}.json")
    def create_message(account: str):
        return _create("messages")

    @app.post(f"{calls}.json")
    def create_call(account: str):
        return _create("calls")

    @app.get(f"{messages}.json")
    def list_messages(account: str):
        state = fake_state()
        with state._lock:
            records = list(state._messages.values())
            return _list("messages", records, "date_sent", "DateSent")

    @app.get(f"{calls}.json")
    def list_calls(account: str):
        state = fake_state()
        with state._lock:
            records = list(state._calls.values())
            return _list("calls", records, "start_time", "StartTime")

    @app.get(f"{messages}/<sid>.json")
    def fetch_message(account: str, sid: str):
        found = fake_state().message(sid)
        return _json(_public(found)) if found else twilio_error(20404, path=request.path)

    @app.get(f"{calls}/<sid>.json")
    def fetch_call(account: str, sid: str):
        found = fake_state().call(sid)
        return _json(_public(found)) if found else twilio_error(20404, path=request.path)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith(API_PREFIX + "/") or exc.code in (404, 405):
            code = _CODE_FOR_STATUS.get(exc.code or 500, 20001)
            return twilio_error(code, exc.code, path=request.path,
                                detail=exc.description or "")
        return exc

    @app.errorhandler(Exception)
    def crash(exc: Exception):
        log.exception("the fake Twilio failed on %s %s", request.method, request.path)
        return twilio_error(20500)


def _public(snapshot: dict[str, Any]) -> dict[str, Any]:
    snapshot = dict(snapshot)
    snapshot.pop("params", None)
    return snapshot


# --- the control API under /_fake/ --------------------------------------------------------------


def _options() -> dict[str, Any]:
    """The JSON (or form) body of a control request."""
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        return data
    return {k: v for k, v in request.form.items()}


def _number(value: Any, kind: type = int) -> Any:
    if value is None or value == "" or value == "null":
        return None
    return kind(value)


def _register_control(app: Flask) -> None:
    @app.get("/_fake/health")
    def health():
        return _json({"ok": True})

    @app.get("/_fake/messages")
    def all_messages():
        to = request.args.get("to")
        rows = [m for m in fake_state().messages if not to or m["to"] == to]
        return _json({"messages": rows})

    @app.get("/_fake/calls")
    def all_calls():
        to = request.args.get("to")
        rows = [c for c in fake_state().calls if not to or c["to"] == to]
        return _json({"calls": rows})

    @app.get("/_fake/callbacks")
    def all_callbacks():
        return _json({"callbacks": fake_state().callbacks})

    @app.get("/_fake/state")
    def describe():
        return _json(fake_state().describe())

    @app.post("/_fake/reset")
    def reset():
        fake_state().reset()
        return _json({"ok": True})

    @app.post("/_fake/release")
    def release():
        return _json({"released": fake_state().release()})

    def control(apply: Callable[[dict[str, Any]], None]) -> Response:
        options = _options()
        try:
            apply(options)
        except (TypeError, ValueError, KeyError) as exc:
            return _json({"error": f"{type(exc).__name__}: {exc}"}, 400)
        return _json({"ok": True, "state": fake_state().describe()})

    def count(o: dict[str, Any]) -> int | None:
        return _number(o["count"]) if "count" in o else 1

    @app.post("/_fake/fail")
    def fail():
        return control(lambda o: fake_state().fail_create(
            _number(o.get("code")), http_status=_number(o.get("http_status")),
            to=o.get("to"), count=count(o), resource=o.get("resource", "messages"),
            message=o.get("message")))

    @app.post("/_fake/fail-delivery")
    def fail_delivery():
        return control(lambda o: fake_state().fail_delivery(
            _number(o["code"]), status=o.get("status", "undelivered"), to=o.get("to"),
            count=count(o)))

    @app.post("/_fake/hang")
    def hang():
        return control(lambda o: fake_state().hang_create(
            seconds=_number(o.get("seconds"), float), when=o.get("when", "before"),
            to=o.get("to"), count=count(o), resource=o.get("resource", "messages")))

    @app.post("/_fake/call-outcome")
    def call_outcome():
        return control(lambda o: fake_state().set_call_outcome(
            o["outcome"], to=o.get("to"), count=count(o)))

    @app.post("/_fake/chaos")
    def chaos():
        def apply(o: dict[str, Any]) -> None:
            enabled = o.get("enabled", True)
            if isinstance(enabled, str):
                enabled = enabled.lower() not in ("0", "false", "no", "off")
            fake_state().set_chaos(bool(enabled), duplicate=_number(o.get("duplicate"), float),
                                   reorder=_number(o.get("reorder"), float),
                                   seed=_number(o.get("seed")))

        return control(apply)


def create_fake_app(*, account_sid: str, auth_token: str, seed: int = 0,
                    callback_delay: float = 0.05, chaos: bool = True) -> Flask:
    """The fake Twilio as a Flask app; its FakeTwilioState is `fake_state(app)`.

    Status changes and callbacks run on a background thread started by the first create:
    call `fake_state(app).close()` when done (FakeTwilioServer does).
    """
    if not account_sid or not auth_token:
        raise ValueError("the fake Twilio needs an account SID and an auth token")
    app = Flask("bot.fake_twilio")
    app.extensions["fake_twilio"] = FakeTwilioState(
        account_sid=account_sid, auth_token=auth_token, seed=seed,
        callback_delay=callback_delay, chaos=chaos)
    _register_api(app)
    _register_control(app)
    return app


# --- serving ------------------------------------------------------------------------------------


class _RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, logging the path only: list queries carry phone numbers."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urlsplit(getattr(self, "path", "") or "").path
        log.debug("%s %s %s", getattr(self, "command", "-"), path, code)

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("HTTP server: %s", format.split("%")[0].strip() or "error")


class FakeTwilioServer:
    """The fake Twilio served on a real port in a background thread (a context manager)."""

    def __init__(self, *, account_sid: str = DEFAULT_ACCOUNT_SID,
                 auth_token: str = DEFAULT_AUTH_TOKEN, host: str = "127.0.0.1", port: int = 0,
                 seed: int = 0, callback_delay: float = 0.05, chaos: bool = True) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host = host
        self.app = create_fake_app(account_sid=account_sid, auth_token=auth_token, seed=seed,
                                   callback_delay=callback_delay, chaos=chaos)
        self.state: FakeTwilioState = fake_state(self.app)
        self._requested_port = port
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Start listening; `url` is valid from now on."""
        if self._server is not None:
            return self
        try:
            server = make_server(self.host, self._requested_port, self.app, threaded=True,
                                 request_handler=_RequestHandler)
        except SystemExit:  # werkzeug exits when the port is taken
            raise OSError(f"cannot listen on {self.host}:{self._requested_port}") from None
        server.daemon_threads = False  # so that closing waits for every request thread
        server.block_on_close = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="fake-twilio-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release held requests, stop callbacks, stop serving and wait for every thread."""
        self.state.close()
        if self._server is None:
            return
        server, self._server = self._server, None
        server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
        server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake Twilio is not running")
        return self._server.port

    @property
    def url(self) -> str:
        """Where to point `make_client(..., api_base=...)`, e.g. http://127.0.0.1:40123."""
        return f"http://{self.host}:{self.port}"

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.state.messages

    @property
    def calls(self) -> list[dict[str, Any]]:
        return self.state.calls

    @property
    def callbacks(self) -> list[dict[str, Any]]:
        return self.state.callbacks

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until `predicate()` is truthy; return its value or raise TimeoutError."""
        return self.state.wait_for(predicate, timeout)


def main(argv: list[str] | None = None) -> int:
    """Run the fake Twilio until interrupted (SIGINT or SIGTERM)."""
    parser = argparse.ArgumentParser(
        prog="fake-twilio", description="A local fake of Twilio's Messages and Calls API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5010, help="0 picks a free port")
    parser.add_argument("--account-sid", default=os.environ.get("TWILIO_ACCOUNT_SID"),
                        help="default: $TWILIO_ACCOUNT_SID")
    parser.add_argument("--auth-token", default=os.environ.get("TWILIO_AUTH_TOKEN"),
                        help="default: $TWILIO_AUTH_TOKEN")
    parser.add_argument("--seed", type=int, default=0, help="makes the chaos repeatable")
    parser.add_argument("--callback-delay", type=float, default=0.5,
                        help="seconds between status changes (default 0.5)")
    parser.add_argument("--no-chaos", action="store_true",
                        help="never send callbacks twice or out of order")
    args = parser.parse_args(argv)
    if not args.account_sid or not args.auth_token:
        parser.error("give --account-sid and --auth-token (or set TWILIO_ACCOUNT_SID and "
                     "TWILIO_AUTH_TOKEN)")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s fake-twilio: %(message)s", "%H:%M:%S"))
    previous = (log.level, log.propagate)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = FakeTwilioServer(account_sid=args.account_sid, auth_token=args.auth_token,
                              host=args.host, port=args.port, seed=args.seed,
                              callback_delay=args.callback_delay, chaos=not args.no_chaos)
    try:
        server.start()
    except OSError as exc:
        print(f"fake-twilio: {exc}", file=sys.stderr)
        return 1
    try:
        with server:
            print(f"fake-twilio listening on {server.url} (texts: {server.url}/_fake/messages)",
                  flush=True)
            while not stop.wait(0.5):
                pass
            log.info("stopping")
    finally:
        log.removeHandler(handler)
        log.setLevel(previous[0])
        log.propagate = previous[1]
    return 0


if __name__ == "__main__":
    sys.exit(main())
