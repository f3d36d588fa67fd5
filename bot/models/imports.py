"""What the case system last sent for each record, so a later import can tell its changes
from changes made here (DESIGN §9: a change made here is never silently undone)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import updated_at_field


class ImportBaseline(SQLModel, table=True):
    """The values (as JSON) the last import gave one record, field by field."""

    __tablename__ = "import_baseline"
    __table_args__ = (sa.UniqueConstraint("kind", "record_id", name="uq_import_baseline"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20, description="teams, workers, people, representatives, cases")
    record_id: int
    values: dict = Field(default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False))
    source: str = Field(default="", max_length=200, description="the file (or API) it came from")
    updated_at: datetime = updated_at_field()
