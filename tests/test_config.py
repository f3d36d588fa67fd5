"""Settings: defaults per environment, every problem in one error, .env.example in sync."""

import re
from pathlib import Path

import pytest

from bot.config import SETTING_NAMES, ConfigError, load_settings

REPO = Path(__file__).resolve().parent.parent

PRODUCTION_OK = {
    "CASELINE_ENV": "production",
    "DATABASE_URL": "postgresql+psycopg://caseline@db.example.org/caseline",
    "REDIS_URL": "redis://cache.example.org:6379/0",
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "a" * 32,
    "TWILIO_PHONE_NUMBER": "+447700900001",
    "PUBLIC_URL": "https://caseline.council.test",
    "SECRET_KEY": "s" * 40,
    "PIN_KEY": "p" * 40,
    "LINE_DUTY_NUMBER": "0113 496 0500",
    "LINE_OUT_OF_HOURS_NUMBER": "07700 900998",
}


def test_env_example_documents_exactly_the_settings():
    text = (REPO / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z_]+)=", text, flags=re.MULTILINE))
    assert documented == set(SETTING_NAMES)


def test_every_documented_setting_has_a_comment():
    lines = (REPO / ".env.example").read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[A-Z_]+=", line):
            assert lines[number - 1].startswith("#"), f"{line} has no comment above it"


def test_development_runs_with_nothing_configured(tmp_path):
    settings = load_settings({"INSTANCE_DIR": str(tmp_path)}, env_file=None)
    assert settings.caseline_env == "development"
    assert settings.database_url == f"sqlite:///{tmp_path / 'caseline.db'}"
    assert settings.uses_fake_twilio
    assert settings.pin_key


def test_environment_wins_over_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("TIMEZONE=Europe/Dublin\nORGANISATION_NAME=Leeds line\n")
    settings = load_settings({"TIMEZONE": "Europe/London"}, env_file=str(env_file))
    assert settings.timezone == "Europe/London"
    assert settings.organisation_name == "Leeds line"


def test_production_with_real_values_is_accepted():
    settings = load_settings(PRODUCTION_OK, env_file=None)
    assert settings.is_production and not settings.uses_fake_twilio


def test_production_lists_every_problem_at_once():
    with pytest.raises(ConfigError) as info:
        load_settings({"CASELINE_ENV": "production", "PUBLIC_URL": "http://x.example.org",
                       "SECRET_KEY": "change-me", "TIMEZONE": "Mars/Olympus"}, env_file=None)
    problems = "\n".join(info.value.problems)
    for expected in ("DATABASE_URL is required", "REDIS_URL is required",
                     "PIN_KEY is required", "SECRET_KEY still has a placeholder",
                     "PUBLIC_URL must be https://", "TIMEZONE 'Mars/Olympus'",
                     "LINE_DUTY_NUMBER is required", "LINE_OUT_OF_HOURS_NUMBER is required"):
        assert expected in problems
    assert len(info.value.problems) >= 6
    assert str(len(info.value.problems)) in str(info.value)


@pytest.mark.parametrize("change, message", [
    ({"LINE_DUTY_NUMBER": "not a number"}, "LINE_DUTY_NUMBER 'not a number' is not a phone"),
    ({"LINE_OFFICE_OPENS": "9am"}, "LINE_OFFICE_OPENS '9am' must be a time like 09:00"),
    ({"LINE_OFFICE_DAYS": "weekdays"}, "LINE_OFFICE_DAYS 'weekdays' must list days"),
    ({"TWILIO_API_BASE": "http://127.0.0.1:5010"}, "fake Twilio is not allowed"),
    ({"TWILIO_ACCOUNT_SID": "AC" + "0" * 32}, "fake Twilio is not allowed"),
    ({"DATABASE_URL": "sqlite:////srv/caseline.db"}, "must be PostgreSQL"),
    ({"PIN_KEY": "short"}, "PIN_KEY is too short"),
    ({"TWILIO_AUTH_TOKEN": "local-only-auth-token"}, "placeholder"),
    # What a newcomer copied from the example, or typed short:
    ({"TWILIO_PHONE_NUMBER": "0113"}, "TWILIO_PHONE_NUMBER '0113' is not a whole phone"),
    ({"TWILIO_PHONE_NUMBER": "0113 496 0000"}, "is a landline, which cannot send texts"),
    ({"TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_ACCOUNT_SID 'AC123…' is not an account SID"),
    ({"TWILIO_MESSAGING_SERVICE_SID": "MG1"}, "is not a messaging service SID"),
    ({"PUBLIC_URL": "https://caseline.example.org"}, "is the example"),
    ({"PUBLIC_URL": "https://localhost:5000"}, "is the example \\(or this machine\\)"),
    ({"SECRET_KEY": "k" * 40, "PIN_KEY": "k" * 40}, "SECRET_KEY and PIN_KEY are the same"),
])
def test_production_refuses_fakes_and_placeholders(change, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({**PRODUCTION_OK, **change}, env_file=None)


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="CASELINE_ENV is 'staging'"):
        load_settings({"CASELINE_ENV": "staging"}, env_file=None)


def test_bad_urls_are_named():
    with pytest.raises(ConfigError) as info:
        load_settings({"DATABASE_URL": "mysql://x", "REDIS_URL": "localhost:6379",
                       "PUBLIC_URL": "caseline.example.org"}, env_file=None)
    assert len(info.value.problems) == 3


def test_numbers_are_converted_and_checked():
    settings = load_settings({"OUTBOUND_TEXTS_PER_SECOND": "2.5", "OUTBOUND_MAX_ATTEMPTS": "3"},
                             env_file=None)
    assert settings.outbound_texts_per_second == 2.5
    assert settings.outbound_max_attempts == 3
    with pytest.raises(ConfigError) as info:
        load_settings({"OUTBOUND_MAX_ATTEMPTS": "many", "OUTBOUND_CALLS_PER_SECOND": "0"},
                      env_file=None)
    assert len(info.value.problems) == 2
    assert any("OUTBOUND_MAX_ATTEMPTS must be a number above 0" in p for p in info.value.problems)


def test_a_real_database_needs_a_real_pin_key():
    with pytest.raises(ConfigError, match="PIN_KEY must be set"):
        load_settings({"DATABASE_URL": "postgresql+psycopg://db.example.org/caseline"},
                      env_file=None)
    settings = load_settings({"DATABASE_URL": "postgresql+psycopg://db.example.org/caseline",
                              "PIN_KEY": "k" * 40}, env_file=None)
    assert settings.pin_key == "k" * 40
