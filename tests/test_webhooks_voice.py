"""People phone the line: accessible TwiML, PIN by keypad or speech, a person at `0`, retries."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from bot.models import InboundEvent, StaffAction

WINIFRED = "+441134960505"  # landline, slower speech, extra time
EDITH = "+447700900101"
HAROLD_AND_JEAN = "+441144960707"
OFFICE_HOURS = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)  # a Wednesday morning
NIGHT = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)


@pytest.fixture
def at(demo_runtime):
    def set_clock(moment):
        demo_runtime.clock = lambda: moment
    set_clock(OFFICE_HOURS)
    return set_clock


def check_twiml(step, voice="Polly.Amy"):
    """Every answer to a call is TwiML Twilio accepts and this audience can use."""
    assert len(step.xml.encode()) < 64_000
    root = ET.fromstring(step.xml)
    for gather in root.iter("Gather"):
        assert list(gather), "an empty <Gather> says nothing before waiting"
        assert gather.attrib["input"] == "dtmf speech"
        assert gather.attrib["language"] == "en-GB"
        assert int(gather.attrib["timeout"]) >= 10
        assert gather.attrib["speechTimeout"] != "auto"
        assert gather.attrib["actionOnEmptyResult"] == "true"
    for say in root.iter("Say"):  # the offer of Welsh is said in Welsh, by a Welsh voice
        assert (say.attrib["voice"], say.attrib["language"]) in (
            (voice, "en-GB"), ("Polly.Gwyneth", "cy-GB"))
    if root.find("Gather") is not None:
        assert root.find("Redirect") is not None, "a <Redirect> safety net follows a <Gather>"
    for say in root.iter("Say"):  # rule 5: one sentence at a time, a short pause after it
        words = "".join(say.itertext()).strip()
        assert len(re.findall(r"[.!?](?=\s+[A-Z0-9])", words)) == 0, words
        pause = say.find("break")
        assert pause is not None and int(pause.attrib["time"].removesuffix("ms")) >= 500
    assert all(int(p.attrib["length"]) >= 1 for p in root.iter("Pause"))


def test_a_verified_call_hears_the_case_slowly_with_time_to_answer(phone, at):
    winifred = phone(WINIFRED)
    step = winifred.call()
    check_twiml(step)
    assert "press star" in step.text.lower() and "press 0" in step.text.lower()
    assert int(step.gather["timeout"]) >= 30  # before the PIN, extra time for everyone
    assert 'rate="90%"' in step.xml and 'rate="85%"' not in step.xml  # hers comes after it
    step = winifred.press("1")
    check_twiml(step)
    assert "PIN" in step.text
    step = winifred.press("6045")
    check_twiml(step)
    assert "Sam Okafor" in step.text
    assert "0 1 1 3, 4 9 6, 0 1 2 3" in step.text  # read digit by digit in groups


def test_pin_by_speech(phone, at):
    edith = phone(EDITH)
    edith.call()
    edith.press("1")
    step = edith.say("four eight two one", confidence=0.8)
    check_twiml(step)
    assert "Sam Okafor" in step.text


def test_star_repeats_and_is_not_taken_for_a_retry(phone, at, demo_runtime):
    edith = phone(EDITH)
    edith.call()
    edith.press("1")
    heard = edith.press("4821").text
    again = edith.press("*")
    assert "Sam Okafor" in again.text and "Sam Okafor" in heard
    with Session(demo_runtime.engine) as session:
        keys = [e.key for e in session.exec(select(InboundEvent))]
    assert len(keys) == len(set(keys)) == 4


def test_a_twilio_retry_of_a_step_is_answered_the_same_and_acted_on_once(phone, at,
                                                                         demo_runtime):
    edith = phone(EDITH)
    edith.call()
    edith.press("1")
    edith.press("4821")
    action = edith.step.gather["action"]
    form = {"CallSid": edith.call_sid, "AccountSid": "AC" + "0" * 32, "From": EDITH,
            "To": demo_runtime.settings.twilio_phone_number, "Digits": "1"}
    first, second = edith.post(action, form), edith.post(action, form)
    assert first == second
    with Session(demo_runtime.engine) as session:
        assert len(session.exec(select(StaffAction).where(
            StaffAction.kind == "call_back")).all()) == 1


def test_zero_reaches_the_duty_line_in_office_hours(phone, at):
    edith = phone(EDITH)
    edith.call()
    step = edith.press("0")
    assert step.dial == "+441134960500"  # before the PIN: the line's front door
    step = edith.dial_result("no-answer")  # nobody picked up: take a message instead
    check_twiml(step)
    assert "message" in step.text.lower()


def test_zero_out_of_hours_gives_the_out_of_hours_number(phone, at):
    at(NIGHT)
    edith = phone(EDITH)
    edith.call()
    step = edith.press("0")
    assert step.dial is None or step.dial == "+447700900998"
    assert "message" in step.text.lower() or step.dial


def test_locked_out_caller_still_reaches_a_person(phone, at, demo_runtime):
    edith = phone(EDITH)
    edith.call()
    said = edith.press("1").text
    for _ in range(12):  # wrong PINs, a wrong reference, "try again": until the lock
        if "cannot check your PIN" in said:
            break
        if "case reference" in said:
            said = edith.press("999999").text
        elif "try your PIN again" in said:
            said = edith.press("1").text
        else:  # "key in your PIN", or "your PIN again"
            said = edith.press("1111").text
    with Session(demo_runtime.engine) as session:
        assert session.exec(select(StaffAction).where(
            StaffAction.kind == "pin_locked")).first() is not None
    assert "cannot check your PIN" in said and "Sam" not in said
    step = edith.press("0")
    assert step.dial == "+441134960500"  # before the PIN: the line's front door


def test_silence_never_hangs_up_before_a_minute_and_three_silences(phone, at):
    edith = phone(EDITH)
    step = edith.call()
    waited, silences = 0, 0
    while not step.ended:
        waited += int(step.gather["timeout"])  # what the caller was given to answer
        step = edith.silence()
        silences += 1
        check_twiml(step)
        assert silences <= 6, "the call never ended"
    assert waited >= 60 and silences >= 3
    assert "call you back" in step.text  # and someone is asked to call them back


def test_low_confidence_danger_is_read_back_then_urgent(phone, at, demo_runtime):
    at(NIGHT)
    edith = phone(EDITH)
    edith.call()
    step = edith.say("I feel unsafe", confidence=0.3)
    assert "999" in step.text or "unsafe" in step.text.lower()
    step = edith.press("1")
    assert "9 9 9" in step.text  # spoken digit by digit
    with Session(demo_runtime.engine) as session:
        urgent = session.exec(select(StaffAction).where(
            StaffAction.urgency == "urgent")).all()
        from bot.models import OutboxMessage
        alerts = session.exec(select(OutboxMessage).where(
            OutboxMessage.purpose == "danger_alert")).all()
    assert urgent
    assert [a.to_number for a in alerts] == ["+447700900998"]  # no PIN: the line's EDT
    assert "Edith" not in alerts[0].body


def test_shared_landline_the_pin_says_who(phone, at):
    line = phone(HAROLD_AND_JEAN)
    line.call()
    line.press("1")
    jean = line.press("5281").text
    assert "Jean" in jean or "Nadia" in jean or "worker" in jean.lower()


def test_needs_follow_the_verified_person_not_the_phone(phone, at):
    care_home = phone("anonymous")  # Winifred calls from a care home's withheld phone
    step = care_home.call()
    assert 'rate="85%"' not in step.xml  # nobody known yet: ordinary speed
    care_home.press("1")
    care_home.press("6045")
    step = care_home.press("100105")
    assert "Sam Okafor" in step.text
    step = care_home.press("3")  # how safeguarding works: said at her speed, with her time
    assert 'rate="85%"' in step.xml and int(step.gather["timeout"]) >= 30
