"""The data model. Import tables from here: `from bot.models import Case, Person`."""

from sqlmodel import SQLModel

from .audit import Disclosure, Interaction
from .cases import Case, CaseUpdate, FeedbackAnswer
from .imports import ImportBaseline
from .inbound import InboundEvent, OptOut, PinGuard
from .messaging import ConversationState, OutboxMessage, SendAttempt
from .org import Team, Worker
from .people import CommunicationNeeds, Person, PersonPhone, Representative
from .staff import StaffAction
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
    "ActionStatus", "ActionUrgency", "Authority", "Case", "CaseUpdate", "Channel",
    "CommunicationNeeds", "ConsentScope", "ConversationState", "Direction", "Disclosure",
    "FeedbackAnswer", "ImportBaseline", "InboundEvent", "Interaction", "LineType",
    "MspAchieved", "MspAsked",
    "OptOut", "OutboxMessage", "OutboxStatus", "Person", "PersonPhone", "PinGuard",
    "Representative",
    "RespondentKind", "RiskResult", "SendAttempt", "StaffAction", "Stage", "Team",
    "UTCDateTime", "Worker", "metadata", "utcnow",
]
