"""Helpers every table uses: an id, created/updated timestamps that are always UTC-aware."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from .types import UTCDateTime, utcnow


def created_at_field(*, index: bool = False) -> datetime:
    return Field(default_factory=utcnow,
                 sa_column=sa.Column(UTCDateTime(), nullable=False, index=index))


def updated_at_field(*, index: bool = False) -> datetime:
    return Field(
        default_factory=utcnow,
        sa_column=sa.Column(UTCDateTime(), nullable=False, onupdate=utcnow, index=index),
    )


def timestamp_field(*, index: bool = False) -> datetime | None:
    """An optional aware UTC timestamp."""
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True, index=index))


def ref_field() -> str:
    """The external reference from the case-management system; imports upsert on it."""
    return Field(max_length=64, unique=True, index=True)
