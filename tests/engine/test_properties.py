"""Whatever a caller sends, the runner answers safely and keeps a storable state."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine import ConnectPerson, EndCall, Expect, Input, advance, load_flows, render_text
from bot.engine.fake import FakeContext

from .conftest import FLOWS_DIR

FLOWS = load_flows(FLOWS_DIR)
WORDS = ["news", "1", "2", "3", "4", "0", "*", "again", "person", "call me", "message", "yes",
         "no", "help me", "stop", "HELP", "", "🙂", "banana", "1357", "4821", "482193"]
inputs = st.one_of(
    st.sampled_from(WORDS).map(Input.sms),
    st.text(max_size=300).map(Input.sms),
)
voice_inputs = st.one_of(
    st.sampled_from(["1", "2", "3", "4", "0", "*", "1357", "9"]).map(Input.digits),
    st.tuples(st.sampled_from(WORDS), st.floats(0, 1)).map(lambda t: Input.speech(*t)),
    st.just(Input.silence()),
    st.sampled_from(["completed", "no-answer", "busy"]).map(Input.dial),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(inputs, min_size=1, max_size=8))
def test_any_texts_get_a_safe_reply(turns):
    ctx = FakeContext(caller_number="+447700900123", channel="sms")
    state = None
    for inp in turns:
        state, replies, effects = advance(FLOWS["welcome"], state, inp, ctx)
        state = json.loads(json.dumps(state.to_dict()))
        stopped = any(e.kind == "opt_out" for e in effects)
        assert render_text(replies) or stopped or state["ended"]


@settings(max_examples=60, deadline=None)
@given(st.lists(voice_inputs, min_size=1, max_size=10))
def test_any_call_either_waits_for_an_answer_or_ends(turns):
    ctx = FakeContext(caller_number="+447700900123", channel="voice")
    state, _r, _e = advance(FLOWS["welcome"], None, Input.start(), ctx)
    for inp in turns:
        if state.ended:
            break
        state, replies, effects = advance(FLOWS["welcome"], state, inp, ctx)
        waiting = any(isinstance(r, Expect) for r in replies)
        dialing = any(isinstance(e, ConnectPerson) for e in effects)
        ended = any(isinstance(e, EndCall) for e in effects)
        assert waiting or dialing or ended or state.step is not None, (inp, replies)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=80)
                .map(Input.sms), min_size=1, max_size=6))
def test_an_unknown_number_never_hears_case_details(turns):
    ctx = FakeContext(caller_number="+447700900888", channel="sms")
    state = None
    for inp in turns:
        state, replies, effects = advance(FLOWS["welcome"], state, inp, ctx)
        out = render_text(replies)
        for secret in ("Rose", "Sam Patel", "0113 496 0123", "finding out"):
            assert secret not in out
        assert not [e for e in effects if e.kind == "disclosed"]
