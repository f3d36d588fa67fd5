"""The API's blueprint and what its routes share: paging, reading and upserting a record."""

from __future__ import annotations

import base64
import binascii

from flask_openapi3 import APIBlueprint, Tag
from sqlmodel import select

from bot.importer.kinds import MODELS, SINGULAR
from bot.importer.upsert import UpsertRefused, upsert_one

from . import auth, resources, schemas
from .auth import caller, subject
from .problems import ApiProblem, FieldProblem, Problem

PREFIX = "/api/v1"
REFUSALS = {401: Problem, 403: Problem, 422: Problem, 429: Problem}
bp = APIBlueprint("api", __name__, url_prefix=PREFIX, abp_security=[{"bearer": []}],
                  abp_responses=REFUSALS)
bp.before_request(auth.authenticate)
bp.after_request(auth.audit)

TAGS = {kind: Tag(name=kind, description=f"{SINGULAR[kind].capitalize()} records, by the case "
                  "system's references") for kind in MODELS}


# ---- shared behaviour --------------------------------------------------------------------

def cursor_id(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(cursor.encode() + b"==").decode().partition(":")
        if kind == "id" and number.isdigit() and int(number) < 2**63:
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiProblem(422, "The cursor is not one this API gave: pass next_cursor as it came.",
                     [FieldProblem(pointer="/cursor", detail="not a cursor from next_cursor")])


def next_cursor_of(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def list_page(kind: str, query: schemas.PageQuery) -> dict:
    model = MODELS[kind]
    after = cursor_id(query.cursor)
    with auth.runtime().session() as session:
        statement = resources.visible_query(caller(), kind, select(model)).where(
            model.id > after).order_by(model.id).limit(query.limit + 1)
        found = list(session.exec(statement))
        page = found[:query.limit]
        return {"items": [resources.SHOW[kind](session, r) for r in page],
                "next_cursor": next_cursor_of(page[-1].id) if len(found) > query.limit else None}


def get_one(kind: str, ref: str) -> dict:
    subject(f"{SINGULAR[kind]} {ref}")
    with auth.runtime().session() as session:
        record = session.exec(select(MODELS[kind]).where(MODELS[kind].ref == ref)).first()
        if record is None:
            raise ApiProblem(404, f"There is no {SINGULAR[kind]} '{ref}'. Check the ref.")
        resources.check_team(session, caller(), kind, record, ref)
        return resources.SHOW[kind](session, record)


def upsert(kind: str, ref: str, body) -> tuple[dict, int]:
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
            resources.check_references(session, caller(), kind, values)
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
