"""Reading YAML and CSV files into records whose every value keeps its line number."""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from .kinds import KINDS, SINGULAR, SPECS, label
from .report import Problems

_NULL_TAG = "tag:yaml.org,2002:null"
# libyaml, when built in, reads large files many times faster and keeps the same lines.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Raw:
    """A value as written: text (None for null) or a list of values, and its 1-based line."""

    line: int
    text: str | None = None
    items: list[Raw] | None = None
    reported: bool = False  # unusable, and already reported

    @property
    def empty(self) -> bool:
        return not self.items and not (self.text or "").strip()


@dataclass
class Record:
    """One record as read from the file, before any check."""

    kind: str
    line: int
    fields: dict[str, Raw]
    missing_columns: frozenset[str] = frozenset()

    @property
    def ref(self) -> str:
        raw = self.fields.get("ref")
        return " ".join((raw.text or "").split()) if raw and not raw.items else ""


def read(path: Path, kind: str | None, problems: Problems) -> list[Record]:
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


def _read_text(path: Path, problems: Problems) -> str | None:
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


def _hint(name: str, choices: Iterable[str]) -> str:
    """' (did you mean 'first_name'?)' for a likely typo, else ''."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- YAML --------------------------------------------------------------------------------------


def _read_yaml(text: str, kind: str | None, problems: Problems) -> list[Record]:
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
                   problems: Problems) -> list[tuple[str, yaml.Node]]:
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
        name = _key(key)
        if name not in allowed:
            problems.add(_line(key), f"unknown top-level key '{name}'{_hint(name, allowed)}:"
                                     f" the keys allowed are {', '.join(allowed)}")
        elif name in found:
            problems.add(_line(key), f"'{name}' appears twice (also on line {found[name][0]}):"
                                     " put all of them in one list")
        else:
            found[name] = (_line(key), value)
    return [(name, node) for name, (_, node) in found.items()]


def _yaml_records(kind: str, node: yaml.Node, problems: Problems) -> list[Record]:
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
        records.append(Record(kind, _line(item), _yaml_fields(kind, item, problems)))
    return records


def _yaml_fields(kind: str, item: yaml.MappingNode, problems: Problems) -> dict[str, Raw]:
    """The fields of one YAML record; unknown and repeated fields are problems."""
    specs = SPECS[kind]
    refs = [v.value for k, v in item.value if _key(k) == "ref" and isinstance(v, yaml.ScalarNode)]
    where = label(kind, refs[0].strip() if refs else "")
    fields: dict[str, Raw] = {}
    for key, value in item.value:
        name = _key(key)
        if name not in specs:
            problems.add(_line(key), f"{where}: unknown field '{name}'{_hint(name, specs)}:"
                                     f" the fields of a {SINGULAR[kind]} are {', '.join(specs)}")
        elif name in fields:
            problems.add(_line(key), f"{where}: '{name}' is given twice (also on line"
                                     f" {fields[name].line}): keep one")
        else:
            fields[name] = _yaml_value(value, f"{where} {name}", problems)
    return fields


def _yaml_value(node: yaml.Node, where: str, problems: Problems) -> Raw:
    """A scalar or a list of scalars, as the text written (so 0482 and 17:00 stay as typed)."""
    if isinstance(node, yaml.ScalarNode):
        return Raw(_line(node), None if _is_null(node) else node.value)
    if isinstance(node, yaml.SequenceNode) and all(
            isinstance(item, yaml.ScalarNode) for item in node.value):
        items = [_yaml_value(item, where, problems) for item in node.value]
        return Raw(_line(node), items=[item for item in items if not item.empty])
    problems.add(_line(node), f"{where}: give a single value or a list of single values here"
                              " (check the indentation)")
    return Raw(_line(node), reported=True)


def _key(node: yaml.Node) -> str:
    """A mapping key's text; '' for a key that is not a plain value."""
    return node.value if isinstance(node, yaml.ScalarNode) else ""


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


# --- CSV ---------------------------------------------------------------------------------------


def _csv_kind(path: Path, problems: Problems) -> str | None:
    """The kind a CSV holds, from its name (people.csv)."""
    if path.stem.lower() in KINDS:
        return path.stem.lower()
    names = ", ".join(f"{kind}.csv" for kind in KINDS)
    problems.add(1, f"cannot tell what this CSV holds from its name: call it one of {names},"
                    " or give the kind (--kind)")
    return None


def _read_csv(text: str, kind: str, problems: Problems) -> list[Record]:
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


def _check_header(columns: list[str], kind: str, problems: Problems) -> frozenset[str]:
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
                problems: Problems) -> Record | None:
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
    fields = {name: Raw(line, value) for name, value in row.items() if name in specs}
    return Record(kind, line, fields, missing)
