"""The runner: edge cases from issue 3's 'Done means', failures, state and the privacy guard."""

from __future__ import annotations

import json

from bot.engine import (
    ConnectPerson,
    EndCall,
    Expect,
    Input,
    RaiseAction,
    Say,
    render_text,
    sms_messages,
)
from bot.engine.sms import cost

from .conftest import ROSE


def at_menu(converse, **kw):
    conv = converse(**kw)
    conv.text("news")
    conv.text("1357")
    return conv


def test_empty_text_is_not_understood_and_the_choices_come_again(converse):
    conv = converse()
    conv.text("hi")
    out = conv.text("")
    assert out.startswith("Sorry, I did not understand that.")
    assert "reply 1" in out


def test_emoji_only_text_is_not_understood(converse):
    conv = converse()
    conv.text("hi")
    out = conv.text("🙂👍")
    assert out.startswith("Sorry, I did not understand that.")
    assert cost(out).encoding == "GSM-7"  # our reply never echoes the emoji


def test_a_2000_character_text_at_a_menu_gets_a_short_reply(converse):
    conv = converse()
    conv.text("hi")
    body = "blah " * 400
    out = conv.text(body)
    assert len(body) == 2000
    assert out.startswith("Sorry, I did not understand that.")
    assert all(cost(m).parts <= 2 for m in sms_messages(conv.replies))


def test_a_2000_character_message_is_passed_on_whole(converse):
    conv = at_menu(converse)
    conv.text("2")
    body = ("The carer did not come again today and mum has not eaten. " * 40)[:2000]
    out = conv.text(body)
    assert "pass your message on" in out
    (message,) = [e for e in conv.effects if e.kind == "record_message"]
    assert message.text == body.strip() and message.person_id == "ann"


def test_a_long_text_that_says_i_feel_unsafe_is_danger(converse):
    conv = converse()
    conv.text("hi")
    out = conv.text("sorry to bother you " * 50 + "but I feel unsafe at home")
    assert "999" in out
    assert any(isinstance(e, RaiseAction) and e.urgency == "urgent" for e in conv.effects)


def test_an_unexpected_key_is_told_but_never_read_back(converse):
    conv = converse(channel="voice")
    conv.send(Input.start())
    out = conv.send(Input.digits("8"))
    assert out.startswith("That is not one of the choices.") and "8" not in out
    assert conv.state["tries"] == 1


def test_stop_in_the_middle_of_a_flow(converse):
    conv = at_menu(converse)
    out = conv.text("stop")
    assert out == ""
    assert conv.kinds() == ["opt_out", "raise_action"]
    opt_out, action = conv.effects
    assert opt_out.number == "+447700900123"
    assert action.action == "opted_out" and action.urgency == "high"
    assert conv.state["ended"] is True


def test_twilio_stop_words_all_opt_out_but_not_inside_a_sentence(converse):
    for word in ("STOPALL", "unsubscribe", "Cancel", "END", "quit", "revoke", "optout"):
        conv = converse()
        conv.text("hi")
        conv.text(word)
        assert "opt_out" in conv.kinds(), word
    conv = converse()
    conv.text("hi")
    conv.text("please do not stop calling me")
    assert "opt_out" not in conv.kinds()


def test_silence_three_times_offers_help_and_never_hangs_up_early(converse):
    conv = converse(channel="voice")
    conv.send(Input.start())
    outs = [conv.send(Input.silence()) for _ in range(3)]
    assert outs[0].startswith("Sorry, I did not hear anything.")
    assert outs[1].startswith("Sorry, I did not hear anything.")
    assert "this is not working well" in outs[2]
    assert "To ask us to call you back, press 1" in outs[2]
    assert "To get a text from us instead, press 3" in outs[2]  # Ann calls from a mobile
    # The caller was given 10 s, then (silence may mean they need longer) 30 s each time.
    waits = [r.timeout for r in conv.replies if isinstance(r, Expect)]
    assert waits[-1] == 30
    seconds = 10 + 30 + 30
    while True:
        conv.send(Input.silence())
        seconds += 30
        if any(isinstance(e, EndCall) for e in conv.effects):
            break
        assert seconds < 300
    assert seconds >= 60
    assert "request_callback" in conv.kinds()


def test_silence_with_extra_time_waits_three_times_as_long(converse):
    conv = converse(channel="voice", number=ROSE)
    conv.send(Input.start())
    expect = conv.replies[-1]
    assert isinstance(expect, Expect)
    assert expect.timeout == 30 and expect.speech_end == 6
    conv.send(Input.silence())
    assert conv.state["silent_seconds"] == 30


def test_low_confidence_i_feel_unsafe_is_read_back_then_urgent(converse):
    conv = converse(channel="voice")
    conv.send(Input.start())
    out = conv.send(Input.speech("I feel unsafe", 0.3))
    assert "If you are in danger now, call 9 9 9" in out
    assert "I think you said: I feel unsafe. Is that right?" in out
    assert conv.effects == []
    out = conv.send(Input.speech("yes", 0.8))
    urgent = [e for e in conv.effects if isinstance(e, RaiseAction)]
    assert urgent and urgent[0].urgency == "urgent" and urgent[0].action == "danger"
    assert any(isinstance(e, ConnectPerson) for e in conv.effects)


def test_low_confidence_danger_denied_goes_back_to_the_question(converse):
    conv = converse(channel="voice")
    conv.send(Input.start())
    conv.send(Input.speech("I feel unsafe", 0.3))
    out = conv.send(Input.digits("2"))
    assert "To hear about your case, press 1" in out
    assert conv.effects == []


def test_unconfirmed_danger_is_treated_as_real_after_the_limit(converse):
    conv = converse(channel="voice")
    conv.send(Input.start())
    conv.send(Input.speech("I feel unsafe", 0.3))
    for _ in range(3):
        conv.send(Input.speech("mmm", 0.2))
    assert any(isinstance(e, RaiseAction) and e.urgency == "urgent" for e in conv.effects)


def test_zero_pressed_during_pin_entry_reaches_a_person(converse):
    conv = converse(channel="voice")
    conv.send(Input.start())
    conv.send(Input.digits("1"))
    assert conv.state["step"] == "ask_pin"
    out = conv.send(Input.digits("0"))
    assert "put you through to a person" in out
    (connect,) = [e for e in conv.effects if isinstance(e, ConnectPerson)]
    assert connect.number == "+441134960001"  # the duty line, in office hours


def test_saying_person_during_pin_entry_reaches_a_person(converse):
    conv = converse(channel="voice")
    conv.send(Input.start())
    conv.send(Input.digits("1"))
    conv.send(Input.speech("person", 0.9))
    assert "connect_person" in conv.kinds()


def test_a_spoken_pin_is_understood(converse):
    conv = converse(channel="voice")
    conv.send(Input.start())
    conv.send(Input.digits("1"))
    out = conv.send(Input.speech("one three five seven", 0.7))
    assert "Sam Patel" in out


def test_star_repeats_the_last_prompt_from_its_start(converse):
    conv = converse(channel="voice", number=ROSE)
    conv.send(Input.start())
    conv.send(Input.digits("1"))
    first = conv.send(Input.digits("4821"))
    again = conv.send(Input.digits("*"))
    assert again == first.removeprefix("[pause 0.5s]\n")
    # Told again, so recorded again for the audit trail, and nothing else happens.
    assert conv.kinds() == ["disclosed"]


def test_state_is_json_and_the_conversation_survives_a_round_trip(converse):
    conv = converse()
    conv.text("news")
    stored = json.loads(json.dumps(conv.state))
    conv.state = stored
    assert "Sam Patel" in conv.text("1357")
    assert "1357" not in json.dumps(conv.state)  # the PIN is never kept


def test_the_same_turns_give_the_same_output(converse):
    outs = []
    for _ in range(2):
        conv = converse(channel="voice")
        outs.append([conv.send(i) for i in (Input.start(), Input.digits("1"),
                                            Input.digits("1357"))])
    assert outs[0] == outs[1]


def test_replies_carry_what_twiml_needs(converse):
    conv = converse(channel="voice")
    conv.send(Input.start())
    conv.send(Input.digits("1"))
    conv.send(Input.digits("1357"))
    says = [r for r in conv.replies if isinstance(r, Say)]
    numbers = [s.number for say in says for s in say.segments if s.number]
    assert "+441134960123" in numbers
    expect = conv.replies[-1]
    assert isinstance(expect, Expect) and expect.kind == "choice"
    assert expect.keypad and expect.speech and expect.locale == "en-GB"
    assert expect.keys == ("1", "2", "3", "4", "*", "0")
    assert "call me" in expect.hints and "person" in expect.hints
    assert expect.timeout >= 10 and expect.speech_end >= 3
    assert all(s.rate <= 100 for s in says)


def test_a_voice_message_is_recorded(converse):
    conv = at_menu(converse, channel="voice")
    conv.send(Input.digits("2"))
    expect = conv.replies[-1]
    assert expect.record and expect.max_seconds >= 60
    out = conv.send(Input.recording("https://example.org/r/1", 25))
    assert "pass your message on" in out
    (msg,) = [e for e in conv.effects if e.kind == "record_message"]
    assert msg.recording_url == "https://example.org/r/1" and msg.seconds == 25


def test_star_and_0_work_while_a_message_is_recorded(converse):
    conv = at_menu(converse, channel="voice")
    conv.send(Input.digits("2"))
    # Star while recording: the prompt again, to start the message afresh; nothing kept.
    out = conv.send(Input.recording("https://example.org/r/1", 4, key="*"))
    assert "say your message after the tone" in out and conv.replies[-1].record
    assert "record_message" not in conv.kinds()
    # Hash: the message is done and passed on.
    out = conv.send(Input.recording("https://example.org/r/2", 20, key="#"))
    assert "pass your message on" in out and "record_message" in conv.kinds()
    # 0 while recording reaches a person.
    conv = at_menu(converse, channel="voice")
    conv.send(Input.digits("2"))
    conv.send(Input.recording("https://example.org/r/3", 2, key="0"))
    assert "connect_person" in conv.kinds() and "record_message" not in conv.kinds()


def test_every_turn_reports_what_it_disclosed(converse):
    conv = at_menu(converse)
    (disclosed,) = [e for e in conv.effects if e.kind == "disclosed"]
    assert disclosed.person_id == "ann" and disclosed.case_id == "c_rose"
    assert disclosed.channel == "sms"
    assert {"stage", "worker_name", "worker_number", "next_contact"} <= set(
        disclosed.fields)


def test_after_a_call_ends_only_a_new_call_starts_again(converse):
    conv = at_menu(converse, channel="voice")
    conv.send(Input.digits("1"))
    assert conv.state["ended"]
    assert conv.send(Input.silence()) == ""
    assert "Hello" in conv.send(Input.start())


def test_a_reply_to_a_check_in_carries_on_the_check_in(flows):
    from bot.engine.fake import FakeContext

    out_ctx = FakeContext(caller_number="+447700900201", channel="sms", recipient="joan")
    state, replies, _e = advance_json(flows["checkin"], None, Input.start(), out_ctx)
    # The reply comes in like any text; the webhooks pass the inbound entry flow.
    in_ctx = FakeContext(caller_number="+447700900201", channel="sms")
    state, replies, effects = advance_json(flows["welcome"], state, Input.sms("2"), in_ctx)
    (checkin,) = [e for e in effects if e.kind == "record_checkin"]
    assert checkin.answer == "call_me" and checkin.person_id == "joan"
    state, replies, _e = advance_json(flows["welcome"], state, Input.sms("hello"), in_ctx)
    assert "What would you like to do?" in render_text(replies)


def advance_json(flow, state, inp, ctx):
    from bot.engine import advance

    state, replies, effects = advance(flow, state, inp, ctx)
    return json.loads(json.dumps(state.to_dict())), replies, effects


def test_settings_meet_the_accessibility_guide():
    from bot.engine import settings as s

    assert s.NO_INPUT_TIMEOUT_SECONDS >= 10
    assert s.EXTRA_TIME_FACTOR >= 3
    assert s.SILENCE_LIMIT_SECONDS >= 60
    assert s.MAX_TRIES == 3 and s.MISHEARD_BEFORE_KEYPAD == 2
    assert s.MENU_MAX_OPTIONS <= 4
    assert s.MAX_SPEECH_RATE <= 100 and s.SLOWER_SPEECH_RATE == 85
    assert s.PAUSE_BETWEEN_SENTENCES_SECONDS >= 0.5
    assert s.SPEECH_END_SECONDS >= 1  # a number of seconds, never Twilio's "auto"


def test_star_after_a_sorry_still_repeats_the_key_facts(converse):
    conv = converse(channel="voice", number=ROSE)
    conv.send(Input.start())
    conv.send(Input.digits("1"))
    conv.send(Input.digits("4821"))
    conv.send(Input.silence())
    again = conv.send(Input.digits("*"))
    assert again.startswith("[speaking at 85%]\nWe are finding out what happened")
    assert "Sam Patel" in again


def test_an_empty_keypad_or_speech_result_counts_as_silence(converse):
    conv = converse(channel="voice")
    conv.send(Input.start())
    assert conv.send(Input.digits("")).startswith("Sorry, I did not hear anything.")
    assert conv.send(Input.speech("", 0.0)).startswith("Sorry, I did not hear anything.")


def test_welsh_words_work_for_the_global_commands(converse):
    gwen = "+447700900701"
    conv = converse(channel="voice", number=gwen)
    conv.send(Input.start())
    assert conv.replies[-1].locale == "en-GB"  # the number alone never chooses Welsh
    first = conv.send(Input.digits("9"))
    assert conv.replies[-1].locale == "en-GB"  # no Welsh speech recognition at Twilio
    assert first.endswith(conv.send(Input.speech("eto", 0.9)))  # without the key's pause
    out = conv.send(Input.speech("rhywun", 0.9))
    assert "Byddaf yn eich rhoi drwodd i berson nawr." in out
    conv = converse(number=gwen)
    conv.text("cymraeg")
    assert "I siarad gyda pherson, ffoniwch 0113 496 0001." in conv.text("0")


def test_flows_without_the_commands_file_cannot_run(tmp_path):
    import pytest

    from bot.engine import EngineError, load_flows

    (tmp_path / "hello.yaml").write_text("flow: hello\nsteps:\n  hi:\n    say: Hi.\n"
                                         "    end: true\n")
    fs = load_flows(tmp_path)
    assert not fs.ok
    with pytest.raises(EngineError):
        advance_json(fs["hello"], None, Input.start(), None)
