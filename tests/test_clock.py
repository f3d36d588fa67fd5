"""The line's clock, moved outside production: by the CLI, read by every process, never by
RQ's own timers, refused in production."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from bot import clock
from bot.cli.main import cli
from bot.config import ConfigError, load_settings
from bot.models import Interaction, OutboxMessage
from tests.faults import service_env, start_process, stop_process

LONDON = ZoneInfo("Europe/London")
EDITH = "+447700900101"


@pytest.fixture
def instance_clock(tmp_path):
    path = clock.file_for(tmp_path)
    clock.use(path)
    yield path
    clock.use(None)


def test_the_offset_moves_the_line_and_not_rq(instance_clock):
    target = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)
    clock.move_to(instance_clock, target)
    assert abs(clock.now() - target) < timedelta(seconds=5)
    assert abs(clock.real_now() - datetime.now(UTC)) < timedelta(seconds=1)
    assert abs(clock.to_real(target) - datetime.now(UTC)) < timedelta(seconds=5)
    assert clock.reset(instance_clock) is True
    assert clock.offset() == timedelta(0)
    assert clock.reset(instance_clock) is False


def test_another_process_sees_a_move_within_a_second(instance_clock):
    clock.move_to(instance_clock, clock.real_now() + timedelta(days=3))
    code = ("from pathlib import Path; from bot import clock; "
            f"clock.use(Path({str(instance_clock)!r})); print(clock.offset().days)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() in ("2", "3")  # 3 days less the moment it took to start


def test_a_damaged_clock_file_is_an_error_naming_the_file(instance_clock):
    instance_clock.write_text("not json")
    with pytest.raises(clock.ClockError, match="clock.json is not a clock file.*clock reset"):
        clock.offset()


def test_production_refuses_to_start_while_the_clock_is_moved(tmp_path):
    clock.move_to(clock.file_for(tmp_path), datetime(2030, 1, 1, tzinfo=UTC))
    env = {"CASELINE_ENV": "production", "INSTANCE_DIR": str(tmp_path),
           "DATABASE_URL": "postgresql+psycopg://db.example.org/caseline",
           "REDIS_URL": "redis://redis.example.org:6379/0", "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
           "TWILIO_AUTH_TOKEN": "t" * 32, "TWILIO_PHONE_NUMBER": "+447700900000",
           "PUBLIC_URL": "https://caseline.council.test", "SECRET_KEY": "s" * 40,
           "PIN_KEY": "p" * 40, "LINE_DUTY_NUMBER": "0113 496 0500",
           "LINE_OUT_OF_HOURS_NUMBER": "07700 900998"}
    with pytest.raises(ConfigError, match="clock is moved"):
        load_settings(env, env_file=None)
    clock.reset(clock.file_for(tmp_path))
    assert load_settings(env, env_file=None).is_production


def test_the_cli_sets_shows_and_resets_the_clock(tmp_path, monkeypatch):
    monkeypatch.setenv("CASELINE_ENV", "test")
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(cli, ["clock", "set", "2030-01-07T10:00"])
    assert result.exit_code == 0, result.output
    assert "Monday 07 January 2030, 10:00" in result.output and "ahead of" in result.output
    result = runner.invoke(cli, ["clock", "set", "+2d"])
    assert "Wednesday 09 January 2030, 10:0" in result.output
    result = runner.invoke(cli, ["clock", "set", "next week"])
    assert result.exit_code == 2 and "write 2026-12-20T10:00" in result.output
    result = runner.invoke(cli, ["clock", "reset"])
    assert result.exit_code == 0 and "real time." in result.output
    monkeypatch.setenv("CASELINE_ENV", "production")
    result = runner.invoke(cli, ["clock", "set", "+1d"])
    assert result.exit_code != 0
    clock.use(None)


def _caseline(runtime, *args) -> str:
    out = subprocess.run([sys.executable, "-m", "bot", *args], env=service_env(runtime.settings),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _check_ins(runtime, to):
    with Session(runtime.engine) as session:
        return session.exec(select(OutboxMessage).where(
            OutboxMessage.purpose == "check_in", OutboxMessage.to_number == to)).all()


@pytest.mark.slow
def test_a_moved_clock_drives_the_sweep_the_worker_and_the_reply(demo_runtime, live_runtime,
                                                                 fake_twilio, phone):
    """Weeks of a case in seconds, through real CLI and worker processes: the sweep finds the
    check-in due at the line's time, the worker sends it when the window opens (RQ waits in
    real time), and the reply is recorded at the line's time."""
    first = _caseline(live_runtime, "sweep", "check-ins")
    assert "check-ins:" in first
    [sent_first] = _check_ins(live_runtime, EDITH)
    _caseline(live_runtime, "clock", "set", "+3d")
    assert "check-ins: 0 new" in _caseline(live_runtime, "sweep", "check-ins")  # not yet due
    # Eight days on, a few seconds before Edith's window opens at 10:00.
    day = (clock.real_now() + timedelta(days=8)).astimezone(LONDON).date()
    opens = datetime(day.year, day.month, day.day, 10, 0, tzinfo=LONDON)
    _caseline(live_runtime, "clock", "set", (opens - timedelta(seconds=8)).isoformat())
    _caseline(live_runtime, "sweep", "check-ins")
    [later] = [row for row in _check_ins(live_runtime, EDITH) if row.id != sent_first.id]
    assert later.not_before == opens  # the line's time, not the real one
    assert later.created_at.astimezone(LONDON).date() == day
    worker = start_process(live_runtime.settings, "worker")
    try:  # RQ waits for the real moment the line's clock shows 10:00: seconds, not 8 days
        fake_twilio.wait_for(lambda: any(m["body"] == later.body for m in fake_twilio.messages),
                             timeout=40)
    finally:
        stop_process(worker)
    assert any("glad you are OK" in r for r in phone(EDITH).text("1"))
    with Session(live_runtime.engine) as session:
        reply = session.exec(select(Interaction).where(
            Interaction.kind == "checkin_reply")).all()
        assert reply and all(r.created_at.astimezone(LONDON).date() == day for r in reply)
    _caseline(live_runtime, "clock", "reset")


def test_rq_never_starts_a_job_before_it_is_due(instance_clock):
    """RQ keeps whole seconds: a job due at 10:00:00.4 must not start at 10:00:00."""
    from bot.delivery.queues import _rq_moment

    clock.move_to(instance_clock, clock.real_now() + timedelta(days=8))
    due = clock.now() + timedelta(seconds=5)
    started = _rq_moment(due)
    assert started.microsecond == 0
    assert started + clock.offset() >= due
    assert started + clock.offset() - due < timedelta(seconds=1, milliseconds=50)
