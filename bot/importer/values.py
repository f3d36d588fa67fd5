"""Converters from the text of one field to its value; a ValueError says how to fix it."""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from .. import phones
from ..models import ConsentScope

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = dict(zip(DAYS, ("monday", "tuesday", "wednesday", "thursday", "friday",
                             "saturday", "sunday"), strict=True))


def quote(text: str) -> str:
    """The value in quotes for a message, cut short if long."""
    text = text.strip()
    return f"'{text[:39]}…'" if len(text) > 40 else f"'{text}'"


def free_text(limit: int) -> Callable[[str], str]:
    """A converter for free text: spaces tidied, at most `limit` characters."""

    def convert(text: str) -> str:
        value = " ".join(text.split())
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
            raise ValueError("it holds a control character (such as NUL) that no text should:"
                             " remove it")
        if len(value) > limit:
            raise ValueError(f"it is {len(value)} characters long: shorten it to {limit}"
                             " or fewer")
        return value

    convert.max_length = limit  # the API's description says the same (webhooks/api)
    return convert


def whole(low: int, high: int) -> Callable[[str], int]:
    """A converter for a whole number from `low` to `high`."""

    def convert(text: str) -> int:
        value = text.strip()
        if value.isascii() and value.isdigit() and low <= int(value) <= high:
            return int(value)
        raise ValueError(f"{quote(text)} is not allowed: give a whole number from {low}"
                         f" to {high}")

    convert.bounds = (low, high)
    return convert


def choice(choices: type[enum.Enum], what: str) -> Callable[[str], Any]:
    """A converter to one of an enum's values, which the error lists."""
    by_key = {_fold(member.value): member for member in choices}
    values = [member.value for member in choices]
    shown = [f'"{v}"' for v in values] if any(" " in v for v in values) else values

    def convert(text: str) -> Any:
        member = by_key.get(_fold(text))
        if member is None:
            raise ValueError(f"{quote(text)} is not a {what}: use one of {', '.join(shown)}")
        return member

    convert.choices = tuple(values)
    return convert


def _fold(text: str) -> str:
    """Compare choices loosely: case, curly apostrophes, spaces, '_' and '-' do not matter."""
    return re.sub(r"[\s_-]+", " ", text.replace("\u2019", "'")).strip().casefold()


def parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in ("true", "yes", "1"):
        return True
    if word in ("false", "no", "0"):
        return False
    raise ValueError(f"{quote(text)} is not yes or no: write true, false, yes, no, 1 or 0")


def parse_date(text: str) -> date:
    value = text.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"{quote(text)} is not a date: write it as YYYY-MM-DD,"
                         " e.g. 2026-03-31")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{quote(text)} is not a real date: check the month and day") from None


def parse_datetime(text: str) -> datetime:
    """A date (midnight) or a date and time; without an offset it is local time."""
    value = text.strip()
    pattern = r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
    if not re.fullmatch(pattern, value):
        raise ValueError(f"{quote(text)} is not a date: write YYYY-MM-DD or"
                         " YYYY-MM-DD HH:MM, e.g. 2026-03-31 or 2026-03-31 14:30")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{quote(text)} is not a real date and time: check the numbers"
                         ) from None


def parse_time(text: str) -> time:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return time(int(match[1]), int(match[2]))
    raise ValueError(f"{quote(text)} is not a time: write HH:MM on the 24-hour clock,"
                     " e.g. 09:00 or 17:30")


def parse_contact(text: str) -> str:
    """A phone number (stored as E.164) or an email address."""
    value = text.strip()
    if "@" not in value:
        try:
            return phones.normalise(value)
        except phones.InvalidPhoneNumber as exc:
            raise ValueError(f"{exc}; or give an email address") from None
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        return value
    raise ValueError(f"{quote(text)} is not an email address: check it,"
                     " e.g. manager@example.org")


def parse_language(text: str) -> str:
    value = text.strip()
    if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,4})?", value):
        return value
    raise ValueError(f"{quote(text)} is not a language code: use a code such as en (English)"
                     " or cy (Welsh)")


def parse_day(text: str) -> str:
    word = text.strip().lower()
    for day in DAYS:
        if word == day or (len(word) > 3 and word == _DAY_NAMES[day]):
            return day
    raise ValueError(f"{quote(text)} is not a day: use mon, tue, wed, thu, fri, sat, sun")


def week(days: list[str]) -> str:
    """Days in week order, each once: 'mon,tue,wed,thu,fri'."""
    return ",".join(day for day in DAYS if day in days)


def scopes(chosen: list[ConsentScope]) -> list[str]:
    """Consent scopes as stored: sorted values, each once."""
    return sorted({scope.value for scope in chosen})


def distinct_numbers(numbers: list[str]) -> list[str]:
    for index, number in enumerate(numbers):
        if number in numbers[:index]:
            raise ValueError(f"{phones.display(number)} is listed twice: list each number once")
    return numbers
