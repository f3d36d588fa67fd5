"""Recordings' media as Twilio serves it: `…/Recordings/RE….mp3` (or `.wav`), and DELETE.

Real Twilio holds the audio a call recorded; the stand-in holds no audio, so it serves a
second of silence for any recording it was not told was deleted, in a real MP3 (or WAV)
that a browser plays. Like Twilio with "HTTP basic authentication for media" on, it
wants the account's credentials (the API's before_request checks them).
"""

from __future__ import annotations

import io
import re
import wave

from flask import Flask, Response

from .resources import API_PREFIX, twilio_error

_SID = re.compile(r"RE[0-9a-fA-F]{32}")
# One MPEG-1 Layer III frame, 32 kbit/s, 32 kHz, mono, no CRC: 144 bytes, whose side
# information of zeros decodes to 1,152 samples of silence.
_SILENT_FRAME = bytes([0xFF, 0xFB, 0x18, 0xC0]) + bytes(140)
_FRAMES_A_SECOND = 28


def silent_mp3(seconds: int = 1) -> bytes:
    return _SILENT_FRAME * (_FRAMES_A_SECOND * max(1, seconds))


def silent_wav(seconds: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)  # Twilio's recordings are 8 kHz mono
        audio.writeframes(bytes(2 * 8000 * max(1, seconds)))
    return out.getvalue()


def register(app: Flask, state_of) -> None:
    base = f"{API_PREFIX}/<account>/Recordings/<sid>"

    def media(account: str, sid: str, ext: str) -> Response:
        state = state_of()
        if not _SID.fullmatch(sid) or sid in state.deleted_recordings:
            return twilio_error(20404)
        state.recording_fetches.append(sid)
        if ext == "mp3":
            return Response(silent_mp3(), mimetype="audio/mpeg")
        return Response(silent_wav(), mimetype="audio/x-wav")

    def delete(account: str, sid: str) -> Response:
        state = state_of()
        if not _SID.fullmatch(sid) or sid in state.deleted_recordings:
            return twilio_error(20404)
        state.deleted_recordings.add(sid)
        return Response(status=204)

    app.add_url_rule(f"{base}.mp3", "recording_mp3", lambda account, sid: media(
        account, sid, "mp3"), methods=["GET"])
    app.add_url_rule(f"{base}.wav", "recording_wav", lambda account, sid: media(
        account, sid, "wav"), methods=["GET"])
    app.add_url_rule(f"{base}.json", "delete_recording", delete, methods=["DELETE"])
