"""The fake Twilio, exercised through the real twilio-python client and a real webhook receiver."""

import json
import logging
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from flask import Flask, request
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from bot.delivery.twilio_http import make_client
from bot.tryout.fake_twilio import DEFAULT_SENDER, FakeTwilioServer, create_fake_app, fake_state
from bot.tryout.fake_twilio import num_segments as segments

SID = "AC" + "5" * 32
TOKEN = "test-only-token-for-the-fake"
MOBILE = "+447700900123"
OTHER = "+447700900456"
STOPPED = "+447700900999"
SENDER = "+447700900000"
LANDLINE = "+441134960123"
SERVICE = "MG" + "1" * 32
TWIML_URL = "https://caseline.example/voice/outbound"
FULL_EVENTS = ["initiated", "ringing", "answered", "completed"]


class Receiver:
    """A webhook receiver on a real port that records every request it gets."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self._lock = threading.Lock()
        app = Flask("receiver")

        @app.route("/status", methods=["GET", "POST"])
        def status():
            self._record()
            return "", 204

        @app.post("/broken")
        def broken():
            self._record()
            return "no", 500

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.port}/status"

    def _record(self) -> None:
        params = request.form.to_dict() if request.method == "POST" else {}
        with self._lock:
            # The URL as sent: request.url re-quotes the query (%2C becomes ","), which breaks
            # the signature of a URL whose query has such characters.
            query = request.query_string.decode()
            url = request.base_url + (f"?{query}" if query else "")
            self.received.append({"url": url, "params": params,
                                  "signature": request.headers.get("X-Twilio-Signature", "")})

    def for_sid(self, sid: str) -> list[dict]:
        with self._lock:
            return [r for r in self.received
                    if sid in (r["params"].get("MessageSid"), r["params"].get("CallSid"))]

    def statuses(self, sid: str) -> list[str]:
        return [r["params"].get("MessageStatus") or r["params"]["CallStatus"]
                for r in self.for_sid(sid)]

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


def signed_by(token: str, hit: dict) -> bool:
    return RequestValidator(token).validate(hit["url"], hit["params"], hit["signature"])


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def fake():
    with FakeTwilioServer(account_sid=SID, auth_token=TOKEN, callback_delay=0.02,
                          chaos=False) as server:
        yield server
    assert not [t for t in threading.enumerate() if t.name.startswith("fake-twilio")]


@pytest.fixture
def client(fake):
    client = make_client(SID, TOKEN, fake.url, timeout=5)
    yield client
    client.http_client.close()


def send(client, to=MOBILE, **kwargs):
    return client.messages.create(to=to, from_=SENDER, body="Your case has an update.",
                                  **kwargs)


def settled(fake):
    """Wait until every status change and callback has been sent."""
    fake.wait_for(lambda: fake.state.idle)


# --- creating -----------------------------------------------------------------------------------


def test_a_created_message_has_twilio_s_shape(fake, client):
    message = send(client)
    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.status == "queued"
    assert (message.to, message.from_, message.body) == (MOBILE, SENDER,
                                                         "Your case has an update.")
    assert message.direction == "outbound-api"
    assert message.account_sid == SID and message.api_version == "2010-04-01"
    assert abs(message.date_created - datetime.now(UTC)) < timedelta(seconds=5)
    assert message.date_sent is None  # not sent yet
    assert (message.num_segments, message.price, message.error_code) == ("1", None, None)
    assert message.uri == f"/2010-04-01/Accounts/{SID}/Messages/{message.sid}.json"
    [stored] = fake.messages
    assert stored["sid"] == message.sid and stored["body"] == "Your case has an update."
    assert stored["params"]["To"] == MOBILE


def test_a_messaging_service_message_is_accepted_then_gets_a_sender(fake, client, receiver):
    message = client.messages.create(to=MOBILE, messaging_service_sid=SERVICE, body="Hi",
                                     status_callback=receiver.url)
    assert (message.status, message.from_, message.messaging_service_sid) == (
        "accepted", None, SERVICE)
    settled(fake)
    assert receiver.statuses(message.sid) == ["queued", "sent", "delivered"]
    first = receiver.for_sid(message.sid)[0]["params"]
    assert first["MessagingServiceSid"] == SERVICE and first["From"] == DEFAULT_SENDER
    assert client.messages(message.sid).fetch().from_ == DEFAULT_SENDER


def test_a_created_call_has_twilio_s_shape_and_keeps_repeated_params(fake, client):
    call = client.calls.create(to=MOBILE, from_=LANDLINE, url=TWIML_URL,
                               status_callback_event=FULL_EVENTS, machine_detection="Enable",
                               timeout=20)
    assert re.fullmatch(r"CA[0-9a-f]{32}", call.sid)
    # twilio-python calls it `from_` on a message but `_from` on a call.
    assert (call.status, call.direction, call.to, call._from) == (
        "queued", "outbound-api", MOBILE, LANDLINE)
    assert call.to_formatted == "07700 900123"
    [stored] = fake.calls
    # twilio-python sends a list as the same form key repeated.
    assert stored["params"]["StatusCallbackEvent"] == FULL_EVENTS
    assert stored["params"]["Timeout"] == "20"


@pytest.mark.parametrize("body, count", [("a" * 160, 1), ("a" * 161, 2), ("€" * 80, 1),
                                         ("€" * 81, 2), ("é" * 70, 1), ("ą" * 70, 1),
                                         ("ą" * 71, 2), ("a" * 306, 2), ("a" * 307, 3)])
def test_segments_are_counted_like_sms(body, count):
    assert segments(body) == count


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "code", "status"),
    [
        ({"code": 21610}, 21610, 400),
        ({"code": 21211}, 21211, 400),
        ({"code": 21614}, 21614, 400),
        ({"code": 30006}, 30006, 400),
        ({"code": 20429}, 20429, 429),
        ({"http_status": 429}, 20429, 429),
        ({"http_status": 500}, 20500, 500),
        ({"http_status": 503}, 20503, 503),
    ],
)
def test_injected_errors_raise_twilio_rest_exception(fake, client, rule, code, status):
    fake.state.fail_create(**rule)
    with pytest.raises(TwilioRestException) as caught:
        send(client)
    assert (caught.value.code, caught.value.status) == (code, status)
    assert fake.messages == []
    assert fake.state.refused == [{"resource": "messages", "to": MOBILE, "code": code,
                                   "status": status}]
    send(client)  # the rule was for one create only
    assert len(fake.messages) == 1


def test_several_failures_then_success(fake, client):
    fake.state.fail_create(http_status=503, count=2)
    for _ in range(2):
        with pytest.raises(TwilioRestException):
            send(client)
    assert send(client).status == "queued"


def test_a_number_can_fail_every_time(fake, client):
    fake.state.fail_create(21610, to=STOPPED, count=None)
    for _ in range(3):
        with pytest.raises(TwilioRestException) as caught:
            send(client, to=STOPPED)
        assert caught.value.code == 21610
    assert send(client, to=OTHER).status == "queued"
    assert [m["to"] for m in fake.messages] == [OTHER]


def test_rules_can_target_calls(fake, client):
    fake.state.fail_create(21211, resource="calls")
    with pytest.raises(TwilioRestException) as caught:
        client.calls.create(to=MOBILE, from_=LANDLINE, url=TWIML_URL)
    assert caught.value.code == 21211
    send(client)
    assert client.calls.create(to=MOBILE, from_=LANDLINE, url=TWIML_URL).status == "queued"


def test_a_wrong_token_is_401_authenticate(fake):
    client = make_client(SID, "not-the-token", fake.url)
    try:
        with pytest.raises(TwilioRestException) as caught:
            send(client)
    finally:
        client.http_client.close()
    assert (caught.value.code, caught.value.status) == (20003, 401)
    assert fake.messages == []


def test_missing_auth_gets_twilio_s_error_json(fake):
    url = f"{fake.url}/2010-04-01/Accounts/{SID}/Messages.json"
    with requests.post(url, data={"To": MOBILE, "From": SENDER, "Body": "x"}) as response:
        assert response.status_code == 401
        assert response.json() == {"code": 20003, "message": "Authenticate",
                                   "more_info": "https://www.twilio.com/docs/errors/20003",
                                   "status": 401}


def test_another_account_in_the_path_is_refused(fake):
    url = f"{fake.url}/2010-04-01/Accounts/AC{'9' * 32}/Messages.json"
    data = {"To": MOBILE, "From": SENDER, "Body": "x"}
    with requests.post(url, data=data, auth=(SID, TOKEN)) as response:
        assert response.status_code == 401


def test_missing_to_is_21604(fake):
    url = f"{fake.url}/2010-04-01/Accounts/{SID}/Messages.json"
    with requests.post(url, data={"From": SENDER, "Body": "x"}, auth=(SID, TOKEN)) as response:
        assert response.status_code == 400
        assert response.json()["code"] == 21604


@pytest.mark.parametrize("to", ["07700 900123", "447700900123", "+44 7700 900123",
                                "whatsapp:+447700900123"])
def test_to_not_e164_is_21211(fake, client, to):
    with pytest.raises(TwilioRestException) as caught:
        send(client, to=to)
    assert (caught.value.code, caught.value.status) == (21211, 400)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": MOBILE, "from_": SENDER}, 21602),
        ({"to": MOBILE, "from_": SENDER, "body": "x" * 1601}, 21617),
        ({"to": MOBILE, "body": "x"}, 21603),
        ({"to": MOBILE, "from_": "not a sender!", "body": "x"}, 21212),
        ({"to": MOBILE, "from_": SENDER, "body": "x", "status_callback": "ftp://x"}, 21609),
    ],
)
def test_bad_messages_get_twilio_s_codes(fake, client, kwargs, code):
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(**kwargs)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": MOBILE, "from_": LANDLINE}, 21205),
        ({"to": "0113 496 0123", "from_": LANDLINE, "url": TWIML_URL}, 21211),
        ({"to": MOBILE, "from_": LANDLINE, "twiml": "<Response/>" + " " * 4000}, 32018),
        ({"to": MOBILE, "from_": LANDLINE, "url": TWIML_URL, "timeout": 601}, 20001),
    ],
)
def test_bad_calls_get_twilio_s_codes(fake, client, kwargs, code):
    with pytest.raises(TwilioRestException) as caught:
        client.calls.create(**kwargs)
    assert caught.value.code == code


def test_an_unknown_sid_is_20404(fake, client):
    with pytest.raises(TwilioRestException) as caught:
        client.messages("SM" + "0" * 32).fetch()
    assert (caught.value.code, caught.value.status) == (20404, 404)


# --- listing and fetching -----------------------------------------------------------------------


def test_fetch_by_sid_follows_the_status(fake, client):
    sid = send(client).sid
    settled(fake)
    message = client.messages(sid).fetch()
    assert message.status == "delivered"
    assert abs(message.date_sent - datetime.now(UTC)) < timedelta(seconds=5)


def test_list_filters_by_to_from_and_date_sent(fake, client):
    for _ in range(3):
        send(client)
    send(client, to=OTHER)
    settled(fake)
    now = datetime.now(UTC)
    assert len(client.messages.list(to=MOBILE)) == 3
    assert len(client.messages.list(from_=SENDER)) == 4
    assert len(client.messages.list(to=MOBILE, date_sent_after=now - timedelta(minutes=1))) == 3
    assert client.messages.list(to=MOBILE, date_sent_after=now + timedelta(hours=1)) == []
    assert client.messages.list(date_sent_before=now - timedelta(hours=1)) == []
    assert len(client.messages.list(date_sent=now.strftime("%Y-%m-%d"))) == 4
    newest_first = [m["sid"] for m in reversed(fake.messages)]
    assert [m.sid for m in client.messages.list()] == newest_first


def test_a_queued_message_has_no_date_sent_so_date_filters_miss_it():
    with FakeTwilioServer(account_sid=SID, auth_token=TOKEN, callback_delay=30) as fake:
        client = make_client(SID, TOKEN, fake.url)
        try:
            send(client)
            since = datetime.now(UTC) - timedelta(minutes=5)
            assert len(client.messages.list(to=MOBILE)) == 1
            assert client.messages.list(to=MOBILE, date_sent_after=since) == []
        finally:
            client.http_client.close()


def test_list_pages_through_next_page_uri(fake, client):
    for _ in range(5):
        send(client)
    page = client.messages.page(to=MOBILE, page_size=2)
    assert len(list(page)) == 2 and page.next_page_url is not None
    assert len(client.messages.list(to=MOBILE, page_size=2)) == 5
    assert len(client.messages.list(to=MOBILE, limit=3)) == 3


def test_calls_list_by_start_time_and_fetch(fake, client):
    sid = client.calls.create(to=MOBILE, from_=LANDLINE, url=TWIML_URL).sid
    client.calls.create(to=OTHER, from_=LANDLINE, url=TWIML_URL)
    settled(fake)
    since = datetime.now(UTC) - timedelta(minutes=1)
    assert [c.sid for c in client.calls.list(to=MOBILE, start_time_after=since)] == [sid]
    assert len(client.calls.list(start_time_after=since)) == 2
    assert client.calls.list(start_time_before=since) == []
    assert len(client.calls.list(status="completed")) == 2
    assert client.calls(sid).fetch().duration == "12"


# --- status callbacks ---------------------------------------------------------------------------


def test_message_callbacks_are_signed_and_in_order(fake, client, receiver):
    sid = send(client, status_callback=receiver.url).sid
    settled(fake)
    hits = receiver.for_sid(sid)
    assert [h["params"]["MessageStatus"] for h in hits] == ["queued", "sent", "delivered"]
    for hit in hits:
        assert signed_by(TOKEN, hit)
        assert not signed_by("another-token", hit)
        params = hit["params"]
        assert params["SmsSid"] == sid and params["SmsStatus"] == params["MessageStatus"]
        assert (params["AccountSid"], params["From"], params["To"], params["ApiVersion"]) == (
            SID, SENDER, MOBILE, "2010-04-01")
        assert "ErrorCode" not in params


def test_a_callback_url_with_a_query_is_signed_with_it(fake, client, receiver):
    url = receiver.url + "?outbox=42&turn=1"
    sid = send(client, status_callback=url).sid
    settled(fake)
    hits = receiver.for_sid(sid)
    assert hits and all(h["url"] == url and signed_by(TOKEN, h) for h in hits)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (30003, "undelivered", ["queued", "sent", "undelivered"]),
        (30005, "undelivered", ["queued", "sent", "undelivered"]),
        (30006, "failed", ["queued", "failed"]),
        (30007, "undelivered", ["queued", "sent", "undelivered"]),
    ],
)
def test_delivery_failures_end_with_an_error_code(fake, client, receiver, code, status,
                                                  expected):
    fake.state.fail_delivery(code, status=status)
    message = send(client, status_callback=receiver.url)
    assert message.status == "queued"  # created fine: the failure comes later
    settled(fake)
    hits = receiver.for_sid(message.sid)
    assert [h["params"]["MessageStatus"] for h in hits] == expected
    assert hits[-1]["params"]["ErrorCode"] == str(code)
    assert all("ErrorCode" not in h["params"] for h in hits[:-1])
    assert all(signed_by(TOKEN, h) for h in hits)
    fetched = client.messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code) == (status, code)
    assert fetched.error_message
    assert send(client).status == "queued"  # the next one is fine


def test_delivery_failures_by_number(fake, client, receiver):
    fake.state.fail_delivery(30003, to=STOPPED, count=None)
    failing = [send(client, to=STOPPED, status_callback=receiver.url).sid for _ in range(2)]
    fine = send(client, to=OTHER, status_callback=receiver.url).sid
    settled(fake)
    assert [receiver.statuses(s)[-1] for s in failing] == ["undelivered", "undelivered"]
    assert receiver.statuses(fine)[-1] == "delivered"


def _chaotic_run(seed: int, receiver: Receiver, chaos: bool = True) -> list[list[str]]:
    """Send 8 texts through a fresh fake; return each one's callback statuses, in order."""
    with FakeTwilioServer(account_sid=SID, auth_token=TOKEN, seed=seed, callback_delay=0.01,
                          chaos=chaos) as fake:
        fake.state.set_chaos(chaos, duplicate=0.4, reorder=0.4)
        client = make_client(SID, TOKEN, fake.url)
        try:
            sids = [send(client, status_callback=receiver.url).sid for _ in range(8)]
        finally:
            client.http_client.close()
        settled(fake)
    assert all(signed_by(TOKEN, h) for s in sids for h in receiver.for_sid(s))
    return [receiver.statuses(s) for s in sids]


def _has_duplicate(statuses: list[str]) -> bool:
    return len(set(statuses)) < len(statuses)


def _out_of_order(statuses: list[str]) -> bool:
    rank = {"queued": 0, "sent": 1, "delivered": 2}
    seen = [rank[s] for s in statuses]
    return any(b < a for a, b in zip(seen, seen[1:], strict=False))


def test_chaos_sends_duplicates_and_out_of_order_deterministically(receiver):
    first = _chaotic_run(7, receiver)
    again = _chaotic_run(7, receiver)
    assert first == again
    assert any(_has_duplicate(s) for s in first)
    assert any(_out_of_order(s) for s in first)
    # Every status still arrives at least once.
    assert all(set(s) == {"queued", "sent", "delivered"} for s in first)
    assert _chaotic_run(8, receiver) != first


def test_without_chaos_every_callback_comes_once_and_in_order(receiver):
    runs = _chaotic_run(7, receiver, chaos=False)
    assert runs == [["queued", "sent", "delivered"]] * 8


def test_chaos_is_off_switchable_at_runtime(fake, client, receiver):
    assert fake.state.chaos is False
    fake.state.set_chaos(True, duplicate=1.0, reorder=0.0)
    sid = send(client, status_callback=receiver.url).sid
    settled(fake)
    assert receiver.statuses(sid) == ["queued", "queued", "sent", "sent", "delivered",
                                      "delivered"]


def test_callback_failures_are_logged_and_dropped(fake, client, receiver, caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    send(client, status_callback=f"http://127.0.0.1:{closed}/status?secret=1")
    send(client, status_callback=receiver.url.replace("/status", "/broken"))
    settled(fake)
    errors = [c["error"] for c in fake.callbacks if c["error"]]
    codes = [c["status_code"] for c in fake.callbacks if c["status_code"]]
    assert errors == ["ConnectionError"] * 3 and codes == [500] * 3
    assert "dropped" in caplog.text and "secret=1" not in caplog.text
    assert send(client).status == "queued"  # still serving


def test_call_callbacks_by_get_carry_params_in_the_signed_url(fake, client, receiver):
    # Only calls have StatusCallbackMethod; message callbacks are always POSTed.
    sid = client.calls.create(to=MOBILE, from_=LANDLINE, url=TWIML_URL,
                              status_callback=receiver.url, status_callback_method="GET",
                              status_callback_event=FULL_EVENTS).sid
    settled(fake)
    hits = [h for h in receiver.received if f"CallSid={sid}" in h["url"]]
    assert len(hits) == 4
    assert all(RequestValidator(TOKEN).validate(h["url"], {}, h["signature"]) for h in hits)


# --- calls --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "statuses", "answered_by", "duration", "final"),
    [
        ("answered", ["initiated", "ringing", "in-progress", "completed"], "human", "12",
         "completed"),
        ("machine", ["initiated", "ringing", "in-progress", "completed"], "machine_start", "20",
         "completed"),
        ("no-answer", ["initiated", "ringing", "no-answer"], None, "0", "no-answer"),
        ("busy", ["initiated", "busy"], None, "0", "busy"),
        ("failed", ["initiated", "failed"], None, "0", "failed"),
    ],
)
def test_call_outcomes(fake, client, receiver, outcome, statuses, answered_by, duration, final):
    fake.state.set_call_outcome(outcome)
    sid = client.calls.create(to=MOBILE, from_=LANDLINE, url=TWIML_URL,
                              status_callback=receiver.url, status_callback_event=FULL_EVENTS,
                              machine_detection="Enable").sid
    settled(fake)
    hits = receiver.for_sid(sid)
    assert [h["params"]["CallStatus"] for h in hits] == statuses
    assert [h["params"]["SequenceNumber"] for h in hits] == [str(i) for i in range(len(hits))]
    assert all(signed_by(TOKEN, h) for h in hits)
    last = hits[-1]["params"]
    assert last["CallDuration"] == duration
    assert last.get("AnsweredBy") == answered_by
    assert (last["Direction"], last["ApiVersion"], last["AccountSid"]) == (
        "outbound-api", "2010-04-01", SID)
    assert (last["From"], last["To"]) == (LANDLINE, MOBILE)
    assert all("CallDuration" not in h["params"] for h in hits[:-1])
    fetched = client.calls(sid).fetch()
    assert (fetched.status, fetched.answered_by, fetched.duration) == (final, answered_by,
                                                                       duration)


def test_without_events_only_completed_is_sent(fake, client, receiver):
    sid = client.calls.create(to=MOBILE, from_=LANDLINE, url=TWIML_URL,
                              status_callback=receiver.url).sid
    settled(fake)
    [hit] = receiver.for_sid(sid)
    assert hit["params"]["CallStatus"] == "completed"
    assert hit["params"]["SequenceNumber"] == "0"
    assert "AnsweredBy" not in hit["params"]  # no machine detection asked


def test_call_outcomes_by_number(fake, client):
    fake.state.set_call_outcome("no-answer", to=OTHER, count=None)
    sids = [client.calls.create(to=to, from_=LANDLINE, url=TWIML_URL).sid
            for to in (OTHER, MOBILE, OTHER)]
    settled(fake)
    assert [client.calls(s).fetch().status for s in sids] == ["no-answer", "completed",
                                                              "no-answer"]


def test_detect_message_end_reports_the_beep(fake, client, receiver):
    fake.state.set_call_outcome("machine")
    sid = client.calls.create(to=MOBILE, from_=LANDLINE, url=TWIML_URL,
                              status_callback=receiver.url,
                              machine_detection="DetectMessageEnd").sid
    settled(fake)
    assert receiver.for_sid(sid)[-1]["params"]["AnsweredBy"] == "machine_end_beep"


# --- hanging ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("when", "recorded"), [("before", 0), ("after", 1)])
def test_a_hung_create_times_out_the_client(fake, when, recorded):
    fake.state.hang_create(when=when)  # until released, or until the client goes away
    impatient = make_client(SID, TOKEN, fake.url, timeout=0.3)
    try:
        with pytest.raises(requests.exceptions.ReadTimeout):
            send(impatient)
    finally:
        impatient.http_client.close()
    fake.wait_for(lambda: fake.state.held == 0)  # the fake noticed the client leave
    assert len(fake.messages) == recorded


def test_a_hold_with_seconds_answers_late(fake, client):
    fake.state.hang_create(seconds=0.3)
    started = time.monotonic()
    message = send(client)
    assert time.monotonic() - started >= 0.3
    assert [m["sid"] for m in fake.messages] == [message.sid]


def test_a_held_request_can_be_released_over_http(fake, client):
    fake.state.hang_create(when="before")
    result = {}
    sender = threading.Thread(target=lambda: result.update(sid=send(client).sid))
    sender.start()
    fake.wait_for(lambda: fake.state.held == 1)
    assert fake.messages == []
    with requests.post(f"{fake.url}/_fake/release") as response:
        assert response.json() == {"released": 1}
    sender.join(timeout=5)
    assert [m["sid"] for m in fake.messages] == [result["sid"]]


_KILLED_CLIENT = textwrap.dedent("""
    import sys
    from bot.delivery.twilio_http import make_client
    client = make_client(sys.argv[1], sys.argv[2], sys.argv[3], timeout=60)
    client.messages.create(to=sys.argv[4], from_=sys.argv[5], body="Sent before the crash")
""")


@pytest.mark.parametrize(("when", "recorded"), [("before", 0), ("after", 1)])
def test_a_client_process_killed_while_held(fake, when, recorded):
    fake.state.hang_create(when=when)
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_CLIENT, SID, TOKEN, fake.url,
                             MOBILE, SENDER])
    try:
        fake.wait_for(lambda: fake.state.held == 1, timeout=20)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    fake.wait_for(lambda: fake.state.held == 0)
    assert len(fake.messages) == recorded


def test_stopping_the_server_ends_held_requests_quickly():
    server = FakeTwilioServer(account_sid=SID, auth_token=TOKEN).start()
    server.state.hang_create(when="before")
    client = make_client(SID, TOKEN, server.url, timeout=30)
    outcome = {}

    def attempt():
        try:
            send(client)
        except TwilioRestException as exc:
            outcome["status"] = exc.status

    sender = threading.Thread(target=attempt)
    sender.start()
    try:
        server.wait_for(lambda: server.state.held == 1)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 3
        sender.join(timeout=5)
    finally:
        client.http_client.close()
    assert outcome == {"status": 503} and server.messages == []
    assert not [t for t in threading.enumerate() if t.name.startswith("fake-twilio")]


# --- control over HTTP, the Flask app, the command ----------------------------------------------


def _post(fake, path, payload=None):
    with requests.post(f"{fake.url}/_fake/{path}", json=payload or {}) as response:
        return response.status_code, response.json()


def test_the_fake_is_driven_and_inspected_over_http(fake, client, receiver):
    assert _post(fake, "fail", {"code": 21610, "to": STOPPED, "count": None})[0] == 200
    assert _post(fake, "fail-delivery", {"code": 30003, "to": OTHER})[0] == 200
    assert _post(fake, "call-outcome", {"outcome": "busy"})[0] == 200
    status, body = _post(fake, "chaos", {"enabled": False})
    assert status == 200 and body["state"]["chaos"]["enabled"] is False
    with pytest.raises(TwilioRestException):
        send(client, to=STOPPED)
    sid = send(client, to=OTHER, status_callback=receiver.url).sid
    call = client.calls.create(to=MOBILE, from_=LANDLINE, url=TWIML_URL)
    settled(fake)
    with requests.get(f"{fake.url}/_fake/messages") as response:
        [message] = response.json()["messages"]
    assert (message["sid"], message["status"], message["error_code"]) == (sid, "undelivered",
                                                                          30003)
    assert message["body"] == "Your case has an update."
    with requests.get(f"{fake.url}/_fake/calls") as response:
        assert response.json()["calls"][0]["status"] == "busy"
    with requests.get(f"{fake.url}/_fake/callbacks") as response:
        assert {c["sid"] for c in response.json()["callbacks"]} == {sid}
    with requests.get(f"{fake.url}/_fake/state") as response:
        state = response.json()
    assert state["refused"] == [{"resource": "messages", "to": STOPPED, "code": 21610,
                                 "status": 400}]
    assert state["rules"][0]["to"] == STOPPED and state["rules"][0]["remaining"] is None
    assert call.sid in {c["sid"] for c in fake.calls}
    assert _post(fake, "reset") == (200, {"ok": True})
    assert fake.messages == [] and fake.calls == [] and fake.state.describe()["rules"] == []


@pytest.mark.parametrize(
    ("path", "payload"),
    [("fail", {}), ("fail", {"code": 21610, "count": 0}), ("fail-delivery", {"code": 30003,
     "status": "lost"}), ("call-outcome", {"outcome": "maybe"}), ("hang", {"when": "never"}),
     ("chaos", {"duplicate": 2}), ("fail", {"code": 21610, "resource": "faxes"})],
)
def test_bad_control_requests_are_400(fake, path, payload):
    status, body = _post(fake, path, payload)
    assert status == 400 and body["error"]


def test_hang_over_http(fake, client):
    assert _post(fake, "hang", {"seconds": 0.2, "when": "after"})[0] == 200
    started = time.monotonic()
    send(client)
    assert time.monotonic() - started >= 0.2


def test_the_flask_app_works_without_a_server():
    app = create_fake_app(account_sid=SID, auth_token=TOKEN, callback_delay=0.01)
    state = fake_state(app)
    try:
        response = app.test_client().post(
            f"/2010-04-01/Accounts/{SID}/Messages.json", auth=(SID, TOKEN),
            data={"To": MOBILE, "From": SENDER, "Body": "x"})
        assert response.status_code == 201 and response.json["status"] == "queued"
        state.wait_for(lambda: state.idle and state.messages[0]["status"] == "delivered")
    finally:
        state.close()


def test_the_log_masks_numbers_and_leaves_out_bodies_and_tokens(fake, client, caplog):
    caplog.set_level(logging.DEBUG, logger="bot.tryout.fake_twilio")
    send(client)
    client.messages.list(to=MOBILE)
    client.calls.create(to=MOBILE, from_=LANDLINE, url=TWIML_URL)
    settled(fake)
    assert "to +44 7700 900*** from +44 7700 900***" in caplog.text
    assert "+44 113 496 0***" in caplog.text
    for secret in ("7700900123", "1134960123", "Your case has an update", TOKEN):
        assert secret not in caplog.text


def test_it_runs_as_its_own_process():
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.tryout.fake_twilio", "--port", "0", "--account-sid", SID,
         "--auth-token", TOKEN, "--callback-delay", "0.01", "--no-chaos"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", first).group(1)
        client = make_client(SID, TOKEN, url)
        try:
            sid = send(client).sid
            with requests.post(f"{url}/_fake/fail", json={"code": 21610, "to": STOPPED,
                                                          "count": None}) as response:
                assert response.ok
            with pytest.raises(TwilioRestException) as caught:
                send(client, to=STOPPED)
            assert caught.value.code == 21610
        finally:
            client.http_client.close()
        with requests.get(f"{url}/_fake/messages") as response:
            [message] = response.json()["messages"]
        assert message["sid"] == sid and message["body"] == "Your case has an update."
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    log = first + out
    assert f"text {sid} to +44 7700 900*** from +44 7700 900***" in log
    assert "refused a text to +44 7700 900***: 21610" in log
    for secret in ("7700900123", "7700900999", "Your case has an update", TOKEN):
        assert secret not in log + err


def test_the_command_needs_credentials(monkeypatch, capsys):
    from bot.tryout.fake_twilio import main

    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    with pytest.raises(SystemExit) as caught:
        main(["--port", "0"])
    assert caught.value.code == 2
    assert "--auth-token" in capsys.readouterr().err


def test_messages_and_calls_in_fake_listing_are_json_safe(fake, client):
    send(client)
    client.calls.create(to=MOBILE, from_=LANDLINE, url=TWIML_URL,
                        status_callback_event=FULL_EVENTS)
    json.dumps({"messages": fake.messages, "calls": fake.calls, "state": fake.state.describe()})


# --- answering our calls, and STOP ----------------------------------------------------------

def _twiml_line(fake_url_for_answers):
    """A tiny line: asks for a PIN, then says goodbye; records what it was signed with."""
    app, seen = Flask("line"), []

    @app.post("/answer")
    def answer():
        seen.append((request.url, request.form.to_dict(),
                     request.headers.get("X-Twilio-Signature")))
        if "Digits" in request.form:
            return (f"<Response><Say>You keyed {len(request.form['Digits'])} digits. "
                    "Goodbye.</Say><Hangup/></Response>")
        return ('<Response><Gather action="' + fake_url_for_answers() + '/answer" '
                'numDigits="4"><Say>Please key in your PIN.</Say></Gather></Response>')
    return app, seen


def test_the_fake_answers_a_call_and_follows_its_twiml_over_http(fake, client):
    holder = {}
    app, seen = _twiml_line(lambda: holder["url"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    holder["url"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        requests.post(f"{fake.url}/_fake/answerer", json={"script": ["1234"]}).raise_for_status()
        call = client.calls.create(to=LANDLINE, from_=SENDER, url=holder["url"] + "/answer")
        settled(fake)
        said = requests.get(f"{fake.url}/_fake/calls/{call.sid}/conversation").json()
    finally:
        server.shutdown()
    assert said["pressed"] == ["1234"] and said["ended_by"] == "line"
    assert said["heard"] == ["Please key in your PIN.", "You keyed 4 digits. Goodbye."]
    assert all(RequestValidator(TOKEN).validate(url, form, sig) for url, form, sig in seen)
    assert seen[0][1]["CallSid"] == call.sid and seen[0][1]["Direction"] == "outbound-api"


def test_after_an_opt_out_texts_fail_with_21610_until_start(fake, client):
    requests.post(f"{fake.url}/_fake/opt-out", json={"number": MOBILE}).raise_for_status()
    with pytest.raises(TwilioRestException) as refused:
        send(client)
    assert refused.value.code == 21610
    requests.post(f"{fake.url}/_fake/opt-out",
                  json={"number": MOBILE, "stopped": False}).raise_for_status()
    assert send(client).sid.startswith("SM")


def test_its_help_says_how_to_steer_it():
    from click.testing import CliRunner

    from bot.cli import cli

    result = CliRunner().invoke(cli, ["fake-twilio", "--help"])
    assert result.exit_code == 0, result.output
    for endpoint in ("/_fake/answerer", "/_fake/opt-out", "/_fake/hang", "/_fake/fail"):
        assert endpoint in result.output
