"""The engine's `Context` over the database: who is calling, PINs, cases, the service.

The engine asks; this answers from the database within the turn's transaction. The
"doing" actions come from `EffectActions`: they only describe effects, which
`bot.inbound.effects` then carries out in the same transaction.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.config import Settings
from bot.engine.context import EffectActions, Identity, Needs, PinResult, ServiceInfo, Verified
from bot.engine.settings import DUTY_TEAM_NAME
from bot.inbound.known import known
from bot.models import (
    Case,
    Channel,
    Direction,
    Interaction,
    OptOut,
    Person,
    PersonPhone,
    Representative,
    StaffAction,
    Stage,
    Worker,
)
from bot.phones import is_mobile, line_type
from bot.pins import open_pin, seal_pin
from bot.records.audit import record_interaction
from bot.records.staff_actions import responsible_for

from . import identity as ident
from .disclosure import allowed_fields as decide_fields
from .office_hours import describe_hours, is_office_open
from .teams import answering_team

# A worker's return is said only when it is this close: a date months ahead is not news.
AWAY_BACK_MAX_DAYS = 60

PRE_PIN_NEEDS = Needs(extra_time=True, relay=False, speech_rate=90)


def parse_id(who_id: str | None) -> tuple[str, int] | None:
    """'person:12' -> ('person', 12); anything else -> None."""
    kind, _, number = (who_id or "").partition(":")
    if kind in ("person", "representative") and number.isdigit():
        return kind, int(number)
    return None


# Built once (turns ask these again and again), the values bound at each call.
_OPTED_OUT = select(OptOut).where(OptOut.number == sa.bindparam("number"))
_NUMBERS_OF = (select(PersonPhone).where(PersonPhone.person_id == sa.bindparam("person_id"))
               .order_by(PersonPhone.is_primary.desc(), PersonPhone.id))
_CASES_OF = (select(Case).where(Case.person_id == sa.bindparam("person_id"))
             .order_by(Case.opened_at.desc(), Case.id.desc()))
_LAST_CONTACT = {  # by whether it is a person's (else a representative's)
    is_person: select(Interaction).where(
        (Interaction.person_id if is_person else Interaction.representative_id)
        == sa.bindparam("id"), Interaction.kind.in_(("message_left", "callback_request")))
    .order_by(Interaction.created_at.desc(), Interaction.id.desc())
    for is_person in (True, False)}


class LineContext(EffectActions):
    """One turn's view of the world for the engine."""

    def __init__(self, session: Session, settings: Settings, *, channel: str, now: datetime,
                 caller_number: str | None, conversation_key: str,
                 recipient_id: str | None = None, verified_id: str | None = None):
        self.session, self.settings = session, settings
        self.channel, self.now = channel, now
        self.caller_number = caller_number
        self.conversation_key = conversation_key  # guards PINs from a withheld number
        self.recipient_id = recipient_id
        self.verified_id = verified_id  # who proved themselves earlier in this conversation
        # The session's identity map holds records weakly: what one turn reads is held
        # here, so reading it again in the same turn is not another query.
        self._held: list = []
        self._cases: dict[int, Case | None] = {}
        self._services: dict[str | None, ServiceInfo] = {}
        self._mobile: dict[str, bool] = {}
        self._candidates = ident.candidates_for_number(session, caller_number, keep=self._held)
        verified = self._verified_person()
        # Before the PIN the line's own language (the caller may choose another at the
        # greeting); never the calling number's, which would hint it is on our files.
        speaker = verified or self._recipient_person()
        self.language = (speaker.language if speaker else "en") or "en"
        # Before the PIN every caller gets the same generous speed and time to answer: a
        # slower voice for a number on file would tell a caller the number is on our files.
        self.needs = PRE_PIN_NEEDS if verified is None else Needs(
            extra_time=bool(verified.extra_time), relay=bool(verified.uses_relay),
            speech_rate=verified.speech_rate)

    def _get(self, model, record_id):
        record = self.session.get(model, record_id)
        if record is not None:
            self._held.append(record)
        return record

    # ---- who is calling ------------------------------------------------------------------
    def _verified_person(self) -> Person | None:
        """The person whose needs shape the call once someone has proved who they are
        (from a care home's phone the number alone says nothing)."""
        parsed = parse_id(self.verified_id)
        if parsed is None:
            return None
        kind, record_id = parsed
        if kind == "representative":
            return None  # a representative's own needs are not recorded
        return self._get(Person, record_id)

    def _recipient_person(self) -> Person | None:
        """The person we texted or called ourselves: we chose them, so their language is
        no hint to anyone."""
        parsed = parse_id(self.recipient_id)
        if parsed is None or parsed[0] != "person":
            return None
        return self._get(Person, parsed[1])

    def identify_caller(self) -> Identity:
        number = self.caller_number
        memo = known(self.session)
        opted_out = bool(number and (number in memo.opted_out if memo is not None else
                                     self.session.exec(_OPTED_OUT, params={
                                         "number": number}).first()))
        return Identity(number=number,
                        candidates=tuple(f"{c.kind}:{c.id}" for c in self._candidates),
                        number_is_mobile=bool(number and self._is_mobile(number)),
                        opted_out=opted_out)

    def recipient(self) -> Verified | None:
        parsed = parse_id(self.recipient_id)
        return self._verified(*parsed) if parsed else None

    def check_pin(self, identity: Identity, pin: str) -> PinResult:
        token = self._seal(pin)
        candidates = self._number_candidates(identity)
        result = ident.check_pin(self.session, guard_keys=[self._guard_key()],
                                 candidates=candidates, pin=pin, **self._pin_rules())
        if not result.ok:
            self._pin_failed(candidates, result.locked)
        return self._result(result, token)

    # ---- the timeline: staff see every contact, even one that proved nothing -------------
    def timeline_subject(self, verified_id: str | None = None) -> dict:
        """Whose timeline this contact goes on: whoever proved themselves, whom we called,
        or the one person or representative the number belongs to (staff only ever see it;
        the caller is told nothing by it). Several at the number, or none: no one's."""
        parsed = parse_id(verified_id or self.verified_id or self.recipient_id)
        if parsed is None and len(self._candidates) == 1:
            parsed = (self._candidates[0].kind, self._candidates[0].id)
        return self._subject_ids(*parsed) if parsed else {}

    def _subject_ids(self, kind: str, record_id: int) -> dict:
        rep = self._get(Representative, record_id) if kind == "representative" else None
        person_id = rep.person_id if rep else record_id
        case = self._case_of(person_id)  # the case the caller is told about, read once a turn
        return {"person_id": person_id, "representative_id": rep.id if rep else None,
                "case_id": case.id if case else None}

    def _pin_failed(self, candidates: list, locked: bool) -> None:
        """A PIN that did not match, on the timeline of each holder it was tried on."""
        for candidate in candidates:
            record_interaction(self.session, kind="pin_failed", direction=Direction.INBOUND,
                               channel=Channel(self.channel), number=self.caller_number or "",
                               twilio_sid=self.conversation_key[:64],
                               summary="the number is locked for now" if locked else "",
                               actor="caller", **self._subject_ids(candidate.kind,
                                                                   candidate.id))

    def check_reference(self, reference: str, token: str | None) -> PinResult:
        pin = open_pin(token, self.settings.pin_key, now=self.now.timestamp()) or ""
        ref = "".join((reference or "").split()).upper()
        # This PIN was already counted against the calling number (and whoever is on file
        # at it) by check_pin: count it against the case reference and each other holder
        # on the case, but respect the number's lock.
        if ident.is_locked(self.session, self._guard_key(), self.now):
            return PinResult(ok=False, locked=True)
        candidates = ident.candidates_for_case(self.session, ref)
        result = ident.check_pin(self.session, guard_keys=[f"{ident.REFERENCE}{ref or '-'}"],
                                 candidates=candidates, pin=pin,
                                 counted=tuple(self._number_candidates(self.identify_caller())),
                                 **self._pin_rules())
        return self._result(result, None)

    def _number_candidates(self, identity: Identity) -> list[ident.Candidate]:
        return [c for c in self._candidates if f"{c.kind}:{c.id}" in set(identity.candidates)]

    def _pin_rules(self) -> dict:
        s = self.settings
        return dict(key=s.pin_key, now=self.now, max_attempts=s.pin_max_attempts,
                    lock_minutes=s.pin_lock_minutes, source=self.caller_number or "withheld")

    def _guard_key(self) -> str:
        return self.caller_number or f"withheld:{self.conversation_key}"

    def _seal(self, pin: str) -> str | None:
        try:
            return seal_pin(pin, self.settings.pin_key, now=self.now.timestamp(),
                            nonce=secrets.token_hex(8))
        except ValueError:
            return None  # not a PIN at all: nothing to carry to the reference check

    def _result(self, result: ident.PinCheck, token: str | None) -> PinResult:
        if not result.ok:
            return PinResult(ok=False, locked=result.locked, token=token)
        verified = [v for m in result.matches if (v := self._verified(m.kind, m.id))]
        by_case = {v.case_id: v for v in verified}  # one choice per case
        if len(by_case) > 1:  # e.g. a son who represents both his parents, with one PIN
            return PinResult(ok=True, who=None, choices=tuple(by_case.values()), token=token)
        return PinResult(ok=True, who=verified[0] if verified else None, token=token)

    def _verified(self, kind: str, record_id: int) -> Verified | None:
        if kind == "person":
            person = self._get(Person, record_id)
            if person is None:
                return None
            case = self._case_of(person.id)
            numbers = self._numbers(person.id)
            mobile = next((n for n in numbers if self._is_mobile(n)), None)
            return Verified(id=f"person:{person.id}", kind="person",
                            first_name=person.first_name, about=person.first_name,
                            language=person.language or "en",
                            case_id=str(case.id) if case else None,
                            callback_number=numbers[0] if numbers else None,
                            text_number=None if person.discreet else mobile)
        rep = self._get(Representative, record_id)
        if rep is None:
            return None
        case = self._case_of(rep.person_id)
        about = self._get(Person, rep.person_id).first_name
        return Verified(id=f"representative:{rep.id}", kind="representative",
                        first_name=rep.first_name, about=about,
                        case_id=str(case.id) if case else None,
                        relationship=rep.relationship, callback_number=rep.number,
                        text_number=rep.number if self._is_mobile(rep.number) else None)

    def _is_mobile(self, number: str) -> bool:
        """Whether a number takes texts, worked out once a turn (or, in a sweep, once a
        chunk): telling it means parsing the number, and a turn asks several times."""
        memo = known(self.session)
        seen = memo.mobile if memo is not None else self._mobile
        if number not in seen:
            seen[number] = is_mobile(number)
        return seen[number]

    def _numbers(self, person_id: int) -> list[str]:
        memo = known(self.session)
        if memo is not None and person_id in memo.phones:
            return [p.number for p in memo.phones[person_id]]
        rows = self.session.exec(_NUMBERS_OF, params={"person_id": person_id}).all()
        return [r.number for r in rows]

    def _case_of(self, person_id: int) -> Case | None:
        """The person's open case, else their most recently closed one."""
        memo = known(self.session)
        if memo is not None and person_id in memo.cases:  # a sweep read them already
            return memo.cases[person_id]
        if person_id not in self._cases:
            cases = self.session.exec(_CASES_OF, params={"person_id": person_id}).all()
            self._held.extend(cases)
            self._cases[person_id] = next((c for c in cases if not c.is_closed),
                                          cases[0] if cases else None)
        return self._cases[person_id]

    def opt_out(self, who: Verified | None, case_open: bool = False) -> list:
        """STOP may come before anyone is identified: staff are told if anyone at this
        number (a person or a representative) is linked to an open case."""
        for candidate in self._candidates if who is None else ():
            case = self._case_of(candidate.person_id)
            if case is not None and not case.is_closed:
                who, case_open = self._verified(candidate.kind, candidate.id), True
                break
        return super().opt_out(who, case_open)

    # ---- what may be told ------------------------------------------------------------------
    def allowed_fields(self, who: Verified, channel: str) -> frozenset[str]:
        case, person, rep = self._records(who)
        if case is None:
            return frozenset()
        return decide_fields(case, person, rep, channel)

    def _records(self, who: Verified):
        parsed = parse_id(who.id)
        if parsed is None or not who.case_id:
            return None, None, None
        case = self._get(Case, int(who.case_id))
        person = self._get(Person, case.person_id) if case else None
        rep = self._get(Representative, parsed[1]) if parsed[0] == "representative" \
            else None
        return case, person, rep

    def load_case(self, who: Verified) -> dict | None:
        case, person, _rep = self._records(who)
        if case is None:
            return None
        worker = self._get(Worker, case.worker_id)
        today = self.now.astimezone(self.settings.tz).date()
        # One place decides who answers for the case today (the worker, their cover, or the
        # duty team): the same that routes the staff actions this caller may raise.
        answering, _team = responsible_for(self.session, case, today)
        away = answering is None or answering.id != worker.id
        cover = answering if away else None
        back = worker.away_until + timedelta(days=1) if away and worker.away_until else None
        if back and (back - today).days > AWAY_BACK_MAX_DAYS:
            back = None  # too far ahead to be a return date worth saying
        return {
            "person_first_name": person.first_name,
            "withheld": case.withhold_details,
            "closed": case.stage == Stage.CLOSED,
            "stage": case.stage.value,
            "worker_back": back.isoformat() if back else None,
            "latest_news": case.latest_news,
            "news_date": _local_date(case.news_updated_at, self.settings),
            "worker_name": worker.full_name, "worker_number": worker.direct_number,
            "worker_away": away,
            "cover_name": cover.full_name if cover else None,
            "cover_number": cover.direct_number if cover else None,
            "next_contact": case.next_contact_by.isoformat() if case.next_contact_by else None,
            "closed_on": _local_date(case.closed_at, self.settings),
            "outcome_words": case.closure_summary,
        }

    def last_contact(self, who: Verified) -> dict | None:
        """What this caller asked for last time, so nobody has to repeat their story."""
        parsed = parse_id(who.id)
        if parsed is None:
            return None
        last = self.session.exec(_LAST_CONTACT[parsed[0] == "person"],
                                 params={"id": parsed[1]}).first()
        if last is None:
            return None
        kind = "message" if last.kind == "message_left" else "callback"
        passed_to, seen = self._passed_to(last, "message" if kind == "message"
                                          else "call_back")
        return {"kind": kind, "date": _local_date(last.created_at, self.settings),
                "passed_to": passed_to, "seen": seen}

    def _passed_to(self, contact: Interaction, action_kind: str) -> tuple[str, bool]:
        """Whom the staff action raised with this contact went to (the cover, if the
        worker was away then): a first name, or the duty team when nobody by name; and
        whether they have taken it on (acknowledged it on the queue)."""
        action = self.session.exec(
            select(StaffAction).where(StaffAction.case_id == contact.case_id,
                                      StaffAction.kind == action_kind,
                                      StaffAction.created_at <= contact.created_at
                                      + timedelta(seconds=5))
            .order_by(StaffAction.created_at.desc(), StaffAction.id.desc())).first()
        worker = self._get(Worker, action.worker_id) if action and action.worker_id \
            else None
        seen = bool(action and action.acknowledged_at and worker)
        return (worker.first_name if worker else DUTY_TEAM_NAME), seen

    def service(self, who: Verified | None = None) -> ServiceInfo:
        """Asked by every template that says a number or the hours: worked out once a turn."""
        key = who.id if who else None
        if key not in self._services:
            self._services[key] = self._service(who)
        return self._services[key]

    def _service(self, who: Verified | None) -> ServiceInfo:
        case = self._case_shaping_call(who.id if who else None)
        if case is not None:
            self._get(Worker, case.worker_id)  # held: load_case reads it again
        team = answering_team(self.session, self.settings, case)
        self._held.append(team)
        s = self.settings
        line = s.twilio_voice_number if self.channel == "voice" and s.twilio_voice_number \
            else s.twilio_phone_number
        return ServiceInfo(name=s.organisation_name, line_number=line,
                           duty_number=team.duty_number,
                           out_of_hours_number=team.out_of_hours_number,
                           office_hours=describe_hours(team),
                           office_open=is_office_open(team, self.now, s.tz),
                           today=self.now.astimezone(s.tz).date().isoformat(),
                           in_language={"cy": {
                               "name": s.name_in_welsh,
                               "office_hours": describe_hours(team, "cy")}})

    def _case_shaping_call(self, verified_id: str | None = None) -> Case | None:
        """The case of whoever proved who they are, or whom we contacted; before the PIN
        on a call to us, none: what is said must not hint the number is on our files."""
        parsed = parse_id(verified_id or self.verified_id or self.recipient_id)
        if parsed is None:
            return None
        kind, record_id = parsed
        record = self._get(Person if kind == "person" else Representative, record_id)
        if record is None:
            return None
        return self._case_of(record.id if kind == "person" else record.person_id)


def _local_date(moment: datetime | None, settings: Settings) -> str | None:
    return moment.astimezone(settings.tz).date().isoformat() if moment else None


def number_kind(number: str | None) -> str:
    """'mobile', 'landline' or 'other' for a caller's number; 'none' when withheld."""
    return line_type(number).value if number else "none"
