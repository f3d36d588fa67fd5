"""Texts and calls through the real twilio-python client to Prism serving Twilio's own
OpenAPI description: every request we make must pass Twilio's published contract.

Prism is installed by `.ci/run` (npm). In CI a missing or broken Prism fails the run;
elsewhere the test is skipped with a note on how to install it.
"""

import gzip
import json
import os
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.delivery.sender import TwilioSender
from tests.conftest import IN_CI, free_port

REPO = Path(__file__).resolve().parent.parent
SPEC = Path(__file__).resolve().parent / "data" / "twilio" / "twilio_api_v2010.json.gz"
PRISM = Path(os.environ.get("PRISM_BIN") or REPO / ".tools" / "node_modules" / ".bin" / "prism")
CALLS = "/2010-04-01/Accounts/{AccountSid}/Calls.json"


def _spec_with_list_params(tmp: Path) -> Path:
    """Twilio sends list parameters as repeated form keys; Prism 5 needs to be told so
    (Prism issue #2473), or it refuses StatusCallbackEvent with 422."""
    spec = json.loads(gzip.decompress(SPEC.read_bytes()))
    form = spec["paths"][CALLS]["post"]["requestBody"]["content"][
        "application/x-www-form-urlencoded"]
    arrays = [name for name, prop in form["schema"]["properties"].items()
              if prop.get("type") == "array"]
    form["encoding"] = {name: {"style": "form", "explode": True} for name in arrays}
    # Prism 5 also misreads the `StartTime>` filter that twilio-python sends (a documented
    # Twilio parameter) as a bare, malformed `StartTime`/`EndTime`: relax their format.
    for param in spec["paths"][CALLS]["get"]["parameters"]:
        if param.get("name", "").startswith(("StartTime", "EndTime")):
            param["schema"].pop("format", None)
    path = tmp / "twilio_api_v2010.json"
    path.write_text(json.dumps(spec))
    return path


@pytest.fixture(scope="module")
def prism_url(tmp_path_factory):
    if not SPEC.exists() or not PRISM.exists():
        message = f"Prism or the Twilio description is missing ({PRISM}, {SPEC})"
        if IN_CI:
            pytest.fail(message + ": .ci/run installs Prism with npm.")
        pytest.skip(message + ": npm install --prefix .tools @stoplight/prism-cli@5")
    spec = _spec_with_list_params(tmp_path_factory.mktemp("prism"))
    port = free_port()
    process = subprocess.Popen([str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port),
                                str(spec)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    url = f"http://127.0.0.1:{port}"
    _wait_until_listening(process, url)
    yield url
    process.terminate()
    process.communicate(timeout=10)


def _wait_until_listening(process, url, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Prism could not start:\n{process.stdout.read()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=1)
        except urllib.error.HTTPError:
            return  # it answers (404 for /): it is up
        except OSError:
            time.sleep(0.2)
            continue
        return
    pytest.fail("Prism did not start within a minute")


@pytest.fixture
def sender(prism_url):
    settings = load_settings({"TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
                              "TWILIO_API_BASE": prism_url}, env_file=None)
    sender = TwilioSender(settings)
    yield sender
    sender.close()


CALLBACK = "https://caseline.example.org/twilio/status?outbox=1&attempt=1"


def test_a_text_passes_twilios_description(sender):
    accepted = sender.send_text(to="+447700900123", from_="+447700900000",
                                body="Sam will call you on Friday 12 December.",
                                status_callback=CALLBACK)
    assert accepted.sid.startswith("SM") and accepted.status


def test_a_text_from_a_messaging_service_passes(sender):
    accepted = sender.send_text(to="+447700900123", from_="MG" + "b" * 32, body="Hello.",
                                status_callback=CALLBACK)
    assert accepted.sid


def test_a_call_with_machine_detection_and_events_passes(sender):
    accepted = sender.start_call(to="+441134960123", from_="+447700900000",
                                 url="https://caseline.example.org/twilio/voice/outbound?outbox=2",
                                 status_callback=CALLBACK, timeout=30,
                                 amd_callback="https://caseline.example.org/twilio/voice/amd")
    assert accepted.sid.startswith("CA")
    # A machine answered: the call is redirected to the voicemail message.
    sender.redirect_call(sid="CA" + "a" * 32,
                         url="https://caseline.example.org/twilio/voice/voicemail")


def test_looking_up_recent_texts_and_calls_passes(sender):
    since = datetime.now(UTC) - timedelta(minutes=5)
    assert isinstance(sender.find_recent(channel="sms", to="+447700900123", since=since), list)
    assert isinstance(sender.find_recent(channel="voice", to="+441134960123", since=since), list)


def test_prism_refuses_what_twilio_would(sender, prism_url):
    """The mock is strict: a text with no body and no media is refused, so the tests
    above passing means our requests really match the description."""
    from twilio.base.exceptions import TwilioRestException

    with pytest.raises(TwilioRestException) as info:
        sender.client.messages.create(to="+447700900123", from_="+447700900000",
                                      body="Hello.", status_callback="not a url")
    assert info.value.status == 422


