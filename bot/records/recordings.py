"""Messages callers leave on a call: kept as our own copy, played only through our server.

Twilio's `RecordingUrl` is never shown to anyone: the timeline says "A recorded message
(12s)" and the staff pages (and the API, with the messages scope) play our copy, which
needs a signed-in member of staff who may open the case. The copy lives in the database
(`Recording.audio`), so every web machine can serve it; a sweep copies each new message
from Twilio, and playing one not yet copied copies it then. Deleting Twilio's copy is
retention's business (it must not happen before ours is stored).
"""

from __future__ import annotations

import logging
import re

import requests
from sqlmodel import Session, select

from bot.config import Settings
from bot.delivery.twilio_http import redirect_url
from bot.models import Recording, utcnow

log = logging.getLogger(__name__)

# https://api.twilio.com/2010-04-01/Accounts/AC…/Recordings/RE…
_TWILIO_RECORDING = re.compile(r"^https://[a-z0-9.-]*twilio\.com/.*/Recordings/(RE[0-9a-fA-F]{32})$")
FORMAT, CONTENT_TYPE = ".mp3", "audio/mpeg"  # a tenth of the WAV's size
COPY_BATCH = 20


class RecordingUnavailable(RuntimeError):
    """Our copy is not stored and Twilio did not give it just now; the message says why."""


def keep(session: Session, interaction_id: int, case_id: int | None, url: str,
         seconds: int) -> Recording | None:
    """Note a message left at Twilio's `url`, on the timeline entry `interaction_id` (of
    the case `case_id`, if any); None if `url` is not a Twilio recording."""
    found = _TWILIO_RECORDING.match(url or "")
    if found is None:
        if url:
            log.warning("a recording URL that is not Twilio's was not kept")
        return None
    sid = found.group(1)
    existing = session.exec(select(Recording).where(Recording.twilio_sid == sid)).first()
    if existing is not None:  # Twilio retried the callback
        return existing
    recording = Recording(interaction_id=interaction_id, case_id=case_id,
                          twilio_sid=sid, twilio_url=url, seconds=seconds)
    session.add(recording)
    session.flush()
    return recording


def copy(session: Session, settings: Settings, recording: Recording,
         timeout: float = 10) -> Recording:
    """Fetch Twilio's audio into `recording.audio` (with the account's credentials: Twilio
    may be set to require them for media, and our stand-in always does)."""
    if recording.copied_at is not None:
        return recording
    url = recording.twilio_url + FORMAT
    if settings.twilio_api_base:
        url = redirect_url(url, settings.twilio_api_base)
    try:
        answer = requests.get(url, timeout=timeout,
                              auth=(settings.twilio_account_sid, settings.twilio_auth_token))
    except requests.RequestException as exc:
        raise RecordingUnavailable(f"Twilio could not be reached ({type(exc).__name__})") \
            from None
    if answer.status_code != 200 or not answer.content:
        raise RecordingUnavailable(f"Twilio answered {answer.status_code}")
    recording.audio = answer.content
    recording.content_type = answer.headers.get("Content-Type", CONTENT_TYPE).split(";")[0]
    recording.copied_at = utcnow()
    session.add(recording)
    log.info("recording %s copied from Twilio (%d bytes)", recording.id, len(answer.content))
    return recording


def copy_new(session: Session, settings: Settings) -> dict:
    """Copy the messages not copied yet, a batch at a time (the scheduler runs it)."""
    waiting = session.exec(select(Recording).where(Recording.copied_at.is_(None))
                           .order_by(Recording.id).limit(COPY_BATCH)).all()
    copied = failed = 0
    for recording in waiting:
        try:
            copy(session, settings, recording)
            session.commit()
            copied += 1
        except RecordingUnavailable as exc:
            log.warning("recording %s not copied yet: %s", recording.id, exc)
            session.rollback()
            failed += 1
    return {"copied": copied, "failed": failed}


def by_interaction(session: Session, interaction_ids: list[int]) -> dict[int, int]:
    """{interaction id: recording id} for the timeline (the audio itself is not read)."""
    if not interaction_ids:
        return {}
    rows = session.exec(select(Recording.interaction_id, Recording.id).where(
        Recording.interaction_id.in_(interaction_ids))).all()
    return dict(rows)
