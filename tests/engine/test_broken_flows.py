"""Every broken flow gives one exact FILE:LINE message naming the problem and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import load_flows

BROKEN = Path(__file__).resolve().parent / "broken"

EXPECTED = {
    "yaml_syntax": "broken/yaml_syntax.yaml:4: this is not valid YAML: while scanning a quoted "
    "scalar, found unexpected end of stream. Check the indentation and that every quote is "
    "closed.",
    "no_name": "broken/no_name.yaml:1: the flow has no usable name. Start with flow: and a name "
    "in lower case, like 'flow: status'.",
    "unknown_key": "broken/unknown_key.yaml:4: flow 'unknown_key' step 'hello': unknown key "
    "'sya' in this step. Did you mean 'say'?",
    "bad_goto": "broken/bad_goto.yaml:6: flow 'bad_goto' step 'hello': next 'goodby' is not a "
    "step in this flow (steps: hello, goodbye). Did you mean 'goodbye'? Check the spelling or "
    "add the step.",
    "bad_start": "broken/bad_start.yaml:2: flow 'bad_start': start 'helo' is not a step in this "
    "flow (steps: hello). Did you mean 'hello'? Check the spelling or add the step.",
    "unreachable": "broken/unreachable.yaml:6: flow 'unreachable' step 'lost': the step can "
    "never be reached. Add a goto: to it from another step, or delete it.",
    "duplicate_step": "broken/duplicate_step.yaml:6: flow 'duplicate_step' step 'hello': step "
    "'hello' is defined twice (first on line 3). Rename one of them; step names must be unique "
    "in a flow.",
    "unknown_action": "broken/unknown_action.yaml:4: flow 'unknown_action' step 'load': action "
    "'load_cases' is not known. Did you mean 'load_case'?",
    "unknown_placeholder": "broken/unknown_placeholder.yaml:4: flow 'unknown_placeholder' step "
    "'hello': unknown placeholder 'worker_name'. Use one of: caller, case, channel, choice, "
    "date, dial, language, last, may, on, phone, pin_check.",
    "unknown_field": "broken/unknown_field.yaml:7: flow 'unknown_field' step 'tell': 'case' has "
    "no field 'worker_nmae'. Did you mean 'case.worker_name'?",
    "template_syntax": "broken/template_syntax.yaml:4: flow 'template_syntax' step 'hello': the "
    "text cannot be read: unexpected '}'. Check the {{ }} and {% %} brackets are closed and "
    "spelled right.",
    "unsafe_template": "broken/unsafe_template.yaml:4: flow 'unsafe_template' step 'hello': "
    "'__class__' is not allowed in a template. Use only the fields listed in flows/README.md.",
    "bad_condition": "broken/bad_condition.yaml:6: flow 'bad_condition' step 'identify': the "
    "condition cannot be read: unexpected 'end of print statement'. Check the {{ }} and {% %} "
    "brackets are closed and spelled right.",
    "missing_language": "broken/missing_language.yaml:11: flow 'missing_language' step 'bye': "
    "the text has no 'cy' version, but the flow declares languages en, cy. Add cy: \"...\" to "
    "this text.",
    "option_no_key": "broken/option_no_key.yaml:6: flow 'option_no_key' step 'menu': this "
    "option has no key. Add key: 1 (the number to press or reply).",
    "menu_too_big": "broken/menu_too_big.yaml:10: flow 'menu_too_big' step 'menu': the menu has "
    "5 choices, more than 4. Move some choices to a second menu.",
    "keys_out_of_order": "broken/keys_out_of_order.yaml:7: flow 'keys_out_of_order' step "
    "'menu': choice 2 has key 3. Number the choices 1, 2, 3 in order; this one is 2.",
    "zero_key": "broken/zero_key.yaml:6: flow 'zero_key' step 'menu': key 0 is kept for a "
    "person at every step. Number the choices 1, 2, 3 in order.",
    "missing_else": "broken/missing_else.yaml:8: flow 'missing_else' step 'identify': next has "
    "no branch for when no if: matches. Add a last branch with goto: and no if:.",
    "dead_end": "broken/dead_end.yaml:3: flow 'dead_end' step 'hello': the step does not say "
    "where to go next. Add then: or next:, or end: true.",
    "loop": "broken/loop.yaml:6: flow 'loop' step 'two': these steps go round in a circle "
    "without waiting for an answer (one -> two -> one). Add an ask: to one of them, or end the "
    "circle.",
    "unknown_call": "broken/unknown_call.yaml:6: flow 'unknown_call' step 'menu': call 'persn' "
    "is not a flow. Use one of: unknown_call.",
    "bad_argument": "broken/bad_argument.yaml:5: flow 'bad_argument' step 'record': 'maybe' is "
    "not allowed for answer. Use one of: ok, call_me, unsafe.",
    "reserved_save": "broken/reserved_save.yaml:6: flow 'reserved_save' step 'ask_message': "
    "save: 'case' cannot be used as a name. Choose another name; these are taken: caller, "
    "case, channel, choice, date, dial, heard, key, language, last, may, on, phone, pin_check, "
    "press, service, the_case, time.",
    "ask_no_answer": "broken/ask_no_answer.yaml:4: flow 'ask_no_answer' step 'question': the "
    "step asks but gives no way to answer. Add options: (choices) or input: "
    "pin/number/message.",
    "number_no_digits": "broken/number_no_digits.yaml:5: flow 'number_no_digits' step "
    "'ask_reference': input: number needs digits:. Add digits: 6 (how many numbers to key in).",
}


def test_every_fixture_has_an_expected_message():
    assert sorted(p.stem for p in BROKEN.glob("*.yaml")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 15


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_flow_gives_exact_message(name):
    fs = load_flows(paths=[BROKEN / f"{name}.yaml"], root=BROKEN.parent)
    assert [str(e) for e in fs.errors] == [EXPECTED[name]]
    assert not fs.ok


def test_all_errors_are_collected_not_just_the_first(tmp_path):
    for name in ("bad_goto", "unknown_action", "menu_too_big"):
        (tmp_path / f"{name}.yaml").write_text((BROKEN / f"{name}.yaml").read_text())
    fs = load_flows(tmp_path)
    assert len(fs.errors) == 4
    assert {e.flow for e in fs.errors} == {"bad_goto", "unknown_action", "menu_too_big", None}
    assert str(fs.errors[0]) == f"{tmp_path.name}/commands.yaml:1: there is no commands " \
        "file. Add commands.yaml with the global commands."


def test_a_flow_name_used_twice(tmp_path):
    body = "flow: same\nsteps:\n  hello:\n    say: \"Hello.\"\n    end: true\n"
    (tmp_path / "a.yaml").write_text(body)
    (tmp_path / "b.yaml").write_text(body)
    fs = load_flows(tmp_path)
    assert [str(e) for e in fs.errors if e.flow] == [
        f"{tmp_path.name}/b.yaml:1: flow 'same': the name is already used in "
        f"{tmp_path.name}/a.yaml:1. Give this flow its own name."]


def test_commands_file_must_list_all_twilio_stop_words(tmp_path):
    text = (Path(__file__).resolve().parents[2] / "flows" / "commands.yaml").read_text()
    text = text.replace("UNSUBSCRIBE, CANCEL, ", "")
    (tmp_path / "commands.yaml").write_text(text)
    fs = load_flows(paths=[tmp_path / "commands.yaml"], root=tmp_path)
    messages = [str(e) for e in fs.errors]
    assert "commands.yaml:50: 'stop' is missing Twilio's words UNSUBSCRIBE, CANCEL. Twilio acts " \
        "on all of them; list every one so the flow agrees." in messages
