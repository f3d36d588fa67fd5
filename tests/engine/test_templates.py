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
    assert "only press(), date(), on(), time(), phone() and the_case() may be called" in messages
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
    assert forms.spoken_date("2025-12-12", "cy") == "dydd Gwener 12 Rhagfyr"
    assert forms.spoken_time(time(14, 0)) == "2pm"
    assert forms.spoken_time(time(14, 30)) == "2:30pm"
    assert forms.spoken_time(time(0, 5)) == "12:05am"
    assert forms.spoken_time("12:00") == "12pm"


@pytest.mark.parametrize("day,written,spoken", [
    ("2025-12-12", "dydd Gwener 12 Rhagfyr", "dydd Gwener, y deuddegfed o Ragfyr"),
    ("2026-03-01", "dydd Sul 1 Mawrth", "dydd Sul, y cyntaf o Fawrth"),
    ("2026-05-02", "dydd Sadwrn 2 Mai", "dydd Sadwrn, yr ail o Fai"),
    ("2026-07-11", "dydd Sadwrn 11 Gorffennaf", "dydd Sadwrn, yr unfed ar ddeg o Orffennaf"),
    ("2026-01-31", "dydd Sadwrn 31 Ionawr", "dydd Sadwrn, yr unfed ar ddeg ar hugain o Ionawr"),
    ("2026-11-18", "dydd Mercher 18 Tachwedd", "dydd Mercher, y deunawfed o Dachwedd"),
])
def test_welsh_dates_written_and_said_the_welsh_way(day, written, spoken):
    assert forms.spoken_date(day, "cy", channel="sms") == written
    assert forms.spoken_date(day, "cy", channel="voice") == spoken
    # After a verb the day's name takes a soft mutation: "ddydd Gwener".
    assert forms.on_date(day, "cy", channel="voice") == "d" + spoken
    assert forms.on_date(day, "cy", today=day) == "heddiw"


def test_welsh_times_and_whose_case():
    assert forms.spoken_time(time(10, 0), "cy") == "10 y bore"
    assert forms.spoken_time(time(14, 30), "cy") == "2:30 y prynhawn"
    assert forms.spoken_time(time(19, 0), "cy") == "7 yr hwyr"
    person = {"whose": "your", "person_first_name": "Rose"}
    relative = {"whose": "Rose's", "person_first_name": "Rose"}
    assert forms.the_case(person, "en") == "your case"
    assert forms.the_case(relative, "en") == "Rose's case"
    assert forms.the_case(person, "cy") == "eich achos"
    assert forms.the_case(relative, "cy") == "achos Rose"
    assert forms.the_case({}, "cy") == ""


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
