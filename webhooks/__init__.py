"""The Flask application: Twilio webhooks, health, and (later) the staff API and pages."""

from __future__ import annotations

from flask import Flask

from bot.runtime import Runtime


def create_app(runtime: Runtime | None = None) -> Flask:
    """Build the web app; settings come from the environment unless a runtime is given."""
    runtime = runtime or Runtime.from_env()
    app = Flask(__name__)
    app.config["SECRET_KEY"] = runtime.settings.secret_key
    app.extensions["caseline"] = runtime

    from . import errors
    from .health import bp as health_bp
    from .status import bp as status_bp
    from .twilio_in import bp as twilio_in_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(status_bp)
    app.register_blueprint(twilio_in_bp)
    errors.register(app)

    from bot.outreach import notices

    notices.install(runtime)  # a status callback may report a call nobody answered
    return app
