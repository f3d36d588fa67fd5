"""The REST API's tokens and the audit of every call made with one."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import created_at_field, timestamp_field


class ApiToken(SQLModel, table=True):
    """A token for the case system (or the staff pages): only its hash is kept.

    The token reads `cl_<prefix>_<secret>`; `prefix` finds the row, the SHA-256 of the
    whole token is compared (a random 256-bit secret needs no slow hash). `scopes` is a
    sorted list of read, write, timeline, messages, actions, admin; `team_id` limits the
    token to one team's workers, people and cases.
    """

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True)
    prefix: str = Field(max_length=16, unique=True, index=True)
    token_hash: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON(), nullable=False))
    team_id: int | None = Field(default=None, foreign_key="team.id")
    created_by: str = Field(default="", max_length=200)
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = timestamp_field()
    last_used_at: datetime | None = timestamp_field()


class ApiCall(SQLModel, table=True):
    """One call to the API: which token, what, when, and how it ended (no bodies kept)."""

    __tablename__ = "api_call"

    id: int | None = Field(default=None, primary_key=True)
    token_id: int | None = Field(default=None, foreign_key="api_token.id", index=True)
    method: str = Field(max_length=8)
    path: str = Field(max_length=300)
    status: int
    subject: str = Field(default="", max_length=120, description="e.g. case C-1")
    created_at: datetime = created_at_field()
