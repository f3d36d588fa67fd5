"""What the outside world must do after a turn. The engine only describes; webhooks and jobs act.

Every effect is a frozen dataclass with a `kind`; `to_dict()` gives a JSON-safe form.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import ClassVar

URGENT, HIGH, NORMAL = "urgent", "high", "normal"


@dataclass(frozen=True)
class Effect:
    kind: ClassVar[str] = "effect"

    def to_dict(self) -> dict:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class SendText(Effect):
    """Send a text (e.g. 'send this by text') to a number."""

    kind: ClassVar[str] = "send_text"
    to: str
    body: str
    purpose: str = ""


@dataclass(frozen=True)
class RequestCallback(Effect):
    """Ask a worker (or the duty team) to call someone back."""

    kind: ClassVar[str] = "request_callback"
    number: str | None
    person_id: str | None = None
    case_id: str | None = None
    reason: str = ""
    urgency: str = NORMAL


@dataclass(frozen=True)
class RecordMessage(Effect):
    """Keep a message for the worker: the text, or the recording's address."""

    kind: ClassVar[str] = "record_message"
    number: str | None
    person_id: str | None = None
    case_id: str | None = None
    text: str = ""
    recording_url: str = ""
    seconds: int = 0


@dataclass(frozen=True)
class ConnectPerson(Effect):
    """Put the call through to a person (TwiML <Dial>); the result comes back as Input.dial."""

    kind: ClassVar[str] = "connect_person"
    number: str
    reason: str = ""


@dataclass(frozen=True)
class RaiseAction(Effect):
    """Put something in the staff action queue."""

    kind: ClassVar[str] = "raise_action"
    action: str
    urgency: str = NORMAL
    summary: str = ""
    number: str | None = None
    person_id: str | None = None
    case_id: str | None = None


@dataclass(frozen=True)
class OptOut(Effect):
    kind: ClassVar[str] = "opt_out"
    number: str | None
    person_id: str | None = None


@dataclass(frozen=True)
class OptIn(Effect):
    kind: ClassVar[str] = "opt_in"
    number: str | None
    person_id: str | None = None


@dataclass(frozen=True)
class RecordCheckin(Effect):
    """A reply to a check-in: ok, call_me or unsafe."""

    kind: ClassVar[str] = "record_checkin"
    answer: str
    person_id: str | None = None
    case_id: str | None = None


@dataclass(frozen=True)
class RecordFeedback(Effect):
    """An MSP feedback answer (question 'outcome' answers in SG4a words)."""

    kind: ClassVar[str] = "record_feedback"
    question: str
    answer: str
    person_id: str | None = None
    case_id: str | None = None


@dataclass(frozen=True)
class WrongNumber(Effect):
    kind: ClassVar[str] = "wrong_number"
    number: str | None


@dataclass(frozen=True)
class Disclosed(Effect):
    """For the audit trail: which case fields this turn told whom, by which channel."""

    kind: ClassVar[str] = "disclosed"
    fields: tuple[str, ...]
    channel: str
    person_id: str | None = None
    case_id: str | None = None


@dataclass(frozen=True)
class EndCall(Effect):
    kind: ClassVar[str] = "end_call"


EFFECT_TYPES = {cls.kind: cls for cls in (
    SendText, RequestCallback, RecordMessage, ConnectPerson, RaiseAction, OptOut, OptIn,
    RecordCheckin, RecordFeedback, WrongNumber, Disclosed, EndCall,
)}


def effect_from_dict(data: dict) -> Effect:
    cls = EFFECT_TYPES[data["kind"]]
    names = {f.name for f in fields(cls)}
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in names}
    return cls(**values)
