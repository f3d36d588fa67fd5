"""Subject access: everything the line holds about a person, as a bundle to review and send.

`export` gathers their record, numbers and needs, the people they trust, each case with its
updates, the whole timeline (texts, calls, messages and their transcriptions, disclosures,
staff actions and notes), texts and calls sent, what they texted as Twilio sent it (while
retention keeps it), and their recorded messages as audio files. It is written as
`export.json` (everything, for the record) and `summary.html` (the same, readable), with
`recordings/` beside them.

Nothing is sent to anyone from here: a member of staff reads the bundle first. Every item
that may not be theirs to receive is marked `review` with the reason: what the people they
trust said or were told (third parties), text written by staff (it may say who raised a
concern, or what others said), and everything from a case whose details are withheld
(e.g. a police inquiry). The summary lists them first.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import sqlalchemy as sa
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlmodel import Session, select

from bot.models import (
    CaseUpdate,
    CaseView,
    ConversationState,
    Direction,
    Disclosure,
    FeedbackAnswer,
    InboundEvent,
    Interaction,
    OptOut,
    OutboxMessage,
    PersonPhone,
    PinGuard,
    Recording,
    Representative,
    StaffAccount,
    StaffAction,
    Team,
    Worker,
)
from bot.records import recordings as recording_store
from bot.records import timeline
from bot.records.audit import record_interaction

from . import consent
from .people import cases_of, find_person

STAFF_WRITTEN = {"staff_note", "case_news", "case_closed", "action_done"}
STAFF_UPDATES = {"news", "close"}  # case updates whose words a worker wrote
WITHHELD = ("from a case whose details are withheld (e.g. a police inquiry): ask the "
            "named worker before anything of it is released")
STAFF_TEXT = "written by staff: it may name who raised a concern or say what others said"
LINE_TEXT = "written by the line for staff: it may give other people's names or numbers"
SHARED = "at a number someone else on file also uses: it may be theirs, not this person's"


@dataclass
class Bundle:
    """The export's files by name (export.json, summary.html, recordings/…)."""

    ref: str
    files: dict[str, bytes] = field(default_factory=dict)
    for_review: int = 0
    missing_recordings: int = 0

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=False)
        for name, content in self.files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return folder

    def zipped(self) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in self.files.items():
                archive.writestr(f"{self.ref}/{name}", content)
        return out.getvalue()


def export(runtime, ref: str, *, actor: str) -> Bundle:
    """The bundle for person `ref` (or the person of case `ref`); the export is audited."""
    with runtime.session() as session:
        person = find_person(session, ref)
        data = _gather(runtime, session, person)
        data["exported_at"], data["exported_by"] = runtime.now(), actor
        cases = cases_of(session, person)
        record_interaction(session, kind="subject_access_export", direction=Direction.INTERNAL,
                           person_id=person.id, case_id=cases[-1].id if cases else None,
                           actor=actor[:200], summary="Everything held about them was "
                           "exported for a subject access request.")
    bundle = Bundle(data["person"]["ref"])
    for item in data["recordings"]:
        audio = item.pop("audio", None)
        if audio is not None:
            bundle.files[item["file"]] = audio
        else:
            bundle.missing_recordings += 1
    bundle.for_review = len(data["for_review"])
    bundle.files["export.json"] = json.dumps(data, indent=2, default=_plain,
                                             ensure_ascii=False).encode()
    bundle.files["summary.html"] = _summary(data, runtime.settings.tz).encode()
    return bundle


def _gather(runtime, session: Session, person) -> dict:
    cases = cases_of(session, person)
    reps = {r.id: r for r in session.exec(select(Representative).where(
        Representative.person_id == person.id))}
    numbers = list(session.exec(select(PersonPhone.number).where(
        PersonPhone.person_id == person.id)))
    shared = set(session.exec(select(PersonPhone.number).where(
        PersonPhone.person_id != person.id, PersonPhone.number.in_(numbers)))) | set(
        session.exec(select(Representative.number).where(Representative.number.in_(numbers))))
    review = _Reviewer({c.id: c for c in cases}, reps, shared)
    rows = _timeline_rows(session, person, [c.id for c in cases], list(reps), numbers)
    data = {
        "person": _person(person),
        "numbers": [{"number": p.number, "line_type": p.line_type.value,
                     "primary": p.is_primary} for p in session.exec(
            select(PersonPhone).where(PersonPhone.person_id == person.id))],
        "people_they_trust": [review.mark(_representative(r), rep_id=r.id)
                              for r in reps.values()],
        "cases": [_case(session, review, c) for c in cases],
        "timeline": _timeline(session, review, rows),
        "disclosures": _disclosures(session, review, [c.id for c in cases]),
        "texts_and_calls_sent": _outbox(session, review, person, [c.id for c in cases],
                                        list(reps)),
        "staff_actions": _actions(session, review, person, [c.id for c in cases], numbers),
        "recordings": _recordings(runtime, session, review, rows),
        "received_as_twilio_sent_it": _raw(session, review, numbers),
        "conversations": [{"flow": c.flow, "channel": c.channel.value, "last_turn": c.updated_at}
                          for c in session.exec(select(ConversationState).where(
                              ConversationState.number.in_(numbers)))],
        "pin_failures": [{"failures": g.failures, "locked_until": g.locked_until}
                         for g in session.exec(select(PinGuard).where(
                             PinGuard.number.in_(numbers)))],
        "opted_out": [{"number": o.number, "reason": o.reason, "at": o.created_at}
                      for o in session.exec(select(OptOut).where(OptOut.number.in_(numbers)))],
        "case_page_views": _views(session, review, [c.id for c in cases]),
    }
    data["for_review"] = review.listed
    return data


class _Reviewer:
    """Marks items for staff review before release, and keeps the list of them."""

    def __init__(self, cases: dict, reps: dict, shared: set[str]):
        self.cases, self.reps, self.shared, self.listed = cases, reps, shared, []

    def mark(self, item: dict, *, case_id: int | None = None, rep_id: int | None = None,
             staff_text: bool = False, text: str = "", number: str = "",
             also: tuple[str, ...] = ()) -> dict:
        reasons = list(also)
        if case_id is None and number in self.shared:
            reasons.append(SHARED)
        rep = self.reps.get(rep_id) if rep_id else None
        if rep is not None:
            reasons.append(f"about {rep.full_name} ({rep.relationship}), a third party")
        named = [r for r in self.reps.values() if r is not rep and text
                 and r.full_name.lower() in text.lower()]
        reasons += [f"names {r.full_name} ({r.relationship}), a third party" for r in named]
        if staff_text:
            reasons.append(STAFF_TEXT)
        case = self.cases.get(case_id)
        if case is not None and case.withhold_details:
            reasons.append(WITHHELD)
        item["review"] = reasons
        if reasons:
            self.listed.append({"section": item.get("section", ""), "what": item.get(
                "what", ""), "at": item.get("at"), "reasons": reasons})
        item.pop("section", None)
        return item


# Their record in the order and words the summary gives it (export.json keeps the names).
PERSON_FIELDS = {
    "ref": "Reference", "first_name": "First name", "last_name": "Last name",
    "language": "Language", "contact_window_start": "Contact them from",
    "contact_window_end": "Contact them until",
    "ais_contact_method": "How to contact them (Accessible Information Standard)",
    "ais_information_format": "Information format",
    "ais_communication_support": "Communication support",
    "ais_communication_professional": "Communication professional",
    "speech_rate": "Speech rate on calls (percent)", "extra_time": "Extra time on calls",
    "uses_relay": "Calls through Relay UK", "discreet": "Texts carry no case detail",
    "no_phone_calls": "Never call",
    "contact_via_representative": "Check-ins go to the people they trust",
    "contact_paused_until": "Contact paused until",
    "deceased": "Deceased", "pin_set": "A PIN is set", "created_at": "Record made",
    "updated_at": "Record last changed"}


def _person(person) -> dict:
    values = person.model_dump()
    values["pin_set"] = person.pin_hash is not None
    return {name: values[name] for name in PERSON_FIELDS}


def _representative(rep: Representative) -> dict:
    return {"section": "people they trust", "what": f"{rep.full_name} ({rep.relationship})",
            "ref": rep.ref, "name": rep.full_name, "relationship": rep.relationship,
            "number": rep.number, "may_be_told": sorted(rep.consent_scopes),
            "may_be_told_in_words": consent.scopes_in_words(rep.consent_scopes),
            "authority": rep.authority.value,
            "authority_in_words": consent.AUTHORITY_WORDS[rep.authority],
            "consent_recorded_by": rep.consent_recorded_by,
            "consent_recorded_at": rep.consent_recorded_at, "pin_set": rep.pin_hash is not None}


def _case(session: Session, review: _Reviewer, case) -> dict:
    worker = session.get(Worker, case.worker_id)
    team = session.get(Team, worker.team_id) if worker else None
    updates = [review.mark({"section": f"case {case.ref}", "what": f"update: {u.kind}",
                            "at": u.created_at, "kind": u.kind, "text": u.text,
                            "recorded_by": u.recorded_by}, case_id=case.id,
                           staff_text=u.kind in STAFF_UPDATES, text=u.text)
               for u in session.exec(select(CaseUpdate).where(CaseUpdate.case_id == case.id)
                                     .order_by(CaseUpdate.id))]
    feedback = [review.mark({"section": f"case {case.ref}", "what": f"feedback: {f.question}",
                             "at": f.created_at, "question": f.question, "answer": f.answer,
                             "by": f.respondent_kind.value}, case_id=case.id,
                            rep_id=f.respondent_id if f.respondent_kind.value ==
                            "representative" else None)
                for f in session.exec(select(FeedbackAnswer).where(
                    FeedbackAnswer.case_id == case.id))]
    item = {"section": f"case {case.ref}", "what": "the case record", "ref": case.ref,
            "team": team.name if team else "", "named_worker": worker.full_name if worker else "",
            "stage": case.stage.value, "latest_news": case.latest_news,
            "what_they_want_to_happen": case.desired_outcome, "opened": case.opened_at,
            "closed": case.closed_at, "closure_summary": case.closure_summary,
            "details_withheld": case.withhold_details, "next_contact_by": case.next_contact_by,
            "outcomes_asked": case.msp_asked.value if case.msp_asked else None,
            "outcomes_achieved": case.msp_achieved.value if case.msp_achieved else None,
            "risk_at_closure": case.risk_result.value if case.risk_result else None}
    item = review.mark(item, case_id=case.id, staff_text=True,
                       text=f"{case.latest_news} {case.closure_summary}")
    return {**item, "updates": updates, "feedback": feedback}


def _timeline_rows(session: Session, person, case_ids: list[int], rep_ids: list[int],
                   numbers: list[str]) -> list[Interaction]:
    """Their entries, entries of no one's from their numbers, and entries of no one's
    with the sid of one of their calls (a transcription that found no message)."""
    caseless_theirs = sa.and_(Interaction.case_id.is_(None), Interaction.number.in_(numbers))
    rows = list(session.exec(select(Interaction).where(sa.or_(
        Interaction.case_id.in_(case_ids), Interaction.person_id == person.id,
        Interaction.representative_id.in_(rep_ids), caseless_theirs))))
    calls = sorted({r.twilio_sid for r in rows if r.twilio_sid.startswith("CA")})
    seen = {r.id for r in rows}
    rows += [r for r in session.exec(select(Interaction).where(
        Interaction.case_id.is_(None), Interaction.person_id.is_(None),
        Interaction.twilio_sid.in_(calls))) if r.id not in seen]
    return sorted(rows, key=lambda r: (r.created_at, r.id))


def _timeline(session: Session, review: _Reviewer, rows: list[Interaction]) -> list[dict]:
    shown = timeline.described(session, rows, timeline.Reader(bodies=True))
    out = []
    for row, entry in zip(rows, shown, strict=True):
        item = {"section": "timeline", "what": entry["what"], "at": row.created_at,
                "case": entry["case"], "channel": entry["channel"],
                "direction": entry["direction"], "who": entry["who"], "number": row.number,
                "summary": entry["summary"], "text_sent": entry["body"],
                "told": sorted(entry["disclosed"]), "by": row.actor}
        out.append(review.mark(item, case_id=row.case_id, rep_id=row.representative_id,
                               staff_text=row.kind in STAFF_WRITTEN, number=row.number,
                               text=f"{row.summary} {entry['body'] or ''}"))
    return out


def _disclosures(session: Session, review: _Reviewer, case_ids: list[int]) -> list[dict]:
    out = []
    for d in session.exec(select(Disclosure).where(Disclosure.case_id.in_(case_ids))
                          .order_by(Disclosure.id)):
        rep_id = d.recipient_id if d.recipient_kind == "representative" else None
        rep = review.reps.get(rep_id)
        item = {"section": "disclosures", "what": f"told: {d.field}", "at": d.created_at,
                "field": d.field, "to": rep.full_name if rep else "them",
                "channel": d.channel.value, "case": review.cases[d.case_id].ref}
        out.append(review.mark(item, case_id=d.case_id, rep_id=rep_id))
    return out


def _outbox(session: Session, review: _Reviewer, person, case_ids: list[int],
            rep_ids: list[int]) -> list[dict]:
    out = []
    for m in session.exec(select(OutboxMessage).where(sa.or_(
            OutboxMessage.case_id.in_(case_ids), OutboxMessage.person_id == person.id,
            OutboxMessage.representative_id.in_(rep_ids))).order_by(OutboxMessage.id)):
        item = {"section": "texts and calls sent", "what": f"{m.channel.value}: {m.purpose}",
                "at": m.created_at, "to": m.to_number, "words": m.body,
                "status": m.status.value}
        out.append(review.mark(item, case_id=m.case_id, rep_id=m.representative_id,
                               text=m.body))
    return out


def _actions(session: Session, review: _Reviewer, person, case_ids: list[int],
             numbers: list[str]) -> list[dict]:
    """Actions on their cases, about them, or about no case giving one of their numbers
    (a text the line failed on, a number locked by PIN guesses)."""
    from .people import naming_numbers

    out = []
    for a in session.exec(select(StaffAction).where(sa.or_(
            StaffAction.case_id.in_(case_ids), StaffAction.person_id == person.id,
            *naming_numbers(numbers))).order_by(StaffAction.id)):
        item = {"section": "staff actions", "what": a.kind, "at": a.created_at,
                "summary": a.summary, "status": a.status.value, "done_by": a.done_by,
                "done_at": a.done_at}
        about_others = a.case_id is None or a.kind == "pin_locked"
        out.append(review.mark(item, case_id=a.case_id, text=a.summary,
                               also=(LINE_TEXT,) if about_others else ()))
    return out


def _recordings(runtime, session: Session, review: _Reviewer,
                rows: list[Interaction]) -> list[dict]:
    """Each message they (or someone about them) left, with its audio: our copy, or
    Twilio's fetched now if ours is not stored yet."""
    by_id = {row.id: row for row in rows}
    out = []
    for rec in session.exec(select(Recording).where(Recording.interaction_id.in_(list(by_id)))
                            .order_by(Recording.id)):
        row = by_id[rec.interaction_id]
        try:
            recording_store.copy(session, runtime.settings, rec)
        except recording_store.RecordingUnavailable as exc:
            note = f"not stored yet, and Twilio did not give it ({exc})"
        else:
            note = ""
        extension = "wav" if "wav" in rec.content_type else "mp3"
        item = {"section": "recordings", "what": "a message left on a call",
                "at": rec.created_at, "file": f"recordings/{rec.id}.{extension}",
                "seconds": rec.seconds, "missing": note, "audio": rec.audio}
        out.append(review.mark(item, case_id=row.case_id, rep_id=row.representative_id,
                               number=row.number))
    return out


def _raw(session: Session, review: _Reviewer, numbers: list[str]) -> list[dict]:
    return [review.mark({
        "section": "received as Twilio sent it", "what": f"{e.channel.value} received",
        "at": e.received_at, "channel": e.channel.value, "from": e.number,
        "text": e.params.get("Body", "") if e.channel.value == "sms" else "",
        "said": e.params.get("SpeechResult", ""), "pressed": e.params.get("Digits", "")},
        number=e.number) for e in session.exec(select(InboundEvent).where(
            InboundEvent.number.in_(numbers)).order_by(InboundEvent.id))]


def _views(session: Session, review: _Reviewer, case_ids: list[int]) -> list[dict]:
    out = []
    for view, name in session.exec(select(CaseView, StaffAccount.name).join(
            StaffAccount, StaffAccount.id == CaseView.account_id).where(
            CaseView.case_id.in_(case_ids)).order_by(CaseView.id)):
        out.append({"at": view.created_at, "by": name, "let_in": view.allowed,
                    "case": review.cases[view.case_id].ref})
    return out


def _plain(value):
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


_TEMPLATES = Environment(loader=PackageLoader("bot.services", "templates"),
                         autoescape=select_autoescape(["html"]))


def _summary(data: dict, tz) -> str:
    def when(value) -> str:
        if isinstance(value, datetime):
            local = value.astimezone(tz)
            return f"{local.day} {local:%B %Y, %H:%M}"
        if isinstance(value, date):
            return f"{value.day} {value:%B %Y}"
        if isinstance(value, time):
            return f"{value:%H:%M}"
        if isinstance(value, bool):
            return "yes" if value else "no"
        return "" if value is None else str(value)

    return _TEMPLATES.get_template("subject_access.html").render(
        data=data, when=when, labels=PERSON_FIELDS)
