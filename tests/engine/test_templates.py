"""Templates are sandboxed and checked; helpers give people's forms."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from jinja2.exceptions import SecurityError

from bot.engine import forms, templates


def test_sandbox_blocks_code_at_run_time_too():
    with pytest.raises(SecurityError):
        templates.render("{{ x.__class__.__mro__ }}", {"x": "a"}, "en", "sms")


def test_check_reports_unknown_names_fields_and_calls():
    assert templates.check("{{ case.stage }} {{ press(1) }}", set()) == []
    messages = [p.message for p in templates.check(
        "{{ nme }} {{ case.wrkr }} {{ caller.first_name.upper() }} {{ x | attr('y') }}", set())]
    assert "unknown placeholder 'nme'" in messages
    assert "'case' has no field 'wrkr'" in messages
    assert "only press(), date(), on(), time() and phone() may be called" in messages
    assert "the filter 'attr' is not allowed" in messages


def test_saved_answers_are_known_placeholders():
    assert templates.check("You said {{ message }}", {"message"}) == []
    assert templates.check("{{ message.text }}", {"message"})[0].message == \
        "'message' has no fields"


def test_conditions_are_checked_too():
    assert templates.check("may.worker and not case.worker_away", set(), expression=True) == []
    assert templates.check("may.wroker", set(), expression=True)[0].message == \
        "'may' has no field 'wroker'"


def test_phone_numbers_come_back_as_separate_pieces():
    text = templates.render("Call {{ phone(n) }} now.", {"n": "+441134960123"}, "en", "sms")
    assert templates.split_numbers(text) == [
        ("text", "Call "), ("number", "+441134960123"), ("text", " now.")]


@pytest.mark.parametrize("key,lang,channel,expected", [
    (1, "en", "voice", "press 1"), (1, "en", "sms", "reply 1"), ("*", "en", "voice", "press star"),
    (0, "cy", "voice", "pwyswch 0"), (2, "cy", "sms", "anfonwch 2"),
    ("*", "cy", "voice", "pwyswch seren"),
])
def test_press(key, lang, channel, expected):
    assert forms.press(key, lang, channel) == expected


def test_dates_and_times_as_people_say_them():
    assert forms.spoken_date(date(2025, 12, 12)) == "Friday 12 December"
    assert forms.spoken_date("2025-12-12") == "Friday 12 December"
    assert forms.spoken_date(datetime(2025, 9, 30, 9)) == "Tuesday 30 September"
    assert forms.spoken_date("2025-12-12", "cy") == "Dydd Gwener 12 Rhagfyr"
    assert forms.spoken_time(time(14, 0)) == "2pm"
    assert forms.spoken_time(time(14, 30)) == "2:30pm"
    assert forms.spoken_time(time(0, 5)) == "12:05am"
    assert forms.spoken_time("12:00") == "12pm"


@pytest.mark.parametrize("number,shown,groups", [
    ("+441134960123", "0113 496 0123", ["0113", "496", "0123"]),
    ("+447700900123", "07700 900123", ["07700", "900", "123"]),
    ("+442079460123", "020 7946 0123", ["020", "7946", "0123"]),
    ("999", "999", ["999"]),
    ("18001", "18001", ["18001"]),
])
def test_phone_numbers_shown_and_read_in_groups(number, shown, groups):
    assert forms.display_number(number) == shown
    assert forms.spoken_groups(number) == groups


def test_phone_numbers_read_digit_by_digit():
    assert forms.spoken_number("+441134960123") == "0 1 1 3, 4 9 6, 0 1 2 3"
