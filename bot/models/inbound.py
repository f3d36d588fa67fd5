"""Inbound texts and call steps, stored before they are processed, and PIN guards."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import created_at_field, timestamp_field, updated_at_field
from .types import Channel, enum_column


class InboundEvent(SQLModel, table=True):
    """One text or one call step as Twilio sent it, kept before anything acts on it.

    `key` is `sms:<MessageSid>` or `voice:<CallSid>:<turn>`: a Twilio retry of the same
    request finds its row and gets the stored `response` again instead of acting twice.
    """

    __tablename__ = "inbound_event"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True, index=True)
    channel: Channel = Field(sa_column=enum_column(Channel, nullable=False))
    number: str = Field(default="", max_length=32, description="From, E.164 when valid")
    params: dict = Field(default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False))
    response: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    received_at: datetime = created_at_field(index=True)  # retention deletes by age
    processed_at: datetime | None = timestamp_field()


class PinGuard(SQLModel, table=True):
    """Failed PIN checks from one calling number, and its lock.

    A lock blocks PIN checks from that number only: the person can still reach a
    person (`0`) or ask to be called back on the number on file.
    """

    __tablename__ = "pin_guard"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=64, unique=True, index=True,
                        description="E.164, or withheld:<CallSid> for a withheld number")
    failures: int = Field(default=0)
    first_failure_at: datetime | None = timestamp_field()
    locked_until: datetime | None = timestamp_field()
    # Where this window's failures came from (calling numbers, or "withheld"): a lock
    # from several numbers is someone else trying the PIN, not the person forgetting it.
    sources: list[str] = Field(default_factory=list,
                               sa_column=sa.Column(sa.JSON(), nullable=False,
                                                   server_default="[]"))
    updated_at: datetime = updated_at_field()


class OptOut(SQLModel, table=True):
    """A number that asked us to stop (STOP and Twilio's other words) or said "wrong number".

    Nothing proactive goes to it until it texts START again; staff see why.
    """

    __tablename__ = "opt_out"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=16, unique=True, index=True, description="E.164")
    reason: str = Field(max_length=20, description="stop or wrong_number")
    created_at: datetime = created_at_field()
