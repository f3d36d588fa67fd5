"""Changing a case (news, closure, worker, pause, notes), the action queue, the timeline.

Each goes through the same service the CLI (and the staff pages) call: one place for each
rule, and the notices a change triggers are sent through the outbox, once.
"""

from __future__ import annotations

from flask_openapi3 import Tag
from sqlmodel import select

from bot.models import Case, Team, utcnow
from bot.records import timeline
from bot.services import actions as queue
from bot.services import cases as services

from . import resources, schemas
from .auth import caller, needs, runtime, subject
from .blueprint import bp, cursor_id, next_cursor_of
from .problems import ApiProblem, FieldProblem, Problem

CASES, ACTIONS, TIMELINE = (Tag(name="cases"), Tag(name="actions", description="The queue of "
                            "what staff must do: every failure to reach someone, every "
                            "request, every alarm."), Tag(name="timeline", description="Every "
                            "contact in and out, for the case system's notes."))
CHANGED = {200: schemas.CaseOut, 404: Problem, 409: Problem}


def _change(ref: str, what: str, change) -> dict:
    """Run one case service for case `ref`, as the token's name; its refusal is a 409."""
    subject(f"case {ref}")
    actor = f"api:{caller().name}"
    with runtime().session() as session:
        case = session.exec(select(Case).where(Case.ref == ref)).first()
        if case is None:
            raise ApiProblem(404, f"There is no case '{ref}'. Check the ref.")
        resources.check_team(session, caller(), "cases", case, ref)
        try:
            change(session, actor)
        except (services.CaseChangeError, queue.ActionError) as exc:
            raise ApiProblem(409, f"The {what} was not made: {exc}") from None
        session.flush()
        # Still the token's team's after the change (a new worker of another team would
        # hand the case over): otherwise the change is rolled back.
        resources.check_team(session, caller(), "cases", case, ref)
        return resources.case_out(session, case)


def _today():
    return utcnow().astimezone(runtime().settings.tz).date()


@bp.post("/cases/<ref>/news", tags=[CASES], responses=CHANGED)
@needs("write")
def post_news(path: schemas.Ref, body: schemas.NewsIn):
    """Post news in plain words; it is told to the person and those allowed to hear it."""
    from bot.importer.values import parse_date

    try:
        when = parse_date(body.next_contact_by) if body.next_contact_by else None
    except ValueError as exc:
        raise ApiProblem(422, str(exc), [FieldProblem(pointer="/next_contact_by",
                                                      detail=str(exc))]) from None
    return _change(path.ref, "news", lambda s, actor: services.post_news(
        s, path.ref, body.text, actor=actor, next_contact_by=when, today=_today()))


@bp.post("/cases/<ref>/close", tags=[CASES], responses=CHANGED)
@needs("write")
def close_case(path: schemas.Ref, body: schemas.CloseIn):
    """Close the case with what happened and the SG4a record; those allowed are told."""
    return _change(path.ref, "closure", lambda s, actor: services.close_case(
        s, path.ref, summary=body.summary, outcomes=body.outcomes, risk=body.risk, actor=actor))


@bp.put("/cases/<ref>/worker", tags=[CASES], responses=CHANGED)
@needs("write")
def change_worker(path: schemas.Ref, body: schemas.WorkerChangeIn):
    """Make another worker the named worker; the person and those allowed are told."""
    return _change(path.ref, "change of worker", lambda s, actor: services.change_worker(
        s, path.ref, body.worker, actor=actor))


@bp.post("/cases/<ref>/pause", tags=[CASES], responses=CHANGED)
@needs("write")
def pause_contact(path: schemas.Ref, body: schemas.PauseIn):
    """Stop check-ins and notices to the person until a date (inclusive)."""
    from bot.importer.values import parse_date

    try:
        until = parse_date(body.until)
    except ValueError as exc:
        raise ApiProblem(422, str(exc)) from None
    return _change(path.ref, "pause", lambda s, actor: services.pause_contact(
        s, path.ref, until, actor=actor, today=_today()))


@bp.post("/cases/<ref>/notes", tags=[CASES, TIMELINE], responses=CHANGED)
@needs("write")
def add_note(path: schemas.Ref, body: schemas.NoteIn):
    """A staff note on the case's timeline."""
    def note(session, actor):
        case = session.exec(select(Case).where(Case.ref == path.ref)).one()
        queue.add_note(session, case, body.text, actor=actor)
    return _change(path.ref, "note", note)


# ---- the action queue ------------------------------------------------------------------

def _action_out(session, action) -> dict:
    case = session.get(Case, action.case_id) if action.case_id else None
    from bot.models import Worker

    worker = session.get(Worker, action.worker_id) if action.worker_id else None
    waited = int(((action.done_at or utcnow()) - action.created_at).total_seconds() // 60)
    return schemas.ActionOut(
        id=action.id, kind=action.kind, urgency=action.urgency.value,
        status=action.status.value, summary=action.summary, case=case.ref if case else None,
        worker=worker.ref if worker else None, team=queue.team_ref(session, action),
        created_at=action.created_at, waited_minutes=max(waited, 0), done_at=action.done_at,
        done_by=action.done_by).model_dump(mode="json")


@bp.get("/actions", tags=[ACTIONS],
        responses={200: schemas.page_of(schemas.ActionOut), 404: Problem})
@needs("actions")
def list_actions(query: schemas.ActionQuery):
    """The queue, filtered by team, worker, urgency, kind, status or unassigned."""
    with runtime().session() as session:
        team_id = None
        if query.team:
            team = session.exec(select(Team).where(Team.ref == query.team)).first()
            if team is None:
                raise ApiProblem(404, f"There is no team '{query.team}'.")
            team_id = team.id
        filters = queue.Filters(team_id=team_id, worker_ref=query.worker,
                                urgency=query.urgency, kind=query.kind, status=query.status,
                                unassigned=query.unassigned)
        found = queue.queue(session, filters, after=cursor_id(query.cursor),
                            limit=query.limit + 1, only_team=caller().team_id)
        page = found[:query.limit]
        return {"items": [_action_out(session, a) for a in page],
                "next_cursor": next_cursor_of(page[-1].id) if len(found) > query.limit else None}


def _act(action_id: int, change) -> dict:
    subject(f"action {action_id}")
    actor = f"api:{caller().name}"
    with runtime().session() as session:
        try:
            action = queue.get(session, action_id)
        except queue.ActionError as exc:
            raise ApiProblem(404, str(exc)) from None
        if caller().team_id is not None and action.team_id != caller().team_id:
            raise ApiProblem(403, "This token is limited to one team; this action is "
                                  "another team's.")
        try:
            change(session, actor)
        except queue.ActionError as exc:
            raise ApiProblem(409, str(exc)) from None
        session.flush()
        return _action_out(session, action)


@bp.post("/actions/<int:id>/assign", tags=[ACTIONS],
         responses={200: schemas.ActionOut, 404: Problem, 409: Problem})
@needs("actions")
def assign_action(path: schemas.ActionId, body: schemas.AssignIn):
    """Give the action to a worker."""
    return _act(path.id, lambda s, actor: queue.assign(s, path.id, body.worker, actor=actor))


@bp.post("/actions/<int:id>/done", tags=[ACTIONS],
         responses={200: schemas.ActionOut, 404: Problem, 409: Problem})
@needs("actions")
def finish_action(path: schemas.ActionId, body: schemas.DoneIn):
    """Mark the action done, with a note of what was done (it goes on the timeline)."""
    return _act(path.id, lambda s, actor: queue.mark_done(s, path.id, body.note, actor=actor))


# ---- the timeline ----------------------------------------------------------------------

def _timeline(query: schemas.TimelineQuery, case_ref: str | None = None) -> dict:
    with runtime().session() as session:
        timeline.sequence(session)  # committed before reading: see records/timeline.py
    with runtime().session() as session:
        case_id = None
        if case_ref is not None:
            case = session.exec(select(Case).where(Case.ref == case_ref)).first()
            if case is None:
                raise ApiProblem(404, f"There is no case '{case_ref}'. Check the ref.")
            resources.check_team(session, caller(), "cases", case, case_ref)
            case_id = case.id
        reader = timeline.Reader(team_id=caller().team_id, bodies=caller().allows("messages"))
        items = timeline.entries(session, reader, case_id=case_id, after=query.since,
                                 limit=query.limit)
    page = schemas.TimelinePage(items=items, next_since=items[-1]["seq"] if items else
                                query.since)
    return page.model_dump(mode="json")


@bp.get("/timeline", tags=[TIMELINE], responses={200: schemas.TimelinePage})
@needs("timeline")
def all_timelines(query: schemas.TimelineQuery):
    """Every new contact on every case this token may see, in order: pull it as case
    notes with since=<next_since>, so nothing has to be typed twice."""
    return _timeline(query)


@bp.get("/cases/<ref>/timeline", tags=[TIMELINE, CASES],
        responses={200: schemas.TimelinePage, 404: Problem})
@needs("timeline")
def case_timeline(path: schemas.Ref, query: schemas.TimelineQuery):
    """One case's whole story: every contact in and out, disclosures, messages, call
    backs, staff actions and notes."""
    subject(f"case {path.ref}")
    return _timeline(query, path.ref)



AUDIO = {200: {"description": "the message's audio", "content": {
    "audio/mpeg": {"schema": {"type": "string", "format": "binary"}}}}, 404: Problem,
    502: Problem}


@bp.get("/recordings/<int:recording_id>", tags=[TIMELINE], responses=AUDIO)
@needs("messages")
def recording_audio(path: schemas.RecordingPath):
    """A message a caller left, as audio: our copy, fetched from Twilio if not yet stored."""
    from flask import Response

    from bot.models import Recording
    from bot.records import recordings

    subject(f"recording {path.recording_id}")
    with runtime().session() as session:
        found = session.get(Recording, path.recording_id)
        case = session.get(Case, found.case_id) if found is not None and found.case_id \
            else None
        if case is None:
            raise ApiProblem(404, f"There is no recording {path.recording_id}.")
        resources.check_team(session, caller(), "cases", case, case.ref)
        try:
            recordings.copy(session, runtime().settings, found)
        except recordings.RecordingUnavailable as exc:
            raise ApiProblem(502, f"The recording is not stored yet and Twilio did not give "
                                  f"it ({exc}): try again in a few minutes.") from None
        audio, content_type = found.audio, found.content_type
    return Response(audio, mimetype=content_type or recordings.CONTENT_TYPE)
