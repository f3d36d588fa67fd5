"""The outbound notices: news_notice, worker_notice and not_forgotten.

`flows check` measures each step on its own; here the whole first text of each notice is built
by the runner with the longest realistic values, and must be one text of at most 2 parts. The
privacy tests go over every demo recipient: a text shows nothing the recipient may not know,
and a call says nothing about a case before the PIN, or after a wrong one.
"""

from __future__ import annotations

import copy

import pytest

from bot.engine import Input, advance
from bot.engine.demo_data import DEMO
from bot.engine.fake import FakeContext
from bot.engine.forms import display_number, spoken_date
from bot.engine.lint import lint
from bot.engine.render import render_text, render_voice, sms_messages
from bot.engine.schema import CASE, LONG_DATE, LONG_FULL_NAME, LONG_NAME, LONG_NUMBER, SERVICE
from bot.engine.sms import cost

NOTICES = ("news_notice", "worker_notice", "not_forgotten")
RECIPIENTS = tuple(DEMO["people"]) + tuple(DEMO["representatives"])
LONG_NEWS = CASE["latest_news"].longest  # NEWS_MAX_CHARS long


def longest_fixture(worker_away: bool = False) -> dict:
    """Rose's case and Ann, with the longest names, news, number and date the lint uses."""
    data = copy.deepcopy(DEMO)
    data["now"] = "2025-09-01T10:30:00+00:00"  # before LONG_DATE, so the date is still ahead
    data["service"]["name"] = SERVICE["name"].longest
    data["people"]["rose"]["first_name"] = LONG_NAME
    data["representatives"]["ann"]["first_name"] = LONG_NAME
    data["workers"]["long"] = {"name": LONG_FULL_NAME, "number": LONG_NUMBER,
                               "away": worker_away, "cover": "long_cover"}
    data["workers"]["long_cover"] = {"name": LONG_FULL_NAME, "number": LONG_NUMBER}
    data["cases"]["c_rose"].update(worker="long", latest_news=LONG_NEWS,
                                   news_date="2025-08-27", next_contact=LONG_DATE)
    return data


def first_text(flows, flow: str, recipient: str, fixture: dict) -> tuple[list[str], list]:
    ctx = FakeContext(fixture, channel="sms", recipient=recipient,
                      caller_number=FakeContext.number_of(fixture, recipient))
    _state, replies, effects = advance(flows[flow], None, Input.start(), ctx)
    return sms_messages(replies), effects


@pytest.mark.parametrize("flow", NOTICES)
@pytest.mark.parametrize("recipient", ["ann", "rose"])
@pytest.mark.parametrize("away", [False, True])
def test_each_notice_is_one_text_of_at_most_two_parts_with_the_longest_values(
        flows, flow, recipient, away):
    texts, effects = first_text(flows, flow, recipient, longest_fixture(away))
    assert len(texts) == 1, texts
    assert cost(texts[0]).encoding == "GSM-7"
    assert cost(texts[0]).parts <= 2, (cost(texts[0]), texts[0])
    assert "flow_problem" not in [getattr(e, "action", "") for e in effects]
    # The longest values really were said (not left out by a condition).
    if flow == "news_notice":
        assert LONG_NEWS[:40] in texts[0]
        assert spoken_date(LONG_DATE) in texts[0]
    if flow == "worker_notice":
        assert LONG_FULL_NAME in texts[0] and display_number(LONG_NUMBER) in texts[0]
    if flow == "not_forgotten":
        assert spoken_date(LONG_DATE) in texts[0]


def test_the_notices_pass_the_check_with_one_text_per_step(flows):
    report = lint(flows)
    rows = [r for r in report.sms if r.flow in NOTICES]
    assert {r.flow for r in rows} == set(NOTICES)
    english = [r for r in rows if r.language == "en"]
    assert all(r.ok and r.texts == 1 and r.parts <= 2 and r.encoding == "GSM-7" for r in english)
    # Welsh keeps its accents: UCS-2, one text each, within the flow's own Welsh budget.
    welsh = [r for r in rows if r.language == "cy"]
    assert welsh and all(r.ok and r.texts == 1 and r.encoding == "UCS-2" for r in welsh)
    assert not [p for p in report.problems if p.flow in NOTICES]


def hidden_words(ctx: FakeContext, recipient: str, channel: str) -> list[str]:
    """Words from the case that this recipient may not be told on this channel."""
    who = ctx._verified(recipient)
    case = DEMO["cases"].get(who.case_id or "", {})
    if not case:
        return []
    worker = DEMO["workers"][case["worker"]]
    allowed = ctx.allowed_fields(who, channel)
    words = []
    if "worker_name" not in allowed:
        words += [worker["name"], display_number(worker["number"])]
    if "latest_news" not in allowed and case.get("latest_news"):
        words.append(case["latest_news"])
    if "next_contact" not in allowed and case.get("next_contact"):
        words.append(spoken_date(case["next_contact"]))
    if "stage" not in allowed:
        words.append(STAGE_PHRASES[case["stage"]])
    return words


# How each stage is put into words (flows/case_update.yaml): none may reach a caller who
# may not know how the case stands.
STAGE_PHRASES = {"concern": "deciding what to do", "enquiry": "finding out what happened",
                 "plan": "agreed a plan", "review": "checking that the plan",
                 "closed": "case is closed"}


@pytest.mark.parametrize("flow", NOTICES)
@pytest.mark.parametrize("recipient", RECIPIENTS)
def test_a_notice_text_shows_nothing_the_recipient_may_not_know(flows, flow, recipient):
    ctx = FakeContext(channel="sms", recipient=recipient,
                      caller_number=FakeContext.number_of(DEMO, recipient))
    _state, replies, effects = advance(flows[flow], None, Input.start(), ctx)
    out = render_text(replies)
    for word in hidden_words(ctx, recipient, "sms"):
        assert word not in out, (word, out)
    # The flows check `may` first: the guard never has to leave a sentence out.
    assert "raise_action" not in [e.kind for e in effects], effects


def case_words(recipient: str) -> list[str]:
    """Anything that would tell an unverified answerer about the case."""
    who = FakeContext(recipient=recipient)._verified(recipient)
    case = DEMO["cases"][who.case_id]
    worker = DEMO["workers"][case["worker"]]
    words = [who.about, worker["name"], worker["name"].split()[0], "worker", "news",
             "not forgotten", "your case", "s case"]
    if case.get("next_contact"):
        words.append(spoken_date(case["next_contact"]))
    return words


@pytest.mark.parametrize("flow", NOTICES)
@pytest.mark.parametrize("recipient", ["ann", "rose", "priya", "lena", "margaret"])
def test_a_notice_call_says_nothing_before_the_pin_nor_after_a_wrong_one(flows, flow,
                                                                           recipient):
    ctx = FakeContext(channel="voice", recipient=recipient,
                      caller_number=FakeContext.number_of(DEMO, recipient))
    state, heard, effects = None, [], []
    for inp in (Input.start(), Input.digits("1111"), Input.digits("123456"),
                Input.digits("1"), Input.digits("9999")):
        state, replies, fx = advance(flows[flow], state, inp, ctx)
        heard.append(render_voice(replies))
        effects += fx
    out = "\n".join(heard).lower()
    for word in case_words(recipient):
        assert word.lower() not in out, (word, out)
    assert not [e for e in effects if e.kind in ("disclosed", "record_checkin", "send_text")]
