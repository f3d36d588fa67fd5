"""Time to the facts: every kind of call, rendered by the engine, measured against its budgets
(issue 13: at most 37 words to the PIN prompt, 62 from the PIN to the four facts)."""

from __future__ import annotations

import shutil

from click.testing import CliRunner

from bot.cli.flows import flows as flows_command
from bot.engine import load_flows, timing
from bot.engine.io import Pause, Say, Segment

from .conftest import FLOWS_DIR

KINDS_OF_CALLER = {"person", "person, longest news", "person, after a call back",
                   "worker away, a cover", "worker away, the duty team", "representative",
                   "representative, status only", "withheld number", "a call we make: news",
                   "a call we make: check-in", "Welsh: person", "Welsh: worker away, a cover",
                   "Welsh: representative", "Welsh: a call we make: news"}


def test_every_kind_of_call_reaches_the_pin_and_the_facts_within_budget():
    timings = timing.measure_all(load_flows(FLOWS_DIR).flows)
    print(timing.table(timings))  # the figures quoted in the closing note (pytest -s)
    assert {t.path.name for t in timings} == KINDS_OF_CALLER
    assert [(t.path.name, t.problems) for t in timings if t.problems] == []
    for t in timings:
        assert 0 < t.to_pin.words <= timing.PIN_PROMPT_WORDS
        assert t.to_facts.words <= timing.FACTS_WORDS
    facts = {t.path.name: t.to_facts.words for t in timings}
    # The news, however long, comes after the facts: it never delays them.
    assert facts["person, longest news"] == facts["person"]
    assert facts["representative, status only"] < facts["representative"]


def test_words_and_seconds_follow_the_speech_rate_and_every_pause():
    def say(text, rate=100):
        return Say((Segment(text=text),), rate=rate)

    assert timing.words_of(say("We are finding out what happened.")) == 6
    # 15 words at 150 a minute is 6 s, then the pause after the sentence.
    fifteen = say(" ".join(["word"] * 15) + ".")
    assert timing.seconds_of([fifteen, Pause(0.5)]) == 6.5
    assert timing.seconds_of([say(" ".join(["word"] * 15), rate=50)]) == 12.5  # twice as slow
    # A phone number is said digit by digit: every digit is a word the caller hears.
    number = Say((Segment(text="Sam's number is "), Segment(number="+441134960123")))
    assert timing.words_of(number) == 3 + 11


def _flows_copy(tmp_path):
    shutil.copytree(FLOWS_DIR, tmp_path / "flows", ignore=shutil.ignore_patterns("tests"))
    return tmp_path / "flows"


def test_flows_check_prints_the_table_and_fails_a_greeting_over_budget(tmp_path):
    directory = _flows_copy(tmp_path)
    welcome = directory / "welcome.yaml"
    welcome.write_text(welcome.read_text(encoding="utf-8").replace(
        "voice: \"Hello. This is the {{ service.name }}.",
        "voice: \"Hello, and thank you for calling. This is the {{ service.name }}. We are"
        " here to help you.", 1), encoding="utf-8")

    result = CliRunner().invoke(flows_command, ["check", str(directory)])

    assert result.exit_code == 1
    assert "Time to the facts on a call" in result.output
    assert "call path 'person': 47 words to the PIN prompt (budget 37)" in result.output
    assert "OVER" in result.output


def test_a_fact_the_caller_may_know_but_never_hears_fails_the_path(tmp_path):
    directory = _flows_copy(tmp_path)
    case_update = directory / "case_update.yaml"
    text = case_update.read_text(encoding="utf-8")
    line = '          en: "We will be in touch by {{ date(case.next_contact) }}."\n'
    assert line in text
    case_update.write_text(text.replace(line, '          en: "We will be in touch."\n'),
                           encoding="utf-8")

    timings = timing.measure_all(load_flows(directory).flows)

    person = next(t for t in timings if t.path.name == "person")
    assert person.problems == ["never said: next contact"]


def test_a_verified_status_reply_by_text_costs_at_most_3_parts_in_all():
    costs = timing.text_costs(load_flows(FLOWS_DIR).flows)
    print(timing.text_table(costs))
    english = {c.reply.name: c for c in costs if c.reply.language == "en"}
    assert set(english) == {"relative", "worker away, a cover", "after a message",
                            "discreet person"}
    assert [(name, c.parts) for name, c in english.items() if c.parts > 3] == []
    assert all(c.texts >= 1 for c in costs)


def test_a_welsh_status_reply_states_its_own_budget_and_keeps_it():
    costs = [c for c in timing.text_costs(load_flows(FLOWS_DIR).flows)
             if c.reply.language == "cy"]
    assert {c.reply.name for c in costs} == {"Welsh: person", "Welsh: relative"}
    assert all(c.budget == timing.STATUS_REPLY_PARTS["cy"] == 8 and c.ok for c in costs)
    assert all(c.parts > 3 for c in costs)  # UCS-2 costs more, and the table says so


def test_the_shipped_flows_pass_flows_check_with_the_timing():
    result = CliRunner().invoke(flows_command, ["check", str(FLOWS_DIR)])
    assert result.exit_code == 0, result.output
    assert "withheld number" in result.output and "OVER" not in result.output
