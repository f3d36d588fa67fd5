"""Random interleavings of texts and the line's own texts, checked against three rules.

Texts come from numbers on file (Edith, and Daniel who speaks for his father Arthur), an
unknown number and a withheld sender ("Private"), mixed with the line's check-ins to
Edith and news notices to Daniel, while the clock moves on by minutes. After every text:

1. every "unsafe" (the word, or the 3 a check-in offered as the next reply) raises
   exactly one urgent staff action, and nothing else raises one;
2. nobody hears a case fact without having given the right PIN in that conversation, in
   its window (15 minutes from the last text; a wrong PIN forgets a right one);
3. "any news?" always leads to the PIN prompt, the news, or (for a sender without a
   number) the advice to call.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from bot.models import Case, StaffAction, metadata
from bot.outreach import contact, notices
from bot.services import cases as case_service
from tests.factories import STATUS_WORDS, tells_status

START = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)  # a Wednesday, inside every window
WINDOW = timedelta(minutes=15)
EDITH, DANIEL, STRANGER, PRIVATE = "+447700900101", "+447700900202", "+447700900999", "Private"
PINS = {EDITH: "4821", DANIEL: "7285"}
FACTS = (*STATUS_WORDS, "latest news", "The worker for", "Okafor", "Rachel",
         "Tom Hartley", "We closed")
KEPT = {"person", "person_phone", "representative", "team", "worker", "safeguarding_case",
        "case_update"}

BODIES = ["any news?", "news", "hello", "1", "2", "3", "unsafe", "I feel unsafe", "banana",
          "1111", "RIGHT_PIN"]
SENDERS = [EDITH, DANIEL, STRANGER, PRIVATE]
STEP = st.one_of(
    st.tuples(st.just("text"), st.sampled_from(SENDERS), st.sampled_from(BODIES)),
    st.tuples(st.just("check_in"), st.just(EDITH), st.just("")),
    st.tuples(st.just("news"), st.just(DANIEL), st.just("")),
    st.tuples(st.just("wait"), st.just(""), st.sampled_from(["1", "5", "14", "16", "40"])),
)


@dataclass
class Model:
    """What the rules say each sender's conversation is, step by step."""

    now: datetime = START
    verified_at: dict = field(default_factory=dict)  # sender -> last text while verified
    check_in_waiting: set = field(default_factory=set)  # our check-in is the latest question

    def verified(self, sender) -> bool:
        at = self.verified_at.get(sender)
        return at is not None and self.now - at <= WINDOW


def _reset(runtime):
    with runtime.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name not in KEPT:
                conn.execute(table.delete())


def _urgent(runtime) -> int:
    with Session(runtime.engine) as session:
        return len(session.exec(select(StaffAction).where(StaffAction.urgency == "urgent")).all())


def _check_in(runtime, number, serial):
    with runtime.session() as session:
        case = session.exec(select(Case).where(Case.ref == "SG-100101")).one()
        today = runtime.now().date()
        [to] = [r for r in contact.recipients(session, case, "check_in", today=today)
                if r.number == number]
        from bot.inbound.conversation import Flows

        flows = Flows.get(str(runtime.settings.flows_path))
        contact.schedule(session, runtime.settings, flows, case=case, to=to, purpose="check_in",
                         flow="checkin", key=f"property/{serial}", now=runtime.now())


def _post_news(runtime, serial):
    with runtime.session() as session:
        case_service.post_news(session, "SG-100102", f"The carer came on visit {serial}.",
                               actor="test")


@pytest.fixture
def line(demo_runtime, phone):
    notices.install(demo_runtime)
    return demo_runtime, phone


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=3, max_size=14))
def test_random_interleavings_keep_the_three_rules(line, steps):
    runtime, phone = line
    _reset(runtime)
    model = Model()
    runtime.clock = lambda: model.now
    phones = {sender: phone(sender) for sender in SENDERS}
    for serial, (kind, sender, body) in enumerate(steps):
        if kind == "wait":
            model.now += timedelta(minutes=int(body))
            continue
        if kind == "check_in":
            _check_in(runtime, sender, serial)
            model.check_in_waiting.add(sender)
            continue
        if kind == "news":
            _post_news(runtime, serial)
            model.check_in_waiting.discard(sender)  # the notice is the latest question
            continue
        text = PINS.get(sender, "4821") if body == "RIGHT_PIN" else body
        before = _urgent(runtime)
        reply = "\n".join(phones[sender].text(text))
        _expect(model, sender, text, body, reply, _urgent(runtime) - before)


def _expect(model: Model, sender, text, body, reply, new_urgent):
    offered_3 = sender in model.check_in_waiting
    model.check_in_waiting.discard(sender)  # whatever it was, this text answered it
    unsafe = text in ("unsafe", "I feel unsafe") or (text == "3" and offered_3)
    assert new_urgent == (1 if unsafe else 0), (sender, text, reply)
    # The PIN rules, as the line should apply them to this text. (A locked number hears
    # nothing even after the right PIN: the model lets it be verified, which is safe here,
    # since only "facts means verified" is checked.)
    if not model.verified(sender):
        model.verified_at.pop(sender, None)
    if sender in PINS and body == "RIGHT_PIN":
        model.verified_at[sender] = model.now
    elif sender in PINS and text == "1111":
        model.verified_at.pop(sender, None)  # a wrong PIN forgets a right one
    elif model.verified(sender):
        model.verified_at[sender] = model.now  # the window slides from the last text
    if not model.verified(sender):
        told = [fact for fact in FACTS if fact in reply]
        assert not told, (sender, text, told, reply)
    if text == "any news?":
        assert ("PIN" in reply or tells_status(reply) or "own phone" in reply
                or "cannot give news" in reply), (sender, reply)
