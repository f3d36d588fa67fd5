"""`POST /twilio/status`: signed as Twilio signs, forward-only, unknown sids answered 200."""

from datetime import timedelta

import pytest
from sqlmodel import Session
from twilio.request_validator import RequestValidator

from bot.delivery import outbox, sending
from bot.models import Channel, OutboxMessage, OutboxStatus, SendAttempt, utcnow
from webhooks import create_app


def _post(runtime, path, params, *, sign=True, url=None, token=None):
    client = create_app(runtime).test_client()
    settings = runtime.settings
    signed_url = url or settings.public_url.rstrip("/") + path
    headers = {}
    if sign:
        validator = RequestValidator(token or settings.twilio_auth_token)
        headers["X-Twilio-Signature"] = validator.compute_signature(signed_url, params)
    return client.post(path, data=params, headers=headers)


def _sent_row(runtime, sid="SM" + "1" * 32):
    with runtime.session() as session:
        row = outbox.add(session, key="reply/9", purpose="reply", channel=Channel.SMS,
                         to="+447700900123", body="Hello.")
        attempt = outbox.claim(session, row.id, now=utcnow())
        attempt.twilio_sid = sid
        attempt.status = "queued"
    return row.id, attempt.id


def _params(status, sid="SM" + "1" * 32, **extra):
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32,
            "From": "+447700900000", "To": "+447700900123", "MessageStatus": status,
            "SmsStatus": status, "ApiVersion": "2010-04-01", **extra}


def test_unsigned_and_wrongly_signed_are_refused(runtime):
    assert _post(runtime, "/twilio/status", _params("sent"), sign=False).status_code == 403
    wrong = _post(runtime, "/twilio/status", _params("sent"), token="not-the-token")
    assert wrong.status_code == 403
    moved = _post(runtime, "/twilio/status", _params("sent"),
                  url="https://elsewhere.example.org/twilio/status")
    assert moved.status_code == 403


def test_tampered_body_is_refused(runtime):
    client = create_app(runtime).test_client()
    url = runtime.settings.public_url + "/twilio/status"
    signature = RequestValidator(runtime.settings.twilio_auth_token).compute_signature(
        url, _params("sent"))
    response = client.post("/twilio/status", data=_params("delivered"),
                           headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_unknown_sid_is_answered_200(runtime):
    response = _post(runtime, "/twilio/status", _params("delivered", sid="SM" + "9" * 32))
    assert response.status_code == 200


def test_statuses_only_move_forward(runtime):
    row_id, attempt_id = _sent_row(runtime)
    for status in ("sent", "delivered", "sent", "queued", "delivered"):
        assert _post(runtime, "/twilio/status", _params(status)).status_code == 200
    with Session(runtime.engine) as session:
        assert session.get(SendAttempt, attempt_id).status == "delivered"
        assert session.get(OutboxMessage, row_id).status is OutboxStatus.DELIVERED


def test_a_callback_names_its_attempt_before_we_knew_the_sid(runtime):
    with runtime.session() as session:
        row = outbox.add(session, key="reply/10", purpose="reply", channel=Channel.SMS,
                         to="+447700900123", body="Hello.")
        attempt = outbox.claim(session, row.id, now=utcnow())
    path = f"/twilio/status?outbox={row.id}&attempt=1"
    response = _post(runtime, path, _params("sent", sid="SM" + "2" * 32))
    assert response.status_code == 200
    with Session(runtime.engine) as session:
        stored = session.get(SendAttempt, attempt.id)
        assert (stored.twilio_sid, stored.status) == ("SM" + "2" * 32, "sent")


def test_a_worker_that_died_before_the_request_left_is_released(runtime):
    with runtime.session() as session:
        row = outbox.add(session, key="reply/11", purpose="reply", channel=Channel.SMS,
                         to="+447700900123", body="Hello.")
        outbox.claim(session, row.id, now=utcnow())  # then the worker died
    counts = sending.sweep(runtime, now=utcnow() + timedelta(minutes=10))
    assert counts["released"] == 1
    with Session(runtime.engine) as session:
        assert session.get(OutboxMessage, row.id).status is OutboxStatus.PENDING
        assert outbox.latest_attempt(session, session.get(OutboxMessage, row.id)).status \
            == "abandoned"


def test_signed_for_the_public_url_behind_a_proxy_passes(runtime):
    from dataclasses import replace

    from bot.runtime import Runtime

    behind = Runtime(replace(runtime.settings, public_url="https://caseline.example.org"),
                     _engine=runtime.engine)
    # The test client's request is http://localhost/...; Twilio signed the https address.
    response = _post(behind, "/twilio/status?outbox=1&attempt=1", _params("sent"))
    assert response.status_code == 200
    altered = create_app(behind).test_client().post(
        "/twilio/status?outbox=2&attempt=1", data=_params("sent"),
        headers={"X-Twilio-Signature": RequestValidator(
            behind.settings.twilio_auth_token).compute_signature(
            "https://caseline.example.org/twilio/status?outbox=1&attempt=1", _params("sent"))})
    assert altered.status_code == 403


@pytest.mark.parametrize("route", ["/twilio/sms", "/twilio/voice", "/twilio/voice/answer?turn=1",
                                   "/twilio/voice/record?turn=1", "/twilio/voice/dial?turn=1",
                                   "/twilio/voice/transcription",
                                   "/twilio/voice/outbound?outbox=1"])
def test_every_twilio_route_refuses_unsigned_requests(runtime, route):
    params = {"From": "+447700900101", "Body": "hello", "CallSid": "CA" + "1" * 32}
    assert _post(runtime, route, params, sign=False).status_code == 403
    assert _post(runtime, route, params, token="wrong-token").status_code == 403


@pytest.mark.parametrize("verified, ends", [(True, OutboxStatus.ANSWERED),
                                            (False, OutboxStatus.NOT_ANSWERED)])
def test_a_call_counts_as_answered_only_once_the_person_gave_their_pin(runtime, verified, ends):
    from bot.models import ConversationState

    sid = "CA" + "4" * 32
    with runtime.session() as session:
        row = outbox.add(session, key="check_in/1/person:1/1", purpose="check_in",
                         channel=Channel.VOICE, to="+441134960505", flow="checkin")
        attempt = outbox.claim(session, row.id, now=utcnow())
        attempt.twilio_sid, attempt.status = sid, "queued"
        # Who gave the right PIN in the call: it outlives the flow's own values.
        who = {"id": "person:1"} if verified else None
        session.add(ConversationState(key=f"voice:{sid}", channel=Channel.VOICE,
                                      flow="checkin", state={"values": {}, "verified": who}))
    base = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": "+447700900000",
            "To": "+441134960505", "Direction": "outbound-api", "AnsweredBy": "human"}
    for status in ("initiated", "ringing", "in-progress", "completed"):
        _post(runtime, "/twilio/status", {**base, "CallStatus": status})
    with Session(runtime.engine) as session:
        stored = session.get(OutboxMessage, row.id)
        assert stored.status is ends
        assert stored.call_outcome == ("" if verified else "not_verified")
