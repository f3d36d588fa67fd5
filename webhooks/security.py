"""The Twilio signature check every `/twilio/*` route carries.

Twilio signs the URL it requested (its view: `PUBLIC_URL` + path + query string)
and every POST parameter. Behind a proxy, Flask's `request.url` is the internal
address and would never match, so the URL is rebuilt from `PUBLIC_URL`.
"""

from __future__ import annotations

import functools
import logging

from flask import abort, current_app, request
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

log = logging.getLogger(__name__)


def public_url_of_request() -> str:
    """The URL Twilio requested: PUBLIC_URL + path + the raw query string."""
    base = current_app.extensions["caseline"].settings.public_url.rstrip("/")
    query = request.query_string.decode("latin-1")
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def signature_is_valid() -> bool:
    settings = current_app.extensions["caseline"].settings
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    validator = RequestValidator(settings.twilio_auth_token)
    # Every field received is validated, including ones Twilio adds without notice
    # (and repeated keys: the validator reads a MultiDict with getlist).
    params = request.form
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    return validator.validate(public_url_of_request(), params, signature, algorithm=algorithm)


def twilio_signed(view):
    """Refuse (403) any request that Twilio did not sign for our public URL."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not signature_is_valid():
            log.warning("refused unsigned or wrongly signed request to %s", request.path)
            abort(403)
        return view(*args, **kwargs)

    return wrapped
