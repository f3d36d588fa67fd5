"""The baseline `benchmarks/webhooks.py` measures Caseline against: the least a Twilio
webhook can do. It checks the X-Twilio-Signature with twilio's own RequestValidator,
against PUBLIC_URL + path + query string as Caseline does, over every POST parameter, and
answers every signed request with the same fixed TwiML text. Nothing else: no database,
no Redis, no conversation.

Served by gunicorn with 2 sync workers (the benchmark starts it):
    gunicorn --workers 2 --pythonpath benchmarks 'webhooks_baseline:from_env()'
with TWILIO_AUTH_TOKEN and PUBLIC_URL in the environment.
"""

from __future__ import annotations

import os

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator

ANSWER = ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thank you. This is the '
          'update line.</Message></Response>')


def create_app(auth_token: str, public_url: str) -> Flask:
    app = Flask(__name__)
    validator = RequestValidator(auth_token)
    base = public_url.rstrip("/")

    @app.post("/twilio/<path:step>")
    def twilio(step: str):
        require_signature(validator, base)
        return Response(ANSWER, status=200, mimetype="text/xml")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


def require_signature(validator: RequestValidator, base: str) -> str:
    """The URL Twilio signed (PUBLIC_URL + path + query), once its signature is right."""
    query = request.query_string.decode("latin-1")
    url = f"{base}{request.path}" + (f"?{query}" if query else "")
    if not validator.validate(url, request.form, request.headers.get("X-Twilio-Signature", "")):
        abort(403)
    return url


def from_env() -> Flask:
    """The app for gunicorn, with the token and the public URL from the environment."""
    return create_app(os.environ["TWILIO_AUTH_TOKEN"], os.environ["PUBLIC_URL"])
