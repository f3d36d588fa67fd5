"""The API's request and response bodies, as pydantic models (the OpenAPI description).

An upsert body has exactly the fields a file import has (`bot.importer.kinds.SPECS`), each
typed from its converter, so the API, the importer and the CLI can never disagree about
what a field is: one list, one set of checks. Scalars are strict (a number is not a
string, a string is not a true/false), so nothing the description forbids is accepted.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    create_model,
    model_validator,
)

from bot.importer import values as conv
from bot.importer.kinds import SINGULAR, SPECS, Spec
from bot.phones import normalise as phone

DATE = Annotated[StrictStr, Field(pattern=r"^\d{4}-\d{2}-\d{2}$",
                                  json_schema_extra={"format": "date"})]
DATETIME = Annotated[StrictStr, Field(
    pattern=r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$",
    description="ISO 8601; without an offset, the line's local time")]
CLOCK = Annotated[StrictStr, Field(pattern=r"^\d{1,2}:\d{2}$", description="HH:MM, local")]
PHONE = Annotated[StrictStr, Field(min_length=1, max_length=40,
                                   description="a UK number, any usual way of writing it")]
PIN = Annotated[StrictStr, Field(pattern=r"^\d{4,6}$", description="write-only; never returned")]


class Body(BaseModel):
    """A request body: no field the description lacks, and text that is text (JSON can
    carry NUL or half a UTF-16 pair, which no database can store)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _whole_characters(cls, data: Any) -> Any:
        def check(value: Any) -> None:
            if isinstance(value, str) and any(
                    0xD800 <= ord(c) <= 0xDFFF or (ord(c) < 32 and c not in "\t\n\r")
                    for c in value):
                raise ValueError("text holds a control character (such as NUL) or half of a"
                                 " character (a lone UTF-16 surrogate): remove it")
            for item in value.values() if isinstance(value, dict) else \
                    value if isinstance(value, list) else ():
                check(item)
        check(data)
        return data


def _scalar(spec: Spec) -> Any:
    """The JSON type of one value of a field, from its converter."""
    convert = spec.convert
    if convert is conv.parse_bool:
        return StrictBool
    if convert is conv.parse_date:
        return DATE
    if convert is conv.parse_datetime:
        return DATETIME
    if convert is conv.parse_time:
        return CLOCK
    if convert is phone:
        return PHONE
    if convert is conv.parse_day:
        return Literal[conv.DAYS]  # type: ignore[valid-type]
    if getattr(convert, "choices", None):
        return Literal[convert.choices]  # type: ignore[valid-type]
    if getattr(convert, "bounds", None):
        low, high = convert.bounds
        return Annotated[StrictInt, Field(ge=low, le=high)]
    if getattr(convert, "max_length", None):
        return Annotated[StrictStr, Field(max_length=convert.max_length)]
    if convert.__name__ == "validate_pin":
        return PIN
    return StrictStr  # e-mail or phone (manager_contact), a language code: checked after


def _field_type(spec: Spec) -> Any:
    one = _scalar(spec)
    return list[one] if spec.many else one


def _upsert_model(kind: str) -> type[BaseModel]:
    """`PUT /api/v1/<kind>/{ref}`'s body: required fields required, the rest optional
    (absent: left as it is; null: cleared to its default), no others."""
    fields: dict[str, Any] = {}
    for name, spec in SPECS[kind].items():
        if name == "ref":
            fields[name] = (StrictStr | None, Field(None, description="the ref in the path"))
        elif spec.required:
            fields[name] = (_field_type(spec), ...)
        else:
            fields[name] = (_field_type(spec) | None, None)
    model = create_model(f"{SINGULAR[kind].capitalize()}Upsert", __base__=Body, **fields)
    model.__doc__ = (f"A {SINGULAR[kind]} as the case system holds it. Fields left out stay "
                     "as they are; null clears one.")
    return model


UPSERT = {kind: _upsert_model(kind) for kind in SPECS}
TeamUpsert, WorkerUpsert, PersonUpsert = UPSERT["teams"], UPSERT["workers"], UPSERT["people"]
RepresentativeUpsert, CaseUpsert = UPSERT["representatives"], UPSERT["cases"]


class Strict(Body):
    """A body or a query of this API's own (not a record's)."""


# ---- what the API returns ------------------------------------------------------------

class TeamOut(BaseModel):
    ref: str
    name: str
    duty_number: str
    out_of_hours_number: str
    office_days: list[str]
    office_opens: str
    office_closes: str
    manager_name: str
    manager_contact: str


class WorkerOut(BaseModel):
    ref: str
    first_name: str
    last_name: str
    direct_number: str
    team: str
    away_until: date | None
    cover: str | None


class PersonOut(BaseModel):
    ref: str
    first_name: str
    last_name: str
    phones: list[str]
    has_pin: bool
    language: str
    ais_contact_method: str
    ais_information_format: str
    ais_communication_support: str
    ais_communication_professional: str
    speech_rate: int
    extra_time: bool
    uses_relay: bool
    contact_window_start: str
    contact_window_end: str
    discreet: bool
    no_phone_calls: bool
    contact_via_representative: bool
    contact_paused_until: date | None
    deceased: bool


class RepresentativeOut(BaseModel):
    ref: str
    person: str
    first_name: str
    last_name: str
    relationship: str
    number: str
    has_pin: bool
    language: str
    consent: list[str]
    authority: str
    consent_recorded_by: str
    consent_recorded_at: datetime | None
    contact_window_start: str
    contact_window_end: str


class CaseOut(BaseModel):
    ref: str
    person: str
    worker: str
    team: str
    stage: str
    latest_news: str
    news_date: datetime | None
    next_contact_by: date | None
    desired_outcome: str
    withhold_details: bool
    discreet: bool = Field(description="the person's: texts carry no case detail")
    check_in_every_days: int
    opened_at: datetime
    closed_at: datetime | None
    reopened_at: datetime | None
    closure_summary: str
    msp_asked: str | None
    msp_achieved: str | None
    risk_result: str | None


def page_of(item: type[BaseModel]) -> type[BaseModel]:
    return create_model(f"{item.__name__.removesuffix('Out')}Page",
                        items=(list[item], ...),
                        next_cursor=(str | None, Field(
                            None, description="pass as ?cursor= for the next page; null at "
                                              "the end")))


class Ref(BaseModel):
    ref: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
                     description="the case system's reference (letters, digits, . _ : -)")


class RecordingPath(BaseModel):
    recording_id: int = Field(ge=1, le=2**31 - 1, description="a timeline entry's recording")


class PageQuery(Strict):
    cursor: str | None = Field(None, max_length=40, description="from next_cursor")
    limit: int = Field(50, ge=1, le=500)


# ---- changing a case, the action queue, the timeline -------------------------------------

class NewsIn(Strict):
    text: StrictStr = Field(min_length=1, max_length=600,
                            description="plain words, read out and texted to those allowed")
    next_contact_by: DATE | None = None


class CloseIn(Strict):
    summary: StrictStr = Field(min_length=1, max_length=600,
                               description="what happened, as the person will hear it")
    outcomes: Literal["fully", "partially", "not-achieved", "none-expressed", "not-asked",
                      "dont-know", "not-recorded"] = Field(
        description="SG4a: were outcomes asked for, and achieved")
    risk: Literal["remained", "reduced", "removed"]


class WorkerChangeIn(Strict):
    worker: StrictStr = Field(min_length=1, max_length=64, description="the new worker's ref")


class PauseIn(Strict):
    until: DATE = Field(description="the last day of the pause, inclusive")


class NoteIn(Strict):
    text: StrictStr = Field(min_length=1, max_length=2000)


class ActionOut(BaseModel):
    id: int
    kind: str
    urgency: str
    status: str
    summary: str
    case: str | None
    worker: str | None
    team: str | None
    created_at: datetime
    waited_minutes: int
    done_at: datetime | None
    done_by: str


class ActionQuery(Strict):
    team: str | None = Field(None, max_length=64)
    worker: str | None = Field(None, max_length=64)
    urgency: Literal["normal", "urgent"] | None = None
    kind: str | None = Field(None, max_length=40)
    status: Literal["open", "done"] | None = "open"
    unassigned: bool = False
    cursor: str | None = Field(None, max_length=40)
    limit: int = Field(50, ge=1, le=500)


class ActionId(BaseModel):
    id: int = Field(ge=1, le=2**31 - 1)


class AssignIn(Strict):
    worker: StrictStr = Field(min_length=1, max_length=64)


class DoneIn(Strict):
    note: StrictStr = Field(min_length=1, max_length=2000, description="what was done")


class TimelineEntry(BaseModel):
    seq: int = Field(description="the cursor: ask for since=<the last seq you have>")
    at: datetime
    case: str
    kind: str
    what: str
    channel: str | None
    direction: str
    who: str
    twilio_sid: str | None
    summary: str
    disclosed: list[str]
    body: str | None = Field(description="words sent or left; only with the messages scope")
    withheld: bool = Field(description="true when the summary is a message this token may "
                                       "not read")
    recording: int | None = Field(default=None, description="a message left on a call: its "
                                  "audio is GET /recordings/{recording} (messages scope); "
                                  "never a Twilio link")


class TimelinePage(BaseModel):
    items: list[TimelineEntry]
    next_since: int = Field(description="pass as since= next time (no contact is skipped "
                                        "or repeated)")


class TimelineQuery(Strict):
    since: int = Field(0, ge=0, le=2**62)
    limit: int = Field(100, ge=1, le=1000)


class Done(BaseModel):
    ok: bool = True


class ErasureIn(Strict):
    reason: StrictStr = Field(min_length=1, max_length=500, description="why, for the audit "
                              "(e.g. 'retention period ended')")
    early: bool = Field(False, description="erase within the retention period (an erasure "
                        "request the council has agreed)")


class ErasureOut(BaseModel):
    ref: str = Field(description="the person erased")
    cases: list[str] = Field(description="their cases, kept as SG4a statistics only")
    removed: dict[str, int] = Field(description="rows removed, by what they were")
