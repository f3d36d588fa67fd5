"""Conversations that never misread a texter, played through the signed webhooks with a
clock that moves: replies to our texts, PIN windows, stale states, withheld senders."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.models import ConversationState, Interaction, OutboxMessage, StaffAction
from bot.outreach import notices, sweeps
from bot.services import cases as case_service
from tests.factories import tells_status

EDITH, JOAN, ARTHUR = "+447700900101", "+447700900201", "+447700900102"
STRANGER = "+447700900999"
MORNING = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)  # a Wednesday, inside every window


class Clock:
    """The line's time for one test: `clock.tick(minutes=5)` moves it on."""

    def __init__(self, runtime, start=MORNING):
        self.now = start
        runtime.clock = lambda: self.now

    def tick(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def clock(demo_runtime):
    notices.install(demo_runtime)
    return Clock(demo_runtime)


def _all(texts) -> str:
    return "\n".join(texts)


def _urgent(runtime) -> list[StaffAction]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(StaffAction).where(StaffAction.urgency == "urgent")))


def _sent_to(runtime, number, purpose) -> list[OutboxMessage]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(OutboxMessage).where(
            OutboxMessage.to_number == number, OutboxMessage.purpose == purpose)))


def _verified(texter, pin):
    """Ask for news and give the right PIN, as a person does before anything else."""
    assert "PIN" in _all(texter.text("news"))
    assert tells_status(_all(texter.text(pin)))
    return texter


def _check_in(runtime, clock, days=60):
    """The check-in sweep, `days` after the cases opened: every open case is due."""
    clock.tick(days=days)
    sweeps.check_ins(runtime)


# ---- 1. a reply answers the latest question we asked --------------------------------------

@pytest.mark.parametrize("reply, heard, urgent", [
    ("3", "999", 1), ("I feel unsafe", "999", 1), ("1", "glad you are OK", 0),
    ("2", "ask someone to call you soon", 0),
])
def test_a_reply_to_a_check_in_answers_it_though_an_older_menu_was_open(
        demo_runtime, phone, clock, reply, heard, urgent):
    edith = phone(EDITH)
    assert "PIN" in _all(edith.text("news"))
    assert "Sam Okafor" in _all(edith.text("4821"))  # the case menu is open now
    _check_in(demo_runtime, clock, days=0)
    clock.tick(minutes=1)
    assert _sent_to(demo_runtime, EDITH, "check_in")
    answer = _all(edith.text(reply))
    assert heard in answer and "how we help keep adults safe" not in answer
    assert len(_urgent(demo_runtime)) == urgent


def test_a_reply_to_the_watchdog_text_answers_it(demo_runtime, phone, clock):
    edith = _verified(phone(EDITH), "4821")
    clock.tick(days=30)
    assert sweeps.watchdog(demo_runtime) >= 1 and _sent_to(demo_runtime, EDITH, "watchdog")
    assert "999" in _all(edith.text("3"))
    [alarm] = _urgent(demo_runtime)
    assert alarm.kind == "feels_unsafe"


def test_a_reply_to_a_worker_notice_answers_it(demo_runtime, phone, clock):
    edith = phone(EDITH)
    edith.text("hello")  # the main menu is open: 1 would be "hear about your case"
    with demo_runtime.session() as session:
        case_service.change_worker(session, "SG-100101", "W-103", actor="test")
    assert _sent_to(demo_runtime, EDITH, "worker_change")
    assert "asked for someone to call you back" in _all(edith.text("1")).replace(
        "We have asked", "asked")
    with Session(demo_runtime.engine) as session:
        asked = session.exec(select(StaffAction).where(StaffAction.kind == "call_back")).all()
    assert len(asked) == 1


def test_a_reply_that_is_not_an_option_is_a_text_of_its_own(demo_runtime, phone, clock):
    edith = phone(EDITH)
    _check_in(demo_runtime, clock)
    answer = _all(edith.text("any news?"))  # not 1, 2 or 3: a request of its own
    assert "PIN" in answer and "Sorry" not in answer
    assert "Sam Okafor" in _all(edith.text("4821"))
    assert _urgent(demo_runtime) == []


def test_our_text_keeps_a_pin_window_that_is_open(demo_runtime, phone, clock):
    edith = _verified(phone(EDITH), "4821")
    _check_in(demo_runtime, clock, days=0)
    clock.tick(minutes=2)
    assert "glad you are OK" in _all(edith.text("1"))
    clock.tick(minutes=5)
    answer = _all(edith.text("any news?"))
    assert "Sam Okafor" in answer and "PIN" not in answer


def test_our_text_never_counts_as_a_pin(demo_runtime, phone, clock):
    edith = phone(EDITH)
    _check_in(demo_runtime, clock)
    assert "glad you are OK" in _all(edith.text("1"))
    answer = _all(edith.text("any news?"))
    assert "PIN" in answer and "Sam" not in answer


# ---- 2. senders without a real number --------------------------------------------------

@pytest.mark.parametrize("sender", ["Private", "Withheld", "CARECO", "anonymous"])
def test_a_sender_without_a_number_is_told_to_call_and_never_verified(
        demo_runtime, phone, clock, sender):
    first = phone(sender)
    for text, in (("any news?",), ("4821",), ("100101",), ("1",)):
        answer = _all(first.text(text))
        assert "call" in answer.lower() and "own phone" in answer and "999" in answer, answer
        assert "Sam" not in answer and "Edith" not in answer
    second = phone(sender)  # another care home, the same display name
    for text in ("2", "Please tell Sam I am worried", "news"):
        answer = _all(second.text(text))
        assert "Sam" not in answer and "Edith" not in answer
    with Session(demo_runtime.engine) as session:
        told = session.exec(select(Interaction).where(Interaction.case_id.is_not(None),
                                                      Interaction.actor != "import")).all()
        assert told == []
        shared = session.exec(select(ConversationState).where(
            ConversationState.key == f"sms:{sender}")).all()
        assert shared == []


def test_unsafe_from_a_sender_without_a_number_still_raises_the_alarm(demo_runtime, phone,
                                                                      clock):
    answer = _all(phone("Private").text("I feel unsafe"))
    assert "999" in answer
    assert len(_urgent(demo_runtime)) == 1


# ---- 3. nobody gets stuck ----------------------------------------------------------------

def test_hello_then_the_pin_gives_the_news(demo_runtime, phone, clock):
    edith = phone(EDITH)
    assert "What would you like to do?" in _all(edith.text("hello"))
    answer = _all(edith.text("4821"))
    assert "Sam Okafor" in answer and "Sorry" not in answer


def test_after_sorry_a_fresh_request_starts_afresh(demo_runtime, phone, clock):
    edith = phone(EDITH)
    edith.text("hello")
    assert "Sorry" in _all(edith.text("banana"))
    answer = _all(edith.text("any news?"))
    assert "PIN" in answer and "Sorry" not in answer


def test_a_verified_relative_asking_again_hears_the_news(demo_runtime, phone, clock):
    joan = phone(JOAN)
    joan.text("Any news?")
    first = _all(joan.text("5937"))
    assert tells_status(first)
    clock.tick(minutes=10)
    again = _all(joan.text("any news?"))
    assert tells_status(again) and "Sorry" not in again and "PIN" not in again


@pytest.mark.parametrize("where", ["first text", "after hello", "at the reference step"])
def test_four_digits_are_a_pin_attempt_that_reveals_nothing(demo_runtime, phone, clock, where):
    """A wrong PIN from a number on file and any PIN from an unknown number get the same
    answer: the PIN-and-reference path."""
    answers = []
    for number, pin in ((EDITH, "1111"), (STRANGER, "4821")):
        texter = phone(number)
        if where == "after hello":
            texter.text("hello")
        if where == "at the reference step":
            texter.text("news")
            texter.text("2222")
        answers.append(_all(texter.text(pin)))
    # The same words for both; where a PIN is asked, a plain "did not match" and one more try.
    assert answers[0] == answers[1]
    assert ("case reference" if where == "at the reference step" else "PIN again") \
        in answers[0]


# ---- 4. the text PIN lasts its window, across flows ---------------------------------------

def test_the_text_pin_lasts_fifteen_minutes_from_the_last_text(demo_runtime, phone, clock):
    edith = _verified(phone(EDITH), "4821")
    assert "asked for someone to call you back" in _all(edith.text("1"))  # the flow ends
    clock.tick(minutes=14)
    assert "Sam Okafor" in _all(edith.text("news"))  # no PIN: the window slid
    clock.tick(minutes=14)
    assert "Sam Okafor" in _all(edith.text("any update?"))
    clock.tick(minutes=16)
    answer = _all(edith.text("news"))
    assert "PIN" in answer and "Sam" not in answer


def test_a_wrong_pin_forgets_an_earlier_right_one(demo_runtime, phone, clock):
    edith = _verified(phone(EDITH), "4821")
    edith.text("9999")  # someone else picks up the phone and tries
    answer = _all(edith.text("news"))
    assert "PIN" in answer and "Sam" not in answer


# ---- 5. a call we make counts once the message was served after the right PIN ------------

WINIFRED = "+441134960505"


def _answer_our_call(runtime, phone, row):
    """Twilio connects our call and the person answers: the signed webhook, then the PIN."""
    from uuid import uuid4

    from bot.delivery import outbox
    from bot.tryout.phone_sim import read_call_step

    callee = phone(row.to_number)
    callee.call_sid = "CA" + uuid4().hex
    with runtime.session() as session:
        attempt = outbox.claim(session, row.id, now=runtime.now())
        attempt.twilio_sid, attempt.status = callee.call_sid, "queued"
    ours = {"From": runtime.settings.twilio_phone_number, "To": row.to_number,
            "Direction": "outbound-api"}
    _status, body = callee.post(f"/twilio/voice/outbound?outbox={row.id}",
                                {"CallSid": callee.call_sid, "AccountSid": callee.account_sid,
                                 "CallStatus": "in-progress", "AnsweredBy": "human", **ours})
    callee.step = read_call_step(body)

    def press(digits):
        return callee._follow(callee._call_post(callee.step.gather["action"],
                                                {"Digits": digits, **ours}))

    def hang_up():
        callee.post(f"/twilio/status?outbox={row.id}&attempt=1",
                    {"CallSid": callee.call_sid, "AccountSid": callee.account_sid,
                     "CallStatus": "completed", "AnsweredBy": "human", **ours})

    return callee.step, press, hang_up


def test_pressing_2_after_hearing_the_closure_counts_as_delivered(demo_runtime, phone, clock):
    from bot.models import OutboxStatus

    with demo_runtime.session() as session:
        case_service.close_case(session, "SG-100105", summary="The new lock is working.",
                                outcomes="fully", risk="reduced", actor="test")
    [row] = _sent_to(demo_runtime, WINIFRED, "closure")
    first, press, hang_up = _answer_our_call(demo_runtime, phone, row)
    assert "PIN" in first.text and "closed" not in first.text
    heard = press("6045")
    assert "We closed" in heard.text and "To end the call" in heard.text
    press("2")
    hang_up()
    with Session(demo_runtime.engine) as session:
        assert session.get(OutboxMessage, row.id).status is OutboxStatus.ANSWERED
    clock.tick(hours=3)
    assert len(_sent_to(demo_runtime, WINIFRED, "closure")) == 1  # not phoned again


def test_a_call_hung_up_at_the_pin_is_tried_again(demo_runtime, phone, clock):
    from bot.models import OutboxStatus

    with demo_runtime.session() as session:
        case_service.close_case(session, "SG-100105", summary="The new lock is working.",
                                outcomes="fully", risk="reduced", actor="test")
    [row] = _sent_to(demo_runtime, WINIFRED, "closure")
    _first, _press, hang_up = _answer_our_call(demo_runtime, phone, row)
    hang_up()
    with Session(demo_runtime.engine) as session:
        assert session.get(OutboxMessage, row.id).status is OutboxStatus.NOT_ANSWERED
    assert len(_sent_to(demo_runtime, WINIFRED, "closure")) == 2  # tried again later


# ---- 6. the line never reads back what it was given -------------------------------------

def test_a_wrong_key_or_a_spoken_pin_is_never_read_back(demo_runtime, phone, clock):
    caller = phone(EDITH)
    caller.call()
    heard = caller.say("1357", confidence=0.9).text  # at the main menu: not a choice
    assert "1357" not in heard and "1 3 5 7" not in heard and "Sorry" in heard
    heard = caller.press("7").text
    assert "7 is" not in heard and "not one of the choices" in heard
    heard = caller.say("my pin is 1357 and I feel unsafe", confidence=0.3).text
    assert "I think you said: I feel unsafe" in heard and "1357" not in heard
    assert "1 3 5 7" not in heard


def test_control_characters_never_break_the_twiml(demo_runtime, phone, clock):
    from xml.etree import ElementTree

    texter = phone(EDITH)
    status, body = texter.post("/twilio/sms", {
        "MessageSid": "SM" + "7" * 32, "AccountSid": texter.account_sid, "From": EDITH,
        "To": demo_runtime.settings.twilio_phone_number, "Body": "\x01news\x1b\x07",
        "NumSegments": "1"})
    assert status == 200
    ElementTree.fromstring(body)
    caller = phone(EDITH)
    caller.call()
    step = caller.say("\x00\x08 hello \x1f", confidence=0.9)
    assert "Sorry" in step.text or "not one of" in step.text


# ---- 8. danger by voice: one instruction -------------------------------------------------

@pytest.mark.parametrize("words", ["I feel unsafe", "he is hurting me"])
def test_danger_on_a_call_gives_one_instruction(demo_runtime, phone, clock, words):
    caller = phone(EDITH)
    caller.call()
    heard = caller.say(words, confidence=0.9)
    assert ("If you are in danger now, hang up and call 9 9 9. If you can, stay on the line: "
            "I am putting you through to a person.") in heard.text
    assert heard.text.count("9 9 9") == 1 and "Please hold" not in heard.text
    assert heard.dial  # and the call is put through
    assert len(_urgent(demo_runtime)) == 1


# ---- 7. before the PIN, everyone is treated the same --------------------------------------

def test_before_the_pin_a_number_on_file_sounds_like_any_other(demo_runtime, phone, clock):
    """Winifred's landline has slower speech and extra time on file: nobody calling from it
    may learn that before the PIN. Her needs apply once she has given it."""
    import re

    def shape(xml):  # the TwiML without the call's own sid-bearing URLs
        return re.sub(r'(action|url)="[^"]*"', "", xml)

    winifred, stranger = phone(WINIFRED), phone("+441134960999")
    first = [winifred.call(), stranger.call()]
    assert shape(first[0].xml) == shape(first[1].xml)
    assert "9 9 9" in first[0].text and "press 0" in first[0].text
    asked = [winifred.press("1"), stranger.press("1")]
    assert shape(asked[0].xml) == shape(asked[1].xml)
    heard = winifred.press("6045")
    assert "Sam Okafor" in heard.text
    after = winifred.press("3")  # how safeguarding works: at her speed, with her time
    assert 'rate="85%"' in after.xml and int(after.gather["timeout"]) >= 30


def test_the_first_text_says_how_to_reach_a_person_and_999(demo_runtime, phone, clock):
    for number in (EDITH, STRANGER):
        first = _all(phone(number).text("hello"))
        assert "reply 0" in first and "999" in first


def _set_language(runtime, ref, language):
    from bot.models import Person

    with Session(runtime.engine) as session:
        person = session.exec(select(Person).where(Person.ref == ref)).one()
        person.language = language
        session.add(person)
        session.commit()


def test_the_language_never_follows_the_calling_number(demo_runtime, phone, clock):
    """Edith prefers Welsh: before her PIN her number sounds like any other (English, with
    Welsh offered first, in a Welsh voice); 9 switches to Welsh; after the PIN, her own."""
    import re
    from xml.etree import ElementTree

    def shape(xml):
        return re.sub(r'(action|url)="[^"]*"', "", xml)

    _set_language(demo_runtime, "P-001", "cy")
    edith, stranger = phone(EDITH), phone(STRANGER)
    first = [edith.call(), stranger.call()]
    assert shape(first[0].xml) == shape(first[1].xml)
    offer = next(ElementTree.fromstring(first[0].xml).iter("Say"))  # the very first words
    assert (offer.get("voice"), offer.get("language")) == ("Polly.Gwyneth", "cy-GB")
    assert "".join(offer.itertext()) == "Am Gymraeg, pwyswch 9."
    assert first[0].gather["language"] == "en-GB" and "Hello. This is" in first[0].text
    assert _all(phone(EDITH).text("hello")) == _all(phone(STRANGER).text("hello"))

    welsh = edith.press("9")  # she chooses Welsh: the greeting again, in Welsh
    assert welsh.gather["language"] == "en-GB"  # keys work
    assert "Helo. Llinell Newyddion Caseline sydd yma." in welsh.text
    assert "For English, press 9." in welsh.text and "Am Gymraeg" not in welsh.text
    edith.press("1")
    heard = edith.press("4821")
    assert "Sam Okafor" in heard.text and heard.gather["language"] == "en-GB"

    # Without choosing, the call stays English until the PIN, then follows her record.
    caller = phone(EDITH)
    caller.call()
    caller.press("1")
    assert caller.press("4821").gather["language"] == "en-GB"
    assert phone(STRANGER).call().gather["language"] == "en-GB"


def test_a_text_stays_in_the_language_chosen(demo_runtime, phone, clock):
    texter = phone(STRANGER)
    assert "Am Gymraeg, anfonwch 9." in _all(texter.text("hello"))
    welsh = _all(texter.text("9"))
    assert "Helo. Llinell Newyddion Caseline sydd yma." in welsh
    assert "For English, reply 9." in welsh
    clock.tick(minutes=5)
    assert "sydd yma" in _all(texter.text("help"))  # the next text is still Welsh
    assert "Hello. This is" in _all(texter.text("english"))


HAROLD, JEAN = "+441144960707", "+447700900108"  # Don Valley's cases, not Airedale's


@pytest.mark.parametrize("number, pin, team_duty", [
    (EDITH, "4821", "0113 496 0000"),  # Airedale
    (JEAN, "5281", "0114 496 0000"),  # Don Valley
])
def test_before_the_pin_every_caller_hears_the_front_door_after_it_their_team(
        demo_runtime, phone, clock, number, pin, team_duty):
    texter = phone(number)
    before = _all(texter.text("0"))
    assert "0113 496 0500" in before and team_duty not in before
    _verified(texter, pin)
    after = _all(texter.text("0"))
    assert team_duty in after and "0113 496 0500" not in after
    caller = phone(number)
    caller.call()
    assert caller.press("0").dial == "+441134960500"  # put through to the front door


def test_the_pin_brings_the_teams_numbers_in_the_same_reply(demo_runtime, phone, clock):
    """Margaret's case is closed: the reply to her PIN itself names her team's duty line."""
    texter = phone("+447700900103")
    assert "PIN" in _all(texter.text("news"))
    closed = _all(texter.text("2619"))
    assert "closed" in closed and "0113 496 0000" in closed and "0113 496 0500" not in closed


def test_danger_before_the_pin_at_night_alerts_the_lines_duty_team(demo_runtime, phone, clock):
    clock.now = datetime(2026, 12, 5, 23, 0, tzinfo=UTC)  # Saturday night
    phone(JEAN).text("I feel unsafe")
    [alert] = _sent_to(demo_runtime, "+447700900998", "danger_alert")
    assert "Jean" not in alert.body and len(_urgent(demo_runtime)) == 1
