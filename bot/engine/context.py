"""The interface a caller of the engine supplies: the only door to data, time and the caller.

`Context` is a Protocol. The webhooks implement it over the database; `fake.FakeContext`
implements it over a fixture. Queries return the small dataclasses below. The "doing"
methods return effects; `EffectActions` gives the standard ones, so an implementation need
only answer the queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from . import effects as fx


@dataclass(frozen=True)
class Needs:
    """How this caller needs the call to run (from their communication-needs record)."""

    extra_time: bool = False
    relay: bool = False
    speech_rate: int = 100


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    line_number: str
    duty_number: str
    out_of_hours_number: str
    office_hours: str
    office_open: bool
    relay_prefix: str = "18001"
    today: str = ""  # the line's local date (ISO): a date that is today is said "today"
    # The name and hours in another language: {"cy": {"name": ..., "office_hours": ...}}.
    in_language: dict = field(default_factory=dict)

    def to_dict(self, language: str = "en") -> dict:
        """What templates read as `service`, the name and hours in `language` if given."""
        out = asdict(self)
        out.update(out.pop("in_language").get(language) or {})
        return out


@dataclass(frozen=True)
class Identity:
    """Who may be calling, judged by the number alone. Never enough to disclose anything."""

    number: str | None
    candidates: tuple[str, ...] = ()
    number_is_mobile: bool = False
    opted_out: bool = False


@dataclass(frozen=True)
class Verified:
    """A caller who has proved who they are (PIN, or reference and PIN)."""

    id: str
    kind: str  # "person" or "representative"
    first_name: str
    case_id: str | None
    relationship: str = ""
    callback_number: str | None = None  # the number on file
    text_number: str | None = None  # a mobile we may send case details to; None if discreet
    about: str = ""  # first name of the person the case is about (their own, for a person)
    language: str = "en"  # a person's recorded language: the call follows it after the PIN


@dataclass(frozen=True)
class PinResult:
    """The answer to a PIN (or reference and PIN) check.

    When the PIN matches records for more than one case at this number (a son who represents
    both parents), `ok` is True, `who` is None and `choices` holds one `Verified` per case, in
    the order they are offered; the flow asks which case the caller means (`choose_case`).
    """

    ok: bool
    who: Verified | None = None
    locked: bool = False
    token: str | None = None  # opaque proof of the PIN typed, for check_reference; never the PIN
    choices: tuple[Verified, ...] = ()


@runtime_checkable
class Context(Protocol):
    """Everything the engine may know or ask of the world during one turn."""

    now: datetime  # timezone aware
    channel: str  # "sms" or "voice"
    language: str  # "en", "cy", ...
    needs: Needs
    caller_number: str | None  # E.164, or None when withheld

    def identify_caller(self) -> Identity: ...
    def recipient(self) -> Verified | None: ...  # outbound: whom we texted or called
    def check_pin(self, identity: Identity, pin: str) -> PinResult: ...
    def check_reference(self, reference: str, token: str | None) -> PinResult: ...
    def allowed_fields(self, who: Verified, channel: str) -> frozenset[str]: ...
    def load_case(self, who: Verified) -> dict | None: ...
    def last_contact(self, who: Verified) -> dict | None: ...  # see EffectActions.last_contact
    # The line's numbers and hours; `who` once someone has given their PIN (their team's).
    def service(self, who: Verified | None = None) -> ServiceInfo: ...

    def request_callback(self, who: Verified | None, reason: str, urgency: str) -> list: ...
    def take_message(self, who: Verified | None, text: str, recording_url: str,
                     seconds: int) -> list: ...
    def opt_out(self, who: Verified | None, case_open: bool) -> list: ...
    def opt_in(self, who: Verified | None) -> list: ...
    def record_checkin(self, who: Verified | None, answer: str) -> list: ...
    def record_feedback(self, who: Verified | None, question: str, answer: str) -> list: ...
    def connect_person(self, who: Verified | None, reason: str) -> list: ...
    def wrong_number(self) -> list: ...
    def raise_action(self, who: Verified | None, action: str, urgency: str,
                     summary: str) -> list: ...


class EffectActions:
    """Standard 'doing' actions: each returns the effects; the outside world performs them.

    Also a default for the optional query `last_contact` (none known).
    """

    caller_number: str | None
    channel: str
    service: Callable[[], ServiceInfo]  # supplied by the implementation

    def last_contact(self, who: Verified) -> dict | None:
        """The caller's own last contact with us about this case, or None.

        Plain data: {"kind": "message" | "callback", "date": "2025-12-02" (a date or an ISO
        string; the key "on" is accepted too), "passed_to": "Sam" (whom it went to; "" if
        nobody yet)}. "callback" is a call back asked for and not yet made. The real context
        builds it from the audit trail; this default knows of none. The engine says it only
        after the PIN, names `passed_to` only to callers who may know the worker, and ignores
        contacts older than `settings.LAST_CONTACT_MAX_DAYS` or in the future.
        """
        return None

    def _ids(self, who: Verified | None) -> dict:
        if who is None:
            return {"person_id": None, "case_id": None}
        return {"person_id": who.id, "case_id": who.case_id}

    def request_callback(self, who, reason, urgency=fx.NORMAL):
        number = (who.callback_number if who else None) or self.caller_number
        return [fx.RequestCallback(number=number, reason=reason, urgency=urgency, **self._ids(who))]

    def take_message(self, who, text="", recording_url="", seconds=0):
        return [fx.RecordMessage(number=self.caller_number, text=text,
                                 recording_url=recording_url, seconds=seconds, **self._ids(who))]

    def opt_out(self, who, case_open=False):
        out: list = [fx.OptOut(number=self.caller_number, person_id=who.id if who else None)]
        if case_open or who is not None:
            out.append(fx.RaiseAction(
                action="opted_out", urgency=fx.HIGH, number=self.caller_number,
                summary="Asked us to stop texts and calls.", **self._ids(who)))
        return out

    def opt_in(self, who):
        return [fx.OptIn(number=self.caller_number, person_id=who.id if who else None)]

    def record_checkin(self, who, answer):
        out: list = [fx.RecordCheckin(answer=answer, **self._ids(who))]
        if answer == "unsafe":
            out.append(fx.RaiseAction(action="feels_unsafe", urgency=fx.URGENT,
                                      number=self.caller_number,
                                      summary="Said they feel unsafe in reply to a check-in.",
                                      **self._ids(who)))
        elif answer == "call_me":
            out.extend(self.request_callback(who, "asked for a call in reply to a check-in"))
        return out

    def record_feedback(self, who, question, answer):
        return [fx.RecordFeedback(question=question, answer=answer, **self._ids(who))]

    def connect_person(self, who, reason):
        info = self.service()
        if self.channel != "voice":
            return self.request_callback(who, reason)
        number = info.duty_number if info.office_open else info.out_of_hours_number
        return [fx.ConnectPerson(number=number, reason=reason)]

    def wrong_number(self):
        return [fx.WrongNumber(number=self.caller_number),
                fx.RaiseAction(action="wrong_number", number=self.caller_number,
                               summary="Said this is the wrong number.")]

    def raise_action(self, who, action, urgency, summary):
        return [fx.RaiseAction(action=action, urgency=urgency, summary=summary,
                               number=self.caller_number, **self._ids(who))]
