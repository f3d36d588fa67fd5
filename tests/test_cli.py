"""The `caseline` command, run as an administrator would, against a real database."""

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from bot.cli.main import cli
from bot.models import Case, CaseUpdate, Interaction, Person, Stage
from bot.pins import verify_pin
from tests.factories import make_case, make_representative


@pytest.fixture
def run(runtime, monkeypatch):
    """Invoke `caseline ...` with the test runtime's settings in the environment."""
    settings = runtime.settings
    for name, value in {"CASELINE_ENV": "test", "DATABASE_URL": settings.database_url,
                        "REDIS_URL": settings.redis_url, "PIN_KEY": settings.pin_key,
                        "INSTANCE_DIR": settings.instance_dir}.items():
        monkeypatch.setenv(name, value)

    def invoke(*args, input=None):
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def case_ref(engine):
    with Session(engine) as session:
        case = make_case(session)
        make_representative(session, session.get(Person, case.person_id))
        session.commit()
        return case.ref


def test_every_command_has_help(run):
    for args in (["--help"], ["db", "upgrade", "--help"], ["import", "--help"],
                 ["cases", "news", "--help"], ["cases", "close", "--help"],
                 ["pin", "set", "--help"], ["serve", "--help"], ["worker", "--help"],
                 ["demo", "--help"]):
        result = run(*args)
        assert result.exit_code == 0 and "Usage:" in result.output, args


def test_db_upgrade_reports_the_revision(run):
    from alembic.script import ScriptDirectory

    from bot import db

    head = ScriptDirectory.from_config(db.alembic_config(None)).get_current_head()
    result = run("db", "upgrade")
    assert result.exit_code == 0
    assert f"Database is at revision {head}." in result.output


def test_cases_news_and_close(run, engine, case_ref):
    result = run("cases", "news", case_ref, "Sam met Edith and her daughter.",
                 "--next-contact", "2099-05-01")
    assert result.exit_code == 0, result.output
    result = run("cases", "close", case_ref, "--summary", "Edith is safe.",
                 "--outcomes", "fully", "--risk", "removed")
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
        assert case.stage is Stage.CLOSED
        kinds = [u.kind for u in session.exec(select(CaseUpdate).order_by(CaseUpdate.id))]
        assert kinds == ["news", "closed"]
        changes = session.exec(select(Interaction).where(Interaction.kind.like("case_%")))
        assert all(i.actor.startswith("cli:") for i in changes)
        # The closure is confirmed to Edith and to Joan (closure consent); the news went
        # to Edith only, as Joan has no news consent.
        from bot.models import OutboxMessage

        rows = session.exec(select(OutboxMessage)).all()
        assert sorted((r.purpose, r.to_number) for r in rows) == [
            ("closure", "+447700900123"), ("closure", "+447700900456"),
            ("news", "+447700900123")]


def test_refused_change_exits_1_with_the_reason(run, case_ref):
    result = run("cases", "worker", case_ref, "W-404")
    assert result.exit_code == 1
    assert "There is no worker 'W-404'" in result.output
    assert "Traceback" not in result.output


def test_pause_rejects_a_bad_date(run, case_ref):
    result = run("cases", "pause", case_ref, "--until", "next week")
    assert result.exit_code == 2
    assert "next week" in result.output


def test_pin_set_prompts_hidden_and_stores_only_a_hash(run, engine, case_ref):
    result = run("pin", "set", "--representative", "R-1", input="4821\n4821\n")
    assert result.exit_code == 0, result.output
    assert "PIN set for Joan Marsh (R-1)" in result.output
    with Session(engine) as session:
        from bot.models import Representative

        rep = session.exec(select(Representative)).one()
        assert "4821" not in rep.pin_hash
        assert verify_pin("4821", rep.pin_hash, "test-pin-key", salt="R-1")


def test_pin_set_warns_about_a_weak_pin_and_refuses_a_bad_one(run, case_ref):
    result = run("pin", "set", "--person", "P-1", "--pin", "1234")
    assert result.exit_code == 0 and "easy to guess" in result.output
    result = run("pin", "set", "--person", "P-1", "--pin", "12a4")
    assert result.exit_code == 1 and "4 to 6 digits" in result.output
    assert "12a4" not in result.output
    result = run("pin", "set", "--pin", "4821")
    assert result.exit_code == 2 and "exactly one of" in result.output


def test_bad_settings_are_listed_and_exit_2(run, monkeypatch):
    monkeypatch.setenv("CASELINE_ENV", "production")
    monkeypatch.setenv("PUBLIC_URL", "http://caseline.example.org")
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "setting(s) to fix" in result.output
    assert "PUBLIC_URL must be https://" in result.output


def test_sweep_runs_the_contact_sweeps_now(run, engine, case_ref):
    from datetime import timedelta

    from bot.models import Case, utcnow

    with Session(engine) as session:
        session.exec(select(Case)).one().opened_at = utcnow() - timedelta(days=30)
        session.commit()
    result = run("sweep")
    assert result.exit_code == 0, result.output
    assert "check-ins: 1 new" in result.output
    assert "watchdog: " in result.output and "outbox: " in result.output
    assert "check-ins: 0 new" in run("sweep", "check-ins").output


def test_report_msp_counts_the_national_categories_and_the_persons_view(run, engine, case_ref):
    from bot.models import FeedbackAnswer, RespondentKind

    run("cases", "close", case_ref, "--summary", "Edith is safe.", "--outcomes", "partially",
        "--risk", "reduced")
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
        session.add(FeedbackAnswer(case_id=case.id, question="outcome",
                                   answer="Partially Achieved",
                                   respondent_kind=RespondentKind.PERSON,
                                   respondent_id=case.person_id, channel="sms"))
        session.commit()
        closed = case.closed_at
    from zoneinfo import ZoneInfo

    day = closed.astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d")
    result = run("report", "msp", "--from", day, "--to", day)
    assert result.exit_code == 0, result.output
    out = result.output
    assert ": 1" in out.splitlines()[0]
    assert "Yes they were asked and outcomes were expressed" in out
    line = next(x for x in out.splitlines() if x.strip().startswith("Partially Achieved"))
    assert line.split()[-1] == "1"
    assert "outcome: Partially Achieved" in out
    assert run("report", "msp", "--from", "2030-01-02", "--to", "2030-01-01").exit_code == 2
