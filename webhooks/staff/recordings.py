"""Playing a message a caller left: our own copy, through our own server, to staff who may
open the case (need to know), each play audited as a view of the case."""

from __future__ import annotations

import logging

from flask import Response, abort, render_template, request

from bot.models import Case, Recording
from bot.records import recordings

from .blueprint import bp, runtime
from .pages import viewed

log = logging.getLogger(__name__)


@bp.get("/recordings/<int:recording_id>")
def recording(recording_id: int):
    with runtime().session() as db:
        found = db.get(Recording, recording_id)
        case = db.get(Case, found.case_id) if found is not None and found.case_id else None
        if case is None:
            abort(404)
        refused = viewed(db, case, "This message is on another team's case. Your request to "
                                   "hear it has been recorded.")
        if refused:
            return refused
        if found.copied_at is None:
            try:
                recordings.copy(db, runtime().settings, found)
            except recordings.RecordingUnavailable as exc:
                db.commit()  # the view is audited all the same
                return render_template(
                    "refused.html", title="The message cannot be played just now",
                    message=f"Our copy is not stored yet and Twilio did not give it ({exc}). "
                            "Try again in a few minutes; if it goes on, tell whoever runs "
                            "the line."), 502
        audio, content_type, ref = found.audio, found.content_type, case.ref
    log.info("recording %s played on case %s", recording_id, ref)
    response = Response(audio, mimetype=content_type or recordings.CONTENT_TYPE)
    if request.args.get("download"):
        response.headers["Content-Disposition"] = \
            f'attachment; filename="message-{ref}-{recording_id}{recordings.FORMAT}"'
    return response
