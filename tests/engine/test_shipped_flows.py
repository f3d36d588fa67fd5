"""The shipped flows pass the check with no errors, and all their conversation tests pass."""

from __future__ import annotations

import pytest

from bot.engine.convtest import format_result, load_tests, run_test
from bot.engine.lint import lint

from .conftest import FLOWS_DIR

CONVERSATIONS = load_tests(FLOWS_DIR / "tests")


def test_shipped_flows_have_no_errors_or_warnings(flows):
    report = lint(flows)
    assert [str(p) for p in flows.errors + report.problems] == []


def test_every_english_text_is_gsm7_and_at_most_two_parts(flows):
    rows = [r for r in lint(flows).sms if r.language == "en"]
    assert len(rows) > 50
    for row in rows:
        assert row.encoding == "GSM-7", row
        assert row.parts <= 2, row
        assert row.ok, row


def test_a_check_in_text_fits_one_part(flows):
    rows = [r for r in lint(flows).sms if r.flow == "checkin"]
    english = [r for r in rows if r.language == "en"]
    assert english and all(r.texts == 1 and r.parts == 1 for r in english)
    # In Welsh, costed as UCS-2 (67 characters a part), the same question takes 3.
    welsh = [r for r in rows if r.language == "cy"]
    assert welsh and all(r.texts == 1 and r.parts <= 3 and r.ok for r in welsh)


def test_every_flow_reads_at_grade_four_or_below(flows):
    grades = {g.flow: g.grade for g in lint(flows).grades}
    assert set(flows.flows) <= set(grades)
    assert max(grades.values()) <= 4.0, grades


def test_the_greeting_and_every_global_command_speak_welsh(flows):
    # The news command opens the case update, which the Welsh main menu already leads to
    # in English: its Welsh words are still to be written (they are not a command's own).
    command_flows = {c.call for c in flows.commands.commands.values() if c.call} - {"case_update"}
    for name in command_flows | {"welcome", "stuck", "gone_quiet"}:
        assert "cy" in flows[name].languages, name
    for cmd in flows.commands.commands.values():
        assert cmd.words.get("cy"), f"command {cmd.name} has no Welsh words"


def test_there_are_enough_conversation_tests():
    names = [t["name"] for _f, _fx, t in CONVERSATIONS]
    assert len(names) >= 40
    assert len(set(names)) == len(names), "conversation test names must be unique"


@pytest.mark.parametrize("file,fixture,case", CONVERSATIONS,
                         ids=[t["name"] for _f, _fx, t in CONVERSATIONS])
def test_conversation(flows, file, fixture, case):
    result = run_test(flows, case, fixture, file)
    assert result.passed, format_result(result)
