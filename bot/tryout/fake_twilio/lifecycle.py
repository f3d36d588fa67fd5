"""How a message or call moves through its statuses, and the status callback each one sends."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .resources import API_VERSION, error_message, now, rfc2822

Update = Callable[..., None]  # applies changes (status=..., date_sent=True...) to the record

_CALL_DURATION = {"answered": 12, "machine": 20}


@dataclass
class Step:
    """One status change: how it changes the resource, and the callback it fires (if any)."""

    apply: Callable[[], None]
    callback: dict[str, str] | None


def message_steps(resource: dict[str, Any], failure: dict[str, Any] | None, *, sender: str,
                  update: Update) -> list[Step]:
    """queued, sent, then delivered; or undelivered / failed with the code of `failure` (a
    fail_delivery rule's params)."""
    service = resource["messaging_service_sid"]
    base = {"MessageSid": resource["sid"], "SmsSid": resource["sid"],
            "AccountSid": resource["account_sid"], "From": resource["from"] or sender,
            "To": resource["to"], "ApiVersion": API_VERSION}
    if service:
        base["MessagingServiceSid"] = service

    def step(status: str, extra: dict[str, str] | None = None, **changes: Any) -> Step:
        params = {**base, "MessageStatus": status, "SmsStatus": status, **(extra or {})}
        return Step(lambda: update(status=status, **changes), params)

    dlr = {"RawDlrDoneDate": now().strftime("%y%m%d%H%M")}
    steps = [step("queued", **({"from": sender} if service else {}))]
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


def call_steps(resource: dict[str, Any], params: dict[str, Any], outcome: str, *,
               callback_delay: float, update: Update,
               on_answer: Callable[[str | None], None] | None = None) -> list[Step]:
    """initiated, ringing, answered, completed, as far as `outcome` goes; a callback only for
    the events the create asked for (StatusCallbackEvent, default completed). Once the call
    is answered, `on_answer(answered_by)` runs (the answerer follows the TwiML) before the
    call can complete."""
    wanted = params.get("StatusCallbackEvent") or ["completed"]
    wanted = [wanted] if isinstance(wanted, str) else wanted
    detection = params.get("MachineDetection")
    answered_by = None
    if detection and outcome == "answered":
        answered_by = "human"
    elif detection and outcome == "machine":
        answered_by = "machine_end_beep" if detection == "DetectMessageEnd" else \
            "machine_start"
    duration = _CALL_DURATION.get(outcome, 0)
    final = "completed" if outcome in ("answered", "machine") else outcome
    base = {"CallSid": resource["sid"], "AccountSid": resource["account_sid"],
            "From": resource["from"], "To": resource["to"], "Caller": resource["from"],
            "Called": resource["to"], "Direction": "outbound-api", "ApiVersion": API_VERSION,
            "CallbackSource": "call-progress-events"}
    plan: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("initiated", "initiated", {"start_time": True}, {})]
    if outcome != "busy" and outcome != "failed":
        plan.append(("ringing", "ringing", {"status": "ringing"}, {}))
    # With asynchronous AMD the verdict goes to its own callback, not the status callbacks.
    told = None if str(params.get("AsyncAmd", "")).lower() == "true" else answered_by
    if outcome in ("answered", "machine"):
        extra = {"AnsweredBy": told} if told else {}
        plan.append(("answered", "in-progress",
                     {"status": "in-progress", "answered_by": answered_by}, extra))
    done = {"CallDuration": str(duration)}
    if told:
        done["AnsweredBy"] = told
    plan.append(("completed", final, {"status": final, "end_time": True,
                                      "duration": str(duration)}, done))
    steps, sequence = [], itertools.count()
    start = time.time()
    for i, (event, call_status, changes, extra) in enumerate(plan):
        callback = None
        if event in wanted:
            when = datetime.fromtimestamp(start + (i + 1) * callback_delay, UTC)
            callback = {**base, "CallStatus": call_status, **extra,
                        "SequenceNumber": str(next(sequence)), "Timestamp": rfc2822(when)}
        if event == "answered" and on_answer is not None:
            def answer(c=changes, by=answered_by):
                update(**c)
                on_answer(by)
            steps.append(Step(answer, callback))
        else:
            steps.append(Step(lambda c=changes: update(**c), callback))
    return steps
