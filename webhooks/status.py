"""`POST /twilio/status`: Twilio's news about the texts and calls we made.

Callbacks come repeated and out of order; `outbox.apply_status` only ever moves an
attempt forward. A callback for a sid we do not know is logged and answered 200,
so Twilio does not retry it forever.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, request
from sqlmodel import Session

from bot.delivery import outbox
from bot.delivery.queues import Work, dispatch
from bot.models import OutboxMessage

from .security import twilio_signed

log = logging.getLogger(__name__)
bp = Blueprint("twilio_status", __name__)


@bp.post("/twilio/status")
@twilio_signed
def status_callback():
    runtime = current_app.extensions["caseline"]
    form = request.form
    sid = form.get("MessageSid") or form.get("CallSid") or ""
    status = form.get("MessageStatus") or form.get("CallStatus") or ""
    with runtime.session() as session:
        work = _apply(session, runtime, sid, status, form)
    dispatch(runtime, work)
    return "", 200


def _apply(session: Session, runtime, sid: str, status: str, form) -> Work:
    attempt = outbox.find_attempt(session, sid=sid, outbox_id=request.args.get("outbox"),
                                  attempt_number=request.args.get("attempt"))
    if attempt is None:
        log.info("status callback for unknown sid %s… (%s): ignored", sid[:6], status)
        return Work()
    row = session.get(OutboxMessage, attempt.outbox_id, with_for_update=True)
    code = form.get("ErrorCode", "")
    return outbox.apply_status(
        session, row, attempt, status, error_code=int(code) if code.isdigit() else None,
        answered_by=form.get("AnsweredBy", ""),
        max_attempts=runtime.settings.outbound_max_attempts,
    )
