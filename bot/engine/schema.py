"""Every name a template or condition may use, with the longest and a typical value of each.

The loader checks placeholders against this at load time; the lint renders every message with
the longest values (SMS cost) and the typical ones (reading grade).
"""

from __future__ import annotations

from dataclasses import dataclass

from .settings import MAX_CASE_CHOICES, NEWS_MAX_CHARS, OUTCOME_MAX_CHARS

LONG_DATE = "2025-09-30"  # Wednesday 30 September: the longest English day + month
LONG_NUMBER = "+441134960123"  # UK numbers display in at most 13 characters
LONG_NAME = "Christabelle"
LONG_FULL_NAME = "Christabelle Montgomery-Fotheringham"


@dataclass(frozen=True)
class Field:
    kind: str  # bool, number, text, date, phone
    longest: object
    typical: object


def _news(length: int) -> str:
    base = "Sam visited Rose at home and they talked about what she wants to happen next. "
    return (base * (length // len(base) + 1))[:length].rstrip() or "news"


B = Field("bool", True, True)

CALLER = {
    "known": B, "verified": B, "locked": B, "is_person": B, "is_representative": B,
    "can_text": B, "has_number": B, "number_is_mobile": B, "opted_out": B, "unknown": B,
    "kind": Field("text", "representative", "person"),
    "first_name": Field("text", LONG_NAME, "Ann"),
    "relationship": Field("text", "lasting power of attorney", "daughter"),
}

CASE = {
    "person_first_name": Field("text", LONG_NAME, "Rose"),
    "whose": Field("text", LONG_NAME + "'s", "your"),
    "withheld": B, "closed": B, "has_news": B, "worker_away": B, "contact_is_cover": B,
    "contact_is_duty": B, "has_next_contact": B, "next_contact_overdue": B,
    "stage": Field("text", "enquiry", "enquiry"),  # concern, enquiry, plan, review, closed
    "latest_news": Field("text", _news(NEWS_MAX_CHARS), "Sam visited Rose at home on Monday."),
    "news_date": Field("date", LONG_DATE, "2025-12-01"),
    "worker_name": Field("text", LONG_FULL_NAME, "Sam Patel"),
    "worker_first_name": Field("text", LONG_NAME, "Sam"),
    "worker_number": Field("phone", LONG_NUMBER, "+441134960123"),
    "contact_name": Field("text", LONG_FULL_NAME, "Sam Patel"),
    "contact_first_name": Field("text", LONG_NAME, "Sam"),
    "contact_number": Field("phone", LONG_NUMBER, "+441134960123"),
    "next_contact": Field("date", LONG_DATE, "2025-12-12"),
    "worker_back": Field("date", LONG_DATE, "2025-12-15"),
    "closed_on": Field("date", LONG_DATE, "2025-12-05"),
    "outcome_words": Field("text", _news(OUTCOME_MAX_CHARS), "Rose is safe at home now."),
}

MAY = {scope: B for scope in ("status", "news", "worker", "next_contact", "closure", "anything")}

SERVICE = {
    "name": Field("text", "Westshire Council update line", "Westshire update line"),
    "line_number": Field("phone", LONG_NUMBER, "+441134960000"),
    "duty_number": Field("phone", LONG_NUMBER, "+441134960001"),
    "out_of_hours_number": Field("phone", LONG_NUMBER, "+441134960002"),
    "office_hours": Field("text", "9am to 5pm, Monday to Friday", "9am to 5pm, Monday to Friday"),
    "office_open": B,
    "relay_prefix": Field("text", "18001", "18001"),
}

# A PIN that fits several cases at one number (after the PIN, so names may be said).
CHOICE = {
    "several": B, "too_many": B,
    "count": Field("number", MAX_CASE_CHOICES, 2),
    "names": Field("text", ", ".join([LONG_NAME] * (MAX_CASE_CHOICES - 1)) + " or " + LONG_NAME,
                   "Harold or Jean"),
    **{f"name_{i}": Field("text", LONG_NAME, ("Harold", "Jean", "Ivy", "Stan")[(i - 1) % 4])
       for i in range(1, MAX_CASE_CHOICES + 1)},
}

# The verified caller's own last contact (a message or a call back asked for); empty before
# the PIN and when there is none. `passed_to` is "" unless the caller may know the worker.
LAST = {
    "kind": Field("text", "callback", "message"),  # "message", "callback" or ""
    "date": Field("date", LONG_DATE, "2025-12-02"),
    "passed_to": Field("text", LONG_FULL_NAME, "Sam"),
    "to_duty": B,  # passed to the duty team, nobody by name
    "seen": B,  # taken on by the member of staff it was passed to
}

PIN_CHECK = {"ok": B, "locked": B}
DIAL = {"answered": B, "status": Field("text", "no-answer", "completed")}

# Objects with fields; the loader rejects any other attribute.
OBJECTS: dict[str, dict[str, Field]] = {
    "caller": CALLER, "case": CASE, "may": MAY, "service": SERVICE, "pin_check": PIN_CHECK,
    "dial": DIAL, "choice": CHOICE, "last": LAST,
}

# Plain values available everywhere.
VALUES: dict[str, Field] = {
    "channel": Field("text", "voice", "voice"),
    "language": Field("text", "en", "en"),
}

# Names only the global messages (commands.yaml) may use.
MESSAGE_VALUES: dict[str, Field] = {
    "heard": Field("text", "I would like to speak to somebody about my case please",
                   "I feel unsafe"),
    "key": Field("text", "9", "9"),
}

HELPERS = ("press", "date", "on", "time", "phone", "the_case")

# A value saved from an answer (`save:`): free text, shown back rarely.
SAVED = Field("text", "x" * 40, "a message")

RESERVED = set(OBJECTS) | set(VALUES) | set(MESSAGE_VALUES) | set(HELPERS)


def sample(which: str) -> dict:
    """Template values for the lint: which='longest' or 'typical'."""
    out: dict = {}
    for name, fields in OBJECTS.items():
        out[name] = {k: getattr(f, which) for k, f in fields.items()}
    for name, field in {**VALUES, **MESSAGE_VALUES}.items():
        out[name] = getattr(field, which)
    return out
