"""The staff action queue: every failure to reach someone, every request, every alarm."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import created_at_field, timestamp_field
from .types import ActionStatus, ActionUrgency, enum_column


class StaffAction(SQLModel, table=True):
    """Something a person on the team must do or look at.

    `dedupe_key` makes sweeps idempotent: the same reason raises one open action.
    """

    __tablename__ = "staff_action"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40, index=True, description="e.g. call_back, unsafe, lockout")
    urgency: ActionUrgency = Field(
        default=ActionUrgency.NORMAL, sa_column=enum_column(ActionUrgency, nullable=False)
    )
    status: ActionStatus = Field(
        default=ActionStatus.OPEN, sa_column=enum_column(ActionStatus, nullable=False, index=True)
    )
    summary: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    case_id: int | None = Field(default=None, foreign_key="safeguarding_case.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    worker_id: int | None = Field(default=None, foreign_key="worker.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id")
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    created_at: datetime = created_at_field()
    done_at: datetime | None = timestamp_field()
    done_by: str = Field(default="", max_length=200)
