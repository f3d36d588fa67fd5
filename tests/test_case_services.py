"""Case changes write history, an audit entry and an event in one transaction."""

from datetime import date

import pytest
from sqlmodel import Session, select

from bot.models import (
    Case,
    CaseUpdate,
    Interaction,
    MspAchieved,
    MspAsked,
    Person,
    RiskResult,
    Stage,
    Worker,
)
from bot.records import events
from bot.services import cases
from tests.factories import make_case, make_worker


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def seen_events():
    seen = []

    def listener(session, event):
        seen.append(event)

    events.subscribe(listener)
    yield seen
    events.unsubscribe(listener)


def test_post_news_records_history_audit_and_event(session, seen_events):
    case = make_case(session)
    cases.post_news(session, "SG-1001", "  Sam  visited   Edith today. ", actor="cli:test",
                    next_contact_by=date(2099, 1, 9))
    session.commit()
    assert case.latest_news == "Sam visited Edith today."
    assert case.next_contact_by == date(2099, 1, 9)
    assert case.news_updated_at.tzinfo is not None
    update = session.exec(select(CaseUpdate)).one()
    assert (update.kind, update.recorded_by) == ("news", "cli:test")
    assert session.exec(select(Interaction).where(Interaction.kind == "case_news")).one()
    assert [(e.kind, e.case_id) for e in seen_events] == [("news", case.id)]


@pytest.mark.parametrize("text, message", [
    ("   ", "news is empty"),
    ("x" * 601, "601 characters"),
])
def test_bad_news_is_refused(session, text, message):
    make_case(session)
    with pytest.raises(cases.CaseChangeError, match=message):
        cases.post_news(session, "SG-1001", text, actor="t")


def test_next_contact_in_the_past_is_refused(session):
    make_case(session)
    with pytest.raises(cases.CaseChangeError, match="in the past"):
        cases.post_news(session, "SG-1001", "News.", actor="t", next_contact_by=date(2020, 1, 1))


def test_unknown_case_is_named(session):
    with pytest.raises(cases.CaseChangeError, match="no case 'SG-404'"):
        cases.post_news(session, "SG-404", "News.", actor="t")


def test_change_worker(session, seen_events):
    case = make_case(session)
    team_id = session.get(Worker, case.worker_id).team_id
    new = make_worker(session, team_id=team_id, ref="W-2", first_name="Ravi", last_name="Das",
                      direct_number="+441134960124")
    cases.change_worker(session, "SG-1001", "W-2", actor="t")
    assert case.worker_id == new.id
    assert seen_events[0].details["to_worker_id"] == new.id
    with pytest.raises(cases.CaseChangeError, match="already the worker"):
        cases.change_worker(session, "SG-1001", "W-2", actor="t")
    with pytest.raises(cases.CaseChangeError, match="no worker 'W-9'"):
        cases.change_worker(session, "SG-1001", "W-9", actor="t")


def test_close_records_sg4a_in_national_wording(session, seen_events):
    case = make_case(session)
    cases.close_case(session, "SG-1001", summary="Edith is safe at home.", outcomes="partially",
                     risk="reduced", actor="t")
    assert case.stage is Stage.CLOSED and case.closed_at is not None
    assert case.msp_asked is MspAsked.ASKED_EXPRESSED
    assert case.msp_achieved is MspAchieved.PARTIALLY
    assert case.risk_result is RiskResult.REDUCED
    assert seen_events[0].kind == "closed"
    with pytest.raises(cases.CaseChangeError, match="is closed"):
        cases.post_news(session, "SG-1001", "More news.", actor="t")


def test_close_without_expressed_outcomes_records_no_achievement(session):
    case = make_case(session)
    cases.close_case(session, "SG-1001", summary="Done.", outcomes="not-asked", risk="removed",
                     actor="t")
    assert (case.msp_asked, case.msp_achieved) == (MspAsked.NO, None)


def test_pause_contact_sets_the_persons_pause(session):
    case = make_case(session)
    cases.pause_contact(session, "SG-1001", date(2099, 3, 1), actor="t")
    assert session.get(Person, case.person_id).contact_paused_until == date(2099, 3, 1)


def test_a_failing_listener_rolls_the_change_back(engine):
    def broken(session, event):
        raise RuntimeError("listener failed")

    with Session(engine) as session:
        make_case(session)
        session.commit()
    events.subscribe(broken)
    try:
        from bot.db import session_scope

        with pytest.raises(RuntimeError), session_scope(engine) as session:
            cases.post_news(session, "SG-1001", "Lost news.", actor="t")
    finally:
        events.unsubscribe(broken)
    with Session(engine) as session:
        assert session.exec(select(CaseUpdate)).all() == []


# ---- the words staff write: checked as the flows are ----------------------------------------

def test_news_with_an_emoji_is_refused_and_curly_quotes_are_made_plain(demo_runtime, caseline):
    out = caseline("cases", "news", "SG-100101", "The bank says it is sorted 👍", code=1)
    assert "'👍'" in out and "three times as much" in out and "Remove it" in out
    with Session(demo_runtime.engine) as session:
        case = session.exec(select(Case).where(Case.ref == "SG-100101")).one()
    assert "sorted" not in case.latest_news  # nothing was posted

    out = caseline("cases", "news", "SG-100101", "Sam says \u201cthe bank has stopped it\u201d"
                   " \u2013 Edith is safe.")
    assert "takes 1 text part(s) on its own (GSM-7)" in out
    with Session(demo_runtime.engine) as session:
        case = session.exec(select(Case).where(Case.ref == "SG-100101")).one()
    assert case.latest_news == 'Sam says "the bank has stopped it" - Edith is safe.'


def test_a_closure_summary_saying_you_is_pointed_out_and_check_changes_nothing(
        demo_runtime, caseline):
    summary = "We helped you move your money to a safe account. The section 42 enquiry is over."
    out = caseline("cases", "close", "SG-100101", "--summary", summary, "--outcomes", "fully",
                   "--risk", "removed", "--check")
    assert "read to Edith and to the people Edith trusts, so 'you' would mean different" \
           " people: write 'Edith' instead" in out
    assert "'section 42' is a word callers may not know" in out
    with Session(demo_runtime.engine) as session:
        assert not session.exec(select(Case).where(Case.ref == "SG-100101")).one().is_closed
    plain = "We helped Edith move her money to a safe account."
    out = caseline("cases", "close", "SG-100101", "--summary", plain, "--outcomes", "fully",
                   "--risk", "removed")
    assert "Warning" not in out and "is closed" in out
