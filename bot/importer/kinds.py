"""The kinds of record a file holds, and how each field of each kind is checked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import phones
from ..models import (
    Authority,
    Case,
    ConsentScope,
    MspAchieved,
    MspAsked,
    Person,
    Representative,
    RiskResult,
    Stage,
    Team,
    Worker,
)
from ..pins import validate_pin
from ..services.cases import MAX_NEWS_LENGTH
from .values import (
    choice,
    distinct_numbers,
    free_text,
    parse_bool,
    parse_contact,
    parse_date,
    parse_datetime,
    parse_day,
    parse_language,
    parse_time,
    scopes,
    week,
    whole,
)

KINDS = ("teams", "workers", "people", "representatives", "cases")  # also the import order
SINGULAR = {"teams": "team", "workers": "worker", "people": "person",
            "representatives": "representative", "cases": "case"}
MODELS = {"teams": Team, "workers": Worker, "people": Person,
          "representatives": Representative, "cases": Case}
# Fields that name another record by its ref, and the kind they name.
REFERENCES = {
    "workers": {"team": "teams", "cover": "workers"},
    "representatives": {"person": "people"},
    "cases": {"person": "people", "worker": "workers"},
}
DEFAULT = object()  # an empty value sets the model's default
KEEP = object()  # an empty value leaves the stored value as it is


def label(kind: str, ref: str) -> str:
    """How messages name a record: "person 'P-1'"."""
    return f"{SINGULAR[kind]} '{ref}'" if ref else f"{SINGULAR[kind]} (no ref)"


@dataclass(frozen=True)
class Spec:
    """How to check one field: its converter, whether it is required, what empty means."""

    convert: Callable[[str], Any]
    required: bool = False
    empty: Any = DEFAULT
    many: bool = False  # a YAML list, or values separated by ';' (or ',')
    combine: Callable[[list], Any] = list


def _required(convert: Callable[[str], Any]) -> Spec:
    return Spec(convert, required=True)


_REF = _required(free_text(64))
_NAME = _required(free_text(100))
_PHONE = _required(phones.normalise)
_TEXT = Spec(free_text(200))
_FLAG = Spec(parse_bool)
_DAY = Spec(parse_date)
_WHEN = Spec(parse_datetime)
_TIME = Spec(parse_time)
_LANGUAGE = Spec(parse_language)
# An empty PIN never clears one: PINs are also set by `caseline pin set`.
_PIN = Spec(validate_pin, empty=KEEP)

SPECS: dict[str, dict[str, Spec]] = {
    "teams": {
        "ref": _REF,
        "name": _required(free_text(200)),
        "duty_number": _PHONE,
        "out_of_hours_number": _PHONE,
        "office_days": Spec(parse_day, many=True, combine=week),
        "office_opens": _TIME,
        "office_closes": _TIME,
        "manager_name": _TEXT,
        "manager_contact": Spec(parse_contact),
    },
    "workers": {
        "ref": _REF,
        "first_name": _NAME,
        "last_name": _NAME,
        "direct_number": _PHONE,
        "team": _REF,
        "away_until": _DAY,
        "cover": Spec(free_text(64), empty=None),
    },
    "people": {
        "ref": _REF,
        "first_name": _NAME,
        "last_name": _NAME,
        "phones": Spec(phones.normalise, empty=[], many=True, combine=distinct_numbers),
        "pin": _PIN,
        "ais_contact_method": _TEXT,
        "ais_information_format": _TEXT,
        "ais_communication_support": _TEXT,
        "ais_communication_professional": _TEXT,
        "language": _LANGUAGE,
        "speech_rate": Spec(whole(50, 100)),
        "extra_time": _FLAG,
        "uses_relay": _FLAG,
        "contact_window_start": _TIME,
        "contact_window_end": _TIME,
        "discreet": _FLAG,
        "no_phone_calls": _FLAG,
        "contact_via_representative": _FLAG,
        "contact_paused_until": _DAY,
        "deceased": _FLAG,
    },
    "representatives": {
        "ref": _REF,
        "person": _REF,
        "first_name": _NAME,
        "last_name": _NAME,
        "relationship": _required(free_text(100)),
        "number": _PHONE,
        "consent": Spec(choice(ConsentScope, "consent scope"), empty=[], many=True,
                        combine=scopes),
        "authority": Spec(choice(Authority, "kind of authority")),
        "consent_recorded_by": _TEXT,
        "consent_recorded_at": _WHEN,
        "pin": _PIN,
        "language": _LANGUAGE,
        # When we may start contact with them (a relative at work may want evenings).
        "contact_window_start": _TIME,
        "contact_window_end": _TIME,
    },
    "cases": {
        "ref": _REF,
        "person": _REF,
        "worker": _REF,
        "stage": Spec(choice(Stage, "stage")),
        "latest_news": Spec(free_text(MAX_NEWS_LENGTH)),
        # When the case system recorded that news (default: when it is imported): the
        # watchdog measures the silence from it, and callers hear it as the news's date.
        "news_date": Spec(parse_datetime, empty=KEEP),  # empty: the time of the import
        "next_contact_by": _DAY,
        "desired_outcome": Spec(free_text(2000)),
        "withhold_details": _FLAG,
        "check_in_every_days": Spec(whole(1, 365)),
        "opened_at": Spec(parse_datetime, empty=KEEP),
        "closed_at": _WHEN,
        # A closed case is reopened by an import only with the date the case system did so.
        "reopened_at": _WHEN,
        # Read out and texted at closure, so as short as news.
        "closure_summary": Spec(free_text(MAX_NEWS_LENGTH)),
        "msp_asked": Spec(choice(MspAsked, "value of msp_asked")),
        "msp_achieved": Spec(choice(MspAchieved, "value of msp_achieved")),
        "risk_result": Spec(choice(RiskResult, "value of risk_result")),
    },
}
