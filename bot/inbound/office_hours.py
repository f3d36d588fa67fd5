"""Is a team's office open now? Office days and hours in local time; UK bank holidays closed."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from bot.config import DAY_NAMES
from bot.engine.forms import spoken_time
from bot.models import Team


@lru_cache(maxsize=32)
def _bank_holidays(region: str, year: int):
    return holidays.country_holidays("GB", subdiv=region, years=year)


def load_bank_holidays(year: int, region: str = "ENG") -> None:
    """Read this year's and next year's holidays now: a worker does it before RQ forks a
    work-horse for each job, which would otherwise import them again every job."""
    for each in (year, year + 1):
        _bank_holidays(region, each)


def is_bank_holiday(day, region: str = "ENG") -> bool:
    return day in _bank_holidays(region, day.year)


def is_office_open(team: Team, now: datetime, tz: ZoneInfo, region: str = "ENG") -> bool:
    """True when `now` falls in the team's office hours on a working day that is no holiday."""
    local = now.astimezone(tz)
    days = {d.strip().lower() for d in team.office_days.split(",") if d.strip()}
    if DAY_NAMES[local.weekday()] not in days or is_bank_holiday(local.date(), region):
        return False
    return team.office_opens <= local.time().replace(tzinfo=None) < team.office_closes


_DAY_WORDS = {
    "en": {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
           "fri": "Friday", "sat": "Saturday", "sun": "Sunday"},
    "cy": {"mon": "dydd Llun", "tue": "dydd Mawrth", "wed": "dydd Mercher", "thu": "dydd Iau",
           "fri": "dydd Gwener", "sat": "dydd Sadwrn", "sun": "dydd Sul"},
}


def describe_hours(team: Team, language: str = "en") -> str:
    """Office hours in words a caller understands: 'Monday to Friday, 9am to 5pm'; in
    Welsh 'dydd Llun i ddydd Gwener, 9 y bore tan 5 y prynhawn'."""
    days = [d.strip().lower() for d in team.office_days.split(",") if d.strip()]
    names = _DAY_WORDS.get(language, _DAY_WORDS["en"])
    opens, closes = spoken_time(team.office_opens, language), spoken_time(team.office_closes,
                                                                           language)
    if language == "cy":
        if days == list(DAY_NAMES[: len(days)]) and len(days) > 1:
            # "i" softens what follows: "i ddydd Gwener".
            span = f"{names[days[0]]} i d{names[days[-1]]}"
        else:
            span = ", ".join(names.get(d, d) for d in days)
        return f"{span}, {opens} tan {closes}"
    if days == list(DAY_NAMES[: len(days)]) and len(days) > 1:
        span = f"{names[days[0]]} to {names[days[-1]]}"
    else:
        span = ", ".join(names.get(d, d) for d in days)
    return f"{span}, {opens} to {closes}"
