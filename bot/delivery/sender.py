"""Sending texts and starting calls: one interface, Twilio behind it.

`TwilioSender` uses the real twilio-python client, built lazily from settings;
`TWILIO_API_BASE` points it at a mock (Prism) or the local fake Twilio through the
client's documented `http_client` hook. Every failure is classified once, here:
retry later, final (a person must act), or ambiguous (the request may have reached
Twilio, so it must not be sent again blindly).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import requests
from twilio.base.exceptions import TwilioRestException

from bot.config import Settings

# Twilio error codes (guides/twilio.md): what each means for the next step.
FINAL_CODES = {
    21211: "the number is not valid",
    21408: "texts to this country are not enabled",
    21610: "the person has replied STOP to our texts",
    21612: "Twilio cannot route to this number",
    21614: "the number is not a mobile, so it cannot take texts",
    30004: "the message was blocked",
    30006: "the number is a landline or its network cannot be reached",
    30007: "the network filtered the message as unwanted",
}
RETRY_CODES = {
    20429: "Twilio asked us to slow down",
    30001: "Twilio's queue was full",
    30003: "the phone was switched off or out of signal",
    30008: "the network reported an unknown error",
}
CHECK_CODES = {30005: "the number may be unknown or no longer in use"}


class Outcome(enum.StrEnum):
    RETRY = "retry"  # try again after a back-off
    CHECK = "check"  # retry once more; a second time is final
    FINAL = "final"  # stop; a person must act
    AMBIGUOUS = "ambiguous"  # Twilio may have accepted it: look before resending


@dataclass(frozen=True)
class Accepted:
    """Twilio took the request: its sid and first status."""

    sid: str
    status: str


@dataclass(frozen=True)
class Found:
    """A message or call found at Twilio when checking what happened."""

    sid: str
    status: str
    body: str
    created: datetime | None
    error_code: int | None = None
    answered_by: str = ""


class SendError(Exception):
    """A send that did not go through, classified."""

    def __init__(self, outcome: Outcome, reason: str, *, code: int | None = None,
                 http_status: int | None = None):
        super().__init__(reason)
        self.outcome, self.reason, self.code, self.http_status = outcome, reason, code, http_status


class Sender(Protocol):
    def send_text(self, *, to: str, from_: str, body: str,
                  status_callback: str | None) -> Accepted: ...

    def start_call(self, *, to: str, from_: str, url: str, status_callback: str,
                   timeout: int, amd_callback: str | None = None) -> Accepted: ...

    def redirect_call(self, *, sid: str, url: str) -> None: ...

    def find_recent(self, *, channel: str, to: str, since: datetime) -> list[Found]: ...

    def fetch(self, *, channel: str, sid: str) -> Found: ...

    def delete_recording(self, *, sid: str) -> bool: ...


def classify_code(code: int | None) -> tuple[Outcome, str]:
    """What a Twilio error code (from an API error or a status callback) means."""
    if code in FINAL_CODES:
        return Outcome.FINAL, FINAL_CODES[code]
    if code in RETRY_CODES:
        return Outcome.RETRY, RETRY_CODES[code]
    if code in CHECK_CODES:
        return Outcome.CHECK, CHECK_CODES[code]
    return Outcome.FINAL, f"Twilio refused it (error {code})"


def classify(exc: Exception) -> SendError:
    """Turn whatever the client raised into a SendError."""
    if isinstance(exc, SendError):
        return exc
    if isinstance(exc, TwilioRestException):
        if exc.status == 429 or exc.status >= 500:
            return SendError(Outcome.RETRY, f"Twilio answered HTTP {exc.status}",
                             code=exc.code, http_status=exc.status)
        outcome, reason = classify_code(exc.code)
        return SendError(outcome, reason, code=exc.code, http_status=exc.status)
    if isinstance(exc, requests.ConnectTimeout | requests.ConnectionError) and not isinstance(
        exc, requests.ReadTimeout
    ):
        # The connection was never made, so Twilio cannot have the request.
        return SendError(Outcome.RETRY, "could not connect to Twilio")
    # A read timeout or a broken answer: the request may have been accepted.
    return SendError(Outcome.AMBIGUOUS, f"no answer from Twilio ({type(exc).__name__})")


class TwilioSender:
    """The Sender for Twilio (or anything speaking its API at `TWILIO_API_BASE`)."""

    def __init__(self, settings: Settings, timeout: float = 15.0):
        self._settings = settings
        self._timeout = timeout
        self._client = None

    @property
    def client(self):
        if self._client is None:  # built on first use, never at import time
            from .twilio_http import make_client

            s = self._settings
            self._client = make_client(s.twilio_account_sid, s.twilio_auth_token,
                                       s.twilio_api_base or None, timeout=self._timeout)
        return self._client

    def close(self) -> None:
        """Close the HTTP connections the client keeps open."""
        http = getattr(self._client, "http_client", None)
        if http is not None and getattr(http, "session", None) is not None:
            http.session.close()

    def send_text(self, *, to: str, from_: str, body: str,
                  status_callback: str | None) -> Accepted:
        sender = ({"messaging_service_sid": from_} if from_.startswith("MG") else {"from_": from_})
        try:
            message = self.client.messages.create(to=to, body=body,
                                                  status_callback=status_callback, **sender)
        except Exception as exc:  # every client failure is classified, none escapes raw
            raise classify(exc) from exc
        return Accepted(message.sid, message.status)

    def start_call(self, *, to: str, from_: str, url: str, status_callback: str,
                   timeout: int, amd_callback: str | None = None) -> Accepted:
        """Start a call. With `amd_callback`, answering-machine detection runs alongside
        the call (asynchronous AMD): whoever answers hears us at once, never a silence
        while Twilio listens, and the verdict is posted to `amd_callback` later; a machine
        is detected at the end of its greeting, so a message left then is recorded whole."""
        detection = dict(machine_detection="Enable")
        if amd_callback:
            detection = dict(machine_detection="DetectMessageEnd", async_amd="true",
                             async_amd_status_callback=amd_callback,
                             async_amd_status_callback_method="POST")
        try:
            call = self.client.calls.create(
                to=to, from_=from_, url=url, method="POST", status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=["initiated", "ringing", "answered", "completed"],
                timeout=timeout, **detection,
            )
        except Exception as exc:  # every client failure is classified, none escapes raw
            raise classify(exc) from exc
        return Accepted(call.sid, call.status)

    def redirect_call(self, *, sid: str, url: str) -> None:
        """Make a call in progress follow the TwiML at `url` instead (a machine answered)."""
        try:
            self.client.calls(sid).update(url=url, method="POST")
        except Exception as exc:
            raise classify(exc) from exc

    def find_recent(self, *, channel: str, to: str, since: datetime) -> list[Found]:
        """Messages or calls to `to` created since `since`, newest first.

        Twilio's date filters use DateSent / StartTime, which stay empty while a message
        is queued or a call is ringing: the newest ones are listed and filtered here.
        """
        try:
            if channel == "sms":
                rows = self.client.messages.list(to=to, limit=50)
                found = [Found(m.sid, m.status, m.body or "", m.date_created) for m in rows]
            else:
                rows = self.client.calls.list(to=to, limit=50)
                found = [Found(c.sid, c.status, "", c.date_created) for c in rows]
        except Exception as exc:  # a failed look-up is itself ambiguous
            raise classify(exc) from exc
        return [f for f in found if f.created is None or f.created >= since]

    def fetch(self, *, channel: str, sid: str) -> Found:
        """The message or call with this sid as Twilio has it now."""
        try:
            if channel == "sms":
                m = self.client.messages(sid).fetch()
                return Found(m.sid, m.status, m.body or "", m.date_created,
                             error_code=_code(m.error_code))
            c = self.client.calls(sid).fetch()
            return Found(c.sid, c.status, "", c.date_created,
                         answered_by=getattr(c, "answered_by", None) or "")
        except Exception as exc:  # a failed look-up settles nothing
            raise classify(exc) from exc


    def delete_recording(self, *, sid: str) -> bool:
        """Delete a call recording at Twilio: True if deleted now, False if it was gone."""
        try:
            return bool(self.client.recordings(sid).delete())
        except TwilioRestException as exc:
            if exc.status == 404:
                return False
            raise classify(exc) from exc
        except Exception as exc:
            raise classify(exc) from exc


def _code(raw) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None
