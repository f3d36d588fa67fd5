"""Contact the line starts itself: to whom, by which channel, when, and what it says.

Each recipient is reached the way their communication needs say: a text to a mobile,
a call to a landline, never a call to someone recorded as "no phone calls" (they get
a text, or their representatives do), and nothing outside their contact window, while
their contact is paused, after they have died, or to a number that opted out.

A text is written by running its flow now (so its words and its disclosures are those
of the flow), and the conversation is saved so that a reply ("1", "I am OK") goes on in
the same flow. A call only names its flow: the flow runs when the call is answered,
and says nothing about the case before the PIN.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlmodel import Session, select

from bot.config import Settings
from bot.delivery import outbox
from bot.engine import Input, advance, sms_messages
from bot.inbound.effects import Turn, carry_out
from bot.inbound.known import known
from bot.inbound.line import LineContext
from bot.models import (
    Case,
    Channel,
    ConversationState,
    LineType,
    OptOut,
    Person,
    PersonPhone,
    Representative,
)
from bot.records.staff_actions import raise_action

log = logging.getLogger(__name__)

REPLY_DAYS = 3  # how long a reply to a text we sent still belongs to its flow
DEFAULT_WINDOW = (time(10, 0), time(19, 0))

# Which representatives hear which kind of contact: the scope it needs.
SCOPE_FOR = {"closure": "closure", "news": "news", "worker_change": "worker",
             "check_in": "status", "watchdog": "status", "feedback": "closure"}


@dataclass(frozen=True)
class Recipient:
    who_id: str  # "person:3" or "representative:5"
    person_id: int
    representative_id: int | None
    number: str
    channel: Channel
    window: tuple[time, time]


def recipients(session: Session, case: Case, purpose: str, *, today) -> list[Recipient]:
    """Everyone a contact of this kind should go to, each on their own channel."""
    person = session.get(Person, case.person_id)
    if person.deceased or (person.contact_paused_until and person.contact_paused_until >= today):
        return []
    memo = known(session)
    opted_out = memo.opted_out if memo is not None else set(
        session.exec(select(OptOut.number)).all())
    reps = _representatives(session, case, purpose, opted_out)
    mine = _person_recipient(session, person, opted_out)
    if purpose in ("closure", "worker_change"):
        return ([mine] if mine else []) + reps
    if purpose == "news":  # the person by their own channel (unless reached through others)
        return ([mine] if mine and not person.contact_via_representative else []) + reps
    # Check-ins and feedback: the person, unless they are reached through someone else.
    if mine and not person.contact_via_representative:
        return [mine]
    return reps


def cannot_reach(session: Session, case: Case, purpose: str, *, today) -> None:
    """Nobody can be reached for this contact: a person must decide, never a silent drop.

    A pause or a death is a decision staff already made, so it raises nothing.
    """
    person = session.get(Person, case.person_id)
    if person.deceased or (person.contact_paused_until and person.contact_paused_until >= today):
        return
    what = purpose.replace("_", " ")
    raise_action(session, kind="cannot_reach", case_id=case.id, person_id=person.id,
                 today=today,
                 summary=(f"No way to send the {what} for case {case.ref} to {person.full_name}: "
                          "no number they agreed to (a mobile for texts, a landline they may be "
                          "called on), or all have opted out, and no representative with consent."),
                 dedupe_key=f"cannot_reach/{case.id}/{purpose}")


def _person_recipient(session: Session, person: Person, opted_out: set) -> Recipient | None:
    memo = known(session)
    phones = memo.phones.get(person.id, []) if memo is not None else session.exec(
        select(PersonPhone).where(PersonPhone.person_id == person.id)
        .order_by(PersonPhone.is_primary.desc(), PersonPhone.id)).all()
    # The line type stored at import (bot/phones.line_type then) saves parsing each number.
    reachable = [p for p in phones if p.number not in opted_out]
    mobile = next((p.number for p in reachable if p.line_type == LineType.MOBILE), None)
    landline = next((p.number for p in reachable if p.line_type != LineType.MOBILE), None)
    prefers_calls = "phone" in person.ais_contact_method.lower() or \
        "call" in person.ais_contact_method.lower()
    window = (person.contact_window_start, person.contact_window_end)
    if landline and not person.no_phone_calls and (prefers_calls or not mobile):
        return Recipient(f"person:{person.id}", person.id, None, landline, Channel.VOICE, window)
    if mobile:
        return Recipient(f"person:{person.id}", person.id, None, mobile, Channel.SMS, window)
    return None  # no way to reach them that they agreed to: their representatives are told


def _representatives(session: Session, case: Case, purpose: str, opted_out: set):
    scope = SCOPE_FOR[purpose]
    memo = known(session)
    reps = memo.representatives.get(case.person_id, []) if memo is not None else session.exec(
        select(Representative).where(Representative.person_id == case.person_id)
        .order_by(Representative.id)).all()
    out = []
    for rep in reps:
        if scope not in rep.consent_scopes or rep.number in opted_out:
            continue
        channel = Channel.SMS if rep.line_type == LineType.MOBILE else Channel.VOICE
        out.append(Recipient(f"representative:{rep.id}", rep.person_id, rep.id, rep.number,
                             channel, (rep.contact_window_start, rep.contact_window_end)))
    return out


def window_for(session: Session, person_id: int | None,
               representative_id: int | None) -> tuple[time, time]:
    """When we may start contact with whoever an outbox row is for (local times)."""
    who = session.get(Representative, representative_id) if representative_id else \
        session.get(Person, person_id) if person_id else None
    if who is None:
        return DEFAULT_WINDOW
    return who.contact_window_start, who.contact_window_end


def next_in_window(now: datetime, settings: Settings, window: tuple[time, time]) -> datetime:
    """`now` if it falls in the window (local time), else the start of the next window."""
    local = now.astimezone(settings.tz)
    start, end = window
    if start <= local.time().replace(tzinfo=None) < end:
        return now
    day = local.date() if local.time().replace(tzinfo=None) < start else \
        local.date() + timedelta(days=1)
    return datetime.combine(day, start, tzinfo=settings.tz).astimezone(now.tzinfo)


def schedule(session: Session, settings: Settings, flows, *, case: Case, to: Recipient,
             purpose: str, flow: str, key: str, now: datetime) -> list:
    """Write the outbox row(s) for one contact, once per key; returns the rows."""
    memo = known(session)
    keys = memo.outbox_keys.get(case.id) if memo is not None else None
    if keys is None or any(k.startswith(key) for k in keys):  # else surely none: skip
        existing = [r for r in outbox.in_bulk(session) if r.key.startswith(key)] or \
            session.exec(select(outbox.OutboxMessage).where(
                outbox.OutboxMessage.key.startswith(key))).all()
        if existing:
            return list(existing)
    if flow not in flows:
        log.warning("no flow %r: the %s contact for case %s is not sent", flow, purpose, case.ref)
        return []
    when = next_in_window(now, settings, to.window)
    ids = dict(case_id=case.id, person_id=to.person_id, representative_id=to.representative_id,
               surely_new=keys is not None)
    if to.channel == Channel.VOICE:
        rows = [outbox.add(session, key=key, purpose=purpose, channel=Channel.VOICE,
                           to=to.number, flow=flow, not_before=when, **ids)]
    else:
        bodies = _write_text(session, settings, flows, to=to, flow=flow, key=key, now=now,
                             when=when)
        rows = [outbox.add(session, key=f"{key}/{n}" if n else key, purpose=purpose,
                           channel=Channel.SMS, to=to.number, body=body, not_before=when,
                           **ids) for n, body in enumerate(bodies)]
    if keys is not None:
        keys.update(row.key for row in rows)
    return rows


def _write_text(session: Session, settings: Settings, flows, *, to: Recipient, flow: str,
                key: str, now: datetime, when: datetime) -> list[str]:
    """Run the flow for a text now: its words, its audit, and the conversation for replies."""
    context = LineContext(session, settings, channel="sms", now=now, caller_number=to.number,
                          conversation_key=key, recipient_id=to.who_id)
    state, replies, effects = advance(flows[flow], None, Input.start(), context)
    carry_out(Turn(session=session, settings=settings, channel=Channel.SMS, number=to.number,
                   event_key=f"out:{key}", now=now), effects)
    if not state.ended:
        _await_reply(session, to, state, until=when + timedelta(days=REPLY_DAYS), now=now)
    # A flow that is one text says its budget per language (Welsh, UCS-2, needs more
    # parts for the same words); it is sent as one text, as `flows check` measured it.
    language = state.language or context.language
    return sms_messages(replies, flows[flow].one_text_parts(language) or 2)


def _await_reply(session: Session, to: Recipient, state, *, until: datetime, now) -> None:
    """The next text from this number answers the question we are sending.

    It replaces whatever the conversation was waiting for (the reply answers the latest
    question the person was asked); a reply that is not one of its options is taken as a
    text of its own (see the runner). A PIN given in the last minutes still holds: our text
    keeps it, but proves nothing about who holds the phone, so it never counts as one.
    """
    key = f"sms:{to.number}"
    memo = known(session)
    if memo is not None and key in memo.conversations:  # read (and locked) for the chunk
        row = memo.conversations[key]
    else:
        row = session.exec(select(ConversationState).where(ConversationState.key == key)
                           .with_for_update()).first()
    if row is None:
        row = ConversationState(key=key, channel=Channel.SMS, number=to.number, flow=state.flow)
        if memo is not None:
            memo.conversations[key] = row  # the next case at this number finds it
    data = state.to_dict()
    still_verified = row.verified_until is not None and row.verified_until > now
    data["verified"] = (row.state or {}).get("verified") if still_verified else None
    if not still_verified:
        row.verified_until = None
    row.state, row.flow = data, state.flow
    row.expires_at = max(until, row.expires_at or until)
    row.updated_at = now
    session.add(row)
