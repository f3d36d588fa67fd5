"""Column types and enumerations shared by the models.

`UTCDateTime` guarantees timezone-aware UTC datetimes in and out, on SQLite too
(which stores no offset), so no code ever compares a naive time with an aware one.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from .. import clock
from ..phones import LineType  # noqa: F401  (one definition, re-exported for the models)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC that always comes back timezone-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        # SQLite keeps no offset: store the UTC wall time and re-attach UTC on the way out.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The line's time, in UTC: real time unless moved outside production (bot/clock.py)."""
    return clock.now()


def enum_column(enum_cls: type[enum.Enum], **kwargs) -> sa.Column:
    """A portable enum column: VARCHAR plus a CHECK of the exact values."""
    length = max(len(m.value) for m in enum_cls)
    kind = sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        name=f"ck_{enum_cls.__name__.lower()}",
        validate_strings=True,
    )
    return sa.Column(kind, **kwargs)


class Stage(enum.StrEnum):
    """Where a case is. Callers never hear these words: flows/case_update.yaml says each
    stage in plain words, to the person and to those they trust."""

    CONCERN = "concern"
    ENQUIRY = "enquiry"
    PLAN = "plan"
    REVIEW = "review"
    CLOSED = "closed"



class ConsentScope(enum.StrEnum):
    """What a representative may be told (DESIGN §2)."""

    STATUS = "status"
    NEWS = "news"
    WORKER = "worker"
    NEXT_CONTACT = "next_contact"
    CLOSURE = "closure"


class Authority(enum.StrEnum):
    """The legal standing of a representative, if any."""

    NONE = "none"
    LPA_HEALTH_WELFARE = "lpa_health_welfare"
    LPA_PROPERTY_FINANCE = "lpa_property_finance"
    DEPUTY = "deputy"
    ADVOCATE = "advocate"


class MspAsked(enum.StrEnum):
    """SG4a: was the person asked about the outcomes they wanted (exact national wording)."""

    ASKED_EXPRESSED = "Yes they were asked and outcomes were expressed"
    ASKED_NOT_EXPRESSED = "Yes they were asked but no outcomes were expressed"
    NO = "No"
    DONT_KNOW = "Don't Know"
    NOT_RECORDED = "Not Recorded"


class MspAchieved(enum.StrEnum):
    """SG4a: were the expressed outcomes achieved (exact national wording)."""

    FULLY = "Fully Achieved"
    PARTIALLY = "Partially Achieved"
    NOT = "Not Achieved"


class RiskResult(enum.StrEnum):
    """Risk at closure (exact national wording)."""

    REMAINED = "Risk remained"
    REDUCED = "Risk reduced"
    REMOVED = "Risk removed"


class Channel(enum.StrEnum):
    SMS = "sms"
    VOICE = "voice"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class OutboxStatus(enum.StrEnum):
    """The life of an intended text or call; follows its latest attempt.

    PENDING waits for a worker (perhaps until `not_before`); SENDING has an attempt in
    flight or accepted by Twilio; SENT, DELIVERED and ANSWERED are Twilio's news;
    NOT_ANSWERED is a call nobody (or a machine) answered, for the caller of the
    outbox to decide about; FAILED and NEEDS_CHECK have raised a staff action.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    ANSWERED = "answered"
    NOT_ANSWERED = "not_answered"
    FAILED = "failed"
    NEEDS_CHECK = "needs_check"
    CANCELLED = "cancelled"


class ActionUrgency(enum.StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class RespondentKind(enum.StrEnum):
    PERSON = "person"
    REPRESENTATIVE = "representative"
