"""Logging: configured once per process, one line per request and per job with its ids,
outcome and duration, and never a message body, a PIN or a whole phone number."""

import io
import json
import logging
import os
import re
import signal
import sys
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot import clock, logs
from bot.outreach import notices, sweeps
from bot.runtime import Runtime
from tests.faults import start_process

EDITH, EDITH_PIN = "+447700900101", "4821"
SECRET_WORDS = "the man next door takes my pension"


@pytest.fixture
def captured(monkeypatch):
    """This process's logs, as `logs.configure` sets them up, into a string."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logs._handler)
    monkeypatch.setattr(sys, "stderr", stream)
    logs._handler = None
    logs.configure("web")
    logging.getLogger().setLevel(logging.DEBUG)  # the most a log could ever hold
    yield stream
    root.handlers, _level, logs._handler = saved
    root.setLevel(saved[1])


def _numbers_in(text: str) -> list[str]:
    """Whole UK numbers in any common spelling (masked ones keep only their last digits)."""
    digits = re.sub(r"[ \-()]", "", text)
    return re.findall(r"(?:\+44|0)(?:7700900|113496|114496)\d{3}", digits)


def test_a_whole_conversation_logs_its_ids_but_never_bodies_pins_or_numbers(
        demo_runtime, phone, fake_twilio, captured, tmp_path):
    notices.install(demo_runtime)
    edith = phone(EDITH)
    edith.text("any news?")
    edith.text(EDITH_PIN)
    edith.text("2")  # leave a message
    edith.text(SECRET_WORDS)
    caller = phone(EDITH)
    caller.call()
    caller.press("1")
    caller.press(EDITH_PIN)
    caller.say("I feel unsafe " + SECRET_WORDS, confidence=0.9)
    # Two months on, a weekday morning: check-ins are due, inside everyone's window. The
    # worker process reads the same moved clock from the instance folder.
    later = datetime(2027, 2, 3, 11, 0, tzinfo=UTC)
    demo_runtime.clock = lambda: later
    clock.move_to(clock.file_for(demo_runtime.settings.instance_path), later)
    assert sweeps.check_ins(demo_runtime) > 0  # texts for a real worker to send

    worker_log = tmp_path / "worker.log"
    sender = Runtime(replace(demo_runtime.settings, twilio_api_base=fake_twilio.url),
                     _engine=demo_runtime.engine)
    with open(worker_log, "w") as out:
        worker = _worker(sender, out)
        try:
            fake_twilio.wait_for(lambda: len(fake_twilio.messages) >= 3, timeout=30)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(30)
            clock.reset(clock.file_for(demo_runtime.settings.instance_path))

    web, work = captured.getvalue(), worker_log.read_text()
    assert re.search(r"POST /twilio/sms 200 \(\d+ ms\) request_id=\w+ sid=SM\w+", web), web
    assert re.search(r"POST /twilio/voice\S* 200 \(\d+ ms\) request_id=\w+ sid=CA\w+", web), web
    assert "staff action" in web and "sms from +44 7700 900*** stored" in web, web
    assert re.search(r"outbox \d+ send: sent \(\d+ ms\)", work), work
    for text, where in ((web, "web"), (work, "worker")):
        # A PIN is four digits, so a random SID or id may hold them by chance (about 1 run
        # in 100 did): look for it outside those.
        words = _WITHOUT_IDS.sub(" ", text)
        assert not re.search(rf"(?<![0-9a-f]){EDITH_PIN}(?![0-9a-f])", words), \
            f"a PIN in the {where} log"
        assert "pension" not in text and "any news" not in text, f"a body in the {where} log"
        assert _numbers_in(text) == [], f"whole numbers in the {where} log:\n{text}"
    sent = [m["body"] for m in fake_twilio.messages]
    assert all(body[:30] not in work for body in sent)


_WITHOUT_IDS = re.compile(r"\b(?:SM|MM|CA|RE|AC|MG)[0-9a-f]{32}\b|request_id=[0-9a-f]+|"
                          r"\b[0-9a-f]{16,}\b")


def _worker(runtime, out):
    return start_process(runtime.settings, "worker", out, LOG_LEVEL="DEBUG",
                         OUTBOUND_TEXTS_PER_SECOND="50")


def test_production_logs_are_json_lines_with_the_context(captured):
    logs.configure("worker", replace(_settings(), log_format="json", log_level="INFO"))
    with logs.bind(request_id="r1", sid="SM123"):
        with logs.timed(logging.getLogger("bot.test"), "outbox 7 send") as result:
            result["outcome"] = "sent"
    line = json.loads(captured.getvalue().strip().splitlines()[-1])
    assert line["role"] == "worker" and line["request_id"] == "r1" and line["sid"] == "SM123"
    assert line["outcome"] == "sent" and isinstance(line["duration_ms"], int)
    assert line["message"].startswith("outbox 7 send: sent (")


def test_a_redis_outage_is_said_once_not_every_few_seconds(captured):
    rq_log = logging.getLogger("rq.worker")
    for _ in range(5):
        rq_log.error("Worker w1: could not connect to Redis instance: refused retrying in 2")
    rq_log.info("Worker w1: listening")
    rq_log.error("Worker w1: could not connect to Redis instance: refused retrying in 2")
    assert captured.getvalue().count("could not connect") == 2  # once per outage


def test_bad_log_settings_are_named():
    from bot.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="LOG_FORMAT 'xml' must be json or text"):
        load_settings({"LOG_FORMAT": "xml"}, env_file=None)


def _settings():
    from bot.config import load_settings

    return load_settings({}, env_file=None)
