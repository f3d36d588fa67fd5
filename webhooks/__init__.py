"""The Flask application: Twilio webhooks, health, and (later) the staff API and pages."""

from __future__ import annotations

from flask import Flask

from bot.runtime import Runtime


def create_app(runtime: Runtime | None = None) -> Flask:
    """Build the web app; settings come from the environment unless a runtime is given
    (then this is a process of its own, e.g. under gunicorn, and configures its logging)."""
    if runtime is None:
        from bot import logs

        logs.configure("web")
        runtime = Runtime.from_env()
        logs.configure("web", runtime.settings)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = runtime.settings.secret_key
    app.extensions["caseline"] = runtime

    from . import errors, request_log
    from .health import bp as health_bp
    from .status import bp as status_bp
    from .twilio_in import bp as twilio_in_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(status_bp)
    app.register_blueprint(twilio_in_bp)
    errors.register(app)
    request_log.register(app)

    from bot.outreach import notices

    notices.install(runtime)  # a status callback may report a call nobody answered
    return app
