"""A number whose PIN fits several cases, and what happened the caller's last time.

Neil (07700 900803, PIN 8024) represents his father Harold (every scope) and his mother Jean
(status and closure). The clock is Monday 8 December 2025.
"""

from __future__ import annotations

import copy
import json
import shutil
from datetime import UTC, date, datetime

import pytest

from bot.engine import Context, EffectActions, Expect, Input, advance, load_flows, render_text
from bot.engine import effects as fx
from bot.engine.actions import REGISTRY, ActionCall, choice_values, last_contact_view
from bot.engine.context import PinResult, Verified
from bot.engine.demo_data import DEMO
from bot.engine.disclosure import fields_for_scopes
from bot.engine.fake import FakeContext
from bot.engine.forms import either

from .conftest import FLOWS_DIR, load_beside_shipped

NEIL = DEMO["representatives"]["neil_harold"]["number"]
NOW = datetime(2025, 12, 8, 10, 30, tzinfo=UTC)


def at_choice(converse, channel="sms", **kw):
    conv = converse(number=NEIL, channel=channel, **kw)
    if channel == "voice":
        conv.send(Input.start())
        conv.send(Input.digits("1"))
        out = conv.send(Input.digits("8024"))
    else:
        conv.text("news")
        out = conv.text("8024")
    return conv, out


def five_cases_at_one_number() -> dict:
    data = copy.deepcopy(DEMO)
    for i, name in enumerate(("Ada", "Bert", "Cora", "Dot", "Eric")):
        pid = name.lower()
        data["people"][pid] = {"first_name": name, "numbers": ["+441174960900"],
                               "pin": "9999", "case": f"c_{pid}"}
        data["cases"][f"c_{pid}"] = {"reference": f"70000{i}",
                                     "person": pid, "worker": "sam", "stage": "enquiry"}
        data["representatives"][f"kim_{pid}"] = {
            "first_name": "Kim", "relationship": "niece", "of": pid, "number": "+447700900901",
            "pin": "5151", "scopes": ["status"]}
    return data


# ---- the context -------------------------------------------------------------------------
def test_a_pin_that_fits_two_cases_verifies_nobody_and_offers_both():
    ctx = FakeContext(caller_number=NEIL)
    result = ctx.check_pin(ctx.identify_caller(), "8024")
    assert result.ok and result.who is None and not result.locked
    assert [c.id for c in result.choices] == ["neil_harold", "neil_jean"]
    assert [c.about for c in result.choices] == ["Harold", "Jean"]
    assert [c.case_id for c in result.choices] == ["c_harold", "c_jean"]


def test_when_the_pins_differ_the_pin_alone_decides():
    data = copy.deepcopy(DEMO)
    data["representatives"]["neil_jean"]["pin"] = "8025"
    ctx = FakeContext(data, caller_number=NEIL)
    result = ctx.check_pin(ctx.identify_caller(), "8025")
    assert result.ok and result.who.id == "neil_jean" and result.choices == ()


def test_two_records_for_the_same_case_are_not_a_choice():
    data = copy.deepcopy(DEMO)
    data["representatives"]["ann_again"] = dict(data["representatives"]["ann"])
    ctx = FakeContext(data, caller_number=data["representatives"]["ann"]["number"])
    result = ctx.check_pin(ctx.identify_caller(), "1357")
    assert result.who.id == "ann" and result.choices == ()


def test_a_person_is_about_themselves():
    ctx = FakeContext()
    assert ctx._verified("rose").about == "Rose"
    assert ctx._verified("ann").about == "Rose"


def test_the_context_protocol_has_the_new_query_and_stays_runtime_checkable():
    assert getattr(Context, "_is_runtime_protocol", False)
    assert isinstance(FakeContext(), Context)
    assert EffectActions().last_contact(Verified("x", "person", "X", None)) is None

    class NoLastContact:
        now, channel, language, needs, caller_number = NOW, "sms", "en", None, None

        def identify_caller(self): ...
        def recipient(self): ...
        def check_pin(self, identity, pin): ...
        def check_reference(self, reference, token): ...
        def allowed_fields(self, who, channel): ...
        def load_case(self, who): ...
        def service(self): ...

    for name in ("request_callback", "take_message", "opt_out", "opt_in", "record_checkin",
                 "record_feedback", "connect_person", "wrong_number", "raise_action"):
        setattr(NoLastContact, name, lambda self, *a: [])
    assert not isinstance(NoLastContact(), Context)

    class WithDefaults(EffectActions, NoLastContact):
        pass

    assert isinstance(WithDefaults(), Context)


def test_pin_result_and_verified_stay_backwards_compatible():
    assert PinResult(ok=False).choices == ()
    assert Verified(id="a", kind="person", first_name="A", case_id=None).about == ""
    who = ActionCall(None, {"_who": {"id": "a", "kind": "person", "first_name": "A",
                                     "case_id": None}}, {}, {}).who
    assert who.about == ""  # a state stored before `about` existed still loads


# ---- which case --------------------------------------------------------------------------
def test_before_the_pin_no_name_is_said_or_kept(converse):
    conv = converse(number=NEIL)
    out = conv.text("news")
    assert "Harold" not in out and "Jean" not in out
    assert "Harold" not in json.dumps(conv.state) and "Jean" not in json.dumps(conv.state)


def test_after_the_pin_the_names_are_asked_for_and_nothing_else(converse):
    conv, out = at_choice(converse)
    assert out.splitlines() == ["Thank you. Is this about Harold or Jean?",
                                "To hear about Harold, reply 1.", "To hear about Jean, reply 2."]
    values = conv.state["values"]
    assert "case" not in values and "_who" not in values
    assert values["caller"]["verified"] is False
    assert [c["id"] for c in values["_choices"]] == ["neil_harold", "neil_jean"]
    shown = [(e.case_id, e.fields) for e in conv.effects if e.kind == "disclosed"]
    assert shown == [("c_harold", ("person_first_name",)), ("c_jean", ("person_first_name",))]


def test_once_chosen_the_choices_are_forgotten_and_the_caller_is_verified(converse):
    conv, _out = at_choice(converse)
    out = conv.text("2")
    values = conv.state["values"]
    assert values["_who"]["id"] == "neil_jean" and values["_who"]["about"] == "Jean"
    assert "_choices" not in values and "choice" not in values
    assert values["caller"]["verified"] is True
    assert "Harold" not in out and "Chris" not in out


def test_each_case_is_told_with_its_own_consent(converse):
    conv, _ = at_choice(converse)
    conv.text("1")
    assert conv.ctx.calls[-1] == ("allowed_fields", ("neil_harold", "sms"))
    assert set(conv.state["values"]["case"]) <= fields_for_scopes(
        DEMO["representatives"]["neil_harold"]["scopes"])
    conv, _ = at_choice(converse)
    conv.text("2")
    assert "worker_name" not in conv.state["values"]["case"]


def test_on_a_call_the_names_are_speech_hints_only_after_the_pin(converse):
    conv = converse(number=NEIL, channel="voice")
    conv.send(Input.start())
    conv.send(Input.digits("1"))
    pin_hints = [r for r in conv.replies if isinstance(r, Expect)][-1].hints
    assert "Harold" not in pin_hints
    conv.send(Input.digits("8024"))
    hints = [r for r in conv.replies if isinstance(r, Expect)][-1].hints
    assert "Harold" in hints and "Jean" in hints
    assert [r for r in conv.replies if isinstance(r, Expect)][-1].keys == ("1", "2", "*", "0")


def test_a_call_can_choose_by_saying_the_name(converse):
    conv, _ = at_choice(converse, channel="voice")
    out = conv.send(Input.speech("it is about Jean", 0.8))
    assert "We have agreed a plan to keep Jean safe" in out and "Harold" not in out


def test_more_than_four_cases_asks_for_a_person_and_names_nobody(flows):
    ctx = FakeContext(five_cases_at_one_number(), caller_number="+447700900901", channel="sms")
    state, _r, _e = advance(flows["welcome"], None, Input.sms("news"), ctx)
    state, replies, effects = advance(flows["welcome"], state, Input.sms("5151"), ctx)
    out = render_text(replies)
    assert "more than 4 people" in out and "To speak to a person, reply 0" in out
    assert not any(n in out for n in ("Ada", "Bert", "Cora", "Dot", "Eric"))
    assert not any(n in json.dumps(state.to_dict()) for n in ("Ada", "Bert", "Eric"))
    assert "_choices" not in state.values and state.values["choice"]["count"] == 5
    assert not [e for e in effects if e.kind == "disclosed"]
    state, replies, effects = advance(flows["welcome"], state, Input.sms("1"), ctx)
    callbacks = [e for e in effects if isinstance(e, fx.RequestCallback)]
    assert callbacks and callbacks[0].number == "+447700900901" and state.ended


def test_choices_that_cannot_be_named_go_to_a_person():
    nameless = Verified("a", "representative", "Kim", "c1")
    named = Verified("b", "representative", "Kim", "c2", about="Ivy")
    assert choice_values((nameless, named))["too_many"] is True
    assert choice_values((named, named))["names"] == "Ivy or Ivy"
    assert choice_values()["several"] is False


def test_choose_case_with_no_such_case_verifies_nobody():
    ctx = FakeContext(caller_number=NEIL)
    call = ActionCall(ctx, {"_choices": []}, {}, {"index": 3})
    REGISTRY["choose_case"].run(call)
    assert "_who" not in call.values
    assert [e.action for e in call.effects] == ["flow_problem"]


def test_an_outbound_call_never_asks_which_case(flows):
    ctx = FakeContext(caller_number=NEIL, channel="voice", recipient="neil_jean")
    state, _r, _e = advance(flows["checkin"], None, Input.start(), ctx)
    state, replies, _e = advance(flows["checkin"], state, Input.digits("8024"), ctx)
    out = " ".join(r.plain for r in replies if hasattr(r, "plain"))
    assert "Is this about" not in out and "see how you are" in out
    assert state.values["_who"]["id"] == "neil_jean"


def test_option_words_with_placeholders_are_checked_when_flows_load(tmp_path):
    for path in FLOWS_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    verify = (tmp_path / "verify.yaml").read_text()
    (tmp_path / "verify.yaml").write_text(verify.replace('"{{ choice.name_2 }}"',
                                                         '"{{ choice.nme_2 }}"', 1))
    fs = load_flows(tmp_path)
    assert [e.message for e in fs.errors] == ["'choice' has no field 'nme_2'"]


@pytest.mark.parametrize("names,lang,expected", [
    (["Harold"], "en", "Harold"), (["Harold", "Jean"], "en", "Harold or Jean"),
    (["Harold", "Jean", "Ivy"], "en", "Harold, Jean or Ivy"), (["Harold", "Jean"], "cy",
                                                               "Harold neu Jean"),
])
def test_either_joins_names_as_people_say_them(names, lang, expected):
    assert either(names, lang) == expected


# ---- what happened last time -------------------------------------------------------------
@pytest.mark.parametrize("data,expected", [
    (None, None),
    ({"kind": "visit", "date": "2025-12-02"}, None),
    ({"kind": "message"}, None),
    ({"kind": "message", "date": "not a date"}, None),
    ({"kind": "message", "date": "2025-12-09"}, None),  # tomorrow: bad data
    ({"kind": "message", "date": "2025-09-08"}, None),  # 91 days ago
    ({"kind": "message", "date": "2025-09-09", "passed_to": None},
     {"kind": "message", "date": "2025-09-09", "passed_to": "", "seen": False}),
    ({"kind": "callback", "on": date(2025, 12, 8), "passed_to": " Sam \n"},
     {"kind": "callback", "date": "2025-12-08", "passed_to": "Sam", "seen": False}),
    ({"kind": "message", "date": datetime(2025, 12, 2, 15, 0, tzinfo=UTC),
      "passed_to": "the duty team"},
     {"kind": "message", "date": "2025-12-02", "passed_to": "the duty team", "seen": False}),
    # Taken on by Sam: said so ("Sam has your message"), but never without a name to say.
    ({"kind": "message", "date": "2025-12-02", "passed_to": "Sam", "seen": True},
     {"kind": "message", "date": "2025-12-02", "passed_to": "Sam", "seen": True}),
    ({"kind": "message", "date": "2025-12-02", "passed_to": "", "seen": True},
     {"kind": "message", "date": "2025-12-02", "passed_to": "", "seen": False}),
])
def test_the_last_contact_is_checked_and_made_plain(data, expected):
    assert last_contact_view(data, NOW) == expected


def test_the_last_contact_is_looked_up_only_after_the_pin(converse):
    conv = converse(number=NEIL)
    conv.text("news")
    conv.text("8024")
    assert not [c for c in conv.ctx.calls if c[0] == "last_contact"]
    conv.text("1")
    assert ("last_contact", ("neil_harold",)) in conv.ctx.calls


def test_the_last_contact_comes_right_after_the_facts_and_before_the_news(converse):
    conv, _ = at_choice(converse)
    said = conv.text("1")
    assert said.index("finding out what happened") < said.index("Sam Patel") \
        < said.index("You asked for a call back on Monday 1 December") \
        < said.index("We asked Sam to call you") < said.index("News, ")


def test_with_no_last_contact_nothing_is_said_and_last_is_empty(converse):
    conv = converse()  # Ann: no last contact in the demo
    conv.text("news")
    out = conv.text("1357")
    assert "You left" not in out and "You asked for a call back" not in out
    assert conv.state["values"]["last"] == {"kind": "", "date": None, "passed_to": "",
                                            "seen": False, "to_duty": False}


class TextsMayNotNameTheWorker(FakeContext):
    """Like a discreet person with a mobile: a call may name the worker, a text may not."""

    def allowed_fields(self, who, channel):
        if channel == "sms":
            return fields_for_scopes(["status"])
        return super().allowed_fields(who, channel)


TEXTED = """\
flow: texted
kind: inbound
start: check
steps:
  check:
    next:
      - call: verify
        then: recall
  recall:
    action: load_last_contact
    say: "It went to {{ last.passed_to }}."
    send_text: "It went to {{ last.passed_to or 'us' }}."
    end: true
"""


def test_a_text_sent_during_a_call_names_nobody_the_text_may_not(tmp_path):
    for path in FLOWS_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "texted.yaml").write_text(TEXTED)
    fs = load_beside_shipped(tmp_path)
    assert fs.ok, fs.errors
    data = copy.deepcopy(DEMO)
    data["representatives"]["ann"]["last_contact"] = {"kind": "message", "date": "2025-12-02",
                                                      "passed_to": "Sam"}
    ctx = TextsMayNotNameTheWorker(data, caller_number=data["representatives"]["ann"]["number"],
                                   channel="voice")
    state, _r, _e = advance(fs["texted"], None, Input.start(), ctx)
    state, replies, effects = advance(fs["texted"], state, Input.digits("1357"), ctx)
    assert "It went to Sam." in " ".join(r.plain for r in replies if hasattr(r, "plain"))
    texts = [e for e in effects if isinstance(e, fx.SendText)]
    assert [t.body for t in texts] == ["It went to us."]


def test_the_fake_reads_last_contact_from_the_fixture():
    ctx = FakeContext()
    assert ctx.last_contact(ctx._verified("neil_jean")) == {
        "kind": "message", "date": "2025-12-02", "passed_to": "Chris"}
    assert ctx.last_contact(ctx._verified("ann")) is None
