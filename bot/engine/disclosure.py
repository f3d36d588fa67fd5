"""Which case fields each consent scope opens, and the guard that enforces it while rendering.

The context decides who may know what (`Context.allowed_fields`); this module only maps scopes
to fields and makes sure a template can never show a field outside the allowed set.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import NotDisclosed

SCOPES = ("status", "news", "worker", "next_contact", "closure")

# Fields any verified caller linked to the case may hear (flows branch on `withheld`).
BASIC_FIELDS = frozenset({"person_first_name", "whose", "withheld"})

SCOPE_FIELDS: dict[str, frozenset[str]] = {
    "status": frozenset({"stage", "closed"}),
    "news": frozenset({"latest_news", "news_date", "has_news"}),
    "worker": frozenset({
        "worker_name", "worker_first_name", "worker_number", "worker_away", "worker_back",
        "contact_name", "contact_first_name", "contact_number", "contact_is_cover",
        "contact_is_duty",
    }),
    "next_contact": frozenset({"next_contact", "has_next_contact", "next_contact_overdue"}),
    "closure": frozenset({"closed", "closed_on", "outcome_words"}),
}

CASE_FIELDS = BASIC_FIELDS.union(*SCOPE_FIELDS.values())


def fields_for_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The case fields a caller with these consent scopes may hear (basic fields included)."""
    out = set(BASIC_FIELDS)
    for scope in scopes:
        out |= SCOPE_FIELDS.get(scope, frozenset())
    return frozenset(out)


def may_from_fields(fields: Iterable[str]) -> dict[str, bool]:
    """`may.status`, `may.worker`, ... for templates: True when every field of the scope is open."""
    fields = set(fields)
    may = {scope: SCOPE_FIELDS[scope] <= fields for scope in SCOPES}
    may["anything"] = any(may.values())
    return may


def filter_case(record: dict, allowed: Iterable[str]) -> dict:
    """Keep only the allowed fields of a case record; the rest never enter the state."""
    allowed = set(allowed)
    return {k: v for k, v in record.items() if k in allowed and k in CASE_FIELDS}


class GuardedCase:
    """A read-only view of the allowed case fields; records what a template showed.

    Reading a known field that is not allowed raises NotDisclosed, so the runner withholds
    the whole sentence instead of showing a half-filled one.
    """

    def __init__(self, values: dict, track: bool = True):
        self._values = dict(values)
        self._track = track
        self.shown: set[str] = set()

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._values:
            if self._track:
                self.shown.add(name)
            return self._values[name]
        if name in CASE_FIELDS:
            raise NotDisclosed(name)
        raise AttributeError(name)

    def __getitem__(self, name: str):
        return self.__getattr__(name)

    def __bool__(self) -> bool:
        return bool(self._values)
