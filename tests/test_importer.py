"""`caseline import`: YAML and CSV files upsert on ref, all or nothing, every problem by line."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.importer import DAYS, ImportFailed, import_file
from bot.models import (
    Case,
    CaseUpdate,
    Interaction,
    LineType,
    MspAchieved,
    Person,
    PersonPhone,
    Representative,
    Stage,
    Team,
    Worker,
    metadata,
)
from bot.phones import normalise
from bot.pins import verify_pin

DATA = Path(__file__).parent / "data" / "import"
DEMO = Path(__file__).resolve().parent.parent / "bot" / "demo" / "demo.yaml"
KEY = "test-pin-key"

BASE = """\
teams:
  - ref: T-1
    name: Leeds Adult Safeguarding
    duty_number: 0113 496 0000
    out_of_hours_number: 0113 496 0999
workers:
  - ref: W-1
    first_name: Sam
    last_name: Okafor
    direct_number: 0113 496 0123
    team: T-1
  - ref: W-2
    first_name: Tom
    last_name: Hartley
    direct_number: 0113 496 0167
    team: T-1
people:
  - ref: P-1
    first_name: Edith
    last_name: Marsh
    phones: [07700 900101]
    pin: "4821"
cases:
  - ref: SG-1
    person: P-1
    worker: W-1
    stage: enquiry
    latest_news: Sam has talked to the care home.
"""


def run(path: Path | str, engine, **kwargs):
    return import_file(path, engine, pin_key=KEY, **kwargs)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path | str, engine, **kwargs) -> list[str]:
    with pytest.raises(ImportFailed) as failed:
        run(path, engine, **kwargs)
    return failed.value.errors


def dump(engine) -> dict[str, list]:
    """Every column of every row of every table, in id order."""
    with engine.connect() as conn:
        return {table.name: conn.execute(sa.select(table).order_by(*table.primary_key)).all()
                for table in metadata.sorted_tables}


def one(engine, model, ref: str):
    with Session(engine) as session:
        return session.exec(select(model).where(model.ref == ref)).one()


@pytest.fixture
def base(engine, tmp_path):
    """A team, two workers, a person and a case, already in the database."""
    run(write(tmp_path, "base.yaml", BASE), engine)
    return engine


# --- the demo file -----------------------------------------------------------------------------


def test_demo_imports_and_a_second_import_changes_nothing(engine):
    first = run(DEMO, engine)
    assert first.counts["people"].created == 8
    assert first.counts["cases"].created == 8
    before = dump(engine)

    second = run(DEMO, engine)

    assert dump(engine) == before
    assert not second.changed
    assert all(c.created == c.updated == 0 for c in second.counts.values())
    assert second.counts["cases"].unchanged == 8
    assert "cases: 0 created, 0 updated, 8 unchanged" in second.summary()


def test_demo_covers_what_a_newcomer_should_try(engine):
    run(DEMO, engine)
    with Session(engine) as session:
        away = session.exec(select(Worker).where(Worker.away_until.is_not(None))).one()
        assert away.is_away(date.today()) and away.cover_worker_id is not None
        shared = session.exec(select(PersonPhone).where(PersonPhone.number == "+441144960707"))
        assert len(shared.all()) == 2
        cases = session.exec(select(Case)).all()
        assert any(c.withhold_details for c in cases)
        closed = next(c for c in cases if c.stage is Stage.CLOSED)
        assert closed.closure_summary and closed.msp_achieved and closed.risk_result
        scopes = sorted(len(r.consent_scopes) for r in session.exec(select(Representative)))
        assert scopes == [2, 2, 5, 5]  # Neil Brigg represents both his parents
        people = session.exec(select(Person)).all()
        assert any(p.discreet for p in people)
        slow = next(p for p in people if p.speech_rate == 85)
        assert slow.extra_time and not slow.no_phone_calls
        assert all(p.pin_hash for p in people)


def test_demo_numbers_and_pins_are_the_ones_its_comment_lists(engine):
    run(DEMO, engine)
    cast = re.findall(r"^# ([A-Z]\w+ [A-Z]\w+) +(0[\d ]+\d)  +(\d{4}) ", DEMO.read_text(), re.M)
    assert len(cast) == 11
    with Session(engine) as session:
        for name, number, pin in cast:
            first, last = name.split()
            who = (session.exec(select(Person).where(Person.first_name == first,
                                                     Person.last_name == last)).first()
                   or session.exec(select(Representative).where(
                       Representative.first_name == first, Representative.last_name == last)
                   ).first())
            assert verify_pin(pin, who.pin_hash, KEY, salt=who.ref), name
            numbers = ([p.number for p in session.exec(
                select(PersonPhone).where(PersonPhone.person_id == who.id))]
                if isinstance(who, Person) else [who.number])
            assert normalise(number) in numbers, name


def test_demo_uses_only_drama_range_numbers(engine):
    run(DEMO, engine)
    numbers = [n for table in ("team", "worker", "person_phone", "representative")
               for n in _numbers(engine, table)]
    assert numbers
    for number in numbers:
        assert number.startswith(("+447700900", "+441134960", "+441144960")), number


def _numbers(engine, table: str) -> list[str]:
    columns = {"team": ["duty_number", "out_of_hours_number"], "worker": ["direct_number"],
               "person_phone": ["number"], "representative": ["number"]}[table]
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT {', '.join(columns)} FROM {table}")).all()
    return [value for row in rows for value in row]


# --- all or nothing, with lines ----------------------------------------------------------------


def test_an_invalid_phone_on_line_7_fails_and_imports_nothing(engine):
    path = str(DATA / "bad_phone.yaml")

    errors = errors_of(path, engine)

    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:7: ")
    assert "'07700 90010' is too short for a UK number: give all 11 digits" in errors[0]
    assert all(rows == [] for rows in dump(engine).values())


def test_a_failing_file_leaves_earlier_data_untouched(base, tmp_path):
    before = dump(base)
    bad = BASE.replace("stage: enquiry", "stage: open").replace("Sam has talked", "Tom has")
    errors_of(write(tmp_path, "base.yaml", bad), base)
    assert dump(base) == before


def test_csv_missing_column_is_named_once(engine):
    path = DATA / "people_missing_column.csv"

    errors = errors_of(path, engine, kind="people")

    assert errors == [f"{path}:1: column 'last_name' is missing; the header must include ref,"
                      " first_name, last_name"]


def test_csv_reports_every_bad_row_by_its_line(base):
    path = DATA / "cases_with_errors.csv"

    errors = errors_of(path, base, kind="cases")

    assert [e.split(": ")[0] for e in errors] == [f"{path}:{n}" for n in (3, 4, 5, 6, 8)]
    assert "case 'SG-2' stage: 'open' is not a stage" in errors[0]
    assert "case 'SG-3' next_contact_by: '01/12/2026' is not a date" in errors[1]
    assert "case 'SG-4' withhold_details: 'maybe' is not yes or no" in errors[2]
    assert "worker 'W-99' is not in this file or the database" in errors[3]
    assert "case 'SG-1' is also on line 2" in errors[4]
    with Session(base) as session:
        assert [c.ref for c in session.exec(select(Case))] == ["SG-1"]


def test_csv_people_with_phone_lists_and_defaults(engine):
    report = run(DATA / "people.csv", engine)

    assert report.counts["people"].created == 3
    with Session(engine) as session:
        phones = session.exec(select(PersonPhone).order_by(PersonPhone.id)).all()
        jean = session.exec(select(Person).where(Person.ref == "P-3")).one()
    edith = [(p.number, p.line_type, p.is_primary) for p in phones[:2]]
    assert edith == [("+447700900101", LineType.MOBILE, True),
                     ("+441134960101", LineType.LANDLINE, False)]
    assert jean.pin_hash is None and jean.speech_rate == 100 and jean.extra_time is False
    assert one(engine, Person, "P-2").speech_rate == 85


def test_csv_kind_comes_from_the_file_name(engine, tmp_path):
    path = write(tmp_path, "staff.csv", "ref,name\nT-1,Leeds\n")
    errors = errors_of(path, engine)
    assert errors[0].startswith(f"{path}:1: cannot tell what this CSV holds from its name")
    assert "teams.csv" in errors[0]


def test_csv_unknown_column_and_extra_values(engine, tmp_path):
    text = ("ref,name,duty_number,out_of_hours_number,manger_name\n"
            "T-1,Leeds,0113 496 0000,0113 496 0999,Priya Shah,extra\n")
    errors = errors_of(write(tmp_path, "teams.csv", text), engine)
    assert "column 'manger_name' is not known (did you mean 'manager_name'?)" in errors[0]
    assert ":2: this row has 1 more value(s) than the header has columns" in errors[1]


def test_csv_consent_scopes_are_separated_by_semicolons(base, tmp_path):
    text = ("ref,person,first_name,last_name,relationship,number,consent,authority\n"
            "R-1,P-1,Joan,Marsh,daughter,07700 900201,closure;status,none\n")
    run(write(tmp_path, "representatives.csv", text), base)
    joan = one(base, Representative, "R-1")
    assert joan.consent_scopes == ["closure", "status"]
    assert joan.line_type is LineType.MOBILE


# --- each kind of problem, with its message ----------------------------------------------------

PROBLEMS = {
    "unknown reference": (
        "cases:\n  - ref: SG-2\n    person: P-1\n    worker: W-99\n",
        4, "case 'SG-2' worker: worker 'W-99' is not in this file or the database"),
    "unknown field": (
        "people:\n  - ref: P-2\n    first_name: Harold\n    last_name: Brigg\n"
        "    frist_name: Harold\n",
        5, "person 'P-2': unknown field 'frist_name' (did you mean 'first_name'?): the fields"
           " of a person are ref, first_name, last_name, phones, pin,"),
    "unknown top-level key": (
        "peple:\n  - ref: P-2\n",
        1, "unknown top-level key 'peple' (did you mean 'people'?): the keys allowed are teams,"
           " workers, people, representatives, cases"),
    "duplicate ref": (
        "workers:\n"
        + "  - {ref: W-3, first_name: Nadia, last_name: Begum, direct_number: 0114 496 0201,"
          " team: T-1}\n" * 2,
        3, "worker 'W-3' is also on line 2: each ref may appear once in a file"),
    "bad enum": (
        "cases:\n  - ref: SG-2\n    person: P-1\n    worker: W-1\n    stage: open\n",
        5, "case 'SG-2' stage: 'open' is not a stage: use one of concern, enquiry, plan,"
           " review, closed"),
    "bad national wording": (
        "cases:\n  - ref: SG-2\n    person: P-1\n    worker: W-1\n    stage: closed\n"
        "    closed_at: 2026-11-02\n    msp_achieved: Mostly\n",
        7, "case 'SG-2' msp_achieved: 'Mostly' is not a value of msp_achieved: use one of"
           ' "Fully Achieved", "Partially Achieved", "Not Achieved"'),
    "bad date": (
        "workers:\n  - ref: W-3\n    first_name: Nadia\n    last_name: Begum\n"
        "    direct_number: 0114 496 0201\n    team: T-1\n    away_until: 31/12/2099\n",
        7, "worker 'W-3' away_until: '31/12/2099' is not a date: write it as YYYY-MM-DD"),
    "impossible date": (
        "people:\n  - ref: P-1\n    first_name: Edith\n    last_name: Marsh\n"
        "    contact_paused_until: 2026-02-30\n",
        5, "'2026-02-30' is not a real date"),
    "bad boolean": (
        "people:\n  - ref: P-1\n    first_name: Edith\n    last_name: Marsh\n"
        "    discreet: maybe\n",
        5, "person 'P-1' discreet: 'maybe' is not yes or no: write true, false, yes, no, 1 or 0"),
    "bad consent scope": (
        "representatives:\n  - ref: R-1\n    person: P-1\n    first_name: Joan\n"
        "    last_name: Marsh\n    relationship: daughter\n    number: 07700 900201\n"
        "    consent:\n      - status\n      - everything\n",
        10, "representative 'R-1' consent: 'everything' is not a consent scope: use one of"
            " status, news, worker, next_contact, closure"),
    "missing required field": (
        "people:\n  - ref: P-2\n    first_name: Harold\n",
        2, "person 'P-2': last_name is missing: every person needs a last_name"),
    "bad time": (
        "people:\n  - ref: P-1\n    first_name: Edith\n    last_name: Marsh\n"
        "    contact_window_start: 9am\n",
        5, "'9am' is not a time: write HH:MM on the 24-hour clock"),
    "speech rate out of range": (
        "people:\n  - ref: P-1\n    first_name: Edith\n    last_name: Marsh\n"
        "    speech_rate: 40\n",
        5, "speech_rate: '40' is not allowed: give a whole number from 50 to 100"),
    "a number listed twice": (
        "people:\n  - ref: P-1\n    first_name: Edith\n    last_name: Marsh\n"
        "    phones: 07700 900101; +447700900101\n",
        5, "phones: 07700 900101 is listed twice"),
    "closed without a date": (
        "cases:\n  - ref: SG-1\n    person: P-1\n    worker: W-1\n    stage: closed\n",
        5, "a closed case needs closed_at"),
    "a worker covering themselves": (
        "workers:\n  - ref: W-1\n    first_name: Sam\n    last_name: Okafor\n"
        "    direct_number: 0113 496 0123\n    team: T-1\n    cover: W-1\n",
        7, "a worker cannot cover for themselves"),
    "a list where one value goes": (
        "people:\n  - ref: P-1\n    first_name: [Edith, Edie]\n    last_name: Marsh\n",
        3, "person 'P-1' first_name: give one value here, not a list"),
    "not YAML": (
        "people:\n  - ref: P-1\n    first_name: Edith\n   last_name: Marsh\n",
        4, "this is not valid YAML"),
}


@pytest.mark.parametrize("problem", PROBLEMS)
def test_each_problem_is_reported_with_its_line_and_a_fix(base, tmp_path, problem):
    text, line, message = PROBLEMS[problem]
    path = str(write(tmp_path, "change.yaml", text))
    before = dump(base)

    errors = errors_of(path, base)

    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{path}:{line}: "), errors[0]
    assert message in errors[0]
    assert dump(base) == before


def test_every_problem_in_a_yaml_file_is_reported(engine, tmp_path):
    text = ("people:\n  - ref: P-1\n    first_name: Edith\n    last_name: Marsh\n"
            "    phones: [07700 90010, 0113 496 01x3]\n    speech_rate: 120\n"
            "cases:\n  - ref: SG-1\n    person: P-1\n    worker: W-404\n")
    errors = errors_of(write(tmp_path, "all.yaml", text), engine)
    assert [e.split(": ")[0].rsplit(":", 1)[1] for e in errors] == ["5", "5", "6", "10"]
    assert "letters are not allowed" in errors[1]


def test_enum_values_match_loosely_but_are_stored_exactly(base, tmp_path):
    text = ("cases:\n  - ref: SG-1\n    person: P-1\n    worker: W-1\n    stage: CLOSED\n"
            "    closed_at: 2026-11-02 14:30\n    msp_achieved: partially achieved\n"
            "    msp_asked: Don\u2019t know\n")
    run(write(tmp_path, "close.yaml", text), base)
    case = one(base, Case, "SG-1")
    assert case.msp_achieved is MspAchieved.PARTIALLY
    assert case.msp_asked.value == "Don't Know"
    # Without an offset a time is UK local time: 14:30 GMT in November.
    assert case.closed_at == datetime(2026, 11, 2, 14, 30, tzinfo=UTC)


def test_team_office_hours_and_booleans_in_every_spelling(engine, tmp_path):
    text = ("teams:\n  - ref: T-1\n    name: Leeds\n    duty_number: 0113 496 0000\n"
            "    out_of_hours_number: 0113 496 0999\n    office_days: [Friday, mon, tue]\n"
            "    office_opens: 08:30\n    office_closes: 17:00\n"
            "    manager_contact: manager@example.org\n")
    run(write(tmp_path, "teams.yaml", text), engine)
    team = one(engine, Team, "T-1")
    assert team.office_days == "mon,tue,fri" and set(team.office_days.split(",")) <= set(DAYS)
    assert (team.office_opens, team.office_closes) == (time(8, 30), time(17, 0))
    assert team.manager_contact == "manager@example.org"


# --- references --------------------------------------------------------------------------------


def test_references_may_point_to_the_database(base, tmp_path):
    text = "cases:\n  - ref: SG-2\n    person: P-1\n    worker: W-2\n    stage: plan\n"
    report = run(write(tmp_path, "cases.yaml", text), base)
    assert report.counts["cases"].created == 1
    assert one(base, Case, "SG-2").worker_id == one(base, Worker, "W-2").id


def test_a_cover_may_be_a_worker_later_in_the_file(engine, tmp_path):
    text = BASE.replace("    team: T-1\n  - ref: W-2",
                        "    team: T-1\n    away_until: 2099-12-31\n    cover: W-2\n  - ref: W-2")
    run(write(tmp_path, "base.yaml", text), engine)
    assert one(engine, Worker, "W-1").cover_worker_id == one(engine, Worker, "W-2").id
    before = dump(engine)
    assert not run(write(tmp_path, "base.yaml", text), engine).changed
    assert dump(engine) == before


# --- PINs --------------------------------------------------------------------------------------


def test_pins_are_stored_hashed_and_verify(base):
    edith = one(base, Person, "P-1")
    assert "4821" not in edith.pin_hash
    assert verify_pin("4821", edith.pin_hash, KEY, salt="P-1")
    assert not verify_pin("4822", edith.pin_hash, KEY, salt="P-1")


@pytest.mark.parametrize("pin", ["73a9", "739", "7391648"])
def test_a_bad_pin_is_never_echoed(engine, tmp_path, pin):
    text = (f"people:\n  - ref: P-1\n    first_name: Edith\n    last_name: Marsh\n"
            f"    pin: '{pin}'\n")
    with pytest.raises(ImportFailed) as failed:
        run(write(tmp_path, "people.yaml", text), engine)
    assert failed.value.errors[0].split(": ", 1)[1].startswith("person 'P-1' pin: A PIN is")
    assert pin not in str(failed.value)
    assert pin not in "\n".join(failed.value.errors)


def test_a_good_pin_is_not_echoed_when_something_else_fails(engine, tmp_path):
    text = ("people:\n  - ref: P-1\n    first_name: Edith\n    last_name: Marsh\n"
            "    pin: '739164'\n    phones: [12345]\n    frist_name: x\n")
    with pytest.raises(ImportFailed) as failed:
        run(write(tmp_path, "people.yaml", text), engine)
    assert len(failed.value.errors) == 2
    assert "739164" not in str(failed.value)


def test_an_empty_pin_leaves_the_stored_one(base, tmp_path):
    stored = one(base, Person, "P-1").pin_hash
    run(write(tmp_path, "base.yaml", BASE.replace('pin: "4821"', "pin:")), base)
    assert one(base, Person, "P-1").pin_hash == stored


def test_a_missing_pin_key_is_a_problem_not_a_crash(engine, tmp_path):
    path = write(tmp_path, "base.yaml", BASE)
    with pytest.raises(ImportFailed) as failed:
        import_file(path, engine, pin_key="")
    assert failed.value.errors == [f"{path}:22: person 'P-1' pin: it cannot be stored: PIN_KEY"
                                   " is empty: set it in the settings before storing PINs"]


# --- updates -----------------------------------------------------------------------------------


def test_an_update_changes_the_row_and_writes_a_case_update(base, tmp_path):
    before = one(base, Case, "SG-1")
    changed = BASE.replace("worker: W-1", "worker: W-2").replace(
        "Sam has talked to the care home.", "Tom has visited Edith at home.")

    report = run(write(tmp_path, "base.yaml", changed), base, actor="cms-sync")

    assert report.counts["cases"].updated == 1 and report.counts["people"].unchanged == 1
    case = one(base, Case, "SG-1")
    assert case.latest_news == "Tom has visited Edith at home."
    assert case.worker_id == one(base, Worker, "W-2").id
    assert case.updated_at > before.updated_at
    assert case.news_updated_at > before.news_updated_at
    with Session(base) as session:
        updates = session.exec(select(CaseUpdate).order_by(CaseUpdate.id)).all()
        audit = session.exec(select(Interaction).where(Interaction.kind == "case_import")).all()
    assert [u.kind for u in updates] == ["import", "import"]
    assert updates[1].details["changes"] == {
        "worker": {"from": "W-1", "to": "W-2"},
        "latest_news": {"from": "Sam has talked to the care home.",
                        "to": "Tom has visited Edith at home."},
    }
    assert updates[1].text == "Changed by import from base.yaml: latest news, worker."
    assert updates[1].recorded_by == "cms-sync"
    assert len(audit) == 2


def test_an_unchanged_case_gets_no_case_update(base, tmp_path):
    run(write(tmp_path, "base.yaml", BASE), base)
    with Session(base) as session:
        assert len(session.exec(select(CaseUpdate)).all()) == 1


def test_phones_are_replaced_only_when_the_set_differs(base, tmp_path):
    def numbers():
        with Session(base) as session:
            rows = session.exec(select(PersonPhone).order_by(PersonPhone.id)).all()
        return [(p.id, p.number, p.is_primary) for p in rows]

    first = numbers()
    two = BASE.replace("[07700 900101]", "[0113 496 0101, 07700 900101]")
    assert run(write(tmp_path, "base.yaml", two), base).counts["people"].updated == 1
    # The mobile row is kept, no longer primary; the landline is added as primary.
    assert numbers() == [(first[0][0], "+447700900101", False),
                         (first[0][0] + 1, "+441134960101", True)]
    assert not run(write(tmp_path, "base.yaml", two), base).changed
    run(write(tmp_path, "base.yaml", BASE), base)
    assert numbers() == [(first[0][0], "+447700900101", True)]


# --- progress ----------------------------------------------------------------------------------


def test_progress_every_500_records_and_at_the_end(engine, tmp_path):
    rows = "".join(f"P-{n},Person,Number {n},07700 900{n % 1000:03d}\n" for n in range(1001))
    path = write(tmp_path, "people.csv", "ref,first_name,last_name,phones\n" + rows)
    calls = []

    report = run(path, engine, progress=lambda done, total: calls.append((done, total)))

    assert calls == [(500, 1001), (1000, 1001), (1001, 1001)]
    assert report.counts["people"].created == 1001


# --- news_date: when the case system recorded the news ---------------------------------------

def test_news_date_is_when_the_news_was_recorded_and_reimporting_keeps_it(base, tmp_path):
    from datetime import UTC, datetime

    dated = BASE.replace("    latest_news: Sam has talked to the care home.\n",
                         "    latest_news: Tom has visited Edith at home.\n"
                         "    news_date: 2026-11-20 14:30\n")
    path = write(tmp_path, "dated.yaml", dated)
    run(path, base)
    recorded = one(base, Case, "SG-1").news_updated_at
    assert recorded == datetime(2026, 11, 20, 14, 30, tzinfo=UTC)  # London is on GMT then
    run(path, base)  # the nightly import of the same file changes nothing
    assert one(base, Case, "SG-1").news_updated_at == recorded
    corrected = dated.replace("news_date: 2026-11-20 14:30", "news_date: 2026-11-21 09:00")
    run(write(tmp_path, "dated.yaml", corrected), base)  # the date alone corrected
    assert one(base, Case, "SG-1").news_updated_at == datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_an_empty_news_date_keeps_the_time_of_the_import(base, tmp_path):
    """Found by the API's fuzzing: an empty news_date crashed the import (KeyError)."""
    blank = BASE.replace("    latest_news: Sam has talked to the care home.\n",
                         "    latest_news: Tom has visited Edith at home.\n"
                         "    news_date:\n")
    before = one(base, Case, "SG-1").news_updated_at
    run(write(tmp_path, "blank.yaml", blank), base)
    case = one(base, Case, "SG-1")
    assert case.latest_news == "Tom has visited Edith at home."
    assert case.news_updated_at is not None and case.news_updated_at != before


def test_news_date_without_news_is_refused_with_where_and_how(base, tmp_path):
    undated = BASE.replace("    latest_news: Sam has talked to the care home.\n",
                           "    news_date: 2026-11-20\n")
    [error] = errors_of(write(tmp_path, "bad.yaml", undated), base)
    assert "bad.yaml:28: case 'SG-1' news_date: it is the date of latest_news" in error
    assert "give the news too" in error


def test_an_old_news_date_lets_the_watchdog_see_the_silence(base, tmp_path, redis_url):
    """News recorded in the case system three weeks ago, imported today: the watchdog
    counts from the news, not from the import."""
    from datetime import UTC, datetime

    from bot.config import load_settings
    from bot.outreach import sweeps
    from bot.runtime import Runtime

    stale = BASE.replace("    latest_news: Sam has talked to the care home.\n",
                         "    latest_news: Sam has talked to the care home.\n"
                         "    news_date: 2026-11-01\n")
    run(write(tmp_path, "stale.yaml", stale), base)
    settings = load_settings({"CASELINE_ENV": "test", "PIN_KEY": KEY,
                              "INSTANCE_DIR": str(tmp_path / "i"), "REDIS_URL": redis_url,
                              "DATABASE_URL": base.url.render_as_string(hide_password=False)},
                             env_file=None)
    runtime = Runtime(settings, _engine=base,
                      clock=lambda: datetime(2026, 11, 25, 11, 0, tzinfo=UTC))
    sweeps.watchdog(runtime)
    from bot.models import StaffAction

    with Session(base) as session:
        kinds = {a.kind for a in session.exec(select(StaffAction))}
    assert "no_news" in kinds


def test_a_control_character_in_a_file_is_refused_with_its_line(engine, tmp_path):
    """Found by the API's fuzzing: a NUL reached PostgreSQL (DataError) instead of a
    problem the sender could fix."""
    path = write(tmp_path, "people.csv", "ref,first_name,last_name\nP-1,Ed\x00ith,Marsh\n")
    [error] = errors_of(path, engine)
    assert "people.csv:2: person 'P-1' first_name: it holds a control character" in error
