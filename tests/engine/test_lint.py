"""The accessibility and cost lint finds what the guide's rules forbid."""

from __future__ import annotations

import shutil

import pytest

from bot.engine.lint import lint

from .conftest import FLOWS_DIR, load_beside_shipped


def lint_flow(tmp_path, body: str, name: str = "sample", commands=None):
    for path in FLOWS_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    if commands:
        text = (tmp_path / "commands.yaml").read_text()
        (tmp_path / "commands.yaml").write_text(commands(text))
    (tmp_path / f"{name}.yaml").write_text(body)
    fs = load_beside_shipped(tmp_path)
    assert fs.ok, [str(e) for e in fs.errors]
    report = lint(fs)
    return [p for p in report.problems if p.flow in (name, None)], report


def one_step(text: str, extra: str = "") -> str:
    return f"flow: sample\n{extra}steps:\n  hello:\n    say: \"{text}\"\n    end: true\n"


@pytest.mark.parametrize("text,needle,severity", [
    ("We don't know yet.", "'don't' is a contraction", "error"),
    ("It's closed.", "'It's' is a contraction", "error"),
    ("Your section 42 enquiry is open.", "'section 42' is jargon", "error"),
    ("Your social worker will call.", "'social worker' is not a plain word", "warning"),
    ("Press 1 for news.", "the text says 'press 1 for ...'", "error"),
    ("To stop texts, reply STOP.", "the text asks for a Twilio stop word", "error"),
    ("To hear it again, press 1.", "the text names a key directly", "warning"),
    ("Dŵr is water.", "the text needs UCS-2", "error"),
    (" ".join(["word"] * 26) + ".", "a sentence has 26 words", "error"),
    (" ".join(["word"] * 16) + ".", "a sentence has 16 words", "warning"),
    ("This is a long message. " * 14, "over the budget of 2", "error"),
])
def test_lint_rule(tmp_path, text, needle, severity):
    problems, _ = lint_flow(tmp_path, one_step(text))
    found = [p for p in problems if needle in p.message]
    assert found, [str(p) for p in problems]
    assert found[0].severity == severity
    assert found[0].file.endswith("sample.yaml") and found[0].line == 4


def test_possessives_and_plain_words_pass(tmp_path):
    problems, _ = lint_flow(tmp_path, one_step("We closed Rose's case. Thank you."))
    assert problems == []


def test_curly_quotes_and_dashes_are_replaced_before_counting(tmp_path):
    problems, report = lint_flow(tmp_path, one_step("Rose’s case – closed."))
    assert problems == []
    (row,) = [r for r in report.sms if r.flow == "sample"]
    assert row.encoding == "GSM-7" and row.parts == 1


def test_a_check_in_must_fit_one_part(tmp_path):
    problems, _ = lint_flow(tmp_path, one_step("How are you today? " * 9, "sms_parts: 1\n"))
    assert any("over the budget of 1" in p.message for p in problems)


def test_option_words_must_not_be_twilio_stop_words(tmp_path):
    body = """flow: sample
steps:
  menu:
    ask: "What now?"
    options:
      - {key: 1, say: "To finish", words: [cancel, end it], goto: bye}
  bye:
    say: "Goodbye."
    end: true
"""
    problems, _ = lint_flow(tmp_path, body)
    assert [p.message for p in problems] == ["'cancel' is a Twilio stop word"]


def test_choices_read_to_x_press_n(tmp_path):
    body = """flow: sample
steps:
  menu:
    ask: "What now?"
    options:
      - {key: 1, say: "News", words: [news], goto: bye}
  bye:
    say: "Goodbye."
    end: true
"""
    problems, _ = lint_flow(tmp_path, body)
    assert [p.message for p in problems] == ["a choice should read 'To ..., press 1'"]


def test_an_inbound_greeting_must_say_star_and_zero(tmp_path):
    problems, _ = lint_flow(tmp_path, one_step("Hello.", "kind: inbound\n"))
    assert sorted(p.message for p in problems) == [
        "the greeting does not say how to reach a person",
        "the greeting does not say how to reach repeat"]


def test_the_closing_words_must_name_relay_uk(tmp_path):
    problems, _ = lint_flow(tmp_path, one_step("Hello."), commands=lambda t: t.replace(
        "If you use Relay UK, dial {{ phone(service.relay_prefix) }} then our number."
        " Goodbye.", "Goodbye."))
    assert any(p.message == "the closing words do not name Relay UK" for p in problems)


def test_reading_grade_over_four_is_reported(tmp_path):
    hard = ("Consideration of multidisciplinary documentation necessitates extraordinary "
            "organisational coordination. ") * 3
    problems, report = lint_flow(tmp_path, one_step(hard))
    assert any(p.code == "grade" for p in problems)
    assert [g.grade for g in report.grades if g.flow == "sample"][0] > 4
