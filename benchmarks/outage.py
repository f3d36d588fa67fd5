"""Delivery through faults: 200 texts and calls through two `caseline worker` processes
and a `caseline scheduler`, while a worker is SIGKILLed mid-send and Redis is stopped for
60 s (and comes back empty), against the fake Twilio with its chaos on (callbacks twice
and out of order).

It prints, for a run without faults (the baseline, measured first) and the run with them:
how many were lost, sent twice, or handed to a person, and when the first and the last
went out after Redis came back (the first says how fast work resumes; the last also
counts the backlog, sent at the rate this one machine manages with the fake Twilio and
the web app in this process). The ratio is the faulty run's time to get everything out
against the baseline's.

Run from the repository: python benchmarks/outage.py [--outage SECONDS]
Needs PostgreSQL (TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test)
and a redis-server binary; it starts its own Redis on a free port, never the machine's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select
from werkzeug.serving import WSGIRequestHandler, make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import db  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.delivery import outbox  # noqa: E402
from bot.models import Channel, OutboxMessage, OutboxStatus, StaffAction  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.tryout.fake_twilio import FakeTwilioServer  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.faults import RedisServer, start_process  # noqa: E402
from webhooks import create_app  # noqa: E402

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEXTS, CALLS = 150, 50
SETTLED = {OutboxStatus.DELIVERED, OutboxStatus.ANSWERED, OutboxStatus.SENT,
           OutboxStatus.FAILED, OutboxStatus.NEEDS_CHECK, OutboxStatus.NOT_ANSWERED}


def run(outage: float, faults: bool) -> dict:
    schema = f"caseline_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = db.make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    db.upgrade(engine)
    work = tempfile.mkdtemp(prefix="caseline-outage-")
    own = RedisServer(work)
    own.start()
    base = load_settings({"CASELINE_ENV": "test", "INSTANCE_DIR": work, "PIN_KEY": "bench-key",
                          "DATABASE_URL": engine.url.render_as_string(hide_password=False),
                          "REDIS_URL": own.url}, env_file=None)
    fake = FakeTwilioServer(account_sid=base.twilio_account_sid,
                            auth_token=base.twilio_auth_token, chaos=True, callback_delay=0.05)
    fake.start()
    port = free_port()
    settings = replace(base, public_url=f"http://127.0.0.1:{port}", twilio_api_base=fake.url,
                       outbound_texts_per_second=20, outbound_calls_per_second=20)
    runtime = Runtime(settings, _engine=engine)
    web = make_server("127.0.0.1", port, create_app(runtime), threaded=True,
                      request_handler=_Quiet)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    processes = [_start(settings, "worker"), _start(settings, "worker"),
                 _start(settings, "scheduler")]
    started, recovered = time.monotonic(), None
    try:
        _add(runtime, 0, 100)
        if faults:
            time.sleep(1.5)
            os.killpg(processes[0].pid, signal.SIGKILL)  # a machine dies mid-send
            processes[0].wait(10)
            processes[0] = _start(settings, "worker")  # and its process manager restarts it
            own.stop()
            _add(runtime, 100, 200)  # stored; handing them to RQ fails
            time.sleep(outage)
            own.start()  # back, and empty
            recovered = time.monotonic()
        else:
            _add(runtime, 100, 200)
        deadline = time.monotonic() + 600
        while not _settled(runtime) and time.monotonic() < deadline:
            time.sleep(0.5)
        done = time.monotonic()
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(30)
        web.shutdown()
        fake.stop()
        own.stop()
    result = _count(runtime, fake, started, recovered, done)
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    shutil.rmtree(work, ignore_errors=True)
    return result


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args) -> None:
        pass  # 200 texts and their callbacks: the result is what matters


def _start(settings, what: str) -> subprocess.Popen:
    log = os.environ.get("OUTAGE_LOG")  # a file to see what the processes did
    out = open(log, "a") if log else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
    return start_process(settings, what, out, OUTBOUND_CALLS_PER_SECOND="20",
                         LOG_LEVEL="INFO" if log else "WARNING")


def _add(runtime: Runtime, start: int, end: int) -> None:
    with runtime.session() as session:
        for n in range(start, end):
            call = n % 4 == 3  # one in four is a call to a landline: 50 of the 200
            number = f"+4411349{60000 + n % 1000:05d}" if call else f"+447700900{n % 1000:03d}"
            outbox.add(session, key=f"bench/{n}", purpose="bench",
                       channel=Channel.VOICE if call else Channel.SMS, to=number,
                       body="" if call else f"bench {n}")


def _settled(runtime: Runtime) -> bool:
    with Session(runtime.engine) as session:
        statuses = session.exec(select(OutboxMessage.status)).all()
    return len(statuses) == TEXTS + CALLS and all(s in SETTLED for s in statuses)


def _count(runtime, fake, started, recovered, done) -> dict:
    with Session(runtime.engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
        people = len(session.exec(select(StaffAction)).all())
    sent = Counter(m["body"] for m in fake.messages) + Counter(c["to"] for c in fake.calls)
    wanted = {r.body if r.channel == Channel.SMS else r.to_number: r for r in rows}
    lost = [key for key, row in wanted.items() if row.status not in SETTLED
            or (sent[key] == 0 and row.status not in (OutboxStatus.NEEDS_CHECK,
                                                      OutboxStatus.FAILED))]
    doubled = [key for key, count in sent.items() if count > 1]
    times = sorted([*(m["received_at"] for m in fake.messages),
                    *(c["received_at"] for c in fake.calls)])
    back = _epoch(recovered) if recovered else None
    after = [t - back for t in times if back and t >= back]
    return {"lost": len(lost), "doubled": len(doubled), "needing a person": people,
            "all out after s": round(done - started, 1),
            "first send after Redis came back s": round(after[0], 1) if after else None,
            "latest send after Redis came back s": round(after[-1], 1) if after else None,
            "sent after it came back": len(after)}


def _epoch(monotonic_moment: float) -> float:
    return time.time() - (time.monotonic() - monotonic_moment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage", type=float, default=60.0, help="seconds Redis is down")
    args = parser.parse_args()
    baseline = run(args.outage, faults=False)
    print("no faults (baseline):", baseline)
    faulty = run(args.outage, faults=True)
    print(f"worker SIGKILLed, Redis down {args.outage:.0f} s:", faulty)
    ratio = faulty["all out after s"] / max(baseline["all out after s"], 0.1)
    print(f"time to get all 200 out: {ratio:.1f}x the baseline "
          f"({faulty['all out after s']} s against {baseline['all out after s']} s)")


if __name__ == "__main__":
    main()
