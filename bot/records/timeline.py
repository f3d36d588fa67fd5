"""Each case's timeline: every contact in and out, what was disclosed, messages, call backs,
staff actions and notes, in order, for the API and (later) the staff pages alike.

The timeline is the audit trail (`Interaction`, with its `Disclosure` rows), read in the
order it was committed. `sequence` gives each committed entry the next number of a counter
held under a lock, so `since=N` never skips an entry that committed late with a lower id,
and never repeats one. Raw requests expire (retention); these entries do not.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.models import (
    Case,
    Disclosure,
    Interaction,
    OutboxMessage,
    Person,
    Representative,
    SendAttempt,
    SequenceCounter,
    Worker,
)
from bot.records import recordings

COUNTER = "timeline"
BATCH = 5000
# Kinds whose summary is what someone said or was sent: shown only to those allowed.
PRIVATE = {"message_left", "transcription"}
LABELS = {
    "text_in": "text received", "call_in": "call received", "text_out": "text sent",
    "call_out": "call made", "pin_failed": "a PIN that did not match",
    "disclosure": "told about the case", "message_left": "message left",
    "transcription": "message transcribed", "callback_request": "asked for a call back",
    "connect_person": "put through to a person", "checkin_reply": "answered a check-in",
    "feedback": "gave feedback", "opt_out": "stopped texts", "opt_in": "started texts again",
    "wrong_number": "said it is a wrong number", "case_news": "news posted",
    "case_worker": "worker changed", "case_closed": "case closed",
    "case_paused": "contact paused", "case_next_contact": "next contact set",
    "case_away": "worker away (or back)", "case_import": "changed by the case system",
    "case_reopened": "reopened by the case system", "pin_set": "PIN set",
    "action_raised": "staff action raised", "action_assigned": "staff action assigned",
    "action_done": "staff action done",
    "action_escalated": "staff action raised to the manager",
    "consent_changed": "consent changed", "staff_note": "staff note",
}


def sequence(session: Session) -> int:
    """Number the committed entries not numbered yet, in id order; returns how many.

    The counter is written first, so the lock is taken before anything is read: on
    PostgreSQL its row lock, on SQLite the database's write lock. A concurrent sequencer
    waits, then sees these entries numbered."""
    counter = sa.table("sequence_counter", sa.column("name"), sa.column("value"))
    updated = session.execute(counter.update().where(counter.c.name == COUNTER)
                              .values(value=counter.c.value)).rowcount
    if not updated:
        session.add(SequenceCounter(name=COUNTER, value=0))
        session.flush()
    last = session.exec(select(SequenceCounter.value).where(
        SequenceCounter.name == COUNTER)).one()
    pending = session.exec(select(Interaction.id).where(Interaction.seq.is_(None))
                           .order_by(Interaction.id).limit(BATCH)).all()
    if not pending:
        return 0
    table = Interaction.__table__
    session.execute(table.update().where(table.c.id == sa.bindparam("row_id"))
                    .values(seq=sa.bindparam("new_seq")),
                    [{"row_id": row_id, "new_seq": last + index}
                     for index, row_id in enumerate(pending, start=1)])
    session.execute(counter.update().where(counter.c.name == COUNTER)
                    .values(value=last + len(pending)))
    return len(pending)


@dataclass(frozen=True)
class Reader:
    """What this reader may see: every team, or one; message bodies, or not."""

    team_id: int | None = None
    bodies: bool = False


def entries(session: Session, reader: Reader, *, case_id: int | None = None, after: int = 0,
            limit: int = 100) -> list[dict]:
    """Entries about a case (one, or every case the reader may see), seq after `after`."""
    query = select(Interaction).where(Interaction.seq > after,
                                      Interaction.case_id.is_not(None))
    if case_id is not None:
        query = query.where(Interaction.case_id == case_id)
    if reader.team_id is not None:
        in_team = select(Case.id).join(Worker, Case.worker_id == Worker.id).where(
            Worker.team_id == reader.team_id)
        query = query.where(Interaction.case_id.in_(in_team))
    rows = list(session.exec(query.order_by(Interaction.seq).limit(limit)))
    return _shown(session, rows, reader)


def described(session: Session, rows: list[Interaction], reader: Reader) -> list[dict]:
    """These rows as timeline entries (in words), whatever case they are on."""
    return _shown(session, rows, reader)


def _shown(session: Session, rows: list[Interaction], reader: Reader) -> list[dict]:
    ids = [row.id for row in rows]
    disclosed: dict[int, list[str]] = {}
    for d in session.exec(select(Disclosure).where(Disclosure.interaction_id.in_(ids))):
        disclosed.setdefault(d.interaction_id, []).append(d.field)
    cases = {c.id: c.ref for c in session.exec(select(Case).where(
        Case.id.in_({r.case_id for r in rows})))}
    bodies = _sent_bodies(session, rows) if reader.bodies else {}
    heard = recordings.by_interaction(session, ids) if reader.bodies else {}
    return [_entry(session, row, cases, disclosed.get(row.id, []), bodies, reader,
                   heard.get(row.id)) for row in rows]


def _entry(session: Session, row: Interaction, cases: dict, disclosed: list[str],
           bodies: dict, reader: Reader, recording: int | None) -> dict:
    private = row.kind in PRIVATE
    summary = "" if private and not reader.bodies else row.summary
    if row.kind == "disclosure":
        summary = ", ".join(sorted(disclosed)) or row.summary
    return {
        "seq": row.seq, "at": row.created_at, "case": cases.get(row.case_id, ""),
        "kind": row.kind, "what": LABELS.get(row.kind, row.kind.replace("_", " ")),
        "channel": row.channel.value if row.channel else None,
        "direction": row.direction.value, "who": _who(session, row),
        "twilio_sid": row.twilio_sid or None, "summary": summary,
        "disclosed": sorted(disclosed),
        "body": bodies.get(row.id) if reader.bodies else None,
        "withheld": private and not reader.bodies,
        "recording": recording,  # a Recording id: played through our server, never Twilio's
    }


def _who(session: Session, row: Interaction) -> str:
    """The other party (the person, or a named representative and their relationship),
    or the member of staff who acted."""
    if row.representative_id:
        rep = session.get(Representative, row.representative_id)
        if rep is not None:
            return f"{rep.full_name} ({rep.relationship})"
    if row.direction.value == "internal":
        return row.actor or "system"
    if row.person_id:
        person = session.get(Person, row.person_id)
        if person is not None:
            return person.full_name
    return row.actor or ""


def _sent_bodies(session: Session, rows: list[Interaction]) -> dict[int, str]:
    """The words of each text we sent, from its outbox row (found by its sid)."""
    sids = {row.twilio_sid: row.id for row in rows if row.kind == "text_out" and row.twilio_sid}
    if not sids:
        return {}
    found = session.exec(select(SendAttempt.twilio_sid, OutboxMessage.body)
                         .join(OutboxMessage, OutboxMessage.id == SendAttempt.outbox_id)
                         .where(SendAttempt.twilio_sid.in_(list(sids)))).all()
    return {sids[sid]: body for sid, body in found}
