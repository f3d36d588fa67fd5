"""People text the line: verified, consent-aware, audited, GSM-7, retries acted on once."""

from sqlmodel import Session, select

from bot.engine.sms import cost
from bot.models import (
    ConversationState,
    Disclosure,
    InboundEvent,
    Interaction,
    OptOut,
    StaffAction,
)

EDITH, JOAN, KERRY, GORDON = "+447700900101", "+447700900201", "+447700900106", "+447700900104"
STRANGER = "+447700900999"


def _all(texts):
    return "\n".join(texts)


def _verified(texter, pin):
    """Ask for news and give the PIN; return everything the line says after the PIN."""
    assert "PIN" in _all(texter.text("Any news?"))
    return _all(texter.text(pin))


def test_a_person_texts_verifies_and_hears_their_case(phone, demo_runtime):
    edith = phone(EDITH)
    first = _all(edith.text("Any news?"))
    assert "PIN" in first and "Sam" not in first
    answer = _all(edith.text("4821"))
    assert "Sam Okafor" in answer and "0113 496 0123" in answer
    with Session(demo_runtime.engine) as session:
        fields = {d.field for d in session.exec(select(Disclosure))}
    assert {"worker_name", "worker_number", "stage"} <= fields


def test_every_reply_is_gsm7_and_at_most_two_parts(phone):
    for number, pin in ((EDITH, "4821"), (JOAN, "5937"), (KERRY, "6173")):
        texter = phone(number)
        for message in (texter.text("hello") + texter.text("Any news?") + texter.text(pin)
                        + texter.text("3")):
            report = cost(message)
            assert report.encoding == "GSM-7" and report.parts <= 2, message


def test_wrong_pin_says_nothing(phone):
    answer = _all(phone(EDITH).text("1111"))
    assert "Sam" not in answer and "Edith" not in answer


# Names, workers, stages and dates of the demo cases: none may reach an unknown caller.
SECRETS = ("Edith", "Marsh", "Sam", "Okafor", "0113 496 0123", "SG-100101", "Rachel", "Tom",
           "finding out what happened", "plan", "closed", "January", "February", "March",
           "April", "May", "June", "July", "August", "September", "October", "November",
           "December")


def test_a_stranger_learns_nothing(phone):
    stranger = phone(STRANGER)
    said = [stranger.text(m) for m in ("Is there a case for Edith Marsh?", "1", "1234",
                                        "100101", "1", "2", "3", "news", "0")]
    for reply in (line for lines in said for line in lines):
        for secret in SECRETS:
            assert secret not in reply, (secret, reply)


def test_a_stranger_calling_learns_nothing(phone, demo_runtime):
    stranger = phone(STRANGER)
    steps = [stranger.call()]
    for key in ("1", "9999", "100101", "2", "3", "*"):
        if stranger.step.record:
            steps.append(stranger.leave_message())
        elif stranger.step.gather:
            steps.append(stranger.press(key))
        else:
            break
    for step in steps:
        for secret in SECRETS:
            assert secret not in step.text, (secret, step.text)


def test_representative_hears_only_their_scopes(phone):
    answer = _verified(phone(JOAN), "5937")
    assert "finding out what happened" in answer  # the status scope
    assert "Sam Okafor" not in answer and "0113 496 0123" not in answer  # no worker scope
    assert "latest news" not in answer.lower()  # no news scope


def test_discreet_person_gets_no_detail_by_text(phone):
    answer = _verified(phone(KERRY), "6173")
    assert "Kerry" in answer or "call" in answer.lower()  # verified, then told how to hear it
    assert "Nadia" not in answer and "0114 496 0201" not in answer


def test_withheld_case_says_only_that_the_worker_will_contact(phone):
    answer = _verified(phone(GORDON), "8352")
    assert "will contact you" in answer or "will be in touch" in answer
    assert "Sam" not in answer and "police" not in answer.lower()


def test_the_same_message_sid_is_processed_once(phone, demo_runtime):
    edith = phone(EDITH)
    form = {"MessageSid": "SM" + "7" * 32, "AccountSid": "AC" + "0" * 32, "From": EDITH,
            "To": demo_runtime.settings.twilio_phone_number, "Body": "0"}
    first = edith.post("/twilio/sms", form)
    second = edith.post("/twilio/sms", form)
    assert first == second and first[0] == 200
    with Session(demo_runtime.engine) as session:
        assert len(session.exec(select(InboundEvent)).all()) == 1
        requests = session.exec(select(StaffAction).where(StaffAction.kind == "call_back")).all()
    assert len(requests) <= 1


def test_a_failed_turn_keeps_the_request_and_twilios_retry_runs_it(phone, demo_runtime,
                                                                   monkeypatch):
    """The request and the turn share one commit: a turn that fails after doing its work
    leaves none of that work, yet the request is kept, and the retry is answered."""
    from bot.inbound import conversation

    real_run, turns = conversation._run, []

    def fails_the_first_time(*args):
        turns.append(real_run(*args))  # the whole turn runs, and writes, before the fault
        if len(turns) == 1:
            raise RuntimeError("a fault after the turn")
        return turns[-1]

    monkeypatch.setattr(conversation, "_run", fails_the_first_time)
    edith = phone(EDITH)
    form = {"MessageSid": "SM" + "5" * 32, "AccountSid": "AC" + "0" * 32, "From": EDITH,
            "To": demo_runtime.settings.twilio_phone_number, "Body": "Any news?"}
    status, failed = edith.post("/twilio/sms", form)
    assert status == 200 and "something went wrong" in failed and "999" in failed
    with Session(demo_runtime.engine) as session:
        [event] = session.exec(select(InboundEvent)).all()
        assert event.response is None and event.params["Body"] == "Any news?"
        assert session.exec(select(Interaction).where(Interaction.kind == "text_in")).all() == []
        assert session.exec(select(ConversationState)).all() == []
    status, answered = edith.post("/twilio/sms", form)  # Twilio's retry
    assert status == 200 and "PIN" in answered and len(turns) == 2
    assert edith.post("/twilio/sms", form) == (200, answered)  # and again: as before
    with Session(demo_runtime.engine) as session:
        [event] = session.exec(select(InboundEvent)).all()
        assert event.response == answered and event.processed_at is not None
        assert len(session.exec(select(Interaction).where(
            Interaction.kind == "text_in")).all()) == 1
        assert session.exec(select(ConversationState)).one().turn == 1
    assert len(turns) == 2


def test_a_retry_arriving_during_the_turn_waits_for_it_and_gets_its_answer(
        phone, demo_runtime, monkeypatch):
    """Twilio retries a text whose answer is slow: the retry waits for the first turn's
    commit (the stored request's key holds it back) and answers as it did, acting once."""
    import threading
    import time

    from bot.inbound import conversation

    real_run, turns, running = conversation._run, [], threading.Event()

    def slow(*args):
        running.set()
        answer = real_run(*args)
        time.sleep(0.5)  # still in the turn's transaction when the retry comes
        turns.append(answer)
        return answer

    monkeypatch.setattr(conversation, "_run", slow)
    edith = phone(EDITH)
    form = {"MessageSid": "SM" + "6" * 32, "AccountSid": "AC" + "0" * 32, "From": EDITH,
            "To": demo_runtime.settings.twilio_phone_number, "Body": "Any news?"}
    first: dict = {}
    sender = threading.Thread(target=lambda: first.update(answer=edith.post("/twilio/sms",
                                                                              form)))
    sender.start()
    assert running.wait(10)
    retry = edith.post("/twilio/sms", form)
    sender.join(10)
    assert retry == first["answer"] and retry[0] == 200 and "PIN" in retry[1]
    assert len(turns) == 1
    with Session(demo_runtime.engine) as session:
        assert len(session.exec(select(Interaction).where(
            Interaction.kind == "text_in")).all()) == 1


def test_two_first_texts_at_the_same_moment_share_one_conversation(
        phone, demo_runtime, monkeypatch):
    """Two texts from a number with no conversation arrive together: the second waits at
    the new conversation's key for the first turn's commit, then carries on after it (no
    second conversation, no error, each text answered once)."""
    import threading
    import time

    from bot.inbound import conversation

    real_advance, started = conversation.advance, threading.Event()

    def slow_first(*args, **kwargs):
        if not started.is_set():  # the first turn: its new conversation not yet committed
            started.set()
            time.sleep(0.5)
        return real_advance(*args, **kwargs)

    monkeypatch.setattr(conversation, "advance", slow_first)
    edith = phone(EDITH)
    base = {"AccountSid": "AC" + "0" * 32, "From": EDITH,
            "To": demo_runtime.settings.twilio_phone_number}
    first: dict = {}
    sender = threading.Thread(target=lambda: first.update(answer=edith.post(
        "/twilio/sms", {**base, "MessageSid": "SM" + "7" * 32, "Body": "hello"})))
    sender.start()
    assert started.wait(10)
    second = edith.post("/twilio/sms", {**base, "MessageSid": "SM" + "8" * 32,
                                        "Body": "Any news?"})
    sender.join(10)
    assert first["answer"][0] == 200 and second[0] == 200
    assert "went wrong" not in first["answer"][1] + second[1]
    assert "PIN" in second[1]  # carried on after the first: asked news, asked for the PIN
    with Session(demo_runtime.engine) as session:
        [row] = session.exec(select(ConversationState)).all()
        assert row.turn == 2
        assert all(e.response for e in session.exec(select(InboundEvent)).all())


def test_stop_is_recorded_and_an_open_case_raises_an_action(phone, demo_runtime):
    edith = phone(EDITH)
    edith.text("STOP")
    with Session(demo_runtime.engine) as session:
        assert session.exec(select(OptOut).where(OptOut.number == EDITH)).one().reason == "stop"
        assert session.exec(select(Interaction).where(Interaction.kind == "opt_out")).first()
        # Edith has an open case: her worker must know she stopped our texts.
        assert session.exec(select(StaffAction).where(StaffAction.kind == "opted_out")).first()
    edith.text("START")
    with Session(demo_runtime.engine) as session:
        assert session.exec(select(OptOut)).all() == []


def test_help_names_the_duty_number_and_relay_uk(phone):
    answer = _all(phone(STRANGER).text("HELP"))
    assert "18001" in answer
