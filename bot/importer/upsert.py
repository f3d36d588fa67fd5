"""One record from the REST API, through the importer's own checks, ownership and writing.

The API is the case system speaking, as a nightly file is: the same field checks, the same
baselines (so a change made here is never silently undone), the same history. Only the
shape differs: JSON values instead of a file's text, and problems named by field.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from .checks import check_records
from .erased import without_erased
from .kinds import MODELS
from .lookups import check_references, load_by_ref
from .report import ImportReport, Problems
from .sources import Raw, Record
from .writers import Applier, apply

SOURCE = "request"


class UpsertRefused(Exception):
    """Nothing was written. `problems` are (field or "", message); `status` is 422 for a
    value that cannot be used, 409 for a change the ownership rules keep from applying."""

    def __init__(self, status: int, problems: list[tuple[str, str]]):
        self.status, self.problems = status, problems
        super().__init__("; ".join(message for _, message in problems))


@dataclass(frozen=True)
class Upserted:
    record: Any
    created: bool
    changed: bool


def upsert_one(session: Session, kind: str, ref: str, values: dict[str, Any], *, pin_key: str,
               tz: ZoneInfo, source: str, actor: str) -> Upserted:
    """Create or update the `kind` record `ref` from JSON `values` (absent fields stay as
    they are; null clears one), or raise UpsertRefused. Runs in the caller's transaction:
    on a refusal the caller rolls back, so nothing of it is kept."""
    record, fields_by_line = _record(kind, ref, values)
    problems = Problems(SOURCE)
    rows = check_records([record], problems, pin_key=pin_key, tz=tz)
    rows, skipped = without_erased(session, rows, pin_key)
    if skipped:
        raise UpsertRefused(409, [("ref", why) for _, why in skipped])
    check_references(session, [record], rows, problems)
    if problems:
        raise UpsertRefused(422, _named(problems, fields_by_line))
    ref = rows[0].ref  # as the checks tidied it (spaces), which is how it is stored
    existed = ref in load_by_ref(session, MODELS[kind], [ref])
    applier = Applier(session, ImportReport(source), file_name=source, actor=actor,
                      progress=None, total=1, interactive=True)
    report = apply(session, rows, applier)
    if report.conflicts:
        named = [(fields_by_line.get(line, ""), _without_place(text))
                 for line, text in report.conflicts]
        raise UpsertRefused(409, named)
    counts = report.counts[kind]
    stored = load_by_ref(session, MODELS[kind], [ref])[ref]
    return Upserted(stored, created=not existed, changed=bool(counts.created or counts.updated
                                                              or report.reopened))


def _record(kind: str, ref: str, values: dict[str, Any]) -> tuple[Record, dict[int, str]]:
    """A Record as the file reader makes one: each field its own 'line', so a problem
    found by the checks can be named by its field."""
    fields, by_line = {"ref": Raw(2, ref)}, {2: "ref"}
    for index, (name, value) in enumerate(values.items(), start=3):
        by_line[index] = name
        if isinstance(value, list):
            fields[name] = Raw(index, items=[Raw(index, _text(item)) for item in value])
        else:
            fields[name] = Raw(index, _text(value))
    return Record(kind, 1, fields), by_line


def _text(value: Any) -> str | None:
    """A JSON value as the text a file would hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _named(problems: Problems, by_line: dict[int, str]) -> list[tuple[str, str]]:
    return [(by_line.get(line, ""), _without_place(text)) for line, text in problems.items]


def _without_place(text: str) -> str:
    """'request:4: case 'C-1' stage: ...' -> "case 'C-1' stage: ..." (lines mean nothing
    to an API client; the field is named beside the message)."""
    prefix, _, rest = text.partition(": ")
    return rest if prefix.startswith(f"{SOURCE}:") else text
