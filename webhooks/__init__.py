"""The Flask application: Twilio webhooks, health, and (later) the staff API and pages."""

from __future__ import annotations

from flask import Flask
from flask_openapi3 import Info, OpenAPI

from bot.runtime import Runtime


def create_app(runtime: Runtime | None = None) -> Flask:
    """Build the web app; settings come from the environment unless a runtime is given
    (then this is a process of its own, e.g. under gunicorn, and configures its logging)."""
    if runtime is None:
        from bot import logs

        logs.configure("web")
        runtime = Runtime.from_env()
        logs.configure("web", runtime.settings)
    app = _openapi_app()
    app.config["SECRET_KEY"] = runtime.settings.secret_key
    # Flask's own cookie carries only the CSRF token and a sign-in half done (the staff
    # session itself is a row, see webhooks/staff): never readable by scripts or sent
    # cross-site, and Secure when the line is served over HTTPS.
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=runtime.settings.public_url.startswith("https://"),
                      WTF_CSRF_TIME_LIMIT=None)
    app.extensions["caseline"] = runtime

    from . import errors, request_log
    from .health import bp as health_bp
    from .status import bp as status_bp
    from .twilio_in import bp as twilio_in_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(status_bp)
    app.register_blueprint(twilio_in_bp)
    from . import api, staff

    api.register(app)
    app.register_blueprint(staff.bp)
    errors.register(app)
    request_log.register(app)

    from bot.outreach import notices

    notices.install(runtime)  # a status callback may report a call nobody answered
    return app


def _openapi_app() -> Flask:
    """A Flask app that also describes its API (OpenAPI 3.1 at /api/v1/openapi.json, made
    from the code), with Swagger UI from the installed package at /api/v1/docs."""
    from .api.problems import Problem, as_problem_json, validation_error

    class CaselineOpenAPI(OpenAPI):
        def generate_spec_json(self):
            super().generate_spec_json()
            as_problem_json(self.spec_json)

    return CaselineOpenAPI(
        __name__,
        info=Info(title="Caseline API", version="1",
                  description="The case system's way in: records by their own references, "
                              "each case's timeline, the action queue. Errors are "
                              "application/problem+json (RFC 9457)."),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer",
                                     "bearerFormat": "cl_<prefix>_<secret>"}},
        doc_prefix="/api/v1", doc_url="/openapi.json",
        validation_error_status=422, validation_error_model=Problem,
        validation_error_callback=validation_error)
