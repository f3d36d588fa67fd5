"""The data model. Import tables from here: `from bot.models import Case, Person`."""

from sqlmodel import SQLModel

from .api import ApiCall, ApiToken
from .audit import Disclosure, ErasedRecord, Interaction, Recording, SequenceCounter
from .cases import Case, CaseUpdate, FeedbackAnswer
from .imports import ImportBaseline
from .inbound import InboundEvent, OptOut, PinGuard
from .messaging import ConversationState, OutboxMessage, SendAttempt
from .org import Team, Worker
from .people import CommunicationNeeds, Person, PersonPhone, Representative
from .staff import CaseView, StaffAccount, StaffAction, StaffSession
from .types import (
    ActionStatus,
    ActionUrgency,
    Authority,
    Channel,
    ConsentScope,
    Direction,
    LineType,
    MspAchieved,
    MspAsked,
    OutboxStatus,
    RespondentKind,
    RiskResult,
    Stage,
    UTCDateTime,
    utcnow,
)

metadata = SQLModel.metadata

__all__ = [
    "ActionStatus", "ActionUrgency", "ApiCall", "ApiToken", "Authority", "Case", "CaseUpdate",
    "CaseView", "Channel", "CommunicationNeeds", "ConsentScope", "ConversationState", "Direction",
    "Disclosure", "ErasedRecord", "FeedbackAnswer", "ImportBaseline", "InboundEvent",
    "Interaction", "LineType",
    "MspAchieved", "MspAsked", "OptOut", "OutboxMessage", "OutboxStatus", "Person", "PersonPhone",
    "PinGuard", "Recording", "Representative", "RespondentKind", "RiskResult", "SendAttempt",
    "SequenceCounter",
    "StaffAccount", "StaffAction", "StaffSession", "Stage", "Team", "UTCDateTime", "Worker",
    "metadata", "utcnow",
]
