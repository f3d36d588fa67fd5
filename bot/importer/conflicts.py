"""How a conflict is reported: the field as the file names it, both values, and the fix."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from ..models import Person, Team, Worker
from .checks import Row
from .ownership import file_name, plain

_LINKED = {"worker_id": Worker, "cover_worker_id": Worker, "person_id": Person, "team_id": Team}
# How to take the file's value by changing it here, where a command does that.
_TAKE_HINTS = {
    ("cases", "worker_id"): "change the worker here with `caseline cases worker {ref} {file}`",
    ("cases", "latest_news"): "post it here with `caseline cases news {ref} \"...\"`",
    ("cases", "news_updated_at"): "post the news here with `caseline cases news {ref} \"...\"`",
    ("people", "contact_paused_until"): "pause contact here with `caseline cases pause`",
}


def conflict_message(session: Session, row: Row, attr: str, here: Any, file: Any) -> str:
    """`<record> <field>: ...` saying what each side holds, what was kept and how to resolve."""
    where = f"{row.label} {file_name(attr)}"
    if attr == "pin_hash":  # never shown, not even hashed
        return (f"{where}: the PIN was changed here since the last import and the file has"
                " another one; the PIN set here is kept. To use the file's PIN, set it here"
                " with `caseline pin set`; to stop this report, leave pin empty in the file"
                " (an empty PIN keeps the one here)")
    shown_here, shown_file = _show(session, attr, here), _show(session, attr, file)
    take = _TAKE_HINTS.get((row.kind, attr), "change it here to the file's value")
    take = take.format(ref=row.ref, file=shown_file.strip("'"))
    return (f"{where}: the file says {shown_file}, but it was changed here to {shown_here}"
            f" since the last import; it is left as it is here. To keep it, make the case"
            f" system say {shown_here} too; to take the file's value, {take}")


def _show(session: Session, attr: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "nothing"
    if attr in _LINKED:
        record = session.get(_LINKED[attr], value)
        return f"'{record.ref}'" if record else "nothing"
    if isinstance(value, datetime):
        return f"{plain(value)[:16].replace('T', ' ')} UTC"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "'" + ", ".join(str(plain(item)) for item in value) + "'"
    shown = str(plain(value))
    return f"'{shown[:57]}...'" if len(shown) > 60 else f"'{shown}'"
