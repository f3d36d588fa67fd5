"""Who owns a field: what the case system changed is taken, what staff changed here is kept.

Each import remembers, per record, the values the file gave (`ImportBaseline`). On the next
import every field is decided by comparing three values, the way a three-way merge does:

- the file has not changed it (file == baseline): what is here stands, even if staff
  changed it here since (an unchanged file changes nothing);
- only the file changed it (here == baseline): the file's value is taken;
- both say the same (file == here): nothing to do;
- both changed it, differently: a conflict. What is here is kept and the field is
  reported with how to resolve it; the baseline is not moved, so it is reported again
  on the next import until one side is made to agree with the other.

A record imported before baselines existed, or a field a file gives for the first time,
counts what is here as the baseline: the file's value is taken, as imports always did.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time
from typing import Any

APPLY, KEEP_HERE, SAME, CONFLICT = "apply", "kept", "same", "conflict"
MISSING = object()

# How the file names an attribute, where the two differ.
FILE_NAMES = {"worker_id": "worker", "person_id": "person", "team_id": "team",
              "cover_worker_id": "cover", "pin_hash": "pin", "news_updated_at": "news_date",
              "consent_scopes": "consent"}
# A field decided together with another: when the first is in conflict, the second
# (the date of the news) is left with it rather than reported on its own.
GOES_WITH = {"news_updated_at": "latest_news"}


def plain(value: Any) -> Any:
    """A value as JSON holds it, so a stored baseline compares equal to a fresh one."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def decide(here: Any, file: Any, base: Any = MISSING) -> str:
    """What to do with one field, given its value here, in the file and at the last import."""
    here, file = plain(here), plain(file)
    if base is MISSING:
        base = here
    if file == here:
        return SAME
    if file == base:
        return KEEP_HERE
    if here == base:
        return APPLY
    return CONFLICT


def file_name(attr: str) -> str:
    return FILE_NAMES.get(attr, attr)
