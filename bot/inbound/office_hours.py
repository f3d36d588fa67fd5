"""Is a team's office open now? Office days and hours in local time; UK bank holidays closed."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from bot.config import DAY_NAMES
from bot.models import Team


@lru_cache(maxsize=32)
def _bank_holidays(region: str, year: int):
    return holidays.country_holidays("GB", subdiv=region, years=year)


def is_bank_holiday(day, region: str = "ENG") -> bool:
    return day in _bank_holidays(region, day.year)


def is_office_open(team: Team, now: datetime, tz: ZoneInfo, region: str = "ENG") -> bool:
    """True when `now` falls in the team's office hours on a working day that is no holiday."""
    local = now.astimezone(tz)
    days = {d.strip().lower() for d in team.office_days.split(",") if d.strip()}
    if DAY_NAMES[local.weekday()] not in days or is_bank_holiday(local.date(), region):
        return False
    return team.office_opens <= local.time().replace(tzinfo=None) < team.office_closes


def describe_hours(team: Team) -> str:
    """Office hours in words a caller understands, e.g. 'Monday to Friday, 9am to 5pm'."""
    days = [d.strip().lower() for d in team.office_days.split(",") if d.strip()]
    names = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
             "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}
    if days == list(DAY_NAMES[: len(days)]) and len(days) > 1:
        span = f"{names[days[0]]} to {names[days[-1]]}"
    else:
        span = ", ".join(names.get(d, d) for d in days)
    return f"{span}, {_clock(team.office_opens)} to {_clock(team.office_closes)}"


def _clock(moment) -> str:
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}{suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}{suffix}"
