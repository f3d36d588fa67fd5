"""`caseline chat`: a terminal phone talking to a real Caseline over HTTP, as Twilio would."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from threading import Thread

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select
from werkzeug.serving import make_server

from bot.delivery import sending
from bot.models import Interaction, OutboxMessage, OutboxStatus
from bot.runtime import Runtime
from bot.tryout import chat as chat_module
from bot.tryout.chat import chat
from tests.conftest import free_port
from webhooks import create_app

EDITH = "+447700900101"
OFFICE_HOURS = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)  # a Wednesday morning
NOT_ANSWERING = ("Caseline is not answering at {}. Start it with `caseline demo` in another "
                 "terminal.")
REFUSED = ("The line refused the signature: is TWILIO_AUTH_TOKEN the same as the running "
           "service's, and PUBLIC_URL the address it checks?")


def run(args, input=None):
    result = CliRunner().invoke(chat, args, input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture(autouse=True)
def no_last_look(monkeypatch, tmp_path):
    """Texts arrive before each answer here (see `_sending`): no need to wait for stragglers."""
    monkeypatch.setattr(chat_module, "LAST_LOOK_SECONDS", 0)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in ("TWILIO_VOICE_NUMBER", "TWILIO_MESSAGING_SERVICE_SID"):
        monkeypatch.delenv(name, raising=False)


def _sending(app, runtime: Runtime):
    """The web app, then what it queued sent at once through the fake, as a worker would."""

    def wsgi(environ, start_response):
        result = app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        with Session(runtime.engine) as session:
            pending = session.exec(select(OutboxMessage.id).where(
                OutboxMessage.status == OutboxStatus.PENDING)).all()
        for row_id in pending:
            sending.send(runtime, row_id)
        return [body]

    return wsgi


@contextmanager
def serving(runtime: Runtime, fake_twilio, public_url: str | None = None):
    """Caseline on a real port, checking signatures for `public_url` (default its own)."""
    port = free_port()
    settings = replace(runtime.settings, public_url=public_url or f"http://127.0.0.1:{port}",
                       twilio_api_base=fake_twilio.url, outbound_texts_per_second=50)
    live = Runtime(settings, _engine=runtime.engine, clock=lambda: OFFICE_HOURS)
    server = make_server("127.0.0.1", port, _sending(create_app(live), live), threaded=True)
    server.daemon_threads, server.block_on_close = False, True  # close waits for requests
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield live, f"http://127.0.0.1:{port}"
    finally:
        try:
            fake_twilio.wait_for(lambda: fake_twilio.state.idle, timeout=10)
        except TimeoutError:
            pass
        server.shutdown()
        server.server_close()
        thread.join(5)
        live.close()


def export(monkeypatch, settings) -> None:
    """The service's settings as the environment `caseline chat` reads."""
    for name, value in {
        "CASELINE_ENV": "test", "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url, "PIN_KEY": settings.pin_key,
        "PUBLIC_URL": settings.public_url, "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "TWILIO_PHONE_NUMBER": settings.twilio_phone_number,
        "INSTANCE_DIR": settings.instance_dir, "TWILIO_API_BASE": settings.twilio_api_base,
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def line(demo_runtime, fake_twilio, monkeypatch):
    """The demo served on a real port, and its settings in the environment."""
    with serving(demo_runtime, fake_twilio) as (live, _address):
        export(monkeypatch, live.settings)
        yield live


def _messages_left(runtime) -> list[str]:
    with Session(runtime.engine) as session:
        return [i.summary for i in session.exec(select(Interaction).where(
            Interaction.kind == "message_left"))]


def test_a_text_conversation(line):
    result = run([], input="Any news?\n\n4821\n/quit\n")
    out = result.output
    assert result.exit_code == 0, out
    assert "[texting the line on 07700 900000 from 07700 900101;" in out
    assert "you> Any news?\nline> " in out and "PIN" in out
    assert "[nothing sent: type a text, or /quit to stop]" in out
    assert "Sam Okafor" in out.split("you> 4821", 1)[1]
    assert "Traceback" not in out


def test_ctrl_d_ends_a_text_chat_and_from_takes_any_uk_spelling(line):
    result = run(["--from", "+44 (0)7700-900101"], input="Any news?\n")
    assert result.exit_code == 0, result.output
    assert "from 07700 900101" in result.output and "PIN" in result.output


def test_a_call_hears_the_case_repeats_it_and_ends(line):
    result = run(["--voice"], input="1\n4821\n*\n\n1\n")
    out = result.output
    assert result.exit_code == 0, out
    assert "line> Hello." in out and "press 0" in out
    assert "[press keys, or type words to speak; blank = silence; * repeats; 0 = a person]" in out
    assert "you> (silence)" in out
    after_pin = out.split("you> 4821", 1)[1]
    assert after_pin.count("Sam Okafor") >= 2  # said, then said again at *
    assert out.rstrip().endswith("[the call has ended]")


@pytest.fixture
def posted(monkeypatch):
    """Every (url, form) the chat posts, still sent for real."""
    sent, real_post = [], chat_module.requests.post

    def spy(url, data=None, headers=None, timeout=None, **kwargs):
        if data is not None:  # a webhook request (steering the fake sends json)
            sent.append((url, dict(data)))
        return real_post(url, data=data, headers=headers, timeout=timeout, **kwargs)

    monkeypatch.setattr(chat_module.requests, "post", spy)
    return sent


def test_keys_speech_and_unclear_speech_are_posted_as_twilio_would(line, posted, monkeypatch):
    monkeypatch.setenv("TWILIO_VOICE_NUMBER", "0113 496 0999")
    result = run(["--voice"], input="?hello there\nhello there\n1\n4 8 2 1\n/quit\n")
    assert result.exit_code == 0, result.output
    assert "Sam Okafor" in result.output and result.output.rstrip().endswith("[you hung up]")
    address = line.settings.public_url
    assert [url.split("?")[0] for url, _form in posted] == \
        [f"{address}/twilio/voice"] + [f"{address}/twilio/voice/answer"] * 4
    forms = [form for _url, form in posted]
    assert {(f["From"], f["To"]) for f in forms} == {(EDITH, "+441134960999")}
    assert len({f["CallSid"] for f in forms}) == 1
    assert [(f.get("SpeechResult"), f.get("Confidence"), f.get("Digits")) for f in forms[1:]] \
        == [("hello there", "0.30", None), ("hello there", "0.90", None), (None, None, "1"),
            (None, None, "4821")]


def test_a_call_from_a_withheld_number_asks_for_the_case_reference(line, posted):
    result = run(["--withheld"], input="1\n4821\n100101\n/quit\n")
    out = result.output
    assert result.exit_code == 0, out
    assert {form["From"] for _url, form in posted} == {"anonymous"}
    assert "from a withheld number" in out
    assert "reference" in out.split("you> 4821", 1)[1]
    assert "Sam Okafor" in out.split("you> 100101", 1)[1]


def test_zero_puts_you_through_and_no_answer_offers_a_message(line):
    result = run(["--voice"], input="0\nn\nPlease ring me after three.\n")
    out = result.output
    assert result.exit_code == 0, out
    assert "[putting you through to 0113 496 0500 ...]" in out  # the front door, before a PIN
    assert "[did they answer? y/n] n" in out
    offered = out.split("[did they answer? y/n] n", 1)[1]
    assert "message" in offered.lower()
    assert "[recording: type your message, it is sent as a recording]" in offered
    assert out.rstrip().endswith("[the call has ended]")
    [left] = _messages_left(line)
    assert "Transcription: Please ring me after three." in left


def test_a_person_who_answers_talks_then_the_line_says_goodbye(line):
    result = run(["--voice"], input="0\ny\n")
    out = result.output
    assert result.exit_code == 0, out
    assert "[did they answer? y/n] y\n[you talk to them; then they hang up]\nline> " in out
    assert out.rstrip().endswith("[the call has ended]")


def test_a_text_the_line_sends_during_a_call_is_shown(line, fake_twilio):
    fake_twilio.state.record_message({"To": EDITH, "From": "+447700900000", "Body": "Old news."})
    result = run(["--voice"], input="1\n4821\n4\n/quit\n")
    out = result.output
    assert result.exit_code == 0, out
    earlier, during = out.split("you> 1", 1)
    assert "before this chat:]\ntext from the line> Old news." in earlier  # its last text
    assert "Old news." not in during
    # The facts in one text, the news in a second (each within 2 parts).
    facts, news = [t for t in during.split("\n") if t.startswith("text from the line> ")]
    assert "Sam Okafor" in facts and during.index(news) < during.index("you> /quit")
    assert "News from" in news and "care home" in news


def test_without_a_fake_twilio_no_texts_are_shown_and_nothing_fails(line, monkeypatch):
    monkeypatch.setenv("TWILIO_API_BASE", f"http://127.0.0.1:{free_port()}")
    result = run([], input="Any news?\n4821\n")
    assert result.exit_code == 0, result.output
    assert "Sam Okafor" in result.output and "text from the line>" not in result.output


def test_url_reaches_a_service_behind_a_tunnel(demo_runtime, fake_twilio, monkeypatch):
    public = "https://caseline.example.org"
    with serving(demo_runtime, fake_twilio, public_url=public) as (live, address):
        export(monkeypatch, live.settings)
        result = run(["--url", address], input="Any news?\n4821\n")
    assert result.exit_code == 0, result.output
    assert "Sam Okafor" in result.output


def test_an_unreachable_service_says_how_to_start_it(monkeypatch, tmp_path):
    address = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("CASELINE_ENV", "test")
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("PUBLIC_URL", address)
    for args in ([], ["--voice"], ["--url", address + "/"]):
        result = run(args, input="Any news?\n")
        assert result.exit_code == 1, result.output
        assert NOT_ANSWERING.format(address) in result.output
        assert "Traceback" not in result.output and "you>" not in result.output


def test_a_wrong_auth_token_is_refused_with_what_to_check(line, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not-the-services-token")
    for args in ([], ["--voice"]):
        result = run(args, input="Any news?\n")
        assert result.exit_code == 1, result.output
        assert REFUSED in result.output and "Traceback" not in result.output


def test_a_public_url_the_service_does_not_check_is_refused(line, monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://somewhere-else.example.org")
    result = run(["--url", line.settings.public_url], input="Any news?\n")
    assert result.exit_code == 1 and REFUSED in result.output


def test_a_bad_number_or_offline_options_are_usage_errors():
    result = run(["--from", "12345"])
    assert result.exit_code == 2 and "--from" in result.output
    result = run(["--flow", "checkin"])
    assert result.exit_code == 2 and "--offline" in result.output
    result = run(["--url", "127.0.0.1:5000"])
    assert result.exit_code == 2 and "http://" in result.output


def test_help_says_what_it_does():
    out = run(["--help"]).output
    assert "text or call a running Caseline" in out and "caseline demo" in out
    for option in ("--voice", "--from", "--withheld", "--url", "--offline"):
        assert option in out


def test_offline_still_runs_the_flows_here():
    result = run(["--offline", "--from", "07700 900123"], input="any news?\n1357\n1\nquit\n")
    assert result.exit_code == 0, result.output
    assert "line> Am Gymraeg, anfonwch 9. Hello. This is the Westshire update line." \
        in result.output
    assert "Sam Patel" in result.output and "[request_callback:" in result.output


def test_offline_call_and_outbound_flow():
    result = run(["--offline", "--voice", "--from", "+441134960201"], input="1\n4821\n\n*\n1\n")
    assert result.exit_code == 0, result.output
    assert "0 1 1 3, 4 9 6, 0 1 2 3" in result.output
    assert "[the call has ended]" in result.output
    result = run(["--offline", "--flow", "checkin", "--from", "+447700900201"], input="1\n")
    assert "How are you?" in result.output


def test_the_line_calls_you_and_you_answer_in_the_chat(line, fake_twilio):
    """Winifred's case is closed: the line phones her landline. The chat rings, she answers,
    gives her PIN, hears the closure and ends the call; the call counts as delivered."""
    from bot.outreach import notices
    from bot.services import cases as case_service

    notices.install(line)
    with line.session() as session:
        case_service.close_case(session, "SG-100105", summary="The new lock is working.",
                                outcomes="fully", risk="reduced", actor="test")
    result = run(["--from", "0113 496 0505"], input="y\n6045\n2\n/quit\n")
    out = result.output
    assert result.exit_code == 0, out
    assert "[the line is calling you from 07700 900000: answer? y/n]" in out
    heard = out.split("you> 6045", 1)[1]
    assert "We closed" in heard
    assert "please call 0 1 1 3, 4 9 6, 0 0 0 0" in heard  # her team's, not the front door
    assert "[the call has ended]" in out
    fake_twilio.wait_for(lambda: _closure_status(line) is OutboxStatus.ANSWERED, timeout=10)


def _closure_status(runtime):
    with Session(runtime.engine) as session:
        return session.exec(select(OutboxMessage.status).where(
            OutboxMessage.purpose == "closure",
            OutboxMessage.to_number == "+441134960505")).one()
