"""The traps a newcomer hits first: each gives its one clear message, never a traceback."""

from __future__ import annotations

from click.testing import CliRunner

from bot import db
from bot.cli.main import cli
from tests.conftest import DEMO_FILE


def _run(tmp_path, *args, env=None):
    environ = {"CASELINE_ENV": "development", "INSTANCE_DIR": str(tmp_path / "instance"),
               "DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}", "PIN_KEY": "",
               "REDIS_URL": "", **(env or {})}
    return CliRunner().invoke(cli, [str(a) for a in args], env=environ)


def test_import_before_the_schema_is_built_says_the_one_command_to_run(tmp_path):
    first = _run(tmp_path, "import", DEMO_FILE)
    assert first.exit_code == 2
    assert "has no tables yet. Run `caseline db upgrade`" in first.output
    assert "Traceback" not in first.output
    assert _run(tmp_path, "db", "upgrade").exit_code == 0
    assert _run(tmp_path, "import", DEMO_FILE).exit_code == 0


def test_an_older_schema_is_named_with_the_revision_it_needs(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    db.upgrade(engine, "0005")
    engine.dispose()
    answer = _run(tmp_path, "api-token", "list")
    assert answer.exit_code == 2
    assert f"is at revision 0005; this version of Caseline needs {db.head_revision()}" \
        in answer.output


def test_a_database_that_does_not_answer_says_so(tmp_path):
    answer = _run(tmp_path, "staff", "list", env={
        "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none",
        "PIN_KEY": "a-key-for-this-test"})
    assert answer.exit_code == 2 and "does not answer" in answer.output


def test_the_services_start_while_the_database_is_down(tmp_path):
    """Web, worker and scheduler keep texts and alarms while it is down (the outage tests
    run them so): only a schema they cannot use stops them."""
    engine = db.make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    assert db.schema_problem(engine, down_is_a_problem=False) is None
    assert "does not answer" in db.schema_problem(engine)
    engine.dispose()


def test_an_installed_copy_keeps_its_instance_where_it_runs(tmp_path, monkeypatch):
    """Not inside site-packages: ./instance where the command runs, as the README says."""
    from bot import config

    monkeypatch.setattr(config, "REPO_ROOT", tmp_path / "site-packages")  # no pyproject.toml
    monkeypatch.chdir(tmp_path)
    settings = config.load_settings({}, env_file=None)
    assert settings.instance_dir == str(tmp_path / "instance")
