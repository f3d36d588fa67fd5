"""Errors as `application/problem+json` (RFC 9457): what was wrong, and how to fix it.

Every refusal names the field (a JSON pointer into the request) where one is to blame, so
an integrator can correct the request without guessing.
"""

from __future__ import annotations

from flask import Response, json
from pydantic import BaseModel, Field

PROBLEM_TYPE = "about:blank"
TITLES = {400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 415: "Unsupported media type",
          422: "The request cannot be used", 429: "Too many requests",
          500: "Internal error", 503: "Unavailable"}


class FieldProblem(BaseModel):
    pointer: str = Field(description="JSON pointer to the field, e.g. /latest_news")
    detail: str = Field(description="what is wrong with it, and how to fix it")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = PROBLEM_TYPE
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = Field(default_factory=list)


class ApiProblem(Exception):
    """Raised anywhere in the API; answered as problem+json."""

    def __init__(self, status: int, detail: str, errors: list[FieldProblem] | None = None,
                 headers: dict | None = None):
        super().__init__(detail)
        self.status, self.detail = status, detail
        self.errors, self.headers = errors or [], headers or {}


def respond(status: int, detail: str, errors: list[FieldProblem] | None = None,
            headers: dict | None = None) -> Response:
    body = Problem(title=TITLES.get(status, "Error"), status=status, detail=detail,
                   errors=errors or [])
    response = Response(json.dumps(body.model_dump()), status=status,
                        mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_exception(problem: ApiProblem) -> Response:
    return respond(problem.status, problem.detail, problem.errors, problem.headers)


def as_problem_json(spec: dict) -> None:
    """Describe every error answer as served: application/problem+json, not JSON."""
    problem = {"$ref": "#/components/schemas/Problem"}
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            for response in (operation.get("responses") or {}).values():
                content = response.get("content") or {}
                if content.get("application/json", {}).get("schema") == problem:
                    content["application/problem+json"] = content.pop("application/json")


def validation_error(error) -> Response:
    """Pydantic's errors for a request, as one problem with a pointer per field."""
    errors = []
    for item in error.errors():
        loc = [str(part) for part in item.get("loc", ())]
        pointer = "/" + "/".join(loc) if loc else ""
        message = item.get("msg", "is not valid")
        if item.get("type") == "extra_forbidden":
            message = "is not a field here: remove it (see /api/v1/openapi.json)"
        elif item.get("type") == "missing":
            message = "is required: add it"
        errors.append(FieldProblem(pointer=pointer, detail=message))
    return respond(422, "The request does not match the API description: "
                   f"{len(errors)} field(s) to fix.", errors)
