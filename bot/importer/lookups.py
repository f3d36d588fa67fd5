"""Finding records by ref, in chunks, and checking every reference names a record."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlmodel import Session, select

from ..models import ImportBaseline, PersonPhone
from .checks import Row
from .kinds import KINDS, MODELS, REFERENCES, SINGULAR
from .report import Problems
from .sources import Record

_CHUNK = 500  # refs per IN (...) query: far below every backend's limit on parameters


def check_references(session: Session, records: list[Record], rows: list[Row],
                     problems: Problems) -> None:
    """Every ref that names another record must name one in the file or the database."""
    in_file = {kind: {r.ref for r in records if r.kind == kind} for kind in KINDS}
    outside = [(row, name, target, ref) for row, name, target, ref in _references(rows)
               if ref not in in_file[target]]
    wanted = {kind: {ref for _, _, target, ref in outside if target == kind} for kind in KINDS}
    known = {kind: set(ids_by_ref(session, MODELS[kind], refs)) for kind, refs in wanted.items()}
    for row, name, target, ref in outside:
        if ref not in known[target]:
            what = SINGULAR[target]
            problems.add(row.lines[name], f"{row.label} {name}: {what} '{ref}' is not in this"
                                          f" file or the database: check the ref, or add"
                                          f" the {what} to the file")


def _references(rows: list[Row]) -> Iterator[tuple[Row, str, str, str]]:
    """(row, field, kind it names, ref) for every reference given."""
    for row in rows:
        for name, target in REFERENCES.get(row.kind, {}).items():
            if ref := row.values.get(name):
                yield row, name, target, ref


def linked_ids(session: Session, kind: str, rows: list[Row],
               *names: str) -> dict[str, dict[str, int]]:
    """For each reference field in `names`, the ids of the records the rows name, by ref."""
    return {name: ids_by_ref(session, MODELS[REFERENCES[kind][name]],
                             {row.values[name] for row in rows}) for name in names}


def _chunks(items: Iterable[Any]) -> Iterator[list[Any]]:
    items = list(items)
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def load_by_ref(session: Session, model: type, refs: Iterable[str]) -> dict[str, Any]:
    """The records of `model` with these refs, by ref."""
    found = {}
    for chunk in _chunks(refs):
        for record in session.exec(select(model).where(model.ref.in_(chunk))):
            found[record.ref] = record
    return found


def ids_by_ref(session: Session, model: type, refs: Iterable[str]) -> dict[str, int]:
    """The ids of the records of `model` with these refs, by ref."""
    found = {}
    for chunk in _chunks(refs):
        found.update(session.exec(select(model.ref, model.id).where(model.ref.in_(chunk))).all())
    return found


def phones_by_person(session: Session, person_ids: list[int]) -> dict[int, list[PersonPhone]]:
    found: dict[int, list[PersonPhone]] = {}
    for chunk in _chunks(person_ids):
        for phone in session.exec(select(PersonPhone).where(PersonPhone.person_id.in_(chunk))):
            found.setdefault(phone.person_id, []).append(phone)
    return found


def baselines_for(session: Session, kind: str, record_ids: list[int]) -> dict[int, ImportBaseline]:
    """What the last import gave each of these records, by record id."""
    found = {}
    for chunk in _chunks(record_ids):
        for baseline in session.exec(select(ImportBaseline).where(
                ImportBaseline.kind == kind, ImportBaseline.record_id.in_(chunk))):
            found[baseline.record_id] = baseline
    return found
