"""People whose cases are open, their numbers, needs and trusted representatives."""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import created_at_field, ref_field, timestamp_field, updated_at_field
from .types import Authority, LineType, enum_column


class CommunicationNeeds(SQLModel):
    """The Accessible Information Standard (DAPB1605) record, plus how and when to contact.

    The four AIS categories are free text as recorded by the worker (e.g. contact method
    "telephone only", information format "large print", communication support "needs
    extra time", communication professional "BSL interpreter").
    """

    ais_contact_method: str = Field(default="", max_length=200)
    ais_information_format: str = Field(default="", max_length=200)
    ais_communication_support: str = Field(default="", max_length=200)
    ais_communication_professional: str = Field(default="", max_length=200)
    language: str = Field(default="en", max_length=8, description="e.g. en, cy")
    speech_rate: int = Field(default=100, description="percent of normal; 85 is slower")
    extra_time: bool = Field(default=False, description="longer timeouts on calls")
    uses_relay: bool = Field(default=False, description="calls through Relay UK (18001)")
    contact_window_start: time = Field(default=time(10, 0), description="local time")
    contact_window_end: time = Field(default=time(19, 0), description="local time")
    discreet: bool = Field(default=False, description="texts carry no case detail")
    no_phone_calls: bool = Field(default=False, description="never call; text or representative")
    contact_via_representative: bool = Field(
        default=False, description="check-ins go to representatives with consent, not the person"
    )


class Person(CommunicationNeeds, table=True):
    """An adult whose safeguarding case is (or was) open."""

    id: int | None = Field(default=None, primary_key=True)
    ref: str = ref_field()
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    pin_hash: str | None = Field(default=None, max_length=128)
    contact_paused_until: date | None = Field(default=None)
    deceased: bool = Field(default=False)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class PersonPhone(SQLModel, table=True):
    """One of a person's numbers. Two people may share a number (a couple's landline)."""

    __tablename__ = "person_phone"
    __table_args__ = (sa.UniqueConstraint("person_id", "number", name="uq_person_phone"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    number: str = Field(max_length=16, index=True, description="E.164")
    line_type: LineType = Field(sa_column=enum_column(LineType, nullable=False))
    is_primary: bool = Field(default=False)
    created_at: datetime = created_at_field()


class Representative(SQLModel, table=True):
    """A relative, friend, attorney or advocate who may be told what their scope allows."""

    id: int | None = Field(default=None, primary_key=True)
    ref: str = ref_field()
    person_id: int = Field(foreign_key="person.id", index=True)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    relationship: str = Field(max_length=100, description="e.g. daughter, friend")
    number: str = Field(max_length=16, index=True, description="E.164")
    line_type: LineType = Field(sa_column=enum_column(LineType, nullable=False))
    pin_hash: str | None = Field(default=None, max_length=128)
    language: str = Field(default="en", max_length=8)
    # When we may start contact with them (local time): a relative at work may want evenings.
    contact_window_start: time = Field(default=time(10, 0), description="local time")
    contact_window_end: time = Field(default=time(19, 0), description="local time")
    # Sorted list of ConsentScope values; kept as JSON so a scope can be added without a migration.
    consent_scopes: list[str] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON(), nullable=False)
    )
    authority: Authority = Field(
        default=Authority.NONE, sa_column=enum_column(Authority, nullable=False)
    )
    consent_recorded_by: str = Field(default="", max_length=200)
    consent_recorded_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def may_know(self, scope: str) -> bool:
        return scope in self.consent_scopes
