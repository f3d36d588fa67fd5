"""The REST API for the council's case system, `/api/v1/` (OpenAPI 3.1, made from this code).

Teams, workers, people, representatives and cases are read and upserted by the case
system's own references; an upsert goes through the importer's checks and ownership rules
(`bot/importer/upsert.py`), so a file and a request can never be judged differently.
"""

from __future__ import annotations

import base64
import binascii

from flask import redirect
from flask_openapi3 import APIBlueprint, OpenAPI, Tag
from sqlmodel import select

from bot.importer.kinds import MODELS, SINGULAR
from bot.importer.upsert import UpsertRefused, upsert_one

from . import auth, problems, resources, schemas
from .auth import caller, needs, subject
from .problems import ApiProblem, FieldProblem, Problem

PREFIX = "/api/v1"
REFUSALS = {401: Problem, 403: Problem, 422: Problem, 429: Problem}
bp = APIBlueprint("api", __name__, url_prefix=PREFIX, abp_security=[{"bearer": []}],
                  abp_responses=REFUSALS)
bp.before_request(auth.authenticate)
bp.after_request(auth.audit)

TAGS = {kind: Tag(name=kind, description=f"{SINGULAR[kind].capitalize()} records, by the case "
                  "system's references") for kind in MODELS}


def register(app: OpenAPI) -> None:
    app.register_api(bp)
    app.add_url_rule(f"{PREFIX}/docs", "api_docs", lambda: redirect(f"{PREFIX}/swagger"))


# ---- shared behaviour --------------------------------------------------------------------

def _cursor_id(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(cursor.encode() + b"==").decode().partition(":")
        if kind == "id" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiProblem(422, "The cursor is not one this API gave: pass next_cursor as it came.",
                     [FieldProblem(pointer="/cursor", detail="not a cursor from next_cursor")])


def _next_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def _list(kind: str, query: schemas.PageQuery) -> dict:
    model = MODELS[kind]
    after = _cursor_id(query.cursor)
    with auth.runtime().session() as session:
        statement = resources.visible_query(caller(), kind, select(model)).where(
            model.id > after).order_by(model.id).limit(query.limit + 1)
        found = list(session.exec(statement))
        page = found[:query.limit]
        return {"items": [resources.SHOW[kind](session, r) for r in page],
                "next_cursor": _next_cursor(page[-1].id) if len(found) > query.limit else None}


def _get(kind: str, ref: str) -> dict:
    subject(f"{SINGULAR[kind]} {ref}")
    with auth.runtime().session() as session:
        record = session.exec(select(MODELS[kind]).where(MODELS[kind].ref == ref)).first()
        if record is None:
            raise ApiProblem(404, f"There is no {SINGULAR[kind]} '{ref}'. Check the ref.")
        resources.check_team(session, caller(), kind, record, ref)
        return resources.SHOW[kind](session, record)


def _put(kind: str, ref: str, body) -> tuple[dict, int]:
    subject(f"{SINGULAR[kind]} {ref}")
    values = body.model_dump(exclude_unset=True)
    if values.pop("ref", ref) != ref:
        raise ApiProblem(422, "The ref in the body differs from the ref in the path.",
                         [FieldProblem(pointer="/ref", detail=f"must be '{ref}', or left out")])
    runtime = auth.runtime()
    try:
        with runtime.session() as session:
            existing = session.exec(select(MODELS[kind]).where(MODELS[kind].ref == ref)).first()
            if existing is not None:
                resources.check_team(session, caller(), kind, existing, ref)
            done = upsert_one(session, kind, ref, values, pin_key=runtime.settings.pin_key,
                              tz=runtime.settings.tz, source=f"api:{caller().name}",
                              actor=f"api:{caller().name}")
            session.flush()
            resources.check_team(session, caller(), kind, done.record, ref)  # rolls back
            shown = resources.SHOW[kind](session, done.record)
    except UpsertRefused as refused:
        raise ApiProblem(refused.status, _refusal(refused), [
            FieldProblem(pointer=f"/{name}" if name else "", detail=message)
            for name, message in refused.problems]) from None
    return shown, 201 if done.created else 200


def _refusal(refused: UpsertRefused) -> str:
    if refused.status == 409:
        return ("Nothing was changed: this would undo a change made on the line (listed "
                "below). Ask the worker, or change the record here first.")
    return f"Nothing was changed: {len(refused.problems)} value(s) to fix (listed below)."


# ---- teams, workers, people, representatives, cases ---------------------------------------

def _page(out):
    return {200: schemas.page_of(out)}


def _one(out, created: bool = False):
    return {200: out, 404: Problem, **({201: out, 409: Problem} if created else {})}


@bp.get("/teams", tags=[TAGS["teams"]], responses=_page(schemas.TeamOut))
@needs("read")
def list_teams(query: schemas.PageQuery):
    """Every team (a team-limited token: its own)."""
    return _list("teams", query)


@bp.get("/teams/<ref>", tags=[TAGS["teams"]], responses=_one(schemas.TeamOut))
@needs("read")
def get_team(path: schemas.Ref):
    return _get("teams", path.ref)


@bp.put("/teams/<ref>", tags=[TAGS["teams"]], responses=_one(schemas.TeamOut, True))
@needs("write")
def put_team(path: schemas.Ref, body: schemas.TeamUpsert):
    """Create or update a team by its ref (idempotent)."""
    return _put("teams", path.ref, body)


@bp.get("/workers", tags=[TAGS["workers"]], responses=_page(schemas.WorkerOut))
@needs("read")
def list_workers(query: schemas.PageQuery):
    return _list("workers", query)


@bp.get("/workers/<ref>", tags=[TAGS["workers"]], responses=_one(schemas.WorkerOut))
@needs("read")
def get_worker(path: schemas.Ref):
    return _get("workers", path.ref)


@bp.put("/workers/<ref>", tags=[TAGS["workers"]], responses=_one(schemas.WorkerOut, True))
@needs("write")
def put_worker(path: schemas.Ref, body: schemas.WorkerUpsert):
    """Create or update a worker: their team, away-until and cover."""
    return _put("workers", path.ref, body)


@bp.get("/people", tags=[TAGS["people"]], responses=_page(schemas.PersonOut))
@needs("read")
def list_people(query: schemas.PageQuery):
    return _list("people", query)


@bp.get("/people/<ref>", tags=[TAGS["people"]], responses=_one(schemas.PersonOut))
@needs("read")
def get_person(path: schemas.Ref):
    return _get("people", path.ref)


@bp.put("/people/<ref>", tags=[TAGS["people"]], responses=_one(schemas.PersonOut, True))
@needs("write")
def put_person(path: schemas.Ref, body: schemas.PersonUpsert):
    """Create or update a person: phones, communication needs, contact window, PIN."""
    return _put("people", path.ref, body)


@bp.get("/representatives", tags=[TAGS["representatives"]],
        responses=_page(schemas.RepresentativeOut))
@needs("read")
def list_representatives(query: schemas.PageQuery):
    return _list("representatives", query)


@bp.get("/representatives/<ref>", tags=[TAGS["representatives"]],
        responses=_one(schemas.RepresentativeOut))
@needs("read")
def get_representative(path: schemas.Ref):
    return _get("representatives", path.ref)


@bp.put("/representatives/<ref>", tags=[TAGS["representatives"]],
        responses=_one(schemas.RepresentativeOut, True))
@needs("write")
def put_representative(path: schemas.Ref, body: schemas.RepresentativeUpsert):
    """Create or update a relative, friend or advocate: consent scopes, who recorded the
    consent and when, authority."""
    return _put("representatives", path.ref, body)


@bp.get("/cases", tags=[TAGS["cases"]], responses=_page(schemas.CaseOut))
@needs("read")
def list_cases(query: schemas.PageQuery):
    return _list("cases", query)


@bp.get("/cases/<ref>", tags=[TAGS["cases"]], responses=_one(schemas.CaseOut))
@needs("read")
def get_case(path: schemas.Ref):
    return _get("cases", path.ref)


@bp.put("/cases/<ref>", tags=[TAGS["cases"]], responses=_one(schemas.CaseOut, True))
@needs("write")
def put_case(path: schemas.Ref, body: schemas.CaseUpsert):
    """Create or update a case. A change of news, worker or a closure is told to the person
    and those they trust, once. A change that would undo one made on the line (e.g. a
    closure made here) is refused with 409, and nothing is changed."""
    return _put("cases", path.ref, body)


from . import operations  # noqa: E402  (its routes join the blueprint above)

__all__ = ["bp", "operations", "problems", "register"]
