"""Teams and workers: who is responsible, and how to reach them."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlmodel import Field, SQLModel

from .base import created_at_field, ref_field, updated_at_field


class Team(SQLModel, table=True):
    """A safeguarding team with its duty line, office hours and manager."""

    id: int | None = Field(default=None, primary_key=True)
    ref: str = ref_field()
    name: str = Field(max_length=200)
    duty_number: str = Field(max_length=16, description="E.164; answered in office hours")
    out_of_hours_number: str = Field(
        max_length=16, description="E.164; the emergency duty team outside office hours"
    )
    # Office hours, local time (settings.timezone); UK bank holidays count as closed.
    office_days: str = Field(default="mon,tue,wed,thu,fri", max_length=40)
    office_opens: time = Field(default=time(9, 0))
    office_closes: time = Field(default=time(17, 0))
    manager_name: str = Field(default="", max_length=200)
    manager_contact: str = Field(default="", max_length=200, description="phone (E.164) or email")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Worker(SQLModel, table=True):
    """A named worker; `cover_worker_id` (or the team's duty line) answers while they are away."""

    id: int | None = Field(default=None, primary_key=True)
    ref: str = ref_field()
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    direct_number: str = Field(max_length=16, description="E.164")
    team_id: int = Field(foreign_key="team.id", index=True)
    away_until: date | None = Field(default=None, description="last day away, inclusive")
    cover_worker_id: int | None = Field(default=None, foreign_key="worker.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def is_away(self, on: date) -> bool:
        return self.away_until is not None and on <= self.away_until
