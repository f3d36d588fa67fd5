"""What may be said about a case, and to whom: the one place that decides.

A person hears their whole case, except by text when they are marked discreet (a
phone others may read) and except when the case is withheld (e.g. a police inquiry:
only "your worker will contact you"). A representative hears only their consent
scopes, and nothing of a withheld case. Unknown callers never reach this far.
"""

from __future__ import annotations

from bot.engine.disclosure import BASIC_FIELDS, SCOPES, fields_for_scopes
from bot.models import Case, Person, Representative


def allowed_scopes(case: Case, person: Person, representative: Representative | None,
                   channel: str) -> frozenset[str]:
    """The consent scopes (status, news, worker, next_contact, closure) that may be told."""
    if case.withhold_details:
        return frozenset()
    if representative is not None:
        return frozenset(s for s in representative.consent_scopes if s in SCOPES)
    if channel == "sms" and person.discreet:
        return frozenset()
    return frozenset(SCOPES)


def allowed_fields(case: Case, person: Person, representative: Representative | None,
                   channel: str) -> frozenset[str]:
    """The case fields a template may show: the basic ones plus those of each scope."""
    scopes = allowed_scopes(case, person, representative, channel)
    return fields_for_scopes(scopes) if scopes else BASIC_FIELDS
