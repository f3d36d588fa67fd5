"""FakeTwilioState: the records, the rules that steer creates, held requests, chaos, and the
background thread that applies status changes and posts signed callbacks."""

from __future__ import annotations

import dataclasses
import heapq
import hmac
import itertools
import json
import logging
import random
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from twilio.request_validator import RequestValidator

from bot import phones

from .answerer import Conversation, converse, post_amd
from .lifecycle import Step, call_steps, message_steps
from .resources import (
    CALL_OUTCOMES,
    CODE_FOR_STATUS,
    DEFAULT_SENDER,
    RESOURCES,
    STATUS_FOR_CODE,
    error_message,
    log,
    new_call,
    new_message,
    now,
    rfc2822,
)

_PROGRESS = frozenset({"accepted", "queued", "sending", "sent", "ringing", "in-progress"})


@dataclass
class Rule:
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
class Hold:
    resource: str
    to: str
    when: str
    seconds: float | None
    since: float = field(default_factory=time.monotonic)
    released: threading.Event = field(default_factory=threading.Event)


@dataclass
class Record:
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


def _client_gone(sock: socket.socket | None) -> bool:
    """True if the peer of a request's socket has closed it (timed out, killed...)."""
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _safe_url(url: str) -> str:
    """A URL without its query string, for logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


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
        self._records: dict[str, dict[str, Record]] = {"messages": {}, "calls": {}}
        self.deleted_recordings: set[str] = set()  # what DELETE …/Recordings/RE… removed
        self.recording_fetches: list[str] = []  # the sids whose media was fetched
        self._callbacks: list[dict[str, Any]] = []
        self._refused: list[dict[str, Any]] = []
        self._rules: list[Rule] = []
        self._holds: list[Hold] = []
        self._events: list[_Event] = []
        self._event_seq = itertools.count()
        self._creates = itertools.count()
        self._closed = False
        self._running = 0  # scheduled actions being run right now (0 or 1)
        self._dispatcher: threading.Thread | None = None
        self._conversations: dict[str, Conversation] = {}  # call sid -> what was heard
        self._redirects: dict[str, tuple[str, str]] = {}  # call sid -> (Url, Method) to follow
        self.redirect_wait = 5.0  # how long a machine records before it hangs up
        self._opted_out: set[str] = set()  # numbers that replied STOP: texts to them fail
        self._handed_over: set[str] = set()  # numbers whose calls are answered outside
        self._answering: dict[str, tuple] = {}  # call sid -> what completes it at hang-up

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
        return self._snapshots("messages")

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Every call created, oldest first, shaped like `messages`."""
        return self._snapshots("calls")

    def _snapshots(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r.snapshot() for r in self._records[kind].values()]

    def records(self, kind: str) -> list[Record]:
        """Copies of the records of `kind` (messages or calls), oldest first, for listing."""
        with self._lock:
            return [dataclasses.replace(r, resource=dict(r.resource), times=dict(r.times))
                    for r in self._records[kind].values()]

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
            moment = time.monotonic()
            return {
                "messages": len(self._records["messages"]),
                "calls": len(self._records["calls"]),
                "callbacks": len(self._callbacks),
                "pending": len(self._events) + self._running,
                "held": [{"resource": h.resource, "to": h.to, "when": h.when,
                          "seconds": h.seconds, "held_for": round(moment - h.since, 3)}
                         for h in self._holds],
                "refused": list(self._refused),
                "rules": [r.describe() for r in self._rules],
                "chaos": {"enabled": self.chaos, "duplicate": self.duplicate_probability,
                          "reorder": self.reorder_probability, "seed": self.seed},
            }

    def message(self, sid: str) -> dict[str, Any] | None:
        return self.find("messages", sid)

    def call(self, sid: str) -> dict[str, Any] | None:
        return self.find("calls", sid)

    def find(self, kind: str, sid: str) -> dict[str, Any] | None:
        """The message or call (`kind`) with this sid, shaped like `messages`; None if none."""
        with self._lock:
            record = self._records[kind].get(sid)
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
            code = CODE_FOR_STATUS.get(http_status, http_status)
        status = http_status or STATUS_FOR_CODE.get(code, 400)
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
            self._release_holds()
            return len(self._holds)

    def set_answerer(self, script: list[str], *, to: str | None = None,
                     count: int | None = 1) -> None:
        """What whoever answers the next `count` calls (to `to` if given) does at each
        question: digits to press, "" for silence, "hangup" (see answerer.py). Calls no
        rule covers are answered by someone who hears the greeting and hangs up."""
        if not isinstance(script, list) or not all(isinstance(m, str) for m in script):
            raise ValueError('script is a list of keys to press, "" or "hangup"')
        self._add_rule("answerer", "calls", to, count, {"script": list(script)})

    def redirect_call(self, sid: str, params: dict[str, Any]) -> dict[str, Any] | None | bool:
        """A call update: the call's resource, None if unknown, False if it has ended."""
        found = self.find("calls", sid)
        if found is None:
            return None
        if found.get("status") in ("completed", "busy", "failed", "no-answer", "canceled"):
            return False
        with self._changed:
            self._redirects[sid] = (params.get("Url", ""), params.get("Method") or "POST")
            self._changed.notify_all()
        log.info("call %s redirected", sid)
        return found

    def _await_redirect(self, sid: str) -> tuple[str, str] | None:
        """Wait (a machine recording) for a redirect of the call; None if none came."""
        with self._changed:
            self._changed.wait_for(lambda: sid in self._redirects, timeout=self.redirect_wait)
            return self._redirects.pop(sid, None)

    def conversation(self, sid: str) -> Conversation | None:
        """What the answerer of call `sid` heard and pressed, once it has answered."""
        with self._lock:
            return self._conversations.get(sid)

    def opt_out(self, number: str, *, stopped: bool = True) -> None:
        """The person at `number` replied STOP (or START again): as Twilio does, texts to
        them fail with 21610 until they opt back in."""
        with self._changed:
            (self._opted_out.add if stopped else self._opted_out.discard)(number)
            self._changed.notify_all()

    def is_opted_out(self, number: str | None) -> bool:
        with self._lock:
            return number in self._opted_out

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
            self._release_holds()
            for store in self._records.values():
                store.clear()
            self._callbacks.clear()
            self._refused.clear()
            self._rules.clear()
            self._events.clear()
            self._conversations.clear()
            self._opted_out.clear()
            self.deleted_recordings.clear()
            self.recording_fetches.clear()
            self._handed_over.clear()
            self._answering.clear()
            self._creates = itertools.count()

    def close(self) -> None:
        """Stop sending callbacks and release held requests. Idempotent."""
        with self._changed:
            self._closed = True
            self._release_holds()
            self._events.clear()
            dispatcher = self._dispatcher
        if dispatcher is not None and dispatcher is not threading.current_thread():
            dispatcher.join(timeout=10)

    @property
    def closed(self) -> bool:
        return self._closed

    def _release_holds(self) -> None:
        """Wake every held request and every waiter (the caller holds the lock)."""
        for hold in self._holds:
            hold.released.set()
        self._changed.notify_all()

    def _add_rule(self, action: str, resource: str, to: str | None, count: int | None,
                  params: dict[str, Any]) -> None:
        if resource not in RESOURCES:
            raise ValueError(f"resource is one of {', '.join(RESOURCES)}")
        if count is not None and count < 1:
            raise ValueError("count is at least 1 (or None for every matching create)")
        with self._changed:
            self._rules.append(Rule(action, resource, to, count, params))
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
        hold = Hold(resource, to, when, seconds)
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
        created = now()
        resource = new_message(self.account_sid, params, created)
        failure = self.take_rule("deliver", "messages", resource["to"])
        record, snapshot = self._store("messages", resource, params,
                                       {"date_created": created, "date_sent": None})
        service = resource["messaging_service_sid"]
        log.info("text %s to %s from %s: %d characters, %s segment(s)%s", resource["sid"],
                 phones.mask(resource["to"]), phones.mask(params.get("From") or self.sender),
                 len(resource["body"]), resource["num_segments"],
                 f", via {service}" if service else "")
        steps = message_steps(resource, failure, sender=self.sender,
                              update=partial(self._update, record, "messages"))
        self._plan(record, steps, params)
        return snapshot

    def record_call(self, params: dict[str, Any]) -> dict[str, Any]:
        """Store a new call, plan its progress and callbacks; return its resource JSON."""
        created = now()
        resource = new_call(self.account_sid, params, created)
        rule = self.take_rule("outcome", "calls", resource["to"])
        outcome = rule["outcome"] if rule else "answered"
        record, snapshot = self._store("calls", resource, params, {
            "date_created": created, "start_time": None, "end_time": None})
        log.info("call %s to %s from %s (will be: %s)", resource["sid"],
                 phones.mask(resource["to"]), phones.mask(resource["from"]), outcome)
        url, method = params.get("Url"), params.get("Method") or "POST"
        update = partial(self._update, record, "calls")
        if outcome == "answered" and url and self.is_handed_over(resource["to"]):
            steps = call_steps(resource, params, outcome, callback_delay=self.callback_delay,
                               update=update)
            with self._changed:  # answered now; completed when the answerer hangs up
                self._answering[resource["sid"]] = (record, steps[-1:], params, url, method)
            self._plan(record, steps[:-1], params)
            return snapshot
        script = (self.take_rule("answerer", "calls", resource["to"]) or {}).get("script", [])
        amd = params.get("AsyncAmdStatusCallback") \
            if str(params.get("AsyncAmd", "")).lower() == "true" else None
        on_answer = partial(self._answer, resource, url, method, script, amd) if url else None
        steps = call_steps(resource, params, outcome, callback_delay=self.callback_delay,
                           update=update, on_answer=on_answer)
        self._plan(record, steps, params)
        return snapshot

    # -- calls answered outside the fake (`caseline chat`) ----------------------------------

    def hand_over(self, number: str, *, on: bool = True) -> None:
        """Calls to `number` are answered by someone outside the fake, who follows the
        TwiML themselves (see `waiting_calls`) and then hangs up (`hang_up`)."""
        with self._changed:
            (self._handed_over.add if on else self._handed_over.discard)(number)
            self._changed.notify_all()

    def is_handed_over(self, number: str | None) -> bool:
        with self._lock:
            return number in self._handed_over

    def waiting_calls(self, number: str) -> list[dict[str, Any]]:
        """Calls to `number` waiting to be answered outside: their sid, Url and method."""
        with self._lock:
            return [{"sid": sid, "url": url, "method": method, "from": record.resource["from"],
                     "to": record.resource["to"]}
                    for sid, (record, _steps, _params, url, method) in self._answering.items()
                    if record.resource["to"] == number]

    def hang_up(self, sid: str) -> bool:
        """The outside answerer hung up: the call completes, with its callback."""
        with self._changed:
            waiting = self._answering.pop(sid, None)
        if waiting is None:
            return False
        record, rest, params, _url, _method = waiting
        self._plan(record, rest, params)
        return True

    def _answer(self, resource: dict[str, Any], url: str, method: str, script: list[str],
                amd_callback: str | None, answered_by: str | None) -> None:
        """Someone answered: follow the call's TwiML as they would (the call completes
        only after this, as on Twilio, where the status callback comes at hang-up).

        With asynchronous AMD the call's TwiML is fetched without AnsweredBy and the
        verdict goes to `amd_callback`; a machine records what it is told, and follows a
        redirect (a call update) if one comes while it is still recording."""
        if amd_callback:
            post_amd(resource, amd_callback, answered_by or "unknown", self._validator)
        machine = bool(answered_by and answered_by.startswith(("machine", "fax")))
        said = converse(resource, url, method, script,
                        answered_by=None if amd_callback else answered_by,
                        validator=self._validator,
                        redirect=partial(self._await_redirect, resource["sid"])
                        if amd_callback and machine else None)
        log.info("call %s answered: %d thing(s) heard, %d answer(s) keyed, ended by the %s",
                 resource["sid"], len(said.heard), len(said.pressed), said.ended_by)
        with self._changed:
            self._conversations[resource["sid"]] = said
            self._changed.notify_all()

    def _store(self, kind: str, resource: dict[str, Any], params: dict[str, Any],
               times: dict[str, datetime | None]) -> tuple[Record, dict[str, Any]]:
        """Keep a new record; return it and a copy of its resource as it was created."""
        with self._changed:
            record = Record(next(self._creates), resource, params, times)
            self._records[kind][resource["sid"]] = record
            self._changed.notify_all()
            return record, dict(resource)

    def _update(self, record: Record, kind: str, **changes: Any) -> None:
        """Apply a status change to a record, if it still exists (reset() forgets it)."""
        with self._changed:
            if self._records[kind].get(record.resource["sid"]) is not record:
                return
            moment = now()
            for name in ("date_sent", "start_time", "end_time"):
                if changes.pop(name, False):
                    record.times[name] = moment
                    record.resource[name] = rfc2822(moment)
            record.resource.update(changes, date_updated=rfc2822(moment))
            self._changed.notify_all()
        status = changes.get("status")
        if status:
            code = changes.get("error_code")
            level = logging.DEBUG if status in _PROGRESS else logging.INFO
            log.log(level, "%s %s%s", record.resource["sid"], status,
                    f" ({code} {error_message(code)})" if code else "")

    # -- status changes and callbacks ----------------------------------------------------------

    def _plan(self, record: Record, steps: list[Step], params: dict[str, Any]) -> None:
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
            post = partial(self._post_callback, sid, url, method, callbacks[which])
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
                    moment = time.monotonic()
                    if self._events and self._events[0].due <= moment:
                        break
                    wait = self._events[0].due - moment if self._events else 0.5
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
