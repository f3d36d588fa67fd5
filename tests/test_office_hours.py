"""Office hours: working days and hours in local time; UK bank holidays are closed."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.inbound.office_hours import describe_hours, is_office_open
from bot.models import Team

LONDON = ZoneInfo("Europe/London")


def _team(**kw):
    return Team(ref="T", name="Leeds", duty_number="+441134960000",
                out_of_hours_number="+441134960999", **kw)


@pytest.mark.parametrize("when, open_", [
    (datetime(2026, 11, 25, 9, 0, tzinfo=UTC), True),  # Wednesday 9am GMT
    (datetime(2026, 11, 25, 8, 59, tzinfo=UTC), False),
    (datetime(2026, 11, 25, 17, 0, tzinfo=UTC), False),  # closes at 5pm
    (datetime(2026, 11, 28, 12, 0, tzinfo=UTC), False),  # Saturday
    (datetime(2026, 12, 25, 12, 0, tzinfo=UTC), False),  # Christmas Day, a Friday
    (datetime(2026, 12, 28, 12, 0, tzinfo=UTC), False),  # Boxing Day observed, a Monday
    (datetime(2026, 8, 31, 12, 0, tzinfo=UTC), False),  # late summer bank holiday
    (datetime(2026, 7, 1, 8, 30, tzinfo=UTC), True),  # 9:30am BST
    (datetime(2026, 7, 1, 16, 30, tzinfo=UTC), False),  # 5:30pm BST
])
def test_is_office_open(when, open_):
    assert is_office_open(_team(), when, LONDON) is open_


def test_custom_days_and_hours():
    team = _team(office_days="mon,sat", office_opens=time(10), office_closes=time(14, 30))
    assert is_office_open(team, datetime(2026, 11, 28, 14, 0, tzinfo=UTC), LONDON)
    assert not is_office_open(team, datetime(2026, 11, 25, 12, 0, tzinfo=UTC), LONDON)
    assert describe_hours(team) == "Monday, Saturday, 10am to 2:30pm"


def test_describe_default_hours():
    assert describe_hours(_team()) == "Monday to Friday, 9am to 5pm"


def test_hours_in_welsh_are_said_the_welsh_way():
    assert describe_hours(_team(), "cy") == "dydd Llun i ddydd Gwener, 9 y bore tan 5 y prynhawn"
    team = _team(office_days="mon,sat", office_opens=time(10), office_closes=time(18, 30))
    assert describe_hours(team, "cy") == "dydd Llun, dydd Sadwrn, 10 y bore tan 6:30 yr hwyr"
