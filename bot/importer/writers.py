"""Writing checked rows: only what differs, with each case's history and audit."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, time
from functools import partial
from typing import Any

from sqlmodel import Session, select

from bot.records.audit import record_interaction
from bot.records.events import CaseEvent, emit
from bot.records.staff_actions import raise_action

from .. import phones
from ..models import (
    Case,
    CaseUpdate,
    Direction,
    ImportBaseline,
    LineType,
    Person,
    PersonPhone,
    utcnow,
)
from . import closure
from .checks import Row
from .conflicts import conflict_message
from .kinds import KINDS, MODELS, REFERENCES
from .lookups import baselines_for, ids_by_ref, linked_ids, load_by_ref, phones_by_person
from .ownership import (
    APPLY,
    CONFLICT,
    GOES_WITH,
    KEEP_HERE,
    MISSING,
    SAME,
    decide,
    file_name,
    plain,
)
from .report import ImportReport

PROGRESS_EVERY = 500

Changes = dict[str, tuple[Any, Any]]  # attribute: (old, new); None for a new record
Written = tuple[Row, Any, Changes | None]  # a row, its record and what changed


@dataclass
class Applier:
    """What the writing steps share: the session, the report, progress, and the baselines."""

    session: Session
    report: ImportReport
    file_name: str
    actor: str
    progress: Callable[[int, int], None] | None
    total: int
    done: int = 0
    # A request (the API) is answered at once, so a stage that would undo a closure made
    # here is refused and said, where a nightly file's unchanged stage is quietly kept.
    interactive: bool = False
    # id(record) -> (kind, record, working baseline values, stored baseline or None)
    bases: dict[int, tuple[str, Any, dict, ImportBaseline | None]] = field(default_factory=dict)

    def upsert(self, kind: str, rows: list[Row], attrs: Callable[[Row], dict[str, Any]],
               guard: Callable[[Row, Any, dict], dict] | None = None) -> list[Written]:
        """Create or update each row's record, found by ref, by the ownership rules;
        `guard` may first take out (or act on) values that need more than a merge."""
        model = MODELS[kind]
        existing = load_by_ref(self.session, model, [row.ref for row in rows])
        stored = baselines_for(self.session, kind, [record.id for record in existing.values()])
        results = []
        for row in rows:
            values, record = attrs(row), existing.get(row.ref)
            if record is None:
                record = model(**{**values, "ref": row.ref})
                self.session.add(record)
                self.bases[id(record)] = (kind, record, {k: plain(v) for k, v in values.items()},
                                          None)
                results.append((row, record, None))
            else:
                baseline = stored.get(record.id)
                self.bases[id(record)] = (kind, record, dict(baseline.values) if baseline
                                          else {}, baseline)
                if guard:
                    values = guard(row, record, values)
                results.append((row, record, _assign(record, self.merge(row, record, values))))
            self.tick()
        return results

    def merge(self, row: Row, record: Any, values: dict[str, Any]) -> dict[str, Any]:
        """The values to set on an existing record; conflicts are reported, not set."""
        take, conflicted = {}, set()
        for name, value in values.items():
            if GOES_WITH.get(name) in conflicted:
                continue
            outcome = self.decide(row, record, name, getattr(record, name), value)
            if outcome == APPLY:
                take[name] = value
            elif outcome == CONFLICT:
                conflicted.add(name)
        return take

    def decide(self, row: Row, record: Any, name: str, here: Any, file: Any) -> str:
        """Decide one field (see `ownership`), keep the baseline and report a conflict."""
        base = self.bases[id(record)][2]
        outcome = decide(here, file, base.get(name, MISSING) if base else MISSING)
        if outcome in (APPLY, SAME):
            base[name] = plain(file)
        elif outcome == KEEP_HERE:
            self.report.kept += 1
        else:
            self.conflict(row, record, name, conflict_message(self.session, row, name, here,
                                                              file))
        return outcome

    def conflict(self, row: Row, record: Any, name: str, message: str) -> None:
        """Report a field left as it is here; whoever answers for the case is told too,
        since a nightly import's output may reach nobody."""
        line = row.lines.get(file_name(name), row.line)
        self.report.conflicts.append((line, f"{self.report.file}:{line}: {message}"))
        case_id, person_id = _subject(self.session, row.kind, record)
        raise_action(self.session, kind="import_conflict", case_id=case_id, person_id=person_id,
                     summary=f"The case system's file {self.file_name} disagrees with a change"
                             f" made here. {message}.",
                     dedupe_key=f"import_conflict/{row.kind}/{record.id}/{name}/"
                                f"{_fingerprint(self.bases[id(record)][2].get(name))}/"
                                f"{_fingerprint(message)}")

    def save_baselines(self) -> None:
        """Store what the file gave each record (records have ids once flushed)."""
        for kind, record, values, stored in self.bases.values():
            if stored is None:
                self.session.add(ImportBaseline(kind=kind, record_id=record.id, values=values,
                                                source=self.file_name))
            elif stored.values != values:
                stored.values, stored.source = values, self.file_name
        self.bases.clear()

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
            applier.save_baselines()
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
        if "cover" not in row.values:
            continue
        cover_id = covers.get(row.values["cover"])
        if applier.decide(row, worker, "cover_worker_id", worker.cover_worker_id,
                          cover_id) == APPLY:
            moved = _assign(worker, {"cover_worker_id": cover_id})
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
        numbers, have = row.values["phones"], current.get(person.id, [])
        here = _in_order([p.number for p in sorted(have, key=lambda p: not p.is_primary)])
        if applier.decide(row, person, "phones", here, _in_order(numbers)) != APPLY:
            continue
        if _sync_phones(session, person, numbers, have) and changes is not None:
            changes["phones"] = (None, numbers)
            person.updated_at = utcnow()  # the person's record changed, if not its row
    return results


def _in_order(numbers: list[str]) -> list[str]:
    """Numbers as compared: the primary (first) one, then the rest in any order."""
    return numbers[:1] + sorted(numbers[1:])


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

    def attrs(row: Row) -> dict[str, Any]:
        found = _attrs(row, ids, "news_date")
        if "news_date" in row.values:  # the case system's own date for its news
            found["news_updated_at"] = row.values["news_date"]
        return found

    guard = partial(closure.guard, applier)
    results = applier.upsert("cases", rows, attrs, guard=guard)
    for row, case, changes in results:
        news_taken = "latest_news" in (changes if changes is not None else row.values)
        if case.latest_news and news_taken and "news_date" not in row.values:
            case.news_updated_at = utcnow()  # the watchdog measures silence from here
    applier.session.flush()
    for _, case, changes in results:
        if changes is None or changes:
            _record_case_import(applier, case, changes)
        if changes:
            _announce(applier, case, changes)
    return results


def _announce(applier: Applier, case: Case, changes: Changes) -> None:
    """The case system's news, new worker or closure is told to the person and those they
    trust, as when staff make the change here (the same events, so the same notices, each
    once: a notice is keyed by what changed)."""
    if "latest_news" in changes and case.latest_news and not case.is_closed:
        emit(applier.session, CaseEvent(kind="news", case_id=case.id, actor=applier.actor))
    if "worker_id" in changes and not case.is_closed:
        old, new = changes["worker_id"]
        emit(applier.session, CaseEvent(kind="worker", case_id=case.id, actor=applier.actor,
                                        details={"from_worker_id": old, "to_worker_id": new}))
    if "stage" in changes and case.is_closed:
        emit(applier.session, CaseEvent(kind="closed", case_id=case.id, actor=applier.actor))


def _subject(session: Session, kind: str, record: Any) -> tuple[int | None, int | None]:
    """(case id, person id) a record is about, for the staff action a conflict raises: a
    person's latest case, so the action reaches whoever answers for it."""
    if kind == "cases":
        return record.id, record.person_id
    if kind not in ("people", "representatives"):
        return None, None
    person_id = record.id if kind == "people" else record.person_id
    case_id = session.exec(select(Case.id).where(Case.person_id == person_id)
                           .order_by(Case.id.desc())).first()
    return case_id, person_id


def _fingerprint(value: Any) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def _attrs(row: Row, ids: dict[str, dict[str, int]], *drop: str) -> dict[str, Any]:
    """The row's values as attributes: the references in `ids` as `<name>_id`, less `drop`."""
    values = {key: value for key, value in row.values.items() if key not in (*ids, *drop)}
    return values | {f"{name}_id": found[row.values[name]] for name, found in ids.items()}


def _record_case_import(applier: Applier, case: Case, changes: Changes | None) -> None:
    """Keep the import in the case's history and the audit trail."""
    source = (f"by the case system through the API ({applier.actor})" if applier.interactive
              else f"by import from {applier.file_name}")
    if changes is None:
        text = ("Created " + source if applier.interactive else
                f"Imported from {applier.file_name}") + "."
        details = {"file": applier.file_name}
    else:
        described = _describe(applier.session, changes)
        fields = ", ".join(name.replace("_", " ") for name in described)
        text = f"Changed {source}: {fields}."
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
