"""`caseline import FILE`: teams, workers, people, representatives and cases from YAML or CSV.

Records are matched on `ref`, the case-management system's reference, so importing a file
again writes only what changed. The whole file is checked before anything is written: every
problem is reported as `FILE:LINE: what is wrong and how to fix it`, and a file with any
problem imports nothing. PINs are kept only as keyed hashes and never echoed.
"""

from __future__ import annotations

import copy
import csv
import difflib
import enum
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlmodel import Session, select

from . import phones
from .audit import record_interaction
from .db import session_scope
from .models import (
    Authority,
    Case,
    CaseUpdate,
    ConsentScope,
    Direction,
    LineType,
    MspAchieved,
    MspAsked,
    Person,
    PersonPhone,
    Representative,
    RiskResult,
    Stage,
    Team,
    Worker,
    utcnow,
)
from .pins import hash_pin, validate_pin
from .services.cases import MAX_NEWS_LENGTH

__all__ = ["KINDS", "ImportFailed", "ImportReport", "KindCounts", "import_file"]

KINDS = ("teams", "workers", "people", "representatives", "cases")  # also the import order
SINGULAR = {"teams": "team", "workers": "worker", "people": "person",
            "representatives": "representative", "cases": "case"}
MODELS = {"teams": Team, "workers": Worker, "people": Person,
          "representatives": Representative, "cases": Case}
# Fields that name another record by its ref, and the kind they name.
REFERENCES = {
    "workers": {"team": "teams", "cover": "workers"},
    "representatives": {"person": "people"},
    "cases": {"person": "people", "worker": "workers"},
}
PROGRESS_EVERY = 500
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CHUNK = 500  # refs per IN (...) query: far below every backend's limit on parameters
_NULL_TAG = "tag:yaml.org,2002:null"
# libyaml, when built in, reads large files many times faster and keeps the same lines.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DEFAULT = object()  # an empty value sets the model's default
_KEEP = object()  # an empty value leaves the stored value as it is
_BAD = object()  # a value that failed its check (already reported)


class ImportFailed(Exception):
    """The file has problems and nothing was imported; `errors` lists every one."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s), nothing imported:\n" + "\n".join(errors))


@dataclass
class KindCounts:
    """How many records of one kind were created, updated or left unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class ImportReport:
    """What an import did, per kind."""

    file: str
    counts: dict[str, KindCounts] = field(
        default_factory=lambda: {kind: KindCounts() for kind in KINDS})

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated for c in self.counts.values())

    def summary(self) -> str:
        """One line: what was created, updated and unchanged, per kind in the file."""
        parts = [f"{kind}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged"
                 for kind, c in self.counts.items() if c.total]
        return "; ".join(parts) or "nothing to import"


def import_file(path: Path | str, engine, *, pin_key: str, kind: str | None = None,
                progress: Callable[[int, int], None] | None = None, actor: str = "import",
                timezone: str = "Europe/London") -> ImportReport:
    """Check a YAML or CSV file completely, then import it in one transaction."""
    file = str(path)
    problems = _Problems(file)
    records = _read(Path(path), kind, problems)
    rows = _check_records(records, problems, pin_key=pin_key, tz=ZoneInfo(timezone))
    with session_scope(engine) as session:
        _check_references(session, records, rows, problems)
        if problems:
            raise ImportFailed(problems.sorted())
        applier = _Applier(session, ImportReport(file), file_name=Path(file).name,
                           actor=actor, progress=progress, total=len(rows))
        return _apply(session, rows, applier)


# --- what the file says: values with their lines ---------------------------------------------


class _Problems:
    """Every problem found, each as `FILE:LINE: message`."""

    def __init__(self, file: str):
        self.file = file
        self.items: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        self.items.append((line, f"{self.file}:{line}: {message}"))

    def sorted(self) -> list[str]:
        return [text for _, text in sorted(self.items, key=lambda item: item[0])]

    def __bool__(self) -> bool:
        return bool(self.items)


@dataclass
class _Raw:
    """A value as written: text (None for null) or a list of values, and its 1-based line."""

    line: int
    text: str | None = None
    items: list[_Raw] | None = None
    reported: bool = False  # unusable, and already reported

    @property
    def empty(self) -> bool:
        return not self.items and not (self.text or "").strip()


@dataclass
class _Record:
    """One record as read from the file, before any check."""

    kind: str
    line: int
    fields: dict[str, _Raw]
    missing_columns: frozenset[str] = frozenset()

    @property
    def ref(self) -> str:
        raw = self.fields.get("ref")
        return " ".join((raw.text or "").split()) if raw and not raw.items else ""


@dataclass
class _Row:
    """A checked record: values by field name (given fields only) and their lines."""

    kind: str
    ref: str
    line: int
    values: dict[str, Any]
    lines: dict[str, int]

    @property
    def label(self) -> str:
        return _label(self.kind, self.ref)


def _label(kind: str, ref: str) -> str:
    return f"{SINGULAR[kind]} '{ref}'" if ref else f"{SINGULAR[kind]} (no ref)"


# --- reading YAML and CSV ----------------------------------------------------------------------


def _read(path: Path, kind: str | None, problems: _Problems) -> list[_Record]:
    """Read the file as YAML or CSV, by its extension."""
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv"):
        problems.add(1, "the file name must end in .yaml, .yml or .csv, so the format is clear")
        return []
    if kind is not None and kind not in KINDS:
        problems.add(1, f"'{kind}' is not something to import: use one of {', '.join(KINDS)}")
        return []
    text = _read_text(path, problems)
    if text is None:
        return []
    if suffix != ".csv":
        return _read_yaml(text, kind, problems)
    kind = kind or _csv_kind(path, problems)
    return _read_csv(text, kind, problems) if kind else []


def _read_text(path: Path, problems: _Problems) -> str | None:
    """The file's text; a byte-order mark (Excel's 'CSV UTF-8') is dropped."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.add(1, f"the file cannot be read ({exc.strerror}): check the path")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.add(line, "this line is not UTF-8 text: save the file as UTF-8"
                           " (in Excel: 'CSV UTF-8')")
        return None


def _csv_kind(path: Path, problems: _Problems) -> str | None:
    """The kind a CSV holds, from its name (people.csv)."""
    if path.stem.lower() in KINDS:
        return path.stem.lower()
    names = ", ".join(f"{kind}.csv" for kind in KINDS)
    problems.add(1, f"cannot tell what this CSV holds from its name: call it one of {names},"
                    " or give the kind (--kind)")
    return None


def _read_yaml(text: str, kind: str | None, problems: _Problems) -> list[_Record]:
    """Records from a YAML file, keeping each value's line (PyYAML's compose)."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or "it cannot be read"
        problems.add(mark.line + 1 if mark else 1, f"this is not valid YAML ({problem}):"
                                                   " check the indentation, colons and quotes")
        return []
    records = []
    for section, node in _yaml_sections(root, kind, problems):
        records.extend(_yaml_records(section, node, problems))
    return records


def _yaml_sections(root: yaml.Node | None, kind: str | None,
                   problems: _Problems) -> list[tuple[str, yaml.Node]]:
    """The top-level lists by kind: `people: [...]`, or a bare list when the kind is given."""
    if root is None or _is_null(root):
        problems.add(1, f"the file is empty: give one or more of {', '.join(KINDS)}")
        return []
    if isinstance(root, yaml.SequenceNode) and kind:
        return [(kind, root)]
    allowed = (kind,) if kind else KINDS
    if not isinstance(root, yaml.MappingNode):
        problems.add(_line(root), f"the file must start with one of {', '.join(allowed)}:"
                                  " each a list of records")
        return []
    found: dict[str, tuple[int, yaml.Node]] = {}
    for key, value in root.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else ""
        if name not in allowed:
            problems.add(_line(key), f"unknown top-level key '{name}'{_hint(name, allowed)}:"
                                     f" the keys allowed are {', '.join(allowed)}")
        elif name in found:
            problems.add(_line(key), f"'{name}' appears twice (also on line {found[name][0]}):"
                                     " put all of them in one list")
        else:
            found[name] = (_line(key), value)
    return [(name, node) for name, (_, node) in found.items()]


def _yaml_records(kind: str, node: yaml.Node, problems: _Problems) -> list[_Record]:
    """One record per mapping in a top-level list."""
    if _is_null(node):
        return []
    if not isinstance(node, yaml.SequenceNode):
        problems.add(_line(node), f"'{kind}' must be a list: start each {SINGULAR[kind]}"
                                  " with '- ref: ...'")
        return []
    records = []
    for item in node.value:
        if not isinstance(item, yaml.MappingNode):
            problems.add(_line(item), f"each entry under '{kind}' must be a set of fields,"
                                      " e.g. '- ref: ...'")
            continue
        records.append(_Record(kind, _line(item), _yaml_fields(kind, item, problems)))
    return records


def _yaml_fields(kind: str, item: yaml.MappingNode, problems: _Problems) -> dict[str, _Raw]:
    """The fields of one YAML record; unknown and repeated fields are problems."""
    specs = SPECS[kind]
    refs = [v.value for k, v in item.value if getattr(k, "value", None) == "ref"
            and isinstance(v, yaml.ScalarNode)]
    label = _label(kind, refs[0].strip() if refs else "")
    fields: dict[str, _Raw] = {}
    for key, value in item.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else ""
        if name not in specs:
            problems.add(_line(key), f"{label}: unknown field '{name}'{_hint(name, specs)}:"
                                     f" the fields of a {SINGULAR[kind]} are {', '.join(specs)}")
        elif name in fields:
            problems.add(_line(key), f"{label}: '{name}' is given twice (also on line"
                                     f" {fields[name].line}): keep one")
        else:
            fields[name] = _yaml_value(value, f"{label} {name}", problems)
    return fields


def _yaml_value(node: yaml.Node, where: str, problems: _Problems) -> _Raw:
    """A scalar or a list of scalars, as the text written (so 0482 and 17:00 stay as typed)."""
    if isinstance(node, yaml.ScalarNode):
        return _Raw(_line(node), None if _is_null(node) else node.value)
    if isinstance(node, yaml.SequenceNode) and all(
            isinstance(item, yaml.ScalarNode) for item in node.value):
        items = [_yaml_value(item, where, problems) for item in node.value]
        return _Raw(_line(node), items=[item for item in items if not item.empty])
    problems.add(_line(node), f"{where}: give a single value or a list of single values here"
                              " (check the indentation)")
    return _Raw(_line(node), reported=True)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _hint(name: str, choices: Iterable[str]) -> str:
    """' (did you mean 'first_name'?)' for a likely typo, else ''."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _read_csv(text: str, kind: str, problems: _Problems) -> list[_Record]:
    """Records from a CSV of one kind; lines are physical lines, the header being line 1."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
        if not header:
            required = ", ".join(n for n, s in SPECS[kind].items() if s.required)
            problems.add(1, f"the file is empty: the first line must name the columns,"
                            f" e.g. {required}")
            return []
        reader.fieldnames = [name.strip() for name in header]
        missing = _check_header(reader.fieldnames, kind, problems)
        return [record for row in reader
                if (record := _csv_record(kind, row, reader, missing, problems))]
    except csv.Error as exc:
        problems.add(reader.line_num, f"the CSV cannot be read here ({exc}): check the quotes")
        return []


def _check_header(columns: list[str], kind: str, problems: _Problems) -> frozenset[str]:
    """Report unknown, repeated and missing columns; return the required ones missing."""
    specs = SPECS[kind]
    seen: set[str] = set()
    for number, name in enumerate(columns, start=1):
        if not name:
            problems.add(1, f"column {number} has no name: name it or delete the column")
        elif name not in specs:
            problems.add(1, f"column '{name}' is not known{_hint(name, specs)}; the columns"
                            f" of {kind} are {', '.join(specs)}")
        elif name in seen:
            problems.add(1, f"column '{name}' appears twice: keep one")
        seen.add(name)
    required = [name for name, spec in specs.items() if spec.required]
    missing = [name for name in required if name not in seen]
    for name in missing:
        problems.add(1, f"column '{name}' is missing; the header must include"
                        f" {', '.join(required)}")
    return frozenset(missing)


def _csv_record(kind: str, row: dict, reader: csv.DictReader, missing: frozenset[str],
                problems: _Problems) -> _Record | None:
    """One record from a CSV row; a row of empty cells is skipped."""
    texts = [value for value in row.values() if isinstance(value, str)]
    # line_num is the row's last line; a quoted value may span several.
    line = reader.line_num - sum(len(re.findall(r"\r\n?|\n", value)) for value in texts)
    if not any(value.strip() for value in texts):
        return None
    if None in row:
        problems.add(line, f"this row has {len(row[None])} more value(s) than the header has"
                           " columns: put quotes round values that contain commas")
    specs = SPECS[kind]
    fields = {name: _Raw(line, value) for name, value in row.items() if name in specs}
    return _Record(kind, line, fields, missing)


# --- checking values ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    """How to check one field: its converter, whether it is required, what empty means."""

    convert: Callable[[str], Any]
    required: bool = False
    empty: Any = _DEFAULT
    many: bool = False  # a YAML list, or values separated by ';' (or ',')
    combine: Callable[[list], Any] = list


def _quote(text: str) -> str:
    text = text.strip()
    return f"'{text[:39]}…'" if len(text) > 40 else f"'{text}'"


def _text(limit: int) -> Callable[[str], str]:
    """A converter for free text: spaces tidied, at most `limit` characters."""

    def convert(text: str) -> str:
        value = " ".join(text.split())
        if len(value) > limit:
            raise ValueError(f"it is {len(value)} characters long: shorten it to {limit}"
                             " or fewer")
        return value

    return convert


def _bool(text: str) -> bool:
    word = text.strip().lower()
    if word in ("true", "yes", "1"):
        return True
    if word in ("false", "no", "0"):
        return False
    raise ValueError(f"{_quote(text)} is not yes or no: write true, false, yes, no, 1 or 0")


def _date(text: str) -> date:
    value = text.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"{_quote(text)} is not a date: write it as YYYY-MM-DD,"
                         " e.g. 2026-03-31")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{_quote(text)} is not a real date: check the month and day") from None


def _datetime(text: str) -> datetime:
    """A date (midnight) or a date and time; without an offset it is local time."""
    value = text.strip()
    pattern = r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
    if not re.fullmatch(pattern, value):
        raise ValueError(f"{_quote(text)} is not a date: write YYYY-MM-DD or"
                         " YYYY-MM-DD HH:MM, e.g. 2026-03-31 or 2026-03-31 14:30")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{_quote(text)} is not a real date and time: check the numbers"
                         ) from None


def _time(text: str) -> time:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return time(int(match[1]), int(match[2]))
    raise ValueError(f"{_quote(text)} is not a time: write HH:MM on the 24-hour clock,"
                     " e.g. 09:00 or 17:30")


def _whole(low: int, high: int) -> Callable[[str], int]:
    """A converter for a whole number from `low` to `high`."""

    def convert(text: str) -> int:
        value = text.strip()
        if value.isascii() and value.isdigit() and low <= int(value) <= high:
            return int(value)
        raise ValueError(f"{_quote(text)} is not allowed: give a whole number from {low}"
                         f" to {high}")

    return convert


def _fold(text: str) -> str:
    """Compare choices loosely: case, curly apostrophes, spaces, '_' and '-' do not matter."""
    return re.sub(r"[\s_-]+", " ", text.replace("\u2019", "'")).strip().casefold()


def _choice(choices: type[enum.Enum], what: str) -> Callable[[str], Any]:
    """A converter to one of an enum's values, which the error lists."""
    by_key = {_fold(member.value): member for member in choices}
    values = [member.value for member in choices]
    shown = [f'"{v}"' for v in values] if any(" " in v for v in values) else values

    def convert(text: str) -> Any:
        member = by_key.get(_fold(text))
        if member is None:
            raise ValueError(f"{_quote(text)} is not a {what}: use one of {', '.join(shown)}")
        return member

    return convert


def _contact(text: str) -> str:
    """A phone number (stored as E.164) or an email address."""
    value = text.strip()
    if "@" not in value:
        try:
            return phones.normalise(value)
        except phones.InvalidPhoneNumber as exc:
            raise ValueError(f"{exc}; or give an email address") from None
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        return value
    raise ValueError(f"{_quote(text)} is not an email address: check it,"
                     " e.g. manager@example.org")


def _language(text: str) -> str:
    value = text.strip()
    if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,4})?", value):
        return value
    raise ValueError(f"{_quote(text)} is not a language code: use a code such as en (English)"
                     " or cy (Welsh)")


def _day(text: str) -> str:
    word = text.strip().lower()
    for day in DAYS:
        if word == day or (len(word) > 3 and word == _DAY_NAMES[day]):
            return day
    raise ValueError(f"{_quote(text)} is not a day: use mon, tue, wed, thu, fri, sat, sun")


_DAY_NAMES = dict(zip(DAYS, ("monday", "tuesday", "wednesday", "thursday", "friday",
                             "saturday", "sunday"), strict=True))


def _week(days: list[str]) -> str:
    """Days in week order, each once: 'mon,tue,wed,thu,fri'."""
    return ",".join(day for day in DAYS if day in days)


def _scopes(scopes: list[ConsentScope]) -> list[str]:
    """Consent scopes as stored: sorted values, each once."""
    return sorted({scope.value for scope in scopes})


def _distinct_numbers(numbers: list[str]) -> list[str]:
    for index, number in enumerate(numbers):
        if number in numbers[:index]:
            raise ValueError(f"{phones.display(number)} is listed twice: list each number once")
    return numbers


def _required(convert: Callable[[str], Any]) -> _Spec:
    return _Spec(convert, required=True)


_REF = _required(_text(64))
_NAME = _required(_text(100))
_FLAG = _Spec(_bool)
_WHEN = _Spec(_datetime)
_DAY = _Spec(_date)

SPECS: dict[str, dict[str, _Spec]] = {
    "teams": {
        "ref": _REF,
        "name": _required(_text(200)),
        "duty_number": _required(phones.normalise),
        "out_of_hours_number": _required(phones.normalise),
        "office_days": _Spec(_day, many=True, combine=_week),
        "office_opens": _Spec(_time),
        "office_closes": _Spec(_time),
        "manager_name": _Spec(_text(200)),
        "manager_contact": _Spec(_contact),
    },
    "workers": {
        "ref": _REF,
        "first_name": _NAME,
        "last_name": _NAME,
        "direct_number": _required(phones.normalise),
        "team": _REF,
        "away_until": _DAY,
        "cover": _Spec(_text(64), empty=None),
    },
    "people": {
        "ref": _REF,
        "first_name": _NAME,
        "last_name": _NAME,
        "phones": _Spec(phones.normalise, empty=[], many=True, combine=_distinct_numbers),
        # An empty PIN never clears one: PINs are also set by `caseline pin set`.
        "pin": _Spec(validate_pin, empty=_KEEP),
        "ais_contact_method": _Spec(_text(200)),
        "ais_information_format": _Spec(_text(200)),
        "ais_communication_support": _Spec(_text(200)),
        "ais_communication_professional": _Spec(_text(200)),
        "language": _Spec(_language),
        "speech_rate": _Spec(_whole(50, 100)),
        "extra_time": _FLAG,
        "uses_relay": _FLAG,
        "contact_window_start": _Spec(_time),
        "contact_window_end": _Spec(_time),
        "discreet": _FLAG,
        "no_phone_calls": _FLAG,
        "contact_via_representative": _FLAG,
        "contact_paused_until": _DAY,
        "deceased": _FLAG,
    },
    "representatives": {
        "ref": _REF,
        "person": _REF,
        "first_name": _NAME,
        "last_name": _NAME,
        "relationship": _required(_text(100)),
        "number": _required(phones.normalise),
        "consent": _Spec(_choice(ConsentScope, "consent scope"), empty=[], many=True,
                         combine=_scopes),
        "authority": _Spec(_choice(Authority, "kind of authority")),
        "consent_recorded_by": _Spec(_text(200)),
        "consent_recorded_at": _WHEN,
        "pin": _Spec(validate_pin, empty=_KEEP),
        "language": _Spec(_language),
    },
    "cases": {
        "ref": _REF,
        "person": _REF,
        "worker": _REF,
        "stage": _Spec(_choice(Stage, "stage")),
        "latest_news": _Spec(_text(MAX_NEWS_LENGTH)),
        "next_contact_by": _DAY,
        "desired_outcome": _Spec(_text(2000)),
        "withhold_details": _FLAG,
        "check_in_every_days": _Spec(_whole(1, 365)),
        "opened_at": _Spec(_datetime, empty=_KEEP),
        "closed_at": _WHEN,
        # Read out and texted at closure, so as short as news.
        "closure_summary": _Spec(_text(MAX_NEWS_LENGTH)),
        "msp_asked": _Spec(_choice(MspAsked, "value of msp_asked")),
        "msp_achieved": _Spec(_choice(MspAchieved, "value of msp_achieved")),
        "risk_result": _Spec(_choice(RiskResult, "value of risk_result")),
    },
}


def _check_records(records: list[_Record], problems: _Problems, *, pin_key: str,
                   tz: ZoneInfo) -> list[_Row]:
    """Check every record; return the good ones in import order."""
    _check_duplicates(records, problems)
    rows = [row for record in records if (row := _check_record(record, problems))]
    for row in rows:
        _finish_row(row, problems, pin_key=pin_key, tz=tz)
    return sorted(rows, key=lambda row: KINDS.index(row.kind))


def _check_duplicates(records: list[_Record], problems: _Problems) -> None:
    first: dict[tuple[str, str], int] = {}
    for record in records:
        key = (record.kind, record.ref)
        if record.ref and key in first:
            problems.add(record.line, f"{_label(*key)} is also on line {first[key]}: each ref"
                                      " may appear once in a file; merge the two")
        first.setdefault(key, record.line)


def _check_record(record: _Record, problems: _Problems) -> _Row | None:
    """Convert every field of a record; None if any is wrong (each one is reported)."""
    label = _label(record.kind, record.ref)
    values, lines, good = {}, {}, True
    for name, spec in SPECS[record.kind].items():
        raw = record.fields.get(name)
        value = _check_field(raw, spec, record, name, label, problems)
        if value is _BAD:
            good = False
        elif value is not _KEEP:
            values[name] = value
            lines[name] = raw.line
    return _Row(record.kind, record.ref, record.line, values, lines) if good else None


def _check_field(raw: _Raw | None, spec: _Spec, record: _Record, name: str, label: str,
                 problems: _Problems) -> Any:
    """The value of one field, _KEEP when not given, or _BAD (reported)."""
    if raw is not None and raw.reported:
        return _BAD
    if raw is None or raw.empty:
        if spec.required:
            if name not in record.missing_columns:  # already reported once, on the header
                problems.add(raw.line if raw else record.line,
                             f"{label}: {name} is missing: every {SINGULAR[record.kind]} needs"
                             f" a {name}")
            return _BAD
        if raw is None or spec.empty is _KEEP:
            return _KEEP
        if spec.empty is _DEFAULT:
            return MODELS[record.kind].model_fields[name].get_default(call_default_factory=True)
        return copy.copy(spec.empty)
    return _convert(raw, spec, f"{label} {name}", problems)


def _convert(raw: _Raw, spec: _Spec, where: str, problems: _Problems) -> Any:
    """Run the field's converter on the value, or on each item of a list."""
    if not spec.many:
        if raw.items is not None:
            problems.add(raw.line, f"{where}: give one value here, not a list")
            return _BAD
        return _attempt(spec.convert, raw.text, raw.line, where, problems)
    items = raw.items
    if items is None:  # a ';'-separated cell, or a YAML scalar
        parts = re.split(r"[;,]", raw.text or "")
        items = [_Raw(raw.line, part) for part in parts if part.strip()]
    values = [_attempt(spec.convert, item.text, item.line, where, problems) for item in items]
    if any(value is _BAD for value in values):
        return _BAD
    return _attempt(spec.combine, values, raw.line, where, problems)


def _attempt(convert: Callable, value: Any, line: int, where: str, problems: _Problems) -> Any:
    try:
        return convert(value)
    except ValueError as exc:  # converters' messages never contain a PIN
        problems.add(line, f"{where}: {exc}")
        return _BAD


def _finish_row(row: _Row, problems: _Problems, *, pin_key: str, tz: ZoneInfo) -> None:
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


def _cross_check(row: _Row) -> list[tuple[str, str]]:
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
    if closed and not values.get("closed_at"):
        return [("stage", "a closed case needs closed_at: give the date it closed")]
    if not closed and values.get("closed_at"):
        return [("closed_at", f"the stage is '{values['stage']}', not closed: set stage to"
                              " closed or leave closed_at empty")]
    return []


def _check_references(session: Session, records: list[_Record], rows: list[_Row],
                      problems: _Problems) -> None:
    """Every ref that names another record must name one in the file or the database."""
    in_file = {kind: {r.ref for r in records if r.kind == kind} for kind in KINDS}
    wanted: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for row in rows:
        for name, target in REFERENCES.get(row.kind, {}).items():
            ref = row.values.get(name)
            if ref and ref not in in_file[target]:
                wanted[target].add(ref)
    known = {kind: set(_ids(session, MODELS[kind], refs)) for kind, refs in wanted.items()}
    for row in rows:
        for name, target in REFERENCES.get(row.kind, {}).items():
            ref = row.values.get(name)
            if ref and ref not in in_file[target] and ref not in known[target]:
                what = SINGULAR[target]
                problems.add(row.lines[name], f"{row.label} {name}: {what} '{ref}' is not in this"
                                              f" file or the database: check the ref, or add"
                                              f" the {what} to the file")


# --- writing -----------------------------------------------------------------------------------


@dataclass
class _Applier:
    """What the writing steps share: the session, the report and the progress count."""

    session: Session
    report: ImportReport
    file_name: str
    actor: str
    progress: Callable[[int, int], None] | None
    total: int
    done: int = 0

    def tick(self) -> None:
        self.done += 1
        if self.progress and (self.done % PROGRESS_EVERY == 0 or self.done == self.total):
            self.progress(self.done, self.total)

    def count(self, kind: str, changes: Iterable[dict | None]) -> None:
        """Count each record: None means created, an empty dict unchanged."""
        counts = self.report.counts[kind]
        for change in changes:
            if change is None:
                counts.created += 1
            elif change:
                counts.updated += 1
            else:
                counts.unchanged += 1


def _apply(session: Session, rows: list[_Row], applier: _Applier) -> ImportReport:
    """Write every kind in dependency order, so references find their targets."""
    steps = {"teams": _apply_teams, "workers": _apply_workers, "people": _apply_people,
             "representatives": _apply_representatives, "cases": _apply_cases}
    for kind in KINDS:
        kind_rows = [row for row in rows if row.kind == kind]
        if kind_rows:
            steps[kind](applier, kind_rows)
            session.flush()
    if applier.progress and applier.total == 0:  # otherwise the last tick reported the end
        applier.progress(0, 0)
    return applier.report


def _apply_teams(applier: _Applier, rows: list[_Row]) -> None:
    existing = _load(applier.session, Team, [row.ref for row in rows])
    changes = []
    for row in rows:
        changes.append(_upsert(applier.session, Team, existing, row.ref, row.values)[1])
        applier.tick()
    applier.count("teams", changes)


def _apply_workers(applier: _Applier, rows: list[_Row]) -> None:
    """Upsert workers, then their covers, which may be workers later in the file."""
    session = applier.session
    teams = _ids(session, Team, {row.values["team"] for row in rows})
    existing = _load(session, Worker, [row.ref for row in rows])
    changes = {}
    for row in rows:
        attrs = _without(row.values, "team", "cover") | {"team_id": teams[row.values["team"]]}
        changes[row.ref] = _upsert(session, Worker, existing, row.ref, attrs)[1]
        applier.tick()
    session.flush()
    covers = _ids(session, Worker, {row.values.get("cover") for row in rows} - {None})
    for row in rows:
        if "cover" in row.values:
            cover = row.values["cover"]
            moved = _assign(existing[row.ref], {"cover_worker_id": covers.get(cover)})
            if changes[row.ref] is not None:
                changes[row.ref].update(moved)
    applier.count("workers", changes.values())


def _apply_people(applier: _Applier, rows: list[_Row]) -> None:
    """Upsert people, then replace each one's phones if the set differs."""
    session = applier.session
    existing = _load(session, Person, [row.ref for row in rows])
    changes = {}
    for row in rows:
        attrs = _without(row.values, "phones")
        changes[row.ref] = _upsert(session, Person, existing, row.ref, attrs)[1]
        applier.tick()
    session.flush()
    current = _phones_by_person(session, [existing[row.ref].id for row in rows])
    for row in rows:
        person = existing[row.ref]
        if "phones" not in row.values:
            continue
        if _sync_phones(session, person, row.values["phones"], current.get(person.id, [])):
            if changes[row.ref] is not None:
                changes[row.ref]["phones"] = (None, row.values["phones"])
                person.updated_at = utcnow()  # the person's record changed, if not its row
    applier.count("people", changes.values())


def _apply_representatives(applier: _Applier, rows: list[_Row]) -> None:
    session = applier.session
    people = _ids(session, Person, {row.values["person"] for row in rows})
    existing = _load(session, Representative, [row.ref for row in rows])
    changes = []
    for row in rows:
        attrs = _without(row.values, "person", "consent") | {
            "person_id": people[row.values["person"]],
            "line_type": LineType(phones.line_type(row.values["number"])),
        }
        if "consent" in row.values:
            attrs["consent_scopes"] = row.values["consent"]
        changes.append(_upsert(session, Representative, existing, row.ref, attrs)[1])
        applier.tick()
    applier.count("representatives", changes)


def _apply_cases(applier: _Applier, rows: list[_Row]) -> None:
    """Upsert cases; each one created or changed gets a case update saying so."""
    session = applier.session
    people = _ids(session, Person, {row.values["person"] for row in rows})
    workers = _ids(session, Worker, {row.values["worker"] for row in rows})
    existing = _load(session, Case, [row.ref for row in rows])
    results = []
    for row in rows:
        attrs = _without(row.values, "person", "worker") | {
            "person_id": people[row.values["person"]],
            "worker_id": workers[row.values["worker"]],
        }
        case, changes = _upsert(session, Case, existing, row.ref, attrs)
        if "latest_news" in (changes if changes is not None else attrs) and case.latest_news:
            case.news_updated_at = utcnow()  # the watchdog measures silence from here
        results.append((case, changes))
        applier.tick()
    session.flush()
    for case, changes in results:
        if changes is None or changes:
            _record_case_import(applier, case, changes)
    applier.count("cases", [changes for _, changes in results])


def _record_case_import(applier: _Applier, case: Case, changes: dict | None) -> None:
    """Keep the import in the case's history and the audit trail."""
    if changes is None:
        text, details = f"Imported from {applier.file_name}.", {"file": applier.file_name}
    else:
        described = _describe(applier.session, changes)
        fields = ", ".join(name.replace("_", " ") for name in described)
        text = f"Changed by import from {applier.file_name}: {fields}."
        details = {"file": applier.file_name, "changes": described}
    applier.session.add(CaseUpdate(case_id=case.id, kind="import", text=text, details=details,
                                   recorded_by=applier.actor))
    record_interaction(applier.session, kind="case_import", direction=Direction.INTERNAL,
                       case_id=case.id, person_id=case.person_id, summary=text,
                       actor=applier.actor)


def _describe(session: Session, changes: dict[str, tuple[Any, Any]]) -> dict[str, dict]:
    """Changes by field name, from and to, as JSON; people and workers by their refs."""
    linked = {"person_id": ("person", Person), "worker_id": ("worker", Worker)}
    described = {}
    for attr, (old, new) in changes.items():
        if attr in linked:
            attr, model = linked[attr]
            old, new = (session.get(model, old).ref, session.get(model, new).ref)
        described[attr] = {"from": _plain(old), "to": _plain(new)}
    return described


def _plain(value: Any) -> Any:
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _upsert(session: Session, model: type, existing: dict[str, Any], ref: str,
            attrs: dict[str, Any]) -> tuple[Any, dict | None]:
    """Create the record, or update it; changes are None for a new record."""
    record = existing.get(ref)
    if record is None:
        record = model(**{**attrs, "ref": ref})
        session.add(record)
        existing[ref] = record
        return record, None
    return record, _assign(record, attrs)


def _assign(record: Any, attrs: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set only the attributes that differ, so an unchanged row is never written."""
    changes = {}
    for name, value in attrs.items():
        old = getattr(record, name)
        if old != value:
            setattr(record, name, value)
            changes[name] = (old, value)
    return changes


def _sync_phones(session: Session, person: Person, numbers: list[str],
                 current: list[PersonPhone]) -> bool:
    """Make the person's phones these numbers, the first primary; False if already so."""
    wanted = {number: (LineType(phones.line_type(number)), index == 0)
              for index, number in enumerate(numbers)}
    have = {phone.number: phone for phone in current}
    if {n: (p.line_type, p.is_primary) for n, p in have.items()} == wanted:
        return False
    for number, phone in have.items():
        if number not in wanted:
            session.delete(phone)
    for number, (kind, primary) in wanted.items():
        phone = have.get(number)
        if phone is None:
            session.add(PersonPhone(person_id=person.id, number=number, line_type=kind,
                                    is_primary=primary))
        else:
            _assign(phone, {"line_type": kind, "is_primary": primary})
    return True


def _without(values: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key not in names}


def _chunks(items: Iterable[Any]) -> Iterable[list[Any]]:
    items = list(items)
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _load(session: Session, model: type, refs: Iterable[str]) -> dict[str, Any]:
    """The records of `model` with these refs, by ref."""
    found = {}
    for chunk in _chunks(refs):
        for record in session.exec(select(model).where(model.ref.in_(chunk))):
            found[record.ref] = record
    return found


def _ids(session: Session, model: type, refs: Iterable[str]) -> dict[str, int]:
    """The ids of the records of `model` with these refs, by ref."""
    found = {}
    for chunk in _chunks(refs):
        found.update(session.exec(select(model.ref, model.id).where(model.ref.in_(chunk))).all())
    return found


def _phones_by_person(session: Session, person_ids: list[int]) -> dict[int, list[PersonPhone]]:
    found: dict[int, list[PersonPhone]] = {}
    for chunk in _chunks(person_ids):
        for phone in session.exec(select(PersonPhone).where(PersonPhone.person_id.in_(chunk))):
            found.setdefault(phone.person_id, []).append(phone)
    return found
