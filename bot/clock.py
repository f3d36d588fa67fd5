"""The line's time: real time, moved by an offset that a person or a test sets, never in
production.

`caseline clock set 2026-12-20T10:00` writes the offset to `INSTANCE_DIR/clock.json`; every
process that shares the instance folder (web, worker, scheduler, the CLI) reads it within a
second, with no restart, so a case's whole life can be played in minutes.

What it moves: the line's own decisions and records. What is due (check-ins, the watchdog,
feedback, retries of unanswered calls), what is said (dates, "we should have been in touch
by"), contact windows, office hours, the text PIN window, PIN locks, and every timestamp the
line writes (`utcnow()` below is the line's time).

What it does not move: RQ's own timers (a job due at a moment of the line's time is handed to
RQ at the matching real moment, `to_real`), expiries kept by Redis (locks, pacing, the
scheduler's leadership), how often the scheduler fires (every few real minutes), Twilio's
and the fake Twilio's timestamps, log times, and the staff pages' sign-in sessions and
second-factor codes, which are security and must follow real time.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

FILE_NAME = "clock.json"
_REREAD_SECONDS = 1.0

_source: Path | None = None
_cached: tuple[float, timedelta] = (0.0, timedelta(0))  # (read at, offset)


class ClockError(ValueError):
    """The clock cannot be moved or read (e.g. in production, or a damaged file)."""


def use(path: Path | None) -> None:
    """Read the offset from `path` from now on; None: real time (production)."""
    global _source, _cached
    _source, _cached = path, (0.0, timedelta(0))


def file_for(instance_dir: Path) -> Path:
    return Path(instance_dir) / FILE_NAME


def real_now() -> datetime:
    return datetime.now(UTC)


def offset() -> timedelta:
    """How far the line's time is ahead of real time (negative: behind)."""
    global _cached
    if _source is None:
        return timedelta(0)
    read_at, value = _cached
    if time.monotonic() - read_at >= _REREAD_SECONDS or read_at == 0.0:
        value = read_offset(_source)
        _cached = (time.monotonic(), value)
    return value


def now() -> datetime:
    """The line's time (UTC)."""
    return real_now() + offset()


def to_real(moment: datetime) -> datetime:
    """The real moment at which the line's clock shows `moment` (for RQ's timers)."""
    return moment - offset()


def read_offset(path: Path) -> timedelta:
    """The offset kept in `path`; no file is no offset. A damaged file is an error to fix,
    not a silent return to real time in the middle of a test."""
    try:
        data = json.loads(Path(path).read_text())
        return timedelta(seconds=float(data["offset_seconds"]))
    except FileNotFoundError:
        return timedelta(0)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ClockError(f"{path} is not a clock file ({exc}): delete it or run "
                         "`caseline clock reset`.") from None


def move_to(path: Path, moment: datetime) -> timedelta:
    """Move the line's clock so that it shows `moment` now; returns the new offset."""
    new_offset = moment - real_now()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"offset_seconds": new_offset.total_seconds(),
                                     "set_to": moment.isoformat(timespec="seconds"),
                                     "set_at": real_now().isoformat(timespec="seconds")}))
    os.replace(temporary, path)  # readers see the old file or the new one, never half
    use(_source)  # this process sees the change at once
    return new_offset


def reset(path: Path) -> bool:
    """Back to real time; False if the clock was not moved."""
    try:
        Path(path).unlink()
    except FileNotFoundError:
        return False
    use(_source)
    return True
