"""The audit trail: every contact in or out, and every disclosure field by field."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import created_at_field, timestamp_field
from .types import Channel, Direction, enum_column


class Interaction(SQLModel, table=True):
    """One contact or event on the line, linked to whoever we know it concerns.

    `summary` is for staff (e.g. a message transcription); logs never copy it.
    """

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="safeguarding_case.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    representative_id: int | None = Field(default=None, foreign_key="representative.id")
    channel: Channel | None = Field(default=None, sa_column=enum_column(Channel, nullable=True))
    direction: Direction = Field(sa_column=enum_column(Direction, nullable=False))
    kind: str = Field(max_length=40, index=True, description="e.g. call_in, pin_failed, news")
    number: str = Field(default="", max_length=16, description="the other party's E.164")
    twilio_sid: str = Field(default="", max_length=64, index=True)
    summary: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    actor: str = Field(default="", max_length=200, description="staff member or 'system'")
    created_at: datetime = created_at_field()
    # The timeline's cursor: given in commit order by `records.timeline.sequence`, so a
    # reader asking "since N" never misses an entry committed late with a lower id.
    seq: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True,
                                                                unique=True, index=True))


class SequenceCounter(SQLModel, table=True):
    """The last number given out by a named sequence (the timeline's), one row each."""

    __tablename__ = "sequence_counter"

    name: str = Field(primary_key=True, max_length=40)
    value: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))


class Disclosure(SQLModel, table=True):
    """One field of a case told to one recipient in one interaction."""

    id: int | None = Field(default=None, primary_key=True)
    interaction_id: int = Field(foreign_key="interaction.id", index=True)
    case_id: int = Field(foreign_key="safeguarding_case.id", index=True)
    field: str = Field(max_length=32, description="a ConsentScope value, e.g. worker")
    recipient_kind: str = Field(max_length=16, description="person or representative")
    recipient_id: int
    channel: Channel = Field(sa_column=enum_column(Channel, nullable=False))
    created_at: datetime = created_at_field()


class Recording(SQLModel, table=True):
    """A message a caller left on a call: where Twilio holds it, and our own copy.

    Staff play it through our server (never Twilio's link); the copy lives in the database,
    so every web machine can serve it. Select the other columns when listing them. Once ours
    is stored, retention deletes Twilio's (`twilio_deleted_at`); ours goes with the case
    record when the person is erased."""

    id: int | None = Field(default=None, primary_key=True)
    interaction_id: int = Field(foreign_key="interaction.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="safeguarding_case.id", index=True)
    twilio_sid: str = Field(max_length=64, unique=True, description="RE…")
    twilio_url: str = Field(max_length=300, description="Twilio's Recording resource")
    seconds: int = Field(default=0)
    audio: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary(), nullable=True))
    content_type: str = Field(default="", max_length=40)
    copied_at: datetime | None = timestamp_field()
    # Twilio's copy deleted through its API (retention), once ours was stored.
    twilio_deleted_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class ErasedRecord(SQLModel, table=True):
    """A record erased here (`caseline people erase`), so a later import or API call from
    the case system, which may still hold it, does not bring it back. Only a keyed digest of
    its reference is kept (bot/records/erasures.py), never the reference itself."""

    __tablename__ = "erased_record"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20, description="people, representatives or cases")
    digest: str = Field(max_length=64, unique=True, index=True)
    erased_at: datetime = created_at_field()
