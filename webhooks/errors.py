"""Failure is never silent to a caller: any error on a Twilio route still gets valid TwiML.

The error is logged without bodies, PINs or whole numbers; Twilio gets status 200
and the caller hears (or reads) a safe message: 999, and the line's duty number. A text
the database could not take is kept in Redis and handled once it is back (bot/inbound/
spool.py).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, request
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.exceptions import HTTPException

from bot.inbound import spool
from bot.phones import InvalidPhoneNumber, display, normalise, spoken

from . import twiml

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    app.register_error_handler(Exception, handle_error)


def handle_error(error: Exception):
    if request.path.startswith("/api/"):
        return _api_problem(error)
    if request.path.startswith("/staff/") and not isinstance(error, HTTPException):
        log.error("error on %s (%s)", request.path, type(error).__name__)
        return Response(_STAFF_FAULT, status=500, mimetype="text/html")
    if isinstance(error, HTTPException):
        return error  # 403 for a bad signature, 404, 405: Twilio's own business
    # The type only: a database error's message could carry a number or a conversation.
    log.error("error on %s (%s)", request.path, type(error).__name__)
    if not request.path.startswith("/twilio/"):
        return {"error": "internal error"}, 500
    if request.path.startswith("/twilio/sms") and _database_down(error):
        spool.keep_text(current_app.extensions["caseline"], request.form.to_dict())
    try:
        return _safe_answer()
    except Exception as again:  # the safe answer must not fail too: fall back to fixed words
        log.error("the safe answer failed as well (%s)", type(again).__name__)
        return Response(_LAST_RESORT, status=200, mimetype="text/xml")


def _api_problem(error: Exception):
    """The API answers every error as problem+json; a fault says nothing of its cause."""
    from .api.problems import ApiProblem, from_exception, respond

    if isinstance(error, ApiProblem):
        return from_exception(error)
    if isinstance(error, HTTPException):
        detail = {404: "There is no such address in the API: see /api/v1/openapi.json.",
                  405: "This address does not take that method: see /api/v1/openapi.json.",
                  415: "Send the body as JSON (Content-Type: application/json)."}
        return respond(error.code or 400, detail.get(error.code, error.description or ""))
    log.error("API error on %s (%s)", request.path, type(error).__name__)
    return respond(500, "Something went wrong on our side; nothing was changed. Try again, "
                        "and tell the Caseline administrator if it goes on.")


_STAFF_FAULT = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Something '
                'went wrong</title></head><body><main><h1>Something went wrong</h1><p>Nothing '
                'was changed. Go back and try again; if it goes on, tell the Caseline '
                'administrator.</p><p><a href="/staff/">Back to the action queue</a></p>'
                '</main></body></html>')
_DANGER = "If you are in danger now, call 999."
_LAST_RESORT = ('<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-GB">'
                f"Sorry, something went wrong. {_DANGER} Please try again later."
                "</Say><Hangup/></Response>")


def _safe_answer() -> Response:
    number, at_night = _help_numbers()
    if request.path.startswith("/twilio/sms"):
        response = MessagingResponse()
        call = f" To speak to a person, call {display(number)}." if number else ""
        if at_night:
            call += f" Outside office hours, call {display(at_night)}."
        response.message(f"Sorry, something went wrong. {_DANGER}{call}")
        return Response(str(response), status=200, mimetype="text/xml")
    if request.path.startswith("/twilio/voice"):
        settings = current_app.extensions["caseline"].settings
        call = (f" To speak to a person, call {spoken(number)}. Again, that is "
                f"{spoken(number)}." if number else "")
        if at_night:
            call += f" Outside office hours, call {spoken(at_night)}."
        message = f"Sorry, something went wrong. {_DANGER}{call} Goodbye."
        body = twiml.safe_response(message, twiml.VoiceSettings(voice=settings.voice_name))
        return Response(body, status=200, mimetype="text/xml")
    return Response("", status=200)  # status callbacks: Twilio needs no answer


def _help_numbers() -> tuple[str, str]:
    """The line's front door and its out-of-hours number, from the settings: the database
    may be what failed, and the line's own number would only bring the caller back here."""
    settings = current_app.extensions["caseline"].settings
    numbers = []
    for raw in (settings.line_duty_number, settings.line_out_of_hours_number):
        try:
            numbers.append(normalise(raw) if raw else "")
        except InvalidPhoneNumber:
            numbers.append("")
    duty, at_night = numbers
    return duty, at_night if at_night != duty else ""


def _database_down(error: Exception) -> bool:
    import sqlalchemy as sa

    return isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError,
                              sa.exc.TimeoutError))
