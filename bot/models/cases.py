"""Cases, their history of updates, and the person's own view at the end (MSP feedback)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import created_at_field, ref_field, timestamp_field, updated_at_field
from .types import MspAchieved, MspAsked, RespondentKind, RiskResult, Stage, enum_column


class Case(SQLModel, table=True):
    """A safeguarding case: its stage, latest news in plain words, and its outcome."""

    __tablename__ = "safeguarding_case"  # "case" is an SQL keyword

    id: int | None = Field(default=None, primary_key=True)
    ref: str = ref_field()
    person_id: int = Field(foreign_key="person.id", index=True)
    worker_id: int = Field(foreign_key="worker.id", index=True)
    stage: Stage = Field(default=Stage.CONCERN, sa_column=enum_column(Stage, nullable=False))
    latest_news: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    news_updated_at: datetime | None = timestamp_field()
    next_contact_by: date | None = Field(default=None, description="when they will next hear")
    desired_outcome: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    withhold_details: bool = Field(
        default=False, description="say only 'your worker will contact you' (e.g. police inquiry)"
    )
    check_in_every_days: int = Field(default=7)
    opened_at: datetime = created_at_field()
    closed_at: datetime | None = timestamp_field(index=True)
    # When the case system reopened a closed case (an import must say so to reopen one).
    reopened_at: datetime | None = timestamp_field()
    closure_summary: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    # The worker's SG4a record at closure, in the exact national categories.
    msp_asked: MspAsked | None = Field(default=None, sa_column=enum_column(MspAsked, nullable=True))
    msp_achieved: MspAchieved | None = Field(
        default=None, sa_column=enum_column(MspAchieved, nullable=True)
    )
    risk_result: RiskResult | None = Field(
        default=None, sa_column=enum_column(RiskResult, nullable=True)
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()

    @property
    def is_closed(self) -> bool:
        return self.stage == Stage.CLOSED


class CaseUpdate(SQLModel, table=True):
    """One change to a case, kept forever: news, a new worker, a pause, the closure."""

    __tablename__ = "case_update"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="safeguarding_case.id", index=True)
    kind: str = Field(max_length=32, description="news, worker, close, pause, stage, import")
    text: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    details: dict = Field(default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False))
    recorded_by: str = Field(default="", max_length=200)
    created_at: datetime = created_at_field()


class FeedbackAnswer(SQLModel, table=True):
    """The person's (or representative's) own answer to an MSP feedback question."""

    __tablename__ = "feedback_answer"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "question", "respondent_kind", "respondent_id",
                            name="uq_feedback_answer"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="safeguarding_case.id", index=True)
    question: str = Field(max_length=64, description="e.g. outcome, listened_to")
    answer: str = Field(max_length=64, description="e.g. fully, partly, not, yes, no")
    respondent_kind: RespondentKind = Field(sa_column=enum_column(RespondentKind, nullable=False))
    respondent_id: int
    channel: str = Field(max_length=8)
    created_at: datetime = created_at_field()
