"""Conversation state between turns, and the outbox of texts and calls with their attempts."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import created_at_field, timestamp_field, updated_at_field
from .types import Channel, OutboxStatus, enum_column


class ConversationState(SQLModel, table=True):
    """Where a conversation is: keyed by `sms:<E.164>` or `voice:<CallSid>`."""

    __tablename__ = "conversation_state"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, unique=True, index=True)
    channel: Channel = Field(sa_column=enum_column(Channel, nullable=False))
    number: str = Field(default="", max_length=16, description="the caller's E.164")
    flow: str = Field(max_length=64)
    state: dict = Field(default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False))
    turn: int = Field(default=0)
    verified_until: datetime | None = timestamp_field()
    expires_at: datetime | None = timestamp_field(index=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field(index=True)  # retention deletes by age


class OutboxMessage(SQLModel, table=True):
    """A text or call the line intends to make, written with the change that caused it.

    `key` is unique per intended message (e.g. `closure/<case>/<recipient>`), so the
    same intent written twice is one row and is sent once.
    """

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True, index=True)
    purpose: str = Field(max_length=40, description="e.g. reply, closure, check_in, alert")
    channel: Channel = Field(sa_column=enum_column(Channel, nullable=False))
    to_number: str = Field(max_length=16, index=True, description="E.164")
    from_number: str = Field(default="", max_length=34, description="E.164 or a MG... sid")
    body: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    flow: str = Field(default="", max_length=64, description="for calls: the flow to run")
    case_id: int | None = Field(default=None, foreign_key="safeguarding_case.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    representative_id: int | None = Field(default=None, foreign_key="representative.id")
    status: OutboxStatus = Field(
        default=OutboxStatus.PENDING,
        sa_column=enum_column(OutboxStatus, nullable=False, index=True),
    )
    not_before: datetime | None = timestamp_field(index=True)
    enqueued_at: datetime | None = timestamp_field()  # last handed to RQ
    attempt_count: int = Field(default=0)
    call_outcome: str = Field(default="", max_length=20, description="no-answer, busy, machine")
    last_error: str = Field(default="", max_length=300)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class SendAttempt(SQLModel, table=True):
    """One try at sending an outbox row, with Twilio's sid and the furthest status seen."""

    __tablename__ = "send_attempt"
    __table_args__ = (sa.UniqueConstraint("outbox_id", "number", name="uq_send_attempt"),)

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox_message.id", index=True)
    number: int = Field(description="1 for the first try")
    twilio_sid: str | None = Field(default=None, max_length=64, unique=True)
    # "claimed" (no request yet), "requesting" (a request may have left), "unknown"
    # (it left and no answer came back), "abandoned", then Twilio's own status words.
    status: str = Field(default="claimed", max_length=20)
    error_code: int | None = Field(default=None)
    answered_by: str = Field(default="", max_length=20)
    started_at: datetime = created_at_field()
    requested_at: datetime | None = timestamp_field()
    finished_at: datetime | None = timestamp_field()
