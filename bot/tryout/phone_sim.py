"""A simulated phone that texts and calls the line through its real Twilio webhooks.

It does what Twilio does: posts Twilio's form fields, signs every request with the
auth token for the public URL (X-Twilio-Signature), and follows the TwiML it gets back
(`<Gather>`, `<Redirect>`, `<Dial>`, `<Record>`, `<Hangup>`). `caseline chat` and the
webhook tests both use it, so what a tester sees is what Twilio would do.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator

# (url, form, headers) -> (HTTP status, body)
Transport = Callable[[str, dict, dict], tuple[int, str]]


@dataclass
class CallStep:
    """What the caller heard in one step, and what the line now waits for."""

    said: list[str] = field(default_factory=list)
    gather: dict | None = None  # the <Gather> attributes while it waits for an answer
    record: dict | None = None  # the <Record> attributes while it waits for a message
    dial: str | None = None  # the number being put through
    dial_action: str | None = None
    redirect: str | None = None
    ended: bool = False
    xml: str = ""

    @property
    def text(self) -> str:
        return " ".join(self.said)


class PhoneError(RuntimeError):
    """The line answered something Twilio would not accept."""


class SimulatedPhone:
    def __init__(self, transport: Transport, *, public_url: str, auth_token: str,
                 from_number: str, to_number: str, account_sid: str = "AC" + "0" * 32,
                 direction: str = "inbound"):
        self.transport = transport
        self.public_url = public_url.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.from_number, self.to_number, self.account_sid = from_number, to_number, account_sid
        self.direction = direction  # "outbound-api" when the line called us
        self.call_sid: str | None = None
        self.step: CallStep | None = None

    # ---- texts ----------------------------------------------------------------------------
    def text(self, body: str) -> list[str]:
        """Send a text; return the texts the line answers with."""
        sid = "SM" + uuid.uuid4().hex
        form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": self.account_sid,
                "From": self.from_number, "To": self.to_number, "Body": body,
                "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received",
                "ApiVersion": "2010-04-01", "FromCountry": "GB", "ToCountry": "GB"}
        status, answer = self.post("/twilio/sms", form)
        if status != 200:
            raise PhoneError(f"the line answered HTTP {status} to a text")
        return [m.text or "" for m in _parse(answer).iter("Message")]

    # ---- calls ----------------------------------------------------------------------------
    def call(self) -> CallStep:
        """Ring the line; returns what it says first."""
        self.call_sid = "CA" + uuid.uuid4().hex
        return self._follow(self._call_post("/twilio/voice", {"CallStatus": "ringing"}))

    def answer(self, call_sid: str, url: str) -> CallStep:
        """Pick up a call the line made (From is the line, To is us): what it says first."""
        self.call_sid = call_sid
        return self._follow(self._call_post(url, {"AnsweredBy": "human"}))

    def press(self, digits: str) -> CallStep:
        return self._answer({"Digits": digits})

    def say(self, words: str, confidence: float = 0.9) -> CallStep:
        return self._answer({"SpeechResult": words, "Confidence": f"{confidence:.2f}"})

    def silence(self) -> CallStep:
        return self._answer({})

    def leave_message(self, seconds: int = 12) -> CallStep:
        step = self._waiting()
        if not step.record:
            raise PhoneError("the line is not recording a message")
        sid = "RE" + uuid.uuid4().hex
        url = f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}"
        form = {"RecordingUrl": url, "RecordingDuration": str(seconds), "RecordingSid": sid,
                "Digits": "hangup"}
        return self._follow(self._call_post(step.record["action"], form))

    def dial_result(self, status: str) -> CallStep:
        """What happened when the line put us through: completed, busy, no-answer, failed."""
        step = self._waiting()
        if not step.dial_action:
            raise PhoneError("the line is not putting the call through")
        form = {"DialCallStatus": status, "DialCallSid": "CA" + uuid.uuid4().hex}
        return self._follow(self._call_post(step.dial_action, form))

    def _answer(self, form: dict) -> CallStep:
        step = self._waiting()
        if not step.gather:
            raise PhoneError("the line is not waiting for an answer")
        return self._follow(self._call_post(step.gather["action"], form))

    def _waiting(self) -> CallStep:
        if self.step is None or self.step.ended:
            raise PhoneError("there is no call in progress")
        return self.step

    def _call_post(self, url: str, extra: dict) -> str:
        form = {"CallSid": self.call_sid, "AccountSid": self.account_sid,
                "From": self.from_number, "To": self.to_number, "CallStatus": "in-progress",
                "Direction": self.direction, "ApiVersion": "2010-04-01", "CallerCountry": "GB",
                **extra}
        status, body = self.post(url, form)
        if status != 200:
            raise PhoneError(f"the line answered HTTP {status} during a call")
        return body

    def _follow(self, body: str, hops: int = 0) -> CallStep:
        step = read_call_step(body)
        if step.redirect and not step.gather and not step.record and not step.dial:
            if hops > 5:
                raise PhoneError("the line redirected more than five times in a row")
            heard = step.said
            step = self._follow(self._call_post(step.redirect, {}), hops + 1)
            step.said = heard + step.said
        self.step = step
        return step

    # ---- signing, as Twilio does ----------------------------------------------------------
    def post(self, path_or_url: str, form: dict) -> tuple[int, str]:
        url = path_or_url if "://" in path_or_url else self.public_url + path_or_url
        signature = self.validator.compute_signature(url, form)
        return self.transport(url, form, {"X-Twilio-Signature": signature})


def read_call_step(body: str) -> CallStep:
    """Parse a TwiML answer to a call into what is said and what happens next."""
    root = _parse(body)
    if root.tag != "Response":
        raise PhoneError("TwiML must have <Response> at its root")
    step = CallStep(xml=body)
    for verb in root:
        _read_verb(step, verb)
    return step


def _read_verb(step: CallStep, verb: ET.Element) -> None:
    if verb.tag == "Say":
        step.said.append(" ".join("".join(verb.itertext()).split()))
    elif verb.tag == "Gather":
        step.gather = dict(verb.attrib)
        for inner in verb:
            _read_verb(step, inner)
    elif verb.tag == "Record":
        step.record = dict(verb.attrib)
    elif verb.tag == "Dial":
        step.dial = (verb.text or "").strip()
        step.dial_action = verb.attrib.get("action")
    elif verb.tag == "Redirect":
        step.redirect = (verb.text or "").strip()
    elif verb.tag == "Hangup":
        step.ended = True


def _parse(body: str) -> ET.Element:
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise PhoneError(f"the line's answer is not valid TwiML: {exc}") from None


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
