"""Writing the audit trail: contacts in and out, staff changes, and each disclosure."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from bot.models import Channel, Direction, Disclosure, Interaction


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
) -> Interaction:
    """Add one audit entry to the session (committed with the change it records)."""
    entry = Interaction(
        kind=kind, direction=direction, channel=channel, case_id=case_id, person_id=person_id,
        representative_id=representative_id, number=number, summary=summary, actor=actor,
        twilio_sid=twilio_sid,
    )
    session.add(entry)
    session.flush()
    return entry


def record_disclosures(
    session: Session,
    interaction: Interaction,
    *,
    case_id: int,
    fields: Iterable[str],
    recipient_kind: str,
    recipient_id: int,
    channel: Channel,
) -> list[Disclosure]:
    """Record that each field of a case was told to one recipient, one row per field."""
    rows = [
        Disclosure(interaction_id=interaction.id, case_id=case_id, field=field,
                   recipient_kind=recipient_kind, recipient_id=recipient_id, channel=channel)
        for field in sorted(set(fields))
    ]
    session.add_all(rows)
    return rows
