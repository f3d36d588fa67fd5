"""Teams, workers, people, representatives and cases: listed, read and upserted by the case
system's own references (an upsert goes through the importer's checks and ownership rules,
`bot/importer/upsert.py`, so a file and a request can never be judged differently)."""

from __future__ import annotations

from . import schemas
from .auth import needs
from .blueprint import TAGS, bp, get_one, list_page, upsert
from .problems import Problem

# ---- teams, workers, people, representatives, cases ---------------------------------------

def _page(out):
    return {200: schemas.page_of(out)}


def _one(out, created: bool = False):
    return {200: out, 404: Problem, **({201: out, 409: Problem} if created else {})}


@bp.get("/teams", tags=[TAGS["teams"]], responses=_page(schemas.TeamOut))
@needs("read")
def list_teams(query: schemas.PageQuery):
    """Every team (a team-limited token: its own)."""
    return list_page("teams", query)


@bp.get("/teams/<ref>", tags=[TAGS["teams"]], responses=_one(schemas.TeamOut))
@needs("read")
def get_team(path: schemas.Ref):
    return get_one("teams", path.ref)


@bp.put("/teams/<ref>", tags=[TAGS["teams"]], responses=_one(schemas.TeamOut, True))
@needs("write")
def put_team(path: schemas.Ref, body: schemas.TeamUpsert):
    """Create or update a team by its ref (idempotent)."""
    return upsert("teams", path.ref, body)


@bp.get("/workers", tags=[TAGS["workers"]], responses=_page(schemas.WorkerOut))
@needs("read")
def list_workers(query: schemas.PageQuery):
    return list_page("workers", query)


@bp.get("/workers/<ref>", tags=[TAGS["workers"]], responses=_one(schemas.WorkerOut))
@needs("read")
def get_worker(path: schemas.Ref):
    return get_one("workers", path.ref)


@bp.put("/workers/<ref>", tags=[TAGS["workers"]], responses=_one(schemas.WorkerOut, True))
@needs("write")
def put_worker(path: schemas.Ref, body: schemas.WorkerUpsert):
    """Create or update a worker: their team, away-until and cover."""
    return upsert("workers", path.ref, body)


@bp.get("/people", tags=[TAGS["people"]], responses=_page(schemas.PersonOut))
@needs("read")
def list_people(query: schemas.PageQuery):
    return list_page("people", query)


@bp.get("/people/<ref>", tags=[TAGS["people"]], responses=_one(schemas.PersonOut))
@needs("read")
def get_person(path: schemas.Ref):
    return get_one("people", path.ref)


@bp.put("/people/<ref>", tags=[TAGS["people"]], responses=_one(schemas.PersonOut, True))
@needs("write")
def put_person(path: schemas.Ref, body: schemas.PersonUpsert):
    """Create or update a person: phones, communication needs, contact window, PIN."""
    return upsert("people", path.ref, body)


@bp.get("/representatives", tags=[TAGS["representatives"]],
        responses=_page(schemas.RepresentativeOut))
@needs("read")
def list_representatives(query: schemas.PageQuery):
    return list_page("representatives", query)


@bp.get("/representatives/<ref>", tags=[TAGS["representatives"]],
        responses=_one(schemas.RepresentativeOut))
@needs("read")
def get_representative(path: schemas.Ref):
    return get_one("representatives", path.ref)


@bp.put("/representatives/<ref>", tags=[TAGS["representatives"]],
        responses=_one(schemas.RepresentativeOut, True))
@needs("write")
def put_representative(path: schemas.Ref, body: schemas.RepresentativeUpsert):
    """Create or update a relative, friend or advocate: consent scopes, who recorded the
    consent and when, authority."""
    return upsert("representatives", path.ref, body)


@bp.get("/cases", tags=[TAGS["cases"]], responses=_page(schemas.CaseOut))
@needs("read")
def list_cases(query: schemas.PageQuery):
    return list_page("cases", query)


@bp.get("/cases/<ref>", tags=[TAGS["cases"]], responses=_one(schemas.CaseOut))
@needs("read")
def get_case(path: schemas.Ref):
    return get_one("cases", path.ref)


@bp.put("/cases/<ref>", tags=[TAGS["cases"]], responses=_one(schemas.CaseOut, True))
@needs("write")
def put_case(path: schemas.Ref, body: schemas.CaseUpsert):
    """Create or update a case. A change of news, worker or a closure is told to the person
    and those they trust, once. A change that would undo one made on the line (e.g. a
    closure made here) is refused with 409, and nothing is changed."""
    return upsert("cases", path.ref, body)
