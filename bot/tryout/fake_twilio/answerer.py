"""Someone (or something) answering a call we make: the fake fetches the call's TwiML
from its `Url`, signed as Twilio signs it, and follows it as a scripted answerer would.

A script is what the answerer does at each `<Gather>`, in order: digits to press
("4821"), "" for silence, or "hangup". When the script runs out they hang up. So
`["4821"]` is a person who gives their PIN, hears what follows and hangs up at the next
question; `[]` is a person who listens to the greeting and hangs up; a machine hears
what a machine is told (AnsweredBy=machine_start) and the call ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import requests
from twilio.request_validator import RequestValidator

from .resources import API_VERSION, log

MAX_STEPS = 30  # a TwiML loop never holds the fake for ever
HANGUP = "hangup"


@dataclass
class Conversation:
    """What the answerer heard (the words of every <Say>) and pressed, and how it ended."""

    heard: list[str] = field(default_factory=list)
    pressed: list[str] = field(default_factory=list)
    ended_by: str = "answerer"  # answerer (hung up) | line (<Hangup/>) | error


def converse(call: dict[str, Any], url: str, method: str, script: list[str], *,
             answered_by: str | None, validator: RequestValidator,
             redirect: Callable[[], tuple[str, str] | None] | None = None) -> Conversation:
    """Follow the call's TwiML with `script`; never raises (a fake outlives its caller).

    With `redirect` (a machine, under asynchronous AMD) the first document is recorded,
    nothing is keyed, and the call then follows the redirect if one comes."""
    base = {"CallSid": call["sid"], "AccountSid": call["account_sid"], "From": call["from"],
            "To": call["to"], "Caller": call["from"], "Called": call["to"],
            "Direction": "outbound-api", "ApiVersion": API_VERSION, "CallStatus": "in-progress"}
    if answered_by:
        base["AnsweredBy"] = answered_by
    said = Conversation()
    moves = list(script)
    target: tuple[str, str, dict] | None = (url, method, {})
    try:
        if redirect is not None:
            _follow(_fetch(url, method, base, validator), [], said)  # what it records
            moved = redirect()
            target = (moved[0], moved[1], {}) if moved else None
        for _ in range(MAX_STEPS):
            if target is None:
                break
            where, how, extra = target
            document = _fetch(where, how, {**base, **extra}, validator)
            target = _follow(document, moves, said)
    except (requests.RequestException, ElementTree.ParseError) as exc:
        log.warning("call %s: its TwiML could not be followed (%s)", call["sid"],
                    type(exc).__name__)
        said.ended_by = "error"
    return said


def post_amd(call: dict[str, Any], url: str, answered_by: str,
             validator: RequestValidator) -> None:
    """Twilio's asynchronous AMD callback: who answered, posted signed to `url`."""
    params = {"CallSid": call["sid"], "AccountSid": call["account_sid"],
              "AnsweredBy": answered_by, "MachineDetectionDuration": "2100"}
    headers = {"X-Twilio-Signature": validator.compute_signature(url, params),
               "User-Agent": "TwilioProxy/1.1"}
    try:
        requests.post(url, data=params, headers=headers, timeout=(2, 10))
    except requests.RequestException as exc:
        log.warning("call %s: the AMD callback could not be posted (%s)", call["sid"],
                    type(exc).__name__)


def _fetch(url: str, method: str, params: dict, validator: RequestValidator) -> ElementTree:
    headers = {"X-Twilio-Signature": validator.compute_signature(url, params),
               "User-Agent": "TwilioProxy/1.1"}
    if method.upper() == "GET":
        sep = "&" if "?" in url else "?"
        full = url + sep + urlencode(params)
        headers["X-Twilio-Signature"] = validator.compute_signature(full, {})
        response = requests.get(full, headers=headers, timeout=(2, 10))
    else:
        response = requests.post(url, data=params, headers=headers, timeout=(2, 10))
    response.raise_for_status()
    return ElementTree.fromstring(response.content)


def _follow(document, moves: list[str], said: Conversation):
    """Walk one TwiML document; the next request to make, or None when the call ends."""
    for verb in document:
        if verb.tag == "Say":
            said.heard.append("".join(verb.itertext()).strip())
        elif verb.tag == "Gather":
            for inner in verb.iter("Say"):
                said.heard.append("".join(inner.itertext()).strip())
            if not moves or moves[0] == HANGUP:
                return None
            keys = moves.pop(0)
            said.pressed.append(keys)
            return (verb.get("action"), verb.get("method", "POST"), {"Digits": keys})
        elif verb.tag == "Redirect":
            return ((verb.text or "").strip(), verb.get("method", "POST"), {})
        elif verb.tag == "Dial":  # nobody is at the other end of a fake's dial
            action = verb.get("action")
            return (action, verb.get("method", "POST"), {"DialCallStatus": "no-answer"}) \
                if action else None
        elif verb.tag == "Record":
            return None  # a scripted answerer leaves no voice message: they hang up
        elif verb.tag == "Hangup":
            said.ended_by = "line"
            return None
    said.ended_by = "line"  # the document ran out: Twilio ends the call
    return None
