"""PIN guessing, played through the signed webhooks with a clock that moves: a stranger who
knows Edith's case reference, calling and texting from several phones, spends her one guess
budget; staff get one action that says it came from several numbers; Edith still reaches a
person, and gets in with her PIN once the lock has lifted."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.models import StaffAction

EDITH, EDITH_PIN = "+447700900101", "4821"
JOAN, JOAN_PIN = "+447700900201", "5937"  # Edith's daughter: a holder on the same case
STRANGER_PHONES = ["+447700900555", "+447700900556", "anonymous", "+447700900557",
                   "anonymous"]
MORNING = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _open_locks(runtime):
    with Session(runtime.engine) as session:
        return list(session.exec(select(StaffAction).where(StaffAction.kind == "pin_locked")))


def _guess_by_call(phone, number, pin):
    stranger = phone(number)
    stranger.call()
    stranger.press("1")  # hear about a case
    said = stranger.press(pin).text
    if "PIN again" in said:  # the one more try every caller is offered
        said = stranger.press(pin[::-1]).text
    if "case reference" in said:
        said = stranger.press("100101").text  # Edith's reference, from a stolen letter
    return said


def _guess_by_text(phone, number, pin):
    stranger = phone(number)
    stranger.text("any news?")
    said = " ".join(stranger.text(pin))
    if "PIN again" in said:
        said = " ".join(stranger.text(pin[::-1]))
    if "case reference" in said:
        said = " ".join(stranger.text("100101"))
    return said


def test_a_stranger_with_the_reference_spends_ediths_budget_from_many_phones(demo_runtime,
                                                                            phone):
    moment = {"now": MORNING}
    demo_runtime.clock = lambda: moment["now"]
    for turn, number in enumerate(STRANGER_PHONES):
        moment["now"] = MORNING + timedelta(minutes=turn)
        guess = _guess_by_call if number == "anonymous" else _guess_by_text
        said = guess(phone, number, f"{1111 * (turn + 1):04d}"[:4])
        assert "Edith" not in said and "Sam" not in said

    # Edith, from her own phone and with her right PIN: her budget is spent, so the line
    # cannot check it; it still puts her through to a person.
    moment["now"] = MORNING + timedelta(minutes=10)
    edith = phone(EDITH)
    edith.call()
    edith.press("1")
    step = edith.press(EDITH_PIN)
    assert "cannot check your PIN" in step.text and "Sam Okafor" not in step.text
    assert edith.press("0").dial == "+441134960500"
    # Joan's budget went the same way: every guess with the reference was tried on her too.
    assert "cannot check your PIN" in " ".join(phone(JOAN).text("any news?") +
                                               phone(JOAN).text(JOAN_PIN))

    actions = _open_locks(demo_runtime)
    [action] = actions
    assert "4 different numbers" in action.summary and "a withheld number" in action.summary
    assert "someone else may be trying" in action.summary
    assert action.urgency.value == "urgent" and action.worker_id is not None  # Sam, today
    assert "Edith" in action.summary and EDITH_PIN not in action.summary

    # An hour later the lock has lifted: Edith's PIN works, from her phone.
    moment["now"] = MORNING + timedelta(minutes=75)
    edith = phone(EDITH)
    edith.call()
    edith.press("1")
    assert "Sam Okafor" in edith.press(EDITH_PIN).text
    assert len(_open_locks(demo_runtime)) == 1  # and still one action about it all
