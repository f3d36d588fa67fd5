"""One inbound text or call step, from Twilio's form to what we answer.

In one transaction: store the request, load the conversation, run the engine, carry out
its effects, save the conversation and the answer. The request's key is the MessageSid,
or the CallSid plus the turn number carried in our action URLs, so a Twilio retry finds
the stored answer and gets it again instead of acting twice, while a deliberate repeat
(`*`) arrives with a new turn number and is answered. If the turn fails, the request is
still kept, in a transaction of its own, unanswered: a retry runs the turn again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache, cached_property

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.engine import Input, advance, load_flows
from bot.engine.context import Needs
from bot.models import Channel, ConversationState, Direction, InboundEvent
from bot.phones import InvalidPhoneNumber, is_withheld, mask, normalise
from bot.records.audit import record_interaction
from bot.runtime import Runtime

from .effects import CallDirections, Turn, carry_out
from .line import LineContext

log = logging.getLogger(__name__)

ENTRY_FLOW = "welcome"
NO_NUMBER_FLOW = "no_number"  # a text from a sender without a real number
VOICE_STATE_HOURS = 24  # a call's state is kept a day for the audit, then may be cleared

# Built once (every turn runs these), the values bound at each call.
_CONVERSATION_LOCKED = (select(ConversationState)
                        .where(ConversationState.key == sa.bindparam("key")).with_for_update())
_EVENT = InboundEvent.__table__
_EARLIER_EVENT = (sa.select(_EVENT.c.id, _EVENT.c.response)
                  .where(_EVENT.c.key == sa.bindparam("key")).with_for_update())
_ANSWERED = (sa.update(_EVENT).where(_EVENT.c.id == sa.bindparam("event_id"))
             .values(response=sa.bindparam("response"),
                     processed_at=sa.bindparam("processed_at")))


@dataclass(frozen=True)
class Inbound:
    channel: Channel
    sid: str  # MessageSid or CallSid
    raw_from: str
    input: Input
    turn: int = 0
    params: dict = field(default_factory=dict)
    flow: str | None = None  # an outbound call starts its own flow (e.g. checkin)
    recipient_id: str | None = None  # whom we called: "person:3"
    already_alerted: bool = False  # kept while the database was down; the EDT was told then

    @property
    def key(self) -> str:
        if self.channel == Channel.SMS:
            return f"sms:{self.sid}"
        return f"voice:{self.sid}:{self.turn}"

    @cached_property  # read a dozen times a turn; parsing a number is not free
    def number(self) -> str | None:
        """The caller's E.164 number, or None when withheld or not a phone number."""
        if is_withheld(self.raw_from):
            return None
        try:
            return normalise(self.raw_from)
        except InvalidPhoneNumber:
            return None

    @property
    def conversation_key(self) -> str:
        """One conversation per number for texts, per call for calls. A text without a real
        number ("Private", a name) is a conversation of its own: two care homes that both
        show as "Private" must never share one, nor its PIN."""
        if self.channel == Channel.SMS:
            return f"sms:{self.number}" if self.number else f"sms:one-off:{self.sid}"
        return f"voice:{self.sid}"


@dataclass
class TurnOutput:
    """What the webhook renders: the replies, and what only the call can do."""

    replies: list
    directions: CallDirections
    needs: Needs
    language: str
    next_turn: int
    ended: bool


Renderer = Callable[[TurnOutput], str]


class Flows:
    """The shipped flows, loaded once per process (they are checked by `flows check`)."""

    _cache: dict[str, object] = {}

    @classmethod
    def get(cls, directory: str):
        if directory not in cls._cache:
            cls._cache[directory] = load_flows(directory).raise_for_errors()
        return cls._cache[directory]


def process(runtime: Runtime, inbound: Inbound, render: Renderer) -> str:
    """Store, run and answer one inbound step; a Twilio retry gets the same answer.

    One transaction, one commit. A turn that fails rolls back everything it did, and the
    request is then stored on its own (see `_keep`), so nothing Twilio sent is lost."""
    flows = Flows.get(str(runtime.settings.flows_path))
    try:
        with runtime.session() as session:
            event_id, answered = _store(session, runtime, inbound)
            if answered is not None:
                log.info("%s retried: answering as before", inbound.key.split(":")[0])
                return answered
            response = _run(session, runtime, inbound, flows, render)
            session.execute(_ANSWERED, {"event_id": event_id, "response": response,
                                        "processed_at": runtime.now()})
    except Exception:
        _keep(runtime, inbound)
        raise
    return response


SECRET_FIELDS = ("Body", "Digits", "SpeechResult")
_NUMBER_WORDS = {"zero", "oh", "o", "one", "two", "three", "four", "five", "six", "seven",
                 "eight", "nine"}


def redact(params: dict) -> dict:
    """The request to keep, without anything that could be a PIN or a case reference:
    a stored request outlives the call, and a PIN may also be someone's bank PIN."""
    kept = dict(params)
    for name in SECRET_FIELDS:
        value = str(kept.get(name, ""))
        squeezed = "".join(value.split()).replace("-", "")
        spoken = value.lower().replace(",", " ").split()
        if (squeezed.isdigit() and len(squeezed) >= 4) or (
                len(spoken) >= 4 and all(w in _NUMBER_WORDS or w.isdigit() for w in spoken)):
            kept[name] = "[digits not kept]"
    return kept


def _store(session: Session, runtime: Runtime, inbound: Inbound) -> tuple[int, str | None]:
    """Keep the request before acting on it: its row's id, and the answer already given
    to it (None for a new request, or one whose turn failed before).

    INSERT ... ON CONFLICT DO NOTHING on the key (PostgreSQL and SQLite both have it): a
    first request is one round trip. A retry arriving while the first is still running
    waits here for it (the key's uniqueness makes it), then finds its answer; the row is
    locked, so two retries of a failed turn run it once."""
    stored = session.execute(_store_statement(session.get_bind().dialect.name), {
        "key": inbound.key, "channel": inbound.channel, "number": inbound.number or "",
        "params": redact(inbound.params), "received_at": runtime.now()}).first()
    if stored is not None:
        log.info("%s from %s stored", inbound.key.split(":")[0], mask(inbound.number))
        return stored.id, None
    earlier = session.execute(_EARLIER_EVENT, {"key": inbound.key}).one()
    return earlier.id, earlier.response


def _keep(runtime: Runtime, inbound: Inbound) -> None:
    """The turn failed and took the stored request with it: store the request alone. If
    the database cannot take even that (it is down), the webhook's error handler keeps
    a text in Redis (webhooks/errors.py)."""
    try:
        with runtime.session() as session:
            _store(session, runtime, inbound)
    except Exception as again:  # the turn's own error is the one to report
        log.error("%s could not be stored after its turn failed (%s)",
                  inbound.key.split(":")[0], type(again).__name__)
    else:
        log.warning("%s from %s: the turn failed; the request is kept, unanswered",
                    inbound.key.split(":")[0], mask(inbound.number))


@cache
def _store_statement(dialect: str):
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(_EVENT).values({name: sa.bindparam(name) for name in (
        "key", "channel", "number", "params", "received_at")})
        .on_conflict_do_nothing(index_elements=["key"]).returning(_EVENT.c.id))


@cache
def _new_conversation_statement(dialect: str):
    """A new conversation in one statement: the ORM object it made, or none when another
    request made it first (no savepoint, no second read)."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(ConversationState).on_conflict_do_nothing(index_elements=["key"])
            .returning(ConversationState))


def _run(session: Session, runtime: Runtime, inbound: Inbound, flows, render: Renderer) -> str:
    now = runtime.now()
    settings = runtime.settings
    conversation = _conversation(session, inbound, now)
    state = conversation.state or None
    verified = (state or {}).get("verified") or ((state or {}).get("values") or {}).get("_who") \
        or {}
    context = LineContext(session, settings, channel=inbound.channel.value, now=now,
                          caller_number=inbound.number, conversation_key=inbound.sid,
                          recipient_id=inbound.recipient_id, verified_id=verified.get("id"))
    fresh = _entry_flow(inbound, flows)
    entry = inbound.flow if inbound.flow in flows else fresh
    carry_on = state and not state.get("ended") and state.get("flow") in flows
    flow = flows[state["flow"]] if carry_on else flows[entry]  # an ended flow starts afresh
    new_state, replies, effects = advance(flow, state, inbound.input, context,
                                          fresh=flows[fresh])
    turn = Turn(session=session, settings=settings, channel=inbound.channel,
                number=inbound.number, event_key=inbound.key, now=now,
                duty_mobile_told=inbound.already_alerted)
    directions = carry_out(turn, effects)
    _on_timeline(session, inbound, context, new_state)
    _save(conversation, new_state, now, settings.sms_verified_minutes)
    session.add(conversation)
    output = TurnOutput(replies=replies, directions=directions, needs=context.needs,
                        language=context.language, next_turn=conversation.turn,
                        ended=new_state.ended)
    return render(output)


def _on_timeline(session: Session, inbound: Inbound, context: LineContext, state) -> None:
    """Every text to us, and every call to us (once, at its start), with Twilio's sid: on
    the timeline of whoever it is from, if the line can tell (see `timeline_subject`). A
    call we made is there already, from when Twilio took it."""
    if inbound.recipient_id or (inbound.channel is Channel.VOICE and inbound.turn != 0):
        return
    verified = (state.verified or {}).get("id") if state.verified else None
    voice = inbound.channel is Channel.VOICE
    record_interaction(session, kind="call_in" if voice else "text_in",
                       direction=Direction.INBOUND, channel=inbound.channel,
                       number=inbound.number or "", twilio_sid=inbound.sid[:64], actor="caller",
                       **context.timeline_subject(verified))


def _entry_flow(inbound: Inbound, flows) -> str:
    if inbound.channel == Channel.SMS and inbound.number is None and NO_NUMBER_FLOW in flows:
        return NO_NUMBER_FLOW
    return ENTRY_FLOW


def _conversation(session: Session, inbound: Inbound, now):
    """The stored conversation, or a fresh one; a text conversation forgets its PIN after
    the verification window, so a phone left lying about cannot be read later."""
    key = inbound.conversation_key
    row = session.exec(_CONVERSATION_LOCKED, params={"key": key}).first()
    if row is None:
        # Two first texts may arrive at the same moment: the one whose INSERT loses waits
        # on the key for the other's commit, then reads (and locks) the row it made.
        fresh = ConversationState(key=key, channel=inbound.channel, number=inbound.number or "",
                                  flow=ENTRY_FLOW, state={})
        row = session.scalars(_new_conversation_statement(session.get_bind().dialect.name),
                              [fresh.model_dump(exclude={"id"})]).first()
        if row is None:
            row = session.exec(_CONVERSATION_LOCKED, params={"key": key},
                               execution_options={"populate_existing": True}).one()
        return row
    if inbound.channel == Channel.SMS:
        _forget_lapsed(row, now)
    return row


def _forget_lapsed(row: ConversationState, now) -> None:
    """A text conversation forgets its PIN once its window has passed, and its place once
    that has passed too (a question we sent waits days for its answer; a PIN does not)."""
    if row.expires_at and row.expires_at < now:
        row.state, row.verified_until = {}, None
    elif row.verified_until and row.verified_until < now and row.state.get("verified"):
        row.state = {**row.state, "verified": None, "values": _unverified(row.state)}
        row.verified_until = None


def _unverified(state: dict) -> dict:
    values = dict(state.get("values") or {})
    if values.get("_who") == state.get("verified"):
        values.pop("_who", None)  # the flow's copy of who proved themselves goes too
    return values


def _save(row: ConversationState, state, now, verified_minutes: int) -> None:
    data = state.to_dict()
    row.state, row.flow = data, data.get("flow") or ENTRY_FLOW
    row.turn += 1
    verified = bool(data.get("verified"))
    if row.channel == Channel.SMS:
        # The window slides: it runs from the last text, so someone typing a long message
        # is not cut off, and a phone left lying about forgets the PIN soon after.
        window = now + timedelta(minutes=verified_minutes)
        row.verified_until = window if verified else None
        row.expires_at = max(row.expires_at or now, window)
    else:
        row.expires_at = now + timedelta(hours=VOICE_STATE_HOURS)
    row.updated_at = now
