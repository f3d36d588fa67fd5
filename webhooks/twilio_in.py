"""Texts and calls coming in: `POST /twilio/sms`, `POST /twilio/voice` and the voice steps.

Handlers are thin: check the signature, read Twilio's form, hand it to
`bot.inbound.conversation.process`, render the answer (TwiML). Any error still gets valid
TwiML with a safe message and a number to call, with status 200 (see `errors.py`).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from sqlmodel import select
from twilio.twiml.messaging_response import MessagingResponse

from bot.engine import Input, sms_messages
from bot.inbound.conversation import Inbound, TurnOutput, process
from bot.models import Channel, Direction, Interaction, OutboxMessage
from bot.phones import spoken
from bot.records.audit import record_interaction

from . import twiml
from .security import twilio_signed

bp = Blueprint("twilio_in", __name__)


def _runtime():
    return current_app.extensions["caseline"]


def xml(body: str) -> Response:
    return Response(body, status=200, mimetype="text/xml")


@bp.post("/twilio/sms")
@twilio_signed
def incoming_text():
    form = request.form
    inbound = Inbound(channel=Channel.SMS, sid=form.get("MessageSid", ""),
                      raw_from=form.get("From", ""), input=Input.sms(form.get("Body", "")),
                      params=form.to_dict())
    return xml(process(_runtime(), inbound, render_text_reply))


def render_text_reply(output: TurnOutput) -> str:
    response = MessagingResponse()
    for body in sms_messages(output.replies):
        response.message(twiml.xml_safe(body))
    return str(response)


@bp.post("/twilio/voice")
@twilio_signed
def incoming_call():
    return _voice_turn(Input.start(), turn=0)


@bp.post("/twilio/voice/answer")
@twilio_signed
def call_answer():
    form = request.form
    if form.get("Digits"):
        inp = Input.digits(form["Digits"])
    elif form.get("SpeechResult"):
        inp = Input.speech(form["SpeechResult"], _confidence(form.get("Confidence")))
    else:
        inp = Input.silence()  # actionOnEmptyResult, or the Redirect safety net
    return _voice_turn(inp)


@bp.post("/twilio/voice/record")
@twilio_signed
def call_recording():
    form = request.form
    seconds = form.get("RecordingDuration", "0")
    inp = Input.recording(form.get("RecordingUrl", ""), int(seconds) if seconds.isdigit() else 0,
                          key=form.get("Digits", ""))
    return _voice_turn(inp)


@bp.post("/twilio/voice/dial")
@twilio_signed
def call_dial_result():
    return _voice_turn(Input.dial(request.form.get("DialCallStatus", "failed")))


@bp.post("/twilio/voice/transcription")
@twilio_signed
def call_transcription():
    """Twilio's transcription of a message arrives later: add it to the message left."""
    form = request.form
    text = form.get("TranscriptionText", "")
    runtime = _runtime()
    with runtime.session() as session:
        left = session.exec(select(Interaction).where(
            Interaction.kind == "message_left",
            Interaction.twilio_sid == form.get("CallSid", ""))
            .order_by(Interaction.id.desc())).first()
        added = f"\nTranscription: {text}"
        if left is not None and text:
            if added not in left.summary:  # Twilio retries a callback: add it once
                left.summary = f"{left.summary}{added}"
        elif text and not session.exec(select(Interaction).where(
                Interaction.kind == "transcription",
                Interaction.twilio_sid == form.get("CallSid", "")[:64],
                Interaction.summary == text)).first():
            record_interaction(session, kind="transcription", direction=Direction.INBOUND,
                               channel=Channel.VOICE, summary=text,
                               twilio_sid=form.get("CallSid", "")[:64])
    return "", 200


def _confidence(raw: str | None) -> float:
    try:
        return max(0.0, min(1.0, float(raw)))
    except (TypeError, ValueError):
        return 0.0


def _voice_turn(inp: Input, turn: int | None = None, **outbound) -> Response:
    form = request.form
    if turn is None:
        turn = request.args.get("turn", "0")
        turn = int(turn) if str(turn).isdigit() else 0
    inbound = Inbound(channel=Channel.VOICE, sid=form.get("CallSid", ""),
                      raw_from=_other_party(form), input=inp, turn=turn,
                      params=form.to_dict(), **outbound)
    return xml(process(_runtime(), inbound, render_call_step))


def _other_party(form) -> str:
    """The person on the other end: From on calls to us, To on calls we make."""
    outbound = form.get("Direction", "").startswith("outbound")
    return form.get("To", "") if outbound else form.get("From", "")


@bp.post("/twilio/voice/outbound")
@twilio_signed
def outbound_call_answered():
    """A call we made was answered. A machine hears only our number, never a name."""
    runtime = _runtime()
    row_id = request.args.get("outbox", "")
    with runtime.session() as session:
        row = session.get(OutboxMessage, int(row_id)) if row_id.isdigit() else None
        if row is None:
            return xml(_voicemail(runtime))
        recipient = (f"representative:{row.representative_id}" if row.representative_id
                     else f"person:{row.person_id}" if row.person_id else None)
        flow = row.flow
    if request.form.get("AnsweredBy", "").startswith(("machine", "fax")):
        return xml(_voicemail(runtime))
    return _voice_turn(Input.start(), turn=0, flow=flow, recipient_id=recipient)


@bp.post("/twilio/voice/amd")
@twilio_signed
def call_machine_detection():
    """Twilio's verdict on who answered a call we made (asynchronous AMD): the call has
    been talking all along (only what is safe for a voicemail until the PIN). A machine,
    detected at the end of its greeting, is sent our number for a message it records."""
    from bot.delivery import outbox, queues

    runtime = _runtime()
    form = request.form
    answered_by, sid = form.get("AnsweredBy", ""), form.get("CallSid", "")
    with runtime.session() as session:
        attempt = outbox.find_attempt(session, sid=sid, outbox_id=request.args.get("outbox"),
                                      attempt_number=request.args.get("attempt"))
        if attempt is not None and answered_by:
            attempt.answered_by = answered_by  # the call's outcome counts it (no retry early)
            session.add(attempt)
    if answered_by.startswith(("machine", "fax")) and sid:
        queues.leave_voicemail(runtime, sid)
    return "", 204


@bp.post("/twilio/voice/voicemail")
@twilio_signed
def call_voicemail():
    """What a call we made says once Twilio found a machine: who we are and our number."""
    return xml(_voicemail(_runtime()))


def _voicemail(runtime) -> str:
    """What an answering machine (or anyone, before a PIN) may hear: who we are, our number."""
    settings = runtime.settings
    line = settings.twilio_voice_number or settings.twilio_phone_number
    message = (f"Hello. This is the {settings.organisation_name}. Please call us on "
               f"{spoken(line)}. Again, that is {spoken(line)}. Goodbye.")
    return twiml.safe_response(message, twiml.VoiceSettings(voice=settings.voice_name))


def render_call_step(output: TurnOutput) -> str:
    settings = _runtime().settings
    base = settings.public_url.rstrip("/") + "/twilio/voice"
    turn = f"?turn={output.next_turn}"
    urls = twiml.CallUrls(answer=f"{base}/answer{turn}", record=f"{base}/record{turn}",
                          dial=f"{base}/dial{turn}", transcription=f"{base}/transcription")
    voice = twiml.VoiceSettings(voice=settings.voice_name,
                                speech_end_seconds=settings.speech_end_seconds,
                                extra_time=output.needs.extra_time or output.needs.relay)
    caller_id = settings.twilio_voice_number or settings.twilio_phone_number
    return twiml.render(output.replies, urls, voice, connect_to=output.directions.connect_to,
                        caller_id=caller_id, hang_up=output.directions.hang_up or output.ended)
