"""The REST API for the council's case system, `/api/v1/` (OpenAPI 3.1, made from this code).

`records` (teams, workers, people, representatives, cases), `operations` (case changes,
the action queue, the timeline) and `people` (subject access, erasure) add their routes to
one blueprint; `auth` checks the token, its scopes and rate, and audits every call.
"""

from __future__ import annotations

from flask import redirect
from flask_openapi3 import OpenAPI

from . import operations, people, records
from .blueprint import PREFIX, bp

__all__ = ["operations", "people", "records", "register"]


def register(app: OpenAPI) -> None:
    app.register_api(bp)
    app.add_url_rule(f"{PREFIX}/docs", "api_docs", lambda: redirect(f"{PREFIX}/swagger"))
