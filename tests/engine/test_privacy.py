"""Disclosure is decided in one place, and no flow can show a field it may not."""

from __future__ import annotations

import shutil

import pytest

from bot.engine import Input, advance, render_text
from bot.engine.context import Verified
from bot.engine.disclosure import BASIC_FIELDS, CASE_FIELDS, GuardedCase, fields_for_scopes
from bot.engine.errors import NotDisclosed
from bot.engine.fake import FakeContext

from .conftest import FLOWS_DIR, load_beside_shipped

LEAKY = """\
flow: leaky
kind: inbound
start: check
steps:
  check:
    next:
      - call: verify
        then: load
  load:
    action: load_case
    then: tell
  tell:
    say:
      - "Hello {{ caller.first_name }}."
      - "The worker is {{ case.worker_name }}."
      - "Goodbye."
    end: true
"""


@pytest.fixture
def leaky_flows(tmp_path):
    for path in FLOWS_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "leaky.yaml").write_text(LEAKY)
    fs = load_beside_shipped(tmp_path)
    assert fs.ok, fs.errors
    return fs


def test_a_flow_cannot_show_a_field_outside_the_callers_scope(leaky_flows):
    ctx = FakeContext(caller_number="+447700900202", channel="sms")  # Tom: status, closure
    state, _r, _e = advance(leaky_flows["leaky"], None, Input.sms("hi"), ctx)
    state, replies, effects = advance(leaky_flows["leaky"], state, Input.sms("3690"), ctx)
    out = render_text(replies)
    assert "Hello Tom." in out and "Goodbye." in out
    assert "Chris" not in out and "The worker is" not in out
    problems = [e for e in effects if e.kind == "raise_action"]
    assert problems and problems[0].action == "flow_problem"
    assert "worker_name" in problems[0].summary


def test_guarded_case_refuses_hidden_fields_and_records_shown_ones():
    guard = GuardedCase({"stage": "closed", "whose": "your"})
    assert guard.stage == "closed"
    with pytest.raises(NotDisclosed):
        _ = guard.worker_name
    with pytest.raises(AttributeError):
        guard.__getattr__("_values")  # the sandbox also refuses any _name
    assert guard.shown == {"stage"}


def fake_who(ctx, rid):
    return ctx._verified(rid)


@pytest.mark.parametrize("rid,expected", [
    ("ann", fields_for_scopes(["status", "news", "worker", "next_contact", "closure"])),
    ("tom", fields_for_scopes(["status", "closure"])),
    ("priya", fields_for_scopes(["worker", "next_contact"])),
    ("lucy", BASIC_FIELDS),  # Derek's case is withheld
    ("derek", BASIC_FIELDS),
    ("rose", CASE_FIELDS),
])
def test_allowed_fields_follow_consent_and_withholding(rid, expected):
    ctx = FakeContext()
    assert ctx.allowed_fields(fake_who(ctx, rid), "voice") == expected


def test_a_discreet_person_gets_no_case_detail_by_text_but_does_on_a_call():
    ctx = FakeContext()
    lena = fake_who(ctx, "lena")
    assert ctx.allowed_fields(lena, "sms") == BASIC_FIELDS
    assert ctx.allowed_fields(lena, "voice") == CASE_FIELDS
    assert lena.text_number is None  # nothing with detail is ever texted to her


def test_representatives_never_see_worker_fields_without_the_worker_scope():
    fields = fields_for_scopes(["status", "news", "next_contact", "closure"])
    assert not {"worker_name", "worker_number", "contact_number"} & fields


def test_before_a_pin_nothing_personal_is_in_the_state(flows):
    ctx = FakeContext(caller_number="+447700900123", channel="sms")
    state, replies, effects = advance(flows["welcome"], None, Input.sms("news"), ctx)
    assert "case" not in state.values
    assert state.values["caller"]["first_name"] == ""
    assert not [e for e in effects if e.kind == "disclosed"]


def test_a_verified_callers_identity_is_kept_as_plain_data():
    who = Verified(id="ann", kind="representative", first_name="Ann", case_id="c_rose")
    assert who.text_number is None


def test_the_fake_context_implements_the_context_protocol():
    from bot.engine import Context

    assert isinstance(FakeContext(), Context)
