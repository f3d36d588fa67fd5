"""Named actions: the Python a flow may run, registered by name; the only door to data.

Each action reads the conversation's values, calls the `Context`, stores results under the
names it declares in `sets`, and adds effects. The loader rejects unknown actions and arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import effects as fx
from . import settings
from .context import Identity, PinResult, Verified
from .disclosure import filter_case, may_from_fields
from .forms import as_date, either


@dataclass
class ActionCall:
    """What an action sees: the context, the conversation's values, its arguments."""

    ctx: object
    values: dict
    scratch: dict  # this turn only (a PIN typed); never stored
    args: dict
    effects: list = field(default_factory=list)
    state: object = None  # the conversation's State: `verified` lives there

    @property
    def pin_typed(self) -> bool:
        """A PIN came with this very text: it is checked, never skipped."""
        return bool(self.scratch.get(PIN_TYPED))

    @property
    def language(self) -> str:
        """The conversation's language: the caller's choice (9), else the context's."""
        return getattr(self.state, "language", None) or self.ctx.language

    @property
    def who(self) -> Verified | None:
        data = self.values.get("_who")
        return Verified(**data) if data else None


@dataclass(frozen=True)
class ActionSpec:
    name: str
    run: Callable[[ActionCall], None]
    args: dict[str, tuple | None]  # name -> allowed values (None: any text)
    required: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    doc: str = ""


REGISTRY: dict[str, ActionSpec] = {}


def action(name: str, *, args=None, required=(), sets=()):
    """Register an action under `name`."""

    def wrap(fn):
        REGISTRY[name] = ActionSpec(name, fn, dict(args or {}), tuple(required), tuple(sets),
                                    (fn.__doc__ or "").strip())
        return fn

    return wrap


PIN_TYPED = "_pin_typed"  # scratch key: the turn's text was a PIN, given where none was asked
URGENCY = (fx.NORMAL, fx.HIGH, fx.URGENT)
FEEDBACK = {
    "outcome": {"fully": "Fully Achieved", "partly": "Partially Achieved", "not": "Not Achieved"},
    "listened": {"yes": "yes", "partly": "partly", "no": "no"},
}


def caller_values(identity: Identity, who: Verified | None = None, locked: bool = False) -> dict:
    """The `caller` object templates see. Before verification it says nothing about a case."""
    return {
        "known": bool(identity.candidates), "verified": who is not None, "locked": locked,
        "unknown": who is None, "kind": who.kind if who else "unknown",
        "is_person": bool(who and who.kind == "person"),
        "is_representative": bool(who and who.kind == "representative"),
        "first_name": who.first_name if who else "",
        "relationship": who.relationship if who else "",
        "can_text": bool(who and who.text_number),
        "has_number": bool(identity.number or (who and who.callback_number)),
        "number_is_mobile": identity.number_is_mobile, "opted_out": identity.opted_out,
    }


def choice_values(choices: tuple[Verified, ...] = (), language: str = "en") -> dict:
    """The `choice` object: the cases a PIN fits at this number, named by whom they are about.

    Only built after a PIN matched, so the names may be said. More than
    `settings.MAX_CASE_CHOICES` cases, or a case that cannot be named, is `too_many`: the
    caller is asked to speak to a person and no names are kept.
    """
    names = [c.about for c in choices]
    count = len(choices)
    too_many = count > 1 and (count > settings.MAX_CASE_CHOICES or not all(names))
    shown = [] if too_many else names
    out = {"several": count > 1, "too_many": too_many, "count": count,
           "names": either(shown, language) if count > 1 else ""}
    for i in range(1, settings.MAX_CASE_CHOICES + 1):
        out[f"name_{i}"] = shown[i - 1] if i <= len(shown) else ""
    return out


def last_values(data: dict | None = None) -> dict:
    """The `last` object: the caller's own last contact, or empty values when there is none."""
    out = {"kind": "", "date": None, "passed_to": "", "seen": False, **(data or {})}
    # A flow in another language says the duty team in its own words ("y tîm dyletswydd").
    out["to_duty"] = out["passed_to"] == settings.DUTY_TEAM_NAME
    return out


def _as_data(who: Verified) -> dict:
    return {k: getattr(who, k) for k in Verified.__dataclass_fields__}


def _identity(call: ActionCall) -> Identity:
    data = call.values.get("_identity") or {"number": call.ctx.caller_number}
    return Identity(number=data.get("number"), candidates=tuple(data.get("candidates", ())),
                    number_is_mobile=bool(data.get("number_is_mobile")),
                    opted_out=bool(data.get("opted_out")))


def _store_identity(call: ActionCall, identity: Identity) -> None:
    call.values["_identity"] = {"number": identity.number, "candidates": list(identity.candidates),
                                "number_is_mobile": identity.number_is_mobile,
                                "opted_out": identity.opted_out}


@action("identify_caller", sets=("caller",))
def identify_caller(call: ActionCall) -> None:
    """Look the number up. Nothing about a case is known to the flow until a PIN is checked:
    in this conversation, now or earlier (a text's PIN holds for its window)."""
    identity = call.ctx.identify_caller()
    _store_identity(call, identity)
    call.values["caller"] = caller_values(identity)
    for key in ("_who", "_choices", "choice", "last"):
        call.values.pop(key, None)
    earlier = getattr(call.state, "verified", None)
    if earlier and not call.pin_typed:
        call.values["_who"] = earlier
        call.values["caller"] = caller_values(identity, Verified(**earlier))


@action("identify_recipient", sets=("caller",))
def identify_recipient(call: ActionCall) -> None:
    """Outbound: we chose this number from the file. A text may go on; a call must verify."""
    identify_caller(call)
    who = call.ctx.recipient()
    if who is not None and call.ctx.channel == "sms":
        call.values["_who"] = _as_data(who)
        call.values["caller"] = caller_values(_identity(call), who)


def _remember(call: ActionCall, who: Verified | None) -> None:
    if call.state is not None:
        call.state.verified = _as_data(who) if who is not None else None


def _apply_pin(call: ActionCall, result: PinResult) -> None:
    identity = _identity(call)
    call.values["pin_check"] = {"ok": result.ok, "locked": result.locked}
    call.values.pop("_choices", None)
    call.values.pop("choice", None)
    who = result.who if result.ok else None
    if result.ok and who is None and len(result.choices) == 1:
        who = result.choices[0]
    _remember(call, who)  # a wrong PIN forgets an earlier right one
    if who is not None:
        call.values["_who"] = _as_data(who)
    elif result.ok and len(result.choices) > 1:
        # The PIN fits several cases: nobody is verified until the caller says which.
        choice = choice_values(tuple(result.choices), call.language)
        call.values["choice"] = choice
        if not choice["too_many"]:
            call.values["_choices"] = [_as_data(c) for c in result.choices]
            for c in result.choices:  # the names are for saying: keep it in the audit trail
                call.effects.append(fx.Disclosed(fields=("person_first_name",),
                                                 channel=call.ctx.channel, person_id=c.id,
                                                 case_id=c.case_id))
    # A lock raises its one staff action where it is made (the line's identity checks),
    # not here, where every further try during the lock would raise another.
    call.values["caller"] = caller_values(identity, who, result.locked)


@action("check_pin", args={"answer": None}, sets=("caller", "pin_check"))
def check_pin(call: ActionCall) -> None:
    """Check the PIN just typed (`answer`, default 'pin') for the people at this number."""
    pin = str(call.scratch.pop(call.args.get("answer", "pin"), "") or "")
    result = call.ctx.check_pin(_identity(call), pin)
    # The sealed PIN is kept only while a case reference is still to come (a failed check).
    if result.ok:
        call.values.pop("_pin_token", None)
    else:
        call.values["_pin_token"] = result.token
    _apply_pin(call, result)


@action("check_reference", args={"answer": None}, sets=("caller", "pin_check"))
def check_reference(call: ActionCall) -> None:
    """Check a case reference together with the PIN typed just before it."""
    reference = str(call.values.pop(call.args.get("answer", "reference"), "") or "")
    result = call.ctx.check_reference(reference, call.values.pop("_pin_token", None))
    _apply_pin(call, result)


@action("choose_case", args={"index": tuple(range(1, settings.MAX_CASE_CHOICES + 1))},
        required=("index",), sets=("caller", "choice"))
def choose_case(call: ActionCall) -> None:
    """After a PIN that fits several cases: the caller chose case `index` (1 to 4)."""
    choices = call.values.pop("_choices", None) or []
    call.values.pop("choice", None)
    index = int(call.args["index"])
    if not 1 <= index <= len(choices):
        call.effects += call.ctx.raise_action(
            None, "flow_problem", fx.HIGH,
            f"choose_case: there is no case {index} to choose; nobody was verified.")
        return
    who = Verified(**choices[index - 1])
    _remember(call, who)
    call.values["_who"] = _as_data(who)
    call.values["caller"] = caller_values(_identity(call), who)


@action("load_last_contact", sets=("last",))
def load_last_contact(call: ActionCall) -> None:
    """The verified caller's own last message or call back request, so they need not repeat it.

    Nothing before the PIN. `last.passed_to` (a staff name) is kept only for callers who may
    know the worker on this channel; contacts older than LAST_CONTACT_MAX_DAYS are left out.
    """
    call.values["last"] = last_values()
    who = call.who
    if who is None:
        return
    last = last_contact_view(call.ctx.last_contact(who), call.ctx.now)
    if last is None:
        return
    if last["passed_to"] and not may_from_fields(
            call.ctx.allowed_fields(who, call.ctx.channel))["worker"]:
        last["passed_to"] = ""
    call.values["last"] = last_values(last)


def last_contact_view(data, now) -> dict | None:
    """Check the context's plain data; JSON-safe, or None when there is nothing to say."""
    if not isinstance(data, dict) or data.get("kind") not in ("message", "callback"):
        return None
    try:
        day = as_date(data.get("date", data.get("on")))  # "on" is accepted too
    except (TypeError, ValueError):
        return None
    if day is None or not 0 <= (now.date() - day).days <= settings.LAST_CONTACT_MAX_DAYS:
        return None
    passed_to = " ".join(str(data.get("passed_to") or "").split())
    # `seen`: a member of staff has taken it on (the queue's "take it"), so the caller can
    # hear that Sam has their message rather than only that it was passed on.
    return {"kind": data["kind"], "date": day.isoformat(), "passed_to": passed_to,
            "seen": bool(data.get("seen")) and bool(passed_to)}


@action("load_case", sets=("case", "may"))
def load_case(call: ActionCall) -> None:
    """Load the verified caller's case, keeping only the fields they may be told."""
    who = call.who
    record = call.ctx.load_case(who) if who else None
    if not record:
        call.values["case"], call.values["may"] = {}, may_from_fields(())
        return
    allowed = call.ctx.allowed_fields(who, call.ctx.channel)
    view = case_view(record, call.ctx.now, call.ctx.service())
    view["whose"] = "your" if who.kind == "person" else f"{view.get('person_first_name')}'s"
    call.values["case"] = filter_case(view, allowed)
    call.values["may"] = may_from_fields(allowed)


def case_view(record: dict, now, service) -> dict:
    """Add the fields flows read (contact, has_news, overdue) to a case record; JSON-safe."""
    view = dict(record)
    name = view.get("worker_name") or ""
    view["worker_first_name"] = name.split(" ")[0] if name else ""
    away = bool(view.get("worker_away"))
    cover = view.get("cover_name") if away else None
    view["contact_is_cover"] = bool(cover)
    view["contact_is_duty"] = away and not cover
    if cover:
        view["contact_name"], view["contact_number"] = cover, view.get("cover_number")
    elif away:
        view["contact_name"], view["contact_number"] = settings.DUTY_TEAM_NAME, service.duty_number
    else:
        view["contact_name"], view["contact_number"] = name, view.get("worker_number")
    view["contact_first_name"] = (view["contact_name"] or "").split(" ")[0]
    if view["contact_is_duty"]:
        view["contact_first_name"] = view["contact_name"]
    view["has_news"] = bool(view.get("latest_news"))
    next_contact = as_date(view.get("next_contact"))
    view["has_next_contact"] = next_contact is not None
    view["next_contact_overdue"] = bool(next_contact and next_contact < now.date())
    for key in ("next_contact", "news_date", "closed_on", "worker_back"):
        day = as_date(view.get(key))
        view[key] = day.isoformat() if day else None
    view["closed"] = bool(view.get("closed"))
    view["withheld"] = bool(view.get("withheld"))
    return view


@action("request_callback", args={"reason": None, "urgency": URGENCY}, required=("reason",))
def request_callback(call: ActionCall) -> None:
    """Ask a worker to call back on the number on file (or the calling number)."""
    call.effects += call.ctx.request_callback(call.who, call.args["reason"],
                                              call.args.get("urgency", fx.NORMAL))


@action("take_message", args={"answer": None})
def take_message(call: ActionCall) -> None:
    """Pass on the message saved as `answer` (default 'message'); it is not kept in the state."""
    value = call.values.pop(call.args.get("answer", "message"), "")
    if isinstance(value, dict):
        call.effects += call.ctx.take_message(call.who, "", value.get("url", ""),
                                              int(value.get("seconds", 0)))
    else:
        call.effects += call.ctx.take_message(call.who, str(value), "", 0)


@action("opt_out")
def opt_out(call: ActionCall) -> None:
    """Stop texts and calls to this number; staff are told when someone has a case."""
    call.effects += call.ctx.opt_out(call.who, bool(_identity(call).candidates))


@action("opt_in")
def opt_in(call: ActionCall) -> None:
    """Start texts and calls to this number again."""
    call.effects += call.ctx.opt_in(call.who)


@action("record_checkin", args={"answer": ("ok", "call_me", "unsafe")}, required=("answer",))
def record_checkin(call: ActionCall) -> None:
    """Record a check-in reply; 'unsafe' raises an urgent action, 'call_me' a call back."""
    call.effects += call.ctx.record_checkin(call.who, call.args["answer"])


@action("record_feedback",
        args={"question": tuple(FEEDBACK), "answer": ("fully", "partly", "not", "yes", "no")},
        required=("question", "answer"))
def record_feedback(call: ActionCall) -> None:
    """Record an MSP feedback answer; the outcome question uses the SG4a words."""
    question, answer = call.args["question"], call.args["answer"]
    call.effects += call.ctx.record_feedback(call.who, question,
                                             FEEDBACK[question].get(answer, answer))


@action("connect_person", args={"reason": None}, sets=("dial",))
def connect_person(call: ActionCall) -> None:
    """Put a call through to the duty line (or out of hours); in a text, ask for a call back."""
    call.effects += call.ctx.connect_person(call.who, call.args.get("reason", "asked for a person"))
    call.values["dial"] = {"answered": False, "status": "pending"}


@action("wrong_number")
def wrong_number(call: ActionCall) -> None:
    """Mark this number as not belonging to anyone we contact."""
    call.effects += call.ctx.wrong_number()


@action("raise_danger")
def raise_danger(call: ActionCall) -> None:
    """Someone may be in danger: one urgent staff action, which asks for the call back (a
    second one would split the same alarm between two people)."""
    call.effects += call.ctx.raise_action(
        call.who, "danger", fx.URGENT,
        "Said they are in danger or feel unsafe. Call them back as soon as you can.")


@action("pin_help")
def pin_help(call: ActionCall) -> None:
    """Forgotten PIN: a call back on the number on file; nothing is disclosed now."""
    call.effects += call.ctx.raise_action(
        call.who, "pin_help", fx.HIGH,
        "Forgot their PIN. Call back only on a number on file, never the number that called.")


@action("raise_action", args={"action": None, "urgency": URGENCY, "summary": None},
        required=("action", "summary"))
def raise_action(call: ActionCall) -> None:
    """Put any other item in the staff queue."""
    call.effects += call.ctx.raise_action(call.who, call.args["action"],
                                          call.args.get("urgency", fx.NORMAL),
                                          call.args["summary"])
