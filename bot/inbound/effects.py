"""Carrying out what a turn asked for, in the same transaction as the turn itself.

The engine describes effects (a call back, a message, a danger alarm, a disclosure);
this module turns each into rows: staff actions, audit entries, disclosures, outbox
rows, opt-outs, feedback. What only the call itself can do (connect to a person, hang
up) is handed back to the webhook as `CallDirections`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.delivery import outbox
from bot.engine import effects as fx
from bot.models import (
    ActionStatus,
    ActionUrgency,
    Case,
    Channel,
    Direction,
    FeedbackAnswer,
    OptOut,
    Person,
    Representative,
    RespondentKind,
    StaffAction,
)
from bot.phones import display, is_mobile
from bot.records import recordings
from bot.records.audit import record_disclosures, record_interaction
from bot.records.staff_actions import raise_action

from .line import parse_id
from .office_hours import is_office_open
from .teams import answering_team

DANGER_ACTIONS = {"danger", "feels_unsafe"}


@dataclass
class CallDirections:
    connect_to: str | None = None
    hang_up: bool = False


@dataclass
class Turn:
    """Where the effects came from: one inbound text or call step."""

    session: Session
    settings: object
    channel: Channel
    number: str | None  # the other party's number
    event_key: str  # the inbound event, for unique outbox keys and audit
    now: datetime
    duty_mobile_told: bool = False  # danger in a text kept while the database was down


def carry_out(turn: Turn, effects: list) -> CallDirections:
    directions = CallDirections()
    for index, effect in enumerate(effects):
        handler = _HANDLERS.get(effect.kind)
        if handler is not None:
            handler(turn, effect, index, directions)
    return directions


def _who(effect) -> dict:
    """Database ids for an effect's person_id ('person:3' / 'representative:5') and case."""
    parsed = parse_id(getattr(effect, "person_id", None))
    case_id = getattr(effect, "case_id", None)
    ids = {"case_id": int(case_id) if case_id and str(case_id).isdigit() else None,
           "person_id": None, "representative_id": None}
    if parsed and parsed[0] == "person":
        ids["person_id"] = parsed[1]
    elif parsed:
        ids["representative_id"] = parsed[1]
    return ids


def _person_of(turn: Turn, ids: dict) -> int | None:
    if ids["person_id"]:
        return ids["person_id"]
    if ids["representative_id"]:
        rep = turn.session.get(Representative, ids["representative_id"])
        return rep.person_id if rep else None
    return None


def _name(turn: Turn, ids: dict) -> str:
    if ids["representative_id"]:
        rep = turn.session.get(Representative, ids["representative_id"])
        person = turn.session.get(Person, rep.person_id)
        return f"{rep.full_name} ({rep.relationship} of {person.full_name})"
    if ids["person_id"]:
        return turn.session.get(Person, ids["person_id"]).full_name
    return "An unverified caller"


def _consent_note(turn: Turn, ids: dict) -> str:
    """A relative or friend whose consent was withdrawn may still ask us to ring them: the
    worker who does must know they may not be told anything about the case."""
    if not ids["representative_id"]:
        return ""
    rep = turn.session.get(Representative, ids["representative_id"])
    if rep is None or rep.consent_scopes:
        return ""
    return (" Careful: they have no consent to hear about the case (none recorded, or it was "
            "withdrawn): tell them nothing about it.")


def _today(turn: Turn):
    """The day in the line's time zone: who is away is decided by the local date."""
    return turn.now.astimezone(turn.settings.tz).date()


def _audit(turn: Turn, kind: str, ids: dict, summary: str = "") -> int:
    """The entry's id."""
    source, _, rest = turn.event_key.partition(":")
    sid = rest.split(":")[0][:64] if source in ("sms", "voice") else ""  # Twilio's sid
    return record_interaction(turn.session, kind=kind, direction=Direction.INBOUND,
                       channel=turn.channel, number=turn.number or "", summary=summary,
                       actor="caller", twilio_sid=sid, **ids)


def _urgency(value: str) -> ActionUrgency:
    return ActionUrgency.URGENT if value == fx.URGENT else ActionUrgency.NORMAL


def _callback(turn: Turn, effect: fx.RequestCallback, index: int, _d) -> None:
    ids = _who(effect)
    number = effect.number or turn.number
    where = f"on {display(number)}" if number else "(no number: the caller's is withheld)"
    summary = f"Call back {_name(turn, ids)} {where}. They {effect.reason}." \
        f"{_consent_note(turn, ids)}"
    raise_action(turn.session, kind="call_back", urgency=_urgency(effect.urgency),
                 summary=summary, case_id=ids["case_id"], person_id=_person_of(turn, ids),
                 today=_today(turn), dedupe_key=f"call_back/{turn.event_key}/{index}")
    _audit(turn, "callback_request", ids, effect.reason)


def _message(turn: Turn, effect: fx.RecordMessage, index: int, _d) -> None:
    ids = _who(effect)
    # Twilio's link is never shown: the staff pages play our own copy (records/recordings).
    content = effect.text or f"A recorded message ({effect.seconds}s)."
    number = f" Their number: {display(turn.number)}." if turn.number else \
        " Their number is withheld."
    raise_action(turn.session, kind="message",
                 summary=f"{_name(turn, ids)} left a message.{number}{_consent_note(turn, ids)}",
                 case_id=ids["case_id"], person_id=_person_of(turn, ids),
                 today=_today(turn), dedupe_key=f"message/{turn.event_key}/{index}")
    left = _audit(turn, "message_left", ids, content)
    if effect.recording_url:
        recordings.keep(turn.session, left, ids["case_id"], effect.recording_url,
                        effect.seconds)


def _connect(turn: Turn, effect: fx.ConnectPerson, _i, directions: CallDirections) -> None:
    if turn.channel == Channel.VOICE:
        directions.connect_to = effect.number
    _audit(turn, "connect_person", _who(effect), effect.reason)


def _action(turn: Turn, effect: fx.RaiseAction, index: int, _d) -> None:
    ids = _who(effect)
    urgency = _urgency(effect.urgency)
    case = turn.session.get(Case, ids["case_id"]) if ids["case_id"] else None
    number = f" Their number: {display(effect.number)}." if effect.number else ""
    raise_action(turn.session, kind=effect.action, urgency=urgency,
                 summary=f"{_name(turn, ids)}: {effect.summary}{number}",
                 case_id=ids["case_id"], person_id=_person_of(turn, ids),
                 today=_today(turn),
                 dedupe_key=f"{effect.action}/{turn.event_key}/{index}")
    _audit(turn, effect.action, ids, effect.summary)
    if effect.action in DANGER_ACTIONS:
        _alert_out_of_hours(turn, case, effect.number)


def _alert_out_of_hours(turn: Turn, case: Case | None, number: str | None) -> None:
    """Out of hours, text the emergency duty team at once: a reference and a number only."""
    team = answering_team(turn.session, turn.settings, case)
    if turn.duty_mobile_told or is_office_open(team, turn.now, turn.settings.tz):
        return
    if not is_mobile(team.out_of_hours_number):
        return  # a landline cannot take texts; the urgent action is already in the queue
    reference = f"Case {case.ref}. " if case else ""
    callback = f"Call back on {display(number)}." if number else "Their number is withheld."
    body = (f"{turn.settings.organisation_name} URGENT: a caller said they feel unsafe. "
            f"{reference}{callback}")
    outbox.add(turn.session, key=f"danger/{turn.event_key}", purpose="danger_alert",
               channel=Channel.SMS, to=team.out_of_hours_number, body=body,
               case_id=case.id if case else None)


def _opt_out(turn: Turn, effect, _i, _d, reason: str = "stop") -> None:
    number = effect.number or turn.number
    if number and not turn.session.exec(select(OptOut).where(OptOut.number == number)).first():
        turn.session.add(OptOut(number=number, reason=reason))
    _audit(turn, "opt_out" if reason == "stop" else "wrong_number", _who(effect))


def _opt_in(turn: Turn, effect: fx.OptIn, _i, _d) -> None:
    number = effect.number or turn.number
    for row in turn.session.exec(select(OptOut).where(OptOut.number == number)):
        turn.session.delete(row)
    if number:  # the "asked us to stop" actions for this number are answered by the person
        for action in turn.session.exec(select(StaffAction).where(
                StaffAction.kind == "opted_out", StaffAction.status == ActionStatus.OPEN,
                StaffAction.summary.contains(display(number)))):
            action.status, action.done_by = ActionStatus.DONE, "the caller texted START"
            action.done_at = turn.now
    _audit(turn, "opt_in", _who(effect))


def _wrong_number(turn: Turn, effect: fx.WrongNumber, index: int, directions) -> None:
    _opt_out(turn, effect, index, directions, reason="wrong_number")


def _checkin(turn: Turn, effect: fx.RecordCheckin, _i, _d) -> None:
    _audit(turn, "checkin_reply", _who(effect), effect.answer)


def _feedback(turn: Turn, effect: fx.RecordFeedback, _i, _d) -> None:
    ids = _who(effect)
    if not ids["case_id"]:
        return
    kind, respondent = ((RespondentKind.REPRESENTATIVE, ids["representative_id"])
                        if ids["representative_id"] else
                        (RespondentKind.PERSON, ids["person_id"]))
    existing = turn.session.exec(select(FeedbackAnswer).where(
        FeedbackAnswer.case_id == ids["case_id"], FeedbackAnswer.question == effect.question,
        FeedbackAnswer.respondent_kind == kind,
        FeedbackAnswer.respondent_id == respondent)).first()
    if existing is not None:
        existing.answer = effect.answer  # a changed mind replaces the earlier answer
    else:
        turn.session.add(FeedbackAnswer(case_id=ids["case_id"], question=effect.question,
                                        answer=effect.answer, respondent_kind=kind,
                                        respondent_id=respondent, channel=turn.channel.value))
    _audit(turn, "feedback", ids, f"{effect.question}: {effect.answer}")


def _disclosed(turn: Turn, effect: fx.Disclosed, _i, _d) -> None:
    ids = _who(effect)
    if not ids["case_id"] or not effect.fields:
        return
    entry_id = record_interaction(
        turn.session, kind="disclosure", direction=Direction.OUTBOUND, channel=turn.channel,
        number=turn.number or "", summary=", ".join(effect.fields), actor="line", **ids)
    kind, recipient = (("representative", ids["representative_id"])
                       if ids["representative_id"] else ("person", ids["person_id"]))
    record_disclosures(turn.session, entry_id, case_id=ids["case_id"], fields=effect.fields,
                       recipient_kind=kind, recipient_id=recipient,
                       channel=Channel(effect.channel))


def _send_text(turn: Turn, effect: fx.SendText, index: int, _d) -> None:
    outbox.add(turn.session, key=f"text/{turn.event_key}/{index}",
               purpose=effect.purpose or "reply", channel=Channel.SMS, to=effect.to,
               body=effect.body)


def _end(turn: Turn, _effect, _i, directions: CallDirections) -> None:
    directions.hang_up = True


_HANDLERS = {
    "request_callback": _callback, "record_message": _message, "connect_person": _connect,
    "raise_action": _action, "opt_out": _opt_out, "opt_in": _opt_in,
    "wrong_number": _wrong_number, "record_checkin": _checkin, "record_feedback": _feedback,
    "disclosed": _disclosed, "send_text": _send_text, "end_call": _end,
}
