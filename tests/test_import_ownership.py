"""Imports never undo what staff did here (DESIGN §9), played through the CLI, the importer
and the signed webhooks: a closure survives the nightly file, a field both sides changed
is reported by FILE:LINE and kept, and a case reopens only when the file says when."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.importer import ImportFailed, import_file
from bot.models import (
    Case,
    CaseUpdate,
    ImportBaseline,
    OutboxMessage,
    OutboxStatus,
    Person,
    Representative,
    StaffAction,
    Stage,
)
from bot.pins import verify_pin
from tests.test_escalation import Clock

DEMO = Path(__file__).resolve().parent.parent / "bot" / "demo" / "demo.yaml"
JOAN, JOAN_PIN = "+447700900201", "5937"  # Edith's daughter: told the stage and the closure
EDITH, EDITH_PIN = "+447700900101", "4821"
CLOSE = ("cases", "close", "SG-100101", "--summary", "Edith is safe at home and has a carer.",
         "--outcomes", "fully", "--risk", "removed")


RENAMED = (("last_name: Marsh\n    phones: [07700 900101]",
            "last_name: Marsh-Hill\n    phones: [07700 900101]"),)  # Edith's new surname


def _texts(phone, *bodies) -> str:
    return "\n".join(t for body in bodies for t in phone.text(body))


def _case(runtime, ref="SG-100101") -> Case:
    with Session(runtime.engine) as session:
        return session.exec(select(Case).where(Case.ref == ref)).one()


def _demo_copy(tmp_path, *replacements: tuple[str, str]) -> Path:
    """The demo file as the case system would send it the next night, with edits."""
    text = DEMO.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "nightly.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(path: Path, fragment: str, after: str = "") -> int:
    """The line number of `fragment`, the first one after the line holding `after`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and fragment in line) + 1


def _actions(runtime, kind):
    with Session(runtime.engine) as session:
        return list(session.exec(select(StaffAction).where(StaffAction.kind == kind)))


# ---- the reported defect: the nightly file reopened a case closed here ----------------------

def test_the_same_file_imported_after_a_closure_here_changes_nothing(demo_runtime, phone,
                                                                      caseline):
    demo_runtime.clock = lambda: datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    caseline(*CLOSE)
    assert "closed" in _texts(phone(JOAN), "any news?", JOAN_PIN)

    out = caseline("import", DEMO)  # 15 minutes later, the nightly import of the same file

    assert "0 updated" in out and "created" in out and "conflict" not in out
    case = _case(demo_runtime)
    assert case.stage is Stage.CLOSED and case.closure_summary.startswith("Edith is safe")
    heard = _texts(phone(JOAN), "any news?", JOAN_PIN)
    assert "closed" in heard and "agreed a plan" not in heard and "looking into" not in heard
    with Session(demo_runtime.engine) as session:
        kinds = [u.kind for u in session.exec(select(CaseUpdate).where(
            CaseUpdate.case_id == case.id).order_by(CaseUpdate.id))]
    assert kinds == ["import", "closed"]  # the second import wrote nothing


def test_a_change_here_that_the_file_has_not_changed_is_kept_and_counted(demo_runtime,
                                                                         caseline):
    caseline("cases", "news", "SG-100101", "Sam has spoken to the bank.")
    caseline("pin", "set", "--person", "P-001", "--pin", "7306")

    out = caseline("import", DEMO)

    assert "2 change(s) made here kept" in out
    case = _case(demo_runtime)
    assert case.latest_news == "Sam has spoken to the bank."
    with Session(demo_runtime.engine) as session:
        edith = session.exec(select(Person).where(Person.ref == "P-001")).one()
    assert verify_pin("7306", edith.pin_hash, demo_runtime.settings.pin_key, salt="P-001")


# ---- both sides changed a field: kept here, reported by FILE:LINE, the rest applies --------

def test_a_field_changed_on_both_sides_is_kept_here_and_reported_while_the_rest_applies(
        demo_runtime, caseline, tmp_path):
    caseline("cases", "news", "SG-100101", "Sam has spoken to the bank.")
    nightly = _demo_copy(tmp_path, *RENAMED, ("Sam has talked to the care home. He will",
                                              "The bank has frozen the account. He will"))

    out = caseline("import", nightly, code=3)

    line = _line_of(nightly, "latest_news:", after="ref: SG-100101")
    assert (f"{nightly}:{line}: case 'SG-100101' latest_news: the file says 'The bank has "
            "frozen the account. He will visit you on Tue...', but it was changed"
            " here to 'Sam has spoken to the bank.' since the last import; it is left as it is"
            " here. To keep it, make the case system say 'Sam has spoken to the bank.' too; to"
            ' take the file\'s value, post it here with `caseline cases news SG-100101 "..."`'
            ) in out
    assert "1 conflict(s) left as they are here" in out and "people: 0 created, 1 updated" in out
    assert _case(demo_runtime).latest_news == "Sam has spoken to the bank."
    with Session(demo_runtime.engine) as session:
        assert session.exec(select(Person).where(Person.ref == "P-001")).one().last_name \
            == "Marsh-Hill"
    [action] = _actions(demo_runtime, "import_conflict")
    assert action.case_id == _case(demo_runtime).id and action.worker_id is not None
    assert "latest_news" in action.summary

    # Every night until someone settles it, the same report, and still one action.
    caseline("import", nightly, code=3)
    assert len(_actions(demo_runtime, "import_conflict")) == 1
    # The case system takes the news posted here: the conflict is settled for good.
    settled = _demo_copy(tmp_path, *RENAMED, (
        "latest_news: >-\n      Sam has talked to the care home. He will visit you on Tuesday"
        " to hear what you want to\n      happen.", "latest_news: Sam has spoken to the bank."))
    assert "conflict" not in caseline("import", settled)
    assert "conflict" not in caseline("import", settled)


def test_strict_imports_nothing_when_any_field_conflicts(demo_runtime, caseline, tmp_path):
    caseline("cases", "worker", "SG-100101", "W-103")
    nightly = _demo_copy(tmp_path, *RENAMED, ("worker: W-101\n    stage: enquiry",
                                              "worker: W-102\n    stage: enquiry"))

    out = caseline("import", nightly, "--strict", code=1)

    assert "case 'SG-100101' worker: the file says 'W-102', but it was changed here to" \
           " 'W-103'" in out
    assert "caseline cases worker SG-100101 W-102" in out and "Nothing was imported" in out
    with Session(demo_runtime.engine) as session:
        assert session.exec(select(Person).where(Person.ref == "P-001")).one().last_name \
            == "Marsh"
    assert not _actions(demo_runtime, "import_conflict")  # nothing at all was written


# ---- reopening: only with a date, and silent until news ------------------------------------

def test_a_closed_case_reopens_only_with_a_date_and_says_nothing_until_news(
        demo_runtime, phone, caseline, tmp_path):
    demo_runtime.clock = lambda: datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    caseline(*CLOSE)
    closed_at = _case(demo_runtime).closed_at

    # The case system moves the stage on but does not say it reopened: kept closed, reported.
    moved = _demo_copy(tmp_path, ("worker: W-101\n    stage: enquiry",
                                  "worker: W-101\n    stage: plan"))
    out = caseline("import", moved, code=3)
    assert (f"{moved}:{_line_of(moved, 'stage: plan')}: case 'SG-100101' stage: the file says"
            f" 'plan', but the case was closed here on {closed_at:%Y-%m-%d}; it stays closed."
            " If the case system reopened it, give reopened_at") in out
    assert _case(demo_runtime).is_closed

    # A reopening dated before the closure here is not a reopening of this closure.
    early = (closed_at - timedelta(days=3)).astimezone(demo_runtime.settings.tz)
    before = _demo_copy(tmp_path, ("worker: W-101\n    stage: enquiry",
                                   f"worker: W-101\n    stage: plan\n"
                                   f"    reopened_at: {early:%Y-%m-%d %H:%M}"))
    assert "before it was closed here" in caseline("import", before, code=3)
    assert _case(demo_runtime).is_closed

    # Reopened the next day in the case system: applied, and nobody is told anything.
    later = (closed_at + timedelta(days=1)).astimezone(demo_runtime.settings.tz).replace(
        second=0, microsecond=0)
    reopened = _demo_copy(tmp_path, ("worker: W-101\n    stage: enquiry",
                                     f"worker: W-101\n    stage: plan\n"
                                     f"    reopened_at: {later:%Y-%m-%d %H:%M}"))
    with Session(demo_runtime.engine) as session:
        outbox_before = len(session.exec(select(OutboxMessage)).all())
    out = caseline("import", reopened)
    assert "1 closed case(s) reopened" in out
    case = _case(demo_runtime)
    assert case.stage is Stage.PLAN and case.closed_at is None and case.closure_summary == ""
    assert case.latest_news == "" and case.msp_achieved is None
    assert case.reopened_at == later.astimezone(UTC)
    with Session(demo_runtime.engine) as session:
        assert len(session.exec(select(OutboxMessage)).all()) == outbox_before
        [update] = session.exec(select(CaseUpdate).where(CaseUpdate.kind == "reopened")).all()
    assert update.details["closure"]["closure_summary"].startswith("Edith is safe")
    heard = _texts(phone(EDITH), "any news?", EDITH_PIN)
    assert "closed" not in heard and "Edith is safe" not in heard
    assert "latest news" not in heard.lower()  # the old news is about the old enquiry
    assert "caseline" not in caseline("import", reopened)  # the same file again: no report

    caseline("cases", "news", "SG-100101", "Sam is looking at the new concern.")
    assert "Sam is looking at the new concern." in _texts(phone(EDITH), "any news?", EDITH_PIN)


def test_a_record_imported_before_baselines_existed_still_keeps_its_closure(
        demo_runtime, caseline):
    """A database from before migration 0004 has no baselines: the file's values count as
    changes, yet a closed case is never reopened without a date."""
    caseline(*CLOSE)
    with Session(demo_runtime.engine) as session:
        for baseline in session.exec(select(ImportBaseline)):
            session.delete(baseline)
        session.commit()

    out = caseline("import", DEMO, code=3)

    assert "case 'SG-100101' stage: the file says 'enquiry', but the case was closed here" in out
    assert _case(demo_runtime).is_closed
    # Reported once: from then on the file's stage is known, so an unchanged file is quiet.
    assert "conflict" not in caseline("import", DEMO)
    assert _case(demo_runtime).is_closed


# ---- the relatives' contact window ----------------------------------------------------------

def test_a_relatives_contact_window_is_imported_and_news_waits_for_it(demo_runtime, caseline,
                                                                       tmp_path):
    from bot.outreach import notices

    notices.install(demo_runtime)
    evenings = _demo_copy(tmp_path, ("relationship: daughter",
                                     "relationship: daughter\n"
                                     "    contact_window_start: \"17:30\"\n"
                                     "    contact_window_end: \"20:30\""))
    caseline("import", evenings)
    with Session(demo_runtime.engine) as session:
        joan = session.exec(select(Representative).where(Representative.number == JOAN)).one()
    assert (joan.contact_window_start, joan.contact_window_end) == (time(17, 30), time(20, 30))

    # The line's own clock, which the command reads too (the real one may be past 17:30).
    Clock(demo_runtime, datetime(2026, 12, 2, 11, 0, tzinfo=UTC))
    caseline(*CLOSE)  # the closure notice goes to Edith now and to Joan this evening
    with Session(demo_runtime.engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "closure",
                                                        OutboxMessage.to_number == JOAN)).all()
    assert rows and all(r.status is OutboxStatus.PENDING for r in rows)
    local = rows[0].not_before.astimezone(demo_runtime.settings.tz)
    assert (local.hour, local.minute) == (17, 30)


def test_a_contact_window_that_ends_before_it_starts_is_refused_by_line(engine, tmp_path):
    path = tmp_path / "reps.yaml"
    path.write_text(DEMO.read_text(encoding="utf-8").replace(
        "relationship: daughter",
        "relationship: daughter\n    contact_window_start: \"20:00\"\n"
        "    contact_window_end: \"09:00\"", 1), encoding="utf-8")
    with pytest.raises(ImportFailed) as failed:
        import_file(path, engine, pin_key="k")
    line = _line_of(path, "contact_window_end: \"09:00\"")
    assert failed.value.errors == [f"{path}:{line}: representative 'R-001' contact_window_end:"
                                   " the contact window must end after it starts"]


def test_a_file_without_a_stage_never_clears_a_closure_made_here(demo_runtime, caseline,
                                                                  tmp_path):
    """A CSV of cases with empty closure columns and no stage column, on a database whose
    records have no baselines yet: the closure made here stands."""
    caseline(*CLOSE)
    with Session(demo_runtime.engine) as session:
        for baseline in session.exec(select(ImportBaseline)):
            session.delete(baseline)
        session.commit()
    csv = tmp_path / "cases.csv"
    csv.write_text("ref,person,worker,closed_at,closure_summary\n"
                   "SG-100101,P-001,W-101,,\n", encoding="utf-8")

    caseline("import", csv)

    case = _case(demo_runtime)
    assert case.is_closed and case.closed_at is not None
    assert case.closure_summary.startswith("Edith is safe")
