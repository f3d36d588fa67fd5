"""Writing the audit trail: contacts in and out, staff changes, and each disclosure."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import Session

from bot.models import Channel, Direction, Disclosure, Interaction, utcnow

# The audit trail is written on every turn and read back by nobody in the same session:
# plain INSERTs, without an ORM object (and its validation and unit of work) per row.
_INTERACTION = Interaction.__table__
_DISCLOSURE = Disclosure.__table__
_ADD_INTERACTION = sa.insert(_INTERACTION).returning(_INTERACTION.c.id)


def record_interaction(
    session: Session,
    *,
    kind: str,
    direction: Direction,
    channel: Channel | None = None,
    case_id: int | None = None,
    person_id: int | None = None,
    representative_id: int | None = None,
    number: str = "",
    summary: str = "",
    actor: str = "system",
    twilio_sid: str = "",
) -> int:
    """Write one audit entry in the session's transaction (committed with the change it
    records); returns its id. The id is taken now, so entries are numbered in the order
    they were written within a transaction (the timeline's seq follows commits)."""
    return session.execute(_ADD_INTERACTION, {
        "kind": kind, "direction": direction, "channel": channel, "case_id": case_id,
        "person_id": person_id, "representative_id": representative_id, "number": number,
        "summary": summary, "actor": actor, "twilio_sid": twilio_sid,
        "created_at": utcnow()}).scalar_one()


def record_disclosures(
    session: Session,
    interaction_id: int,
    *,
    case_id: int,
    fields: Iterable[str],
    recipient_kind: str,
    recipient_id: int,
    channel: Channel,
) -> None:
    """Record that each field of a case was told to one recipient, one row per field."""
    rows = [{"interaction_id": interaction_id, "case_id": case_id, "field": field,
             "recipient_kind": recipient_kind, "recipient_id": recipient_id,
             "channel": channel, "created_at": utcnow()} for field in sorted(set(fields))]
    if rows:
        session.execute(sa.insert(_DISCLOSURE), rows)
