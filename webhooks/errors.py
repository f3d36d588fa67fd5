"""Failure is never silent to a caller: any error on a Twilio route still gets valid TwiML.

The error is logged without bodies, PINs or whole numbers; Twilio gets status 200
and the caller hears (or reads) a safe message with a number to call.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, request
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.exceptions import HTTPException

from bot.phones import display, spoken

from . import twiml

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    app.register_error_handler(Exception, handle_error)


def handle_error(error: Exception):
    if isinstance(error, HTTPException):
        return error  # 403 for a bad signature, 404, 405: Twilio's own business
    # The type only: a database error's message could carry a number or a conversation.
    log.error("error on %s (%s)", request.path, type(error).__name__)
    if not request.path.startswith("/twilio/"):
        return {"error": "internal error"}, 500
    try:
        return _safe_answer()
    except Exception as again:  # the safe answer must not fail too: fall back to fixed words
        log.error("the safe answer failed as well (%s)", type(again).__name__)
        return Response(_LAST_RESORT, status=200, mimetype="text/xml")


_DANGER = "If you are in danger now, call 999."
_LAST_RESORT = ('<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-GB">'
                f"Sorry, something went wrong. {_DANGER} Please try again later."
                "</Say><Hangup/></Response>")


def _safe_answer() -> Response:
    number = _help_number()
    if request.path.startswith("/twilio/sms"):
        response = MessagingResponse()
        call = f" Please call us on {display(number)}." if number else ""
        response.message(f"Sorry, something went wrong. {_DANGER}{call}")
        return Response(str(response), status=200, mimetype="text/xml")
    if request.path.startswith("/twilio/voice"):
        settings = current_app.extensions["caseline"].settings
        call = (f" Please call us on {spoken(number)}. Again, that is {spoken(number)}."
                if number else "")
        message = f"Sorry, something went wrong. {_DANGER}{call} Goodbye."
        body = twiml.safe_response(message, twiml.VoiceSettings(voice=settings.voice_name))
        return Response(body, status=200, mimetype="text/xml")
    return Response("", status=200)  # status callbacks: Twilio needs no answer


def _help_number() -> str:
    """The duty line of the first team, or the line itself if there is none."""
    settings = current_app.extensions["caseline"].settings
    try:
        from sqlmodel import Session, select

        from bot.models import Team

        with Session(current_app.extensions["caseline"].engine) as session:
            team = session.exec(select(Team).order_by(Team.id)).first()
            if team is not None:
                return team.duty_number
    except Exception:  # the database may be what failed: fall back to our own number
        log.warning("could not read the duty number for the error message")
    return settings.twilio_voice_number or settings.twilio_phone_number or ""
