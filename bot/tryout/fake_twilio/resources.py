"""What the fake says, shaped as Twilio says it: message and call resources, errors, segments."""

from __future__ import annotations

import json
import logging
import math
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from flask import Response

from bot import phones

# One logger for the whole package, not one per module: `main()` attaches its handler to it
# and people set its level by this name (and __name__ would be "__main__" under `-m`).
log = logging.getLogger("bot.tryout.fake_twilio")

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
    21220: "Call is not in-progress. Cannot redirect.",
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
STATUS_FOR_CODE = {20003: 401, 20004: 405, 20404: 404, 20429: 429, 20500: 500, 20503: 503}
CODE_FOR_STATUS = {401: 20003, 404: 20404, 405: 20004, 429: 20429, 500: 20500, 503: 20503}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def error_message(code: int, **detail: str) -> str:
    """Twilio's message for `code`, with the placeholders that apply filled in."""
    return _ERROR_MESSAGES.get(code, f"Error {code}").format_map(_Blank(detail))


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def twilio_error(code: int | None, status: int | None = None, message: str | None = None,
                 **detail: str) -> Response:
    """An error response in Twilio's JSON shape (twilio-python turns it into a
    TwilioRestException whose .code and .status are these)."""
    if code is None:
        code = CODE_FOR_STATUS.get(status or 500, 20500)
    status = status or STATUS_FOR_CODE.get(code, 400)
    response = json_response({
        "code": code,
        "message": message or error_message(code, **detail),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


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


def now() -> datetime:
    """The time as Twilio keeps it: UTC, whole seconds."""
    return datetime.now(UTC).replace(microsecond=0)


def rfc2822(moment: datetime | None) -> str | None:
    return None if moment is None else format_datetime(moment.astimezone(UTC))


def _formatted(number: str) -> str:
    try:
        return phones.display(number)
    except ValueError:
        return number


def new_message(account_sid: str, params: dict[str, Any], created: datetime) -> dict[str, Any]:
    """The resource of a message just created with the form `params`."""
    sid = "SM" + uuid.uuid4().hex
    service = params.get("MessagingServiceSid")
    body = params.get("Body", "")
    media = params.get("MediaUrl") or []
    uri = f"{API_PREFIX}/{account_sid}/Messages/{sid}.json"
    base = uri.removesuffix(".json")
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": body,
        "date_created": rfc2822(created),
        "date_sent": None,
        "date_updated": rfc2822(created),
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
        "subresource_uris": {"media": f"{base}/Media.json", "feedback": f"{base}/Feedback.json"},
        "to": params["To"],
        "uri": uri,
    }


def new_call(account_sid: str, params: dict[str, Any], created: datetime) -> dict[str, Any]:
    """The resource of a call just created with the form `params`."""
    sid = "CA" + uuid.uuid4().hex
    to, from_ = params["To"], params["From"]
    uri = f"{API_PREFIX}/{account_sid}/Calls/{sid}.json"
    base = uri.removesuffix(".json")
    return {
        "account_sid": account_sid,
        "answered_by": None,
        "api_version": API_VERSION,
        "caller_name": None,
        "date_created": rfc2822(created),
        "date_updated": rfc2822(created),
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
