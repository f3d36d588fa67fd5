"""Records erased here are not brought back by an import (bot/records/erasures.py)."""

from __future__ import annotations

from sqlmodel import Session

from bot.records import erasures

from .checks import Row


def without_erased(session: Session, rows: list[Row],
                   pin_key: str) -> tuple[list[Row], list[tuple[int, str]]]:
    """The rows to import, and (line, why) for each left out: an erased record, or one
    that names an erased person."""
    people = {r.ref for r in rows if r.kind == "people"} | {
        r.values["person"] for r in rows if r.values.get("person")}
    gone = {kind: erasures.erased(session, pin_key, kind, {r.ref for r in rows
                                                           if r.kind == kind})
            for kind in ("representatives", "cases")}
    gone["people"] = erasures.erased(session, pin_key, "people", people)
    kept, skipped = [], []
    for row in rows:
        person = row.values.get("person") if row.kind in ("representatives", "cases") else None
        if row.ref in gone.get(row.kind, ()):
            skipped.append((row.line, f"{row.label} was erased here, so it is not imported "
                                      "again. If they have a new case, run `caseline people "
                                      f"allow-again {row.ref}` first."))
        elif person in gone["people"]:
            skipped.append((row.line, f"{row.label}: its person '{person}' was erased here, "
                                      "so it is not imported again."))
        else:
            kept.append(row)
    return kept, skipped
