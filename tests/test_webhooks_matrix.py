"""What each caller may hear: the consent matrix, closed and withheld cases, cover workers,
withheld numbers, messages and the text copy of the facts."""

import re
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from bot.models import Interaction, OutboxMessage, Representative, StaffAction
from tests.factories import tells_status

DANIEL = "+447700900202"  # Arthur's son, full consent
OFFICE_HOURS = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)

# What each scope lets Daniel hear about Arthur's case (see bot/demo/demo.yaml).
SCOPE_SIGNS = {
    "status": "agreed a plan to keep Arthur safe",
    "news": "A carer now comes every morning",
    "worker": "Tom Hartley",
    "next_contact": "We will be in touch by",
}


def _texts(texter, *messages):
    return "\n".join(line for m in messages for line in texter.text(m))


@pytest.fixture
def office(demo_runtime):
    demo_runtime.clock = lambda: OFFICE_HOURS
    return demo_runtime


@pytest.mark.parametrize("scope", sorted(SCOPE_SIGNS))
@pytest.mark.parametrize("on", [True, False])
def test_each_consent_scope_opens_only_its_own_facts(phone, office, scope, on):
    with Session(office.engine) as session:
        daniel = session.exec(select(Representative).where(Representative.ref == "R-002")).one()
        daniel.consent_scopes = [scope] if on else [s for s in SCOPE_SIGNS if s != scope]
        session.commit()
    said = _texts(phone(DANIEL), "Any news?", "7285")
    assert (SCOPE_SIGNS[scope] in said) is on, said


def test_a_worker_away_names_the_cover_worker(phone, office):
    said = _texts(phone("+447700900102"), "Any news?", "3164")
    assert "Rachel Dunn is away" in said and "Tom Hartley" in said and "0113 496 0167" in said


def test_a_closed_case_hears_the_closure(phone, office):
    said = _texts(phone("+447700900103"), "Any news?", "2619")
    assert "closed your case" in said and "pension" in said


def test_reference_and_pin_from_a_withheld_number(phone, office):
    caller = phone("anonymous")
    step = caller.call()
    assert "Edith" not in step.text
    caller.press("1")
    step = caller.press("4821")
    assert "reference" in step.text
    step = caller.press("100101")
    assert "Sam Okafor" in step.text


def test_the_facts_can_be_sent_by_text_through_the_outbox(phone, office):
    edith = phone("+447700900101")
    edith.call()
    edith.press("1")
    step = edith.press("4821")
    assert "text" in step.text.lower()
    [key] = re.findall(r"To [^.]*\btext\b[^.]*, press (\d)\.", step.text)
    edith.press(key)
    with Session(office.engine) as session:
        facts, news = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert {facts.to_number, news.to_number} == {"+447700900101"}
    assert "Sam Okafor" in facts.body and "News from" in news.body  # the news, as heard


def test_a_message_left_on_a_call_reaches_the_worker_with_its_transcription(phone, office):
    edith = phone("+447700900101")
    edith.call()
    edith.press("1")
    edith.press("4821")
    step = edith.press("2")  # leave a message
    assert step.record is not None
    assert 'finishOnKey="#*0"' in step.xml  # hash when done; star starts again; 0, a person
    edith.leave_message(seconds=15)
    form = {"CallSid": edith.call_sid, "TranscriptionText": "Please ring me after lunch.",
            "TranscriptionStatus": "completed", "AccountSid": "AC" + "0" * 32}
    assert edith.post("/twilio/voice/transcription", form)[0] == 200
    with Session(office.engine) as session:
        left = session.exec(select(Interaction).where(Interaction.kind == "message_left")).one()
        action = session.exec(select(StaffAction).where(StaffAction.kind == "message")).one()
    assert "Please ring me after lunch." in left.summary
    assert "Edith Marsh" in action.summary and action.worker_id is not None


def test_the_next_contact_acknowledges_the_last_one(phone, office):
    edith = phone("+447700900101")
    _texts(edith, "Any news?", "4821", "1")  # asks for a call back
    with Session(office.engine) as session:
        assert session.exec(select(Interaction).where(
            Interaction.kind == "callback_request")).one().person_id is not None


def test_wrong_number_with_an_open_case_raises_an_action(phone, office):
    _texts(phone("+447700900101"), "wrong number")
    with Session(office.engine) as session:
        kinds = {a.kind for a in session.exec(select(StaffAction))}
    assert "wrong_number" in kinds


def test_danger_by_text_out_of_hours_texts_the_emergency_duty_team(phone, demo_runtime):
    demo_runtime.clock = lambda: datetime(2026, 11, 28, 23, 0, tzinfo=UTC)  # Saturday night
    said = _texts(phone("+447700900101"), "I feel unsafe")
    assert "999" in said
    with Session(demo_runtime.engine) as session:
        urgent = session.exec(select(StaffAction).where(StaffAction.urgency == "urgent")).all()
        [alert] = session.exec(select(OutboxMessage).where(
            OutboxMessage.purpose == "danger_alert")).all()
    assert urgent and alert.to_number == "+447700900998"  # no PIN: the line's EDT
    assert "07700 900101" in alert.body and "Sam" not in alert.body


def test_a_son_for_both_parents_is_asked_which_after_the_pin(phone, office):
    neil = phone("+447700900803")
    first = _texts(neil, "Any news?")
    assert "Harold" not in first and "Jean" not in first
    asked = _texts(neil, "8024")
    assert "Harold" in asked and "Jean" in asked
    key = re.findall(r"To hear about Jean, reply (\d)", asked)[0]
    about_jean = _texts(neil, key)
    assert tells_status(about_jean)  # status scope for Jean
    assert "Nadia Begum" not in about_jean  # no worker scope for Jean
