"""Writing checked rows: only what differs, with each case's history and audit."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlmodel import Session

from bot.records.audit import record_interaction

from .. import phones
from ..models import Case, CaseUpdate, Direction, LineType, Person, PersonPhone, utcnow
from .checks import Row
from .kinds import KINDS, MODELS, REFERENCES
from .lookups import ids_by_ref, linked_ids, load_by_ref, phones_by_person
from .report import ImportReport

PROGRESS_EVERY = 500

Changes = dict[str, tuple[Any, Any]]  # attribute: (old, new); None for a new record
Written = tuple[Row, Any, Changes | None]  # a row, its record and what changed


@dataclass
class Applier:
    """What the writing steps share: the session, the report and the progress count."""

    session: Session
    report: ImportReport
    file_name: str
    actor: str
    progress: Callable[[int, int], None] | None
    total: int
    done: int = 0

    def upsert(self, kind: str, rows: list[Row],
               attrs: Callable[[Row], dict[str, Any]]) -> list[Written]:
        """Create or update each row's record from its attributes; found by ref."""
        model = MODELS[kind]
        existing = load_by_ref(self.session, model, [row.ref for row in rows])
        results = []
        for row in rows:
            values, record = attrs(row), existing.get(row.ref)
            if record is None:
                record = model(**{**values, "ref": row.ref})
                self.session.add(record)
                results.append((row, record, None))
            else:
                results.append((row, record, _assign(record, values)))
            self.tick()
        return results

    def tick(self) -> None:
        self.done += 1
        if self.progress and (self.done % PROGRESS_EVERY == 0 or self.done == self.total):
            self.progress(self.done, self.total)

    def count(self, kind: str, changes: Iterable[Changes | None]) -> None:
        """Count each record: None means created, an empty dict unchanged."""
        counts = self.report.counts[kind]
        for change in changes:
            if change is None:
                counts.created += 1
            elif change:
                counts.updated += 1
            else:
                counts.unchanged += 1


def apply(session: Session, rows: list[Row], applier: Applier) -> ImportReport:
    """Write every kind in dependency order, so references find their targets."""
    steps = {"teams": _apply_teams, "workers": _apply_workers, "people": _apply_people,
             "representatives": _apply_representatives, "cases": _apply_cases}
    for kind in KINDS:
        kind_rows = [row for row in rows if row.kind == kind]
        if kind_rows:
            results = steps[kind](applier, kind_rows)
            applier.count(kind, [changes for _, _, changes in results])
            session.flush()
    if applier.progress and applier.total == 0:  # otherwise the last tick reported the end
        applier.progress(0, 0)
    return applier.report


def _apply_teams(applier: Applier, rows: list[Row]) -> list[Written]:
    return applier.upsert("teams", rows, lambda row: row.values)


def _apply_workers(applier: Applier, rows: list[Row]) -> list[Written]:
    """Upsert workers, then their covers, which may be workers later in the file."""
    session = applier.session
    ids = linked_ids(session, "workers", rows, "team")
    results = applier.upsert("workers", rows, lambda row: _attrs(row, ids, "cover"))
    session.flush()
    named = {row.values.get("cover") for row in rows} - {None}
    covers = ids_by_ref(session, MODELS["workers"], named)
    for row, worker, changes in results:
        if "cover" in row.values:
            moved = _assign(worker, {"cover_worker_id": covers.get(row.values["cover"])})
            if changes is not None:
                changes.update(moved)
    return results


def _apply_people(applier: Applier, rows: list[Row]) -> list[Written]:
    """Upsert people, then replace each one's phones if the set differs."""
    session = applier.session
    results = applier.upsert("people", rows, lambda row: _attrs(row, {}, "phones"))
    session.flush()
    current = phones_by_person(session, [person.id for _, person, _ in results])
    for row, person, changes in results:
        if "phones" not in row.values:
            continue
        numbers = row.values["phones"]
        if _sync_phones(session, person, numbers, current.get(person.id, [])):
            if changes is not None:
                changes["phones"] = (None, numbers)
                person.updated_at = utcnow()  # the person's record changed, if not its row
    return results


def _apply_representatives(applier: Applier, rows: list[Row]) -> list[Written]:
    ids = linked_ids(applier.session, "representatives", rows, "person")

    def attrs(row: Row) -> dict[str, Any]:
        found = _attrs(row, ids, "consent")
        found["line_type"] = LineType(phones.line_type(row.values["number"]))
        if "consent" in row.values:
            found["consent_scopes"] = row.values["consent"]
        return found

    return applier.upsert("representatives", rows, attrs)


def _apply_cases(applier: Applier, rows: list[Row]) -> list[Written]:
    """Upsert cases; each one created or changed gets a case update saying so."""
    ids = linked_ids(applier.session, "cases", rows, "person", "worker")
    results = applier.upsert("cases", rows, lambda row: _attrs(row, ids, "news_date"))
    for row, case, changes in results:
        news_changed = "latest_news" in (changes if changes is not None else row.values)
        given = row.values.get("news_date")
        if case.latest_news and (news_changed or (given and given != case.news_updated_at)):
            # The watchdog measures silence from here: the case system's date if it gave one.
            case.news_updated_at = given or utcnow()
    applier.session.flush()
    for _, case, changes in results:
        if changes is None or changes:
            _record_case_import(applier, case, changes)
    return results


def _attrs(row: Row, ids: dict[str, dict[str, int]], *drop: str) -> dict[str, Any]:
    """The row's values as attributes: the references in `ids` as `<name>_id`, less `drop`."""
    values = {key: value for key, value in row.values.items() if key not in (*ids, *drop)}
    return values | {f"{name}_id": found[row.values[name]] for name, found in ids.items()}


def _record_case_import(applier: Applier, case: Case, changes: Changes | None) -> None:
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


def _describe(session: Session, changes: Changes) -> dict[str, dict]:
    """Changes by field name, from and to, as JSON; people and workers by their refs."""
    linked = {f"{name}_id": (name, MODELS[kind]) for name, kind in REFERENCES["cases"].items()}
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


def _assign(record: Any, attrs: dict[str, Any]) -> Changes:
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
