"""Subject access and erasure through the API, for an administrator's token: the same
services as `caseline people export|erase` (bot/services/), audited the same way."""

from __future__ import annotations

from flask import Response
from flask_openapi3 import Tag

from bot.services import people, subject_access

from . import resources, schemas
from .auth import caller, needs, runtime, subject
from .blueprint import bp
from .problems import ApiProblem, Problem

PEOPLE = Tag(name="subject access", description="Everything held about a person, and "
             "erasing it once their cases are closed and past retention (admin scope).")
ZIP = {200: {"description": "the bundle: export.json, summary.html and recordings/, with "
             "what may not be theirs to receive marked for review", "content": {
                 "application/zip": {"schema": {"type": "string", "format": "binary"}}}},
       404: Problem}


def _check_teams(ref: str) -> None:
    """A token limited to a team reaches only people whose cases are all that team's."""
    with runtime().session() as session:
        try:
            person = people.find_person(session, ref)
        except people.PersonNotFound as exc:
            raise ApiProblem(404, str(exc)) from None
        cases = people.cases_of(session, person)
        if caller().team_id is not None and not cases:
            raise ApiProblem(403, f"This token is limited to one team, and '{ref}' has no "
                                  "case of any team: use a token for every team.")
        for case in cases:
            resources.check_team(session, caller(), "cases", case, case.ref)


@bp.get("/people/<ref>/export", tags=[PEOPLE], responses=ZIP)
@needs("admin")
def export_person(path: schemas.Ref):
    """Everything held about the person (or the person of a case), as a zip to review
    before release: nothing in it has been checked for third-party content by a person."""
    subject(f"export {path.ref}")
    _check_teams(path.ref)
    bundle = subject_access.export(runtime(), path.ref, actor=f"api:{caller().name}")
    return Response(bundle.zipped(), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{bundle.ref}-subject-access.zip"',
        "Cache-Control": "no-store"})


@bp.post("/people/<ref>/erase", tags=[PEOPLE],
         responses={200: schemas.ErasureOut, 404: Problem, 409: Problem})
@needs("admin")
def erase_person(path: schemas.Ref, body: schemas.ErasureIn):
    """Erase the person: refused (409, with the reason) while a case is open or within
    the retention period unless `early`; keeps only each case's SG4a statistics."""
    subject(f"erase {path.ref}")
    _check_teams(path.ref)
    try:
        erasure = people.erase(runtime(), path.ref, actor=f"api:{caller().name}",
                               reason=body.reason, early=body.early)
    except people.ErasureRefused as exc:
        raise ApiProblem(409, str(exc)) from None
    subject(f"erase {people.ERASED}", path=f"/api/v1/people/{people.ERASED}/erase")
    return schemas.ErasureOut(ref=erasure.ref, cases=erasure.cases,
                              removed=erasure.removed).model_dump(mode="json")
