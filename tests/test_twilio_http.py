"""The Twilio client pointed at a stand-in: URLs rewritten, everything else the real SDK."""

import logging
import socket

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.delivery.twilio_http import RedirectingHttpClient, make_client, redirect_url
from bot.tryout.fake_twilio import FakeTwilioServer

SID = "AC" + "7" * 32
TOKEN = "test-only-token-for-http"
MOBILE = "+447700900123"
SENDER = "+447700900000"


@pytest.fixture
def fake():
    with FakeTwilioServer(account_sid=SID, auth_token=TOKEN, callback_delay=0.01,
                          chaos=False) as server:
        yield server


@pytest.fixture
def client(fake):
    client = make_client(SID, TOKEN, fake.url, timeout=5)
    yield client
    client.http_client.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
         "http://127.0.0.1:5010/2010-04-01/Accounts/AC1/Messages.json"),
        ("https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/AC1/Calls.json?To=%2B44&Page=1",
         "http://127.0.0.1:5010/2010-04-01/Accounts/AC1/Calls.json?To=%2B44&Page=1"),
        ("https://lookups.twilio.com/v2/PhoneNumbers/%2B447700900123?Fields=x",
         "http://127.0.0.1:5010/v2/PhoneNumbers/%2B447700900123?Fields=x"),
        ("https://example.com/2010-04-01/x.json", "https://example.com/2010-04-01/x.json"),
        ("https://twilio.com.example.net/x", "https://twilio.com.example.net/x"),
        ("http://api.twilio.com/x", "http://api.twilio.com/x"),
    ],
)
def test_only_twilio_urls_are_rewritten_keeping_path_and_query(url, expected):
    assert redirect_url(url, "http://127.0.0.1:5010/") == expected


def test_a_base_with_a_path_prefixes_it():
    assert (redirect_url("https://api.twilio.com/2010-04-01/x.json", "http://proxy:8080/twilio")
            == "http://proxy:8080/twilio/2010-04-01/x.json")


@pytest.mark.parametrize("base", ["127.0.0.1:5010", "ftp://host", "http://", "http://h/?q=1"])
def test_a_base_that_is_not_a_url_is_refused_at_once(base):
    with pytest.raises(ValueError, match="Twilio API base"):
        RedirectingHttpClient(base)


def test_without_a_base_the_client_is_twilio_s_own():
    client = make_client(SID, TOKEN, None, timeout=7)
    assert type(client.http_client) is TwilioHttpClient
    assert client.http_client.timeout == 7
    client.http_client.session.close()


def test_credentials_are_required():
    with pytest.raises(ValueError, match="account SID and auth token"):
        make_client("", TOKEN, "http://127.0.0.1:5010")


def test_the_real_client_reaches_the_fake(fake, client):
    message = client.messages.create(to=MOBILE, from_=SENDER, body="Your case has an update.")
    assert message.sid.startswith("SM") and message.status == "queued"
    assert [m["sid"] for m in fake.messages] == [message.sid]
    assert isinstance(client, Client)
    assert isinstance(client.http_client, RedirectingHttpClient)


def test_edge_and_region_from_the_environment_are_ignored(fake, monkeypatch):
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    client = make_client(SID, TOKEN, fake.url)
    try:
        assert client.messages.create(to=MOBILE, from_=SENDER, body="Hello").status == "queued"
    finally:
        client.http_client.close()


def test_a_slow_answer_raises_requests_read_timeout_not_a_twilio_exception(fake):
    fake.state.hang_create(seconds=2, when="after")
    client = make_client(SID, TOKEN, fake.url, timeout=0.3)
    try:
        with pytest.raises(requests.exceptions.ReadTimeout) as caught:
            client.messages.create(to=MOBILE, from_=SENDER, body="Hello")
    finally:
        client.http_client.close()
    assert not isinstance(caught.value, TwilioException)
    fake.wait_for(lambda: fake.state.held == 0)
    assert len(fake.messages) == 1  # the answer was lost, the message was not


def test_nothing_listening_raises_requests_connection_error():
    client = make_client(SID, TOKEN, f"http://127.0.0.1:{_closed_port()}", timeout=2)
    try:
        with pytest.raises(requests.exceptions.ConnectionError):
            client.messages.create(to=MOBILE, from_=SENDER, body="Hello")
    finally:
        client.http_client.close()


def test_twilio_errors_keep_code_and_status(fake, client):
    fake.state.fail_create(21610)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=MOBILE, from_=SENDER, body="Hello")
    assert (caught.value.code, caught.value.status) == (21610, 400)
    assert caught.value.method == "POST"
    assert caught.value.msg == "Unable to create record: Attempt to send to unsubscribed recipient"


def test_the_sdk_does_not_log_phone_numbers(fake, client, caplog):
    # twilio-python logs each request URL at INFO (urllib3 does too, but only at DEBUG).
    caplog.set_level(logging.INFO)
    client.messages.create(to=MOBILE, from_=SENDER, body="Hello")
    client.messages.list(to=MOBILE, limit=5)
    assert "7700900123" not in caplog.text
    assert TOKEN not in caplog.text
