"""Checking records: every field converted, then the fields of a row checked together."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..models import Stage
from ..pins import hash_pin
from .kinds import DEFAULT, KEEP, KINDS, MODELS, SINGULAR, SPECS, Spec, label
from .report import Problems
from .sources import Raw, Record

_BAD = object()  # a value that failed its check (already reported)


@dataclass
class Row:
    """A checked record: values by field name (given fields only) and their lines."""

    kind: str
    ref: str
    line: int
    values: dict[str, Any]
    lines: dict[str, int]

    @property
    def label(self) -> str:
        return label(self.kind, self.ref)


def check_records(records: list[Record], problems: Problems, *, pin_key: str,
                  tz: ZoneInfo) -> list[Row]:
    """Check every record; return the good ones in import order."""
    _check_duplicates(records, problems)
    rows = [row for record in records if (row := _check_record(record, problems))]
    for row in rows:
        _finish_row(row, problems, pin_key=pin_key, tz=tz)
    return sorted(rows, key=lambda row: KINDS.index(row.kind))


def _check_duplicates(records: list[Record], problems: Problems) -> None:
    first: dict[tuple[str, str], int] = {}
    for record in records:
        key = (record.kind, record.ref)
        if record.ref and key in first:
            problems.add(record.line, f"{label(*key)} is also on line {first[key]}: each ref"
                                      " may appear once in a file; merge the two")
        first.setdefault(key, record.line)


def _check_record(record: Record, problems: Problems) -> Row | None:
    """Convert every field of a record; None if any is wrong (each one is reported)."""
    where = label(record.kind, record.ref)
    values, lines, good = {}, {}, True
    for name, spec in SPECS[record.kind].items():
        raw = record.fields.get(name)
        value = _check_field(raw, spec, record, name, where, problems)
        if value is _BAD:
            good = False
        elif value is not KEEP:
            values[name] = value
            lines[name] = raw.line
    return Row(record.kind, record.ref, record.line, values, lines) if good else None


def _check_field(raw: Raw | None, spec: Spec, record: Record, name: str, where: str,
                 problems: Problems) -> Any:
    """The value of one field, KEEP when not given, or _BAD (reported)."""
    if raw is not None and raw.reported:
        return _BAD
    if raw is None or raw.empty:
        if spec.required:
            if name not in record.missing_columns:  # already reported once, on the header
                problems.add(raw.line if raw else record.line,
                             f"{where}: {name} is missing: every {SINGULAR[record.kind]} needs"
                             f" a {name}")
            return _BAD
        if raw is None or spec.empty is KEEP:
            return KEEP
        if spec.empty is DEFAULT:
            return MODELS[record.kind].model_fields[name].get_default(call_default_factory=True)
        return copy.copy(spec.empty)
    return _convert(raw, spec, f"{where} {name}", problems)


def _convert(raw: Raw, spec: Spec, where: str, problems: Problems) -> Any:
    """Run the field's converter on the value, or on each item of a list."""
    if not spec.many:
        if raw.items is not None:
            problems.add(raw.line, f"{where}: give one value here, not a list")
            return _BAD
        return _attempt(spec.convert, raw.text, raw.line, where, problems)
    items = raw.items
    if items is None:  # a ';'-separated cell, or a YAML scalar
        parts = re.split(r"[;,]", raw.text or "")
        items = [Raw(raw.line, part) for part in parts if part.strip()]
    values = [_attempt(spec.convert, item.text, item.line, where, problems) for item in items]
    if any(value is _BAD for value in values):
        return _BAD
    return _attempt(spec.combine, values, raw.line, where, problems)


def _attempt(convert: Callable, value: Any, line: int, where: str, problems: Problems) -> Any:
    try:
        return convert(value)
    except ValueError as exc:  # converters' messages never contain a PIN
        problems.add(line, f"{where}: {exc}")
        return _BAD


def _finish_row(row: Row, problems: Problems, *, pin_key: str, tz: ZoneInfo) -> None:
    """Hash the PIN, make datetimes aware, and check fields that depend on each other."""
    for name, value in row.values.items():
        if isinstance(value, datetime) and value.tzinfo is None:
            row.values[name] = value.replace(tzinfo=tz)
    if "pin" in row.values:
        try:
            row.values["pin_hash"] = hash_pin(row.values.pop("pin"), pin_key, salt=row.ref)
        except ValueError as exc:  # no PIN_KEY: the message names the setting, not the PIN
            problems.add(row.lines["pin"], f"{row.label} pin: it cannot be stored: {exc}")
    for name, message in _cross_check(row):
        problems.add(row.lines.get(name, row.line), f"{row.label} {name}: {message}")


def _cross_check(row: Row) -> list[tuple[str, str]]:
    """Problems between fields of one row, as (field, message)."""
    values, found = row.values, []
    if _in_order(values, "office_opens", "office_closes") is False:
        found.append(("office_closes", "the office must close after it opens"))
    if _in_order(values, "contact_window_start", "contact_window_end") is False:
        found.append(("contact_window_end", "the contact window must end after it starts"))
    if row.kind == "workers" and values.get("cover") == row.ref:
        found.append(("cover", "a worker cannot cover for themselves: name another worker"))
    if row.kind == "cases":
        found.extend(_closure_check(values))
        if values.get("news_date") and not values.get("latest_news"):
            found.append(("news_date", "it is the date of latest_news: give the news "
                                       "too, or leave news_date out"))
    return found


def _in_order(values: dict, first: str, last: str) -> bool | None:
    if first in values and last in values:
        return values[first] < values[last]
    return None


def _closure_check(values: dict) -> list[tuple[str, str]]:
    """A closed case has a closing time, and only a closed case has one."""
    if "stage" not in values:
        return []
    closed = values["stage"] == Stage.CLOSED
    reopened, closed_at = values.get("reopened_at"), values.get("closed_at")
    if closed and reopened and closed_at and reopened >= closed_at:
        return [("reopened_at", "the case is closed, so it closed again after it reopened:"
                                " closed_at must be after reopened_at (or set the stage it"
                                " reopened to)")]
    if closed and not values.get("closed_at"):
        return [("stage", "a closed case needs closed_at: give the date it closed")]
    if not closed and values.get("closed_at"):
        return [("closed_at", f"the stage is '{values['stage']}', not closed: set stage to"
                              " closed or leave closed_at empty")]
    return []
