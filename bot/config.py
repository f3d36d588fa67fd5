"""Settings read from the environment and `.env`, validated once at start-up.

Every problem is collected and reported together, so an operator fixes a bad
deployment in one pass instead of one error per restart. `CASELINE_ENV`
decides what is allowed: production refuses placeholder secrets, a fake
Twilio and an unsigned public URL.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from datetime import time
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from . import clock
from .phones import InvalidPhoneNumber, is_mobile, normalise

ENVIRONMENTS = ("production", "development", "demo", "test")

# Values shipped in .env.example; a production start with any of them is refused.
PLACEHOLDER_PREFIX = "change-me"
FAKE_TWILIO_SID = "AC" + "0" * 32

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """The settings cannot be used; `problems` lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Caseline cannot start: {len(problems)} setting(s) to fix:\n{lines}")


DEFAULT_NAME = "Caseline update line"
DEFAULT_NAME_CY = "Llinell Newyddion Caseline"


@dataclass(frozen=True)
class Settings:
    """Every setting the service reads; documented in `.env.example`."""

    caseline_env: str = "development"
    database_url: str = ""
    redis_url: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_phone_number: str = ""
    twilio_voice_number: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_base: str = ""
    public_url: str = "http://127.0.0.1:5000"
    flows_dir: str = ""
    secret_key: str = ""
    pin_key: str = ""
    timezone: str = "Europe/London"
    instance_dir: str = ""
    organisation_name: str = DEFAULT_NAME
    organisation_name_cy: str = ""  # what Welsh callers hear (see `name_in_welsh`)
    # The line's own front door: the numbers and hours every caller hears before the PIN,
    # right for every team (after the PIN, the case's own team's are said instead).
    line_duty_number: str = ""
    line_out_of_hours_number: str = ""
    line_office_days: str = "mon,tue,wed,thu,fri"
    line_office_opens: str = "09:00"
    line_office_closes: str = "17:00"
    api_calls_per_minute: int = 600  # per token; more get 429 with Retry-After
    staff_idle_minutes: int = 20  # a staff page session ends after this long unused
    staff_session_hours: int = 10  # and after this long in all (a working day)
    # An action nobody has taken on is raised to the team manager after this long.
    escalate_urgent_minutes: int = 30
    escalate_after_hours: int = 24
    # Retention (bot/records/retention.py): how long each kind of record is kept.
    retain_inbound_requests_days: int = 30  # Twilio's raw requests (what callers texted)
    retain_conversations_days: int = 7  # where a conversation was, after its last turn
    retain_message_words_days: int = 90  # the words of texts that belong to no case
    retain_sign_ins_days: int = 30  # staff sign-in sessions, and PIN failure counts
    twilio_recordings_keep_days: int = 0  # 0: delete Twilio's copy once ours is stored
    retain_audit_years: int = 8  # API calls, case page views, account and token changes
    retain_case_records_years: int = 8  # a person's record, after their last case closed
    outbound_texts_per_second: float = 1.0
    outbound_calls_per_second: float = 1.0
    outbound_max_attempts: int = 5
    outbound_ring_seconds: int = 30
    outbox_sweep_seconds: int = 60
    pin_max_attempts: int = 5
    pin_lock_minutes: int = 60
    sms_verified_minutes: int = 15
    check_in_every_days: int = 7
    watchdog_days: int = 10
    feedback_after_days: int = 7
    voice_name: str = "Polly.Amy"
    log_format: str = ""  # json or text; default json in production, text elsewhere
    log_level: str = ""  # default INFO for the services, WARNING for commands run by hand
    speech_end_seconds: int = 3

    @property
    def name_in_welsh(self) -> str:
        """ORGANISATION_NAME_CY; unset, the Welsh of the default name, or the name as set."""
        if self.organisation_name_cy:
            return self.organisation_name_cy
        return DEFAULT_NAME_CY if self.organisation_name == DEFAULT_NAME else \
            self.organisation_name

    @property
    def is_production(self) -> bool:
        return self.caseline_env == "production"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def instance_path(self) -> Path:
        return Path(self.instance_dir)

    @property
    def flows_path(self) -> Path:
        return Path(self.flows_dir)

    @property
    def uses_fake_twilio(self) -> bool:
        return self.twilio_account_sid == FAKE_TWILIO_SID


SETTING_NAMES = tuple(f.name.upper() for f in fields(Settings))


def default_flows_dir() -> Path:
    """FLOWS_DIR from the environment if set (for the flow tools, which need no settings),
    else the default below."""
    return Path(os.environ.get("FLOWS_DIR") or _default_flows_dir())


def _default_flows_dir() -> Path:
    """The repository's flows/ in a checkout, else the copy installed with the package."""
    checkout = REPO_ROOT / "flows"
    if checkout.is_dir():
        return checkout
    import sys

    return Path(sys.prefix) / "share" / "caseline" / "flows"


def _default_instance_dir() -> Path:
    """The checkout's instance/ in a checkout; in an installed copy, ./instance where the
    command runs (never inside site-packages)."""
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / "instance"
    return Path.cwd() / "instance"


def _defaults(env: str, instance: Path) -> dict[str, str]:
    """Defaults that make `caseline demo` and the tests work with nothing configured."""
    if env == "production":
        return {}
    # The same in every non-production environment, so that `caseline chat` (development
    # by default) signs requests the way `caseline demo` checks them.
    return {
        "database_url": f"sqlite:///{instance / 'caseline.db'}",
        "secret_key": "local-only-secret-key",
        "pin_key": "local-only-pin-key",
        "twilio_account_sid": FAKE_TWILIO_SID,
        "twilio_auth_token": "local-only-auth-token",
        "twilio_phone_number": "+447700900000",
        # The demo council's front door and emergency duty team (fictional numbers).
        "line_duty_number": "+441134960500",
        "line_out_of_hours_number": "+447700900998",
        # The local fake Twilio (`caseline fake-twilio`, started by `caseline demo`).
        "twilio_api_base": "http://127.0.0.1:5010",
    }


def load_settings(environ: dict[str, str] | None = None, env_file: str | None = ".env") -> Settings:
    """Read settings from `environ` (default os.environ) over `.env`, then validate."""
    source: dict[str, str] = {}
    if env_file and Path(env_file).is_file():
        source.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    source.update(os.environ if environ is None else environ)

    env = source.get("CASELINE_ENV", "development").strip() or "development"
    instance = Path(source.get("INSTANCE_DIR") or _default_instance_dir())
    values = _defaults(env, instance)
    values["instance_dir"] = str(instance)
    values["flows_dir"] = str(_default_flows_dir())
    for name in SETTING_NAMES:
        raw = source.get(name)
        if raw is not None and raw.strip() != "":
            values[name.lower()] = raw.strip()
    values["caseline_env"] = env
    values, problems = _convert_numbers(values)
    settings = Settings(**values)
    if not settings.is_production and settings.database_url.startswith("postgresql") \
            and not (source.get("PIN_KEY") or "").strip():
        # A real database with the built-in key would store PINs anyone could reverse.
        problems.append("PIN_KEY must be set when DATABASE_URL is a PostgreSQL server: the "
                        "built-in key is only for trying Caseline on one machine (and set "
                        "CASELINE_ENV=production for the real service).")
    validate(settings, problems)
    return settings


# Numeric settings where 0 means something (e.g. "at once").
ZERO_ALLOWED = {"twilio_recordings_keep_days"}


def _convert_numbers(values: dict[str, str]) -> tuple[dict, list[str]]:
    """Turn numeric settings into numbers; a bad one is a problem, its default is kept."""
    converted, problems = dict(values), []
    for f in fields(Settings):
        kind = type(f.default)
        if kind in (int, float) and isinstance(values.get(f.name), str):
            lowest = 0 if f.name in ZERO_ALLOWED else 1
            try:
                number = kind(values[f.name])
                if number < lowest or (lowest and number <= 0):
                    raise ValueError
                converted[f.name] = number
            except ValueError:
                example = "5" if kind is int else "1.0"
                above = "0 or more" if lowest == 0 else "above 0"
                problems.append(f"{f.name.upper()} must be a number {above}, e.g. {example}.")
                del converted[f.name]
    return converted, problems


def validate(settings: Settings, problems: list[str] | None = None) -> None:
    """Raise ConfigError listing every problem with `settings` (and any found earlier)."""
    problems = list(problems or [])
    if settings.caseline_env not in ENVIRONMENTS:
        problems.append(
            f"CASELINE_ENV is '{settings.caseline_env}': use one of {', '.join(ENVIRONMENTS)}."
        )
    problems += _check_urls(settings)
    problems += _check_timezone(settings)
    problems += _check_line_desk(settings)
    problems += _check_twilio(settings)
    if settings.log_format and settings.log_format.lower() not in ("json", "text"):
        problems.append(f"LOG_FORMAT '{settings.log_format}' must be json or text.")
    if settings.log_level and settings.log_level.upper() not in (
            "DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append(f"LOG_LEVEL '{settings.log_level}' must be DEBUG, INFO, WARNING "
                        "or ERROR.")
    if settings.is_production:
        problems += _check_production(settings)
    if problems:
        raise ConfigError(problems)


def _check_urls(s: Settings) -> list[str]:
    problems = []
    if s.database_url and not s.database_url.startswith(("sqlite", "postgresql")):
        problems.append(
            "DATABASE_URL must start with sqlite:/// or postgresql+psycopg://, "
            f"not '{s.database_url.split(':', 1)[0]}:'."
        )
    if s.redis_url and not s.redis_url.startswith(("redis://", "rediss://", "unix://")):
        problems.append("REDIS_URL must start with redis://, rediss:// or unix://.")
    if not s.public_url.startswith(("http://", "https://")):
        problems.append(
            "PUBLIC_URL must be the full base URL Twilio calls, e.g. https://caseline.example.org."
        )
    return problems


_ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")
_SERVICE_SID = re.compile(r"MG[0-9a-f]{32}")
# Reserved for documentation (RFC 2606) or this machine: never where Twilio can call.
_NOT_PUBLIC = re.compile(r"(^|\.)(example\.(org|com|net)|localhost)$|^127\.|^\[?::1\]?$")


def _check_twilio(s: Settings) -> list[str]:
    """What Twilio would refuse or misroute, named with the fix, in every environment."""
    problems = []
    if s.twilio_account_sid and not _ACCOUNT_SID.fullmatch(s.twilio_account_sid):
        problems.append(f"TWILIO_ACCOUNT_SID '{s.twilio_account_sid[:6]}…' is not an account "
                        "SID: copy it from the Twilio console, AC followed by 32 hex digits.")
    if s.twilio_messaging_service_sid and not _SERVICE_SID.fullmatch(
            s.twilio_messaging_service_sid):
        problems.append("TWILIO_MESSAGING_SERVICE_SID is not a messaging service SID: MG "
                        "followed by 32 hex digits, from the Twilio console.")
    for name in ("twilio_phone_number", "twilio_voice_number"):
        value = getattr(s, name)
        if not value:
            continue
        try:
            normalise(value)
        except InvalidPhoneNumber as exc:
            problems.append(f"{name.upper()} '{value}' is not a whole phone number ({exc}): "
                            "give the number Twilio gave you in full, e.g. +447700900123.")
    return problems


def _check_timezone(s: Settings) -> list[str]:
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return [f"TIMEZONE '{s.timezone}' is not a known time zone, e.g. Europe/London."]
    return []


def _check_line_desk(s: Settings) -> list[str]:
    problems = []
    for name in ("line_duty_number", "line_out_of_hours_number"):
        value = getattr(s, name)
        try:
            if value:
                normalise(value)
        except InvalidPhoneNumber as exc:
            problems.append(f"{name.upper()} '{value}' is not a phone number: {exc}")
    for name in ("line_office_opens", "line_office_closes"):
        if parse_clock(getattr(s, name)) is None:
            problems.append(f"{name.upper()} '{getattr(s, name)}' must be a time like 09:00.")
    days = {d.strip().lower() for d in s.line_office_days.split(",") if d.strip()}
    if not days or days - set(DAY_NAMES):
        problems.append(f"LINE_OFFICE_DAYS '{s.line_office_days}' must list days like "
                        "mon,tue,wed,thu,fri.")
    return problems


def _is_phone(value: str) -> bool:
    try:
        normalise(value)
        return True
    except InvalidPhoneNumber:
        return False


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # as office days are written


def parse_clock(text: str) -> time | None:
    """'09:00' -> time(9, 0); anything else -> None."""
    hours, _, minutes = (text or "").strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        return None
    try:
        return time(int(hours), int(minutes))
    except ValueError:
        return None


def _check_production(s: Settings) -> list[str]:
    problems = []
    required = {
        "DATABASE_URL": s.database_url,
        "REDIS_URL": s.redis_url,
        "TWILIO_ACCOUNT_SID": s.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": s.twilio_auth_token,
        "SECRET_KEY": s.secret_key,
        "PIN_KEY": s.pin_key,
        # Every caller hears these before the PIN: they must be right for every team.
        "LINE_DUTY_NUMBER": s.line_duty_number,
        "LINE_OUT_OF_HOURS_NUMBER": s.line_out_of_hours_number,
    }
    for name, value in required.items():
        if not value:
            problems.append(f"{name} is required in production.")
        elif value.startswith(PLACEHOLDER_PREFIX) or "-only-" in value:
            problems.append(f"{name} still has a placeholder value: set a real secret.")
    for name, value in (("SECRET_KEY", s.secret_key), ("PIN_KEY", s.pin_key)):
        if value and len(value) < 32:
            problems.append(f"{name} is too short: use at least 32 random characters.")
    if not (s.twilio_phone_number or s.twilio_messaging_service_sid):
        problems.append("TWILIO_PHONE_NUMBER (or TWILIO_MESSAGING_SERVICE_SID) is required.")
    if clock.file_for(s.instance_path).exists():
        problems.append(
            f"The line's clock is moved ({clock.file_for(s.instance_path)}): production runs "
            "on real time. Run `caseline clock reset` outside production, or delete the file.")
    if s.uses_fake_twilio or s.twilio_api_base:
        problems.append(
            "The fake Twilio is not allowed in production: unset TWILIO_API_BASE "
            "and use a real account SID."
        )
    if not s.public_url.startswith("https://"):
        problems.append("PUBLIC_URL must be https:// in production.")
    host = urlsplit(s.public_url).hostname or ""
    if _NOT_PUBLIC.search(host):
        problems.append(f"PUBLIC_URL '{s.public_url}' is the example (or this machine): set "
                        "the address Twilio reaches the line at, e.g. "
                        "https://caseline.your-council.gov.uk.")
    if s.secret_key and s.secret_key == s.pin_key:
        problems.append("SECRET_KEY and PIN_KEY are the same: each must be its own random "
                        "secret (one signs staff sessions, the other keys PINs).")
    if s.twilio_phone_number and not s.twilio_messaging_service_sid and _is_phone(
            s.twilio_phone_number) and not is_mobile(normalise(s.twilio_phone_number)):
        problems.append(f"TWILIO_PHONE_NUMBER {s.twilio_phone_number} is a landline, which "
                        "cannot send texts: use a mobile number from Twilio, or set "
                        "TWILIO_MESSAGING_SERVICE_SID (and TWILIO_VOICE_NUMBER for calls).")
    if s.database_url.startswith("sqlite"):
        problems.append("DATABASE_URL must be PostgreSQL in production, not SQLite.")
    return problems
