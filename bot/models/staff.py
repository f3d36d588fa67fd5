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
    # Seen and taken on by someone, before it is done (the queue shows who has it).
    acknowledged_at: datetime | None = timestamp_field()
    acknowledged_by: str = Field(default="", max_length=200)
    done_at: datetime | None = timestamp_field()
    done_by: str = Field(default="", max_length=200)
    # Raised to the team manager because nobody took it on in time (see records/escalation).
    escalated_at: datetime | None = timestamp_field()


class StaffAccount(SQLModel, table=True):
    """Someone who signs in to the staff pages: a password and a second factor (TOTP).

    `role` is worker (their cases and their team's queue), manager (the team), duty (every
    open urgent action) or admin (accounts, tokens, teams). A worker's account is linked to
    their Worker record, so "my cases" are the ones they answer for.
    """

    __tablename__ = "staff_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=200, unique=True, index=True)
    name: str = Field(max_length=200)
    role: str = Field(max_length=16)
    team_id: int | None = Field(default=None, foreign_key="team.id")
    worker_id: int | None = Field(default=None, foreign_key="worker.id")
    password_hash: str = Field(max_length=300)
    totp_secret: str = Field(max_length=64)
    totp_last_step: int | None = Field(default=None, description="the last code's 30 s step")
    failed_signins: int = Field(default=0)
    locked_until: datetime | None = timestamp_field()
    disabled_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class StaffSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, this row its hash."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="staff_account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    last_seen_at: datetime = created_at_field()
    ended_at: datetime | None = timestamp_field()


class CaseView(SQLModel, table=True):
    """Who opened which case's page, when, and whether they were let in (need to know)."""

    __tablename__ = "case_view"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="staff_account.id", index=True)
    case_id: int = Field(foreign_key="safeguarding_case.id", index=True)
    allowed: bool
    created_at: datetime = created_at_field()
