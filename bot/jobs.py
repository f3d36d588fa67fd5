"""What RQ runs: the job functions the worker imports by name.

RQ stores each job's function as its path (`bot.jobs.send_outbox_message`), and retries
wait in Redis for hours, so these names are an interface: keep them. Each job builds the
worker's runtime once and calls the work in `bot/delivery/` or `bot/outreach/`; this
module sits above all of them and nothing below imports it (`bot/delivery/queues.py`
enqueues by name).
"""

from __future__ import annotations

import logging
import os

import redis

from bot import logs
from bot.delivery import sending
from bot.inbound import office_hours, spool
from bot.inbound.conversation import Flows
from bot.outreach import notices, sweeps
from bot.runtime import Runtime

log = logging.getLogger(__name__)

_runtime: Runtime | None = None
_runtime_pid: int | None = None
CONTACT_SWEEP_SECONDS = 300  # check-ins, watchdog, feedback: how often the scheduler fires


def worker_runtime() -> Runtime:
    """One runtime per worker process, built from the environment on first use.

    `caseline worker` builds it before RQ forks a work-horse for each job, so a job does
    not read settings, flows and bank holidays again (that cost ~0.3 s a job). A forked
    horse must not reuse its parent's pooled database connections: it drops them (without
    closing the parent's) and opens its own; redis-py does the same by itself."""
    global _runtime, _runtime_pid
    if _runtime is None:
        _runtime = Runtime.from_env()
        notices.install(_runtime)
        Flows.get(str(_runtime.settings.flows_path))
        office_hours.load_bank_holidays(_runtime.now().year)
    elif _runtime_pid != os.getpid() and _runtime._engine is not None:
        _runtime._engine.dispose(close=False)
    _runtime_pid = os.getpid()
    return _runtime


def send_outbox_message(row_id: int) -> str:
    """Send one outbox row once: claim, pace, request, record."""
    return _logged("send", row_id, lambda: sending.send(worker_runtime(), row_id))


def reconcile_outbox_message(row_id: int, attempt_number: int) -> str:
    """Find out what happened to a request whose answer never arrived."""
    return _logged("reconcile", row_id,
                   lambda: sending.reconcile(worker_runtime(), row_id, attempt_number))


def settle_outbox_message(row_id: int, attempt_number: int) -> str:
    """Ask Twilio how a message or call it took ended, when no status callback said."""
    return _logged("settle", row_id,
                   lambda: sending.settle(worker_runtime(), row_id, attempt_number))


def _logged(what: str, row_id: int, work) -> str:
    """One line per job: the outbox row, what came of it, how long it took."""
    with logs.bind(outbox=row_id), logs.timed(log, f"outbox {row_id} {what}") as result:
        result["outcome"] = outcome = work()
    return outcome


def contact_sweeps_job() -> dict | None:
    """Check-ins, the watchdog and MSP feedback (see bot/outreach/sweeps.py): queues a job
    a chunk of open cases, for the workers to run side by side."""
    runtime = worker_runtime()
    return run_once(runtime.redis, "contacts", CONTACT_SWEEP_SECONDS,
                    lambda: sweeps.plan(runtime))


def contact_chunk_job(first: int, last: int, now: str) -> dict:
    """Check-ins and the watchdog for one chunk of open cases, at the sweep's moment."""
    from datetime import datetime

    return sweeps.chunk(worker_runtime(), first, last, datetime.fromisoformat(now))


def sweep_outbox_job() -> dict | None:
    """Texts kept while the database was down, then rows a lost job, a dead worker or a
    Redis outage left behind."""
    runtime = worker_runtime()

    def both():
        replayed = spool.replay(runtime)
        return {**sending.sweep(runtime), "replayed": replayed}

    return run_once(runtime.redis, "outbox", runtime.settings.outbox_sweep_seconds, both)


ESCALATION_SWEEP_SECONDS = 60


def escalation_sweep_job() -> int | None:
    """Raise untouched staff actions to the team manager (bot/records/escalation.py)."""
    from bot.records import escalation

    runtime = worker_runtime()

    def raise_due():
        with runtime.session() as session:
            return escalation.escalate(session, runtime.settings, runtime.now())

    return run_once(runtime.redis, "escalation", ESCALATION_SWEEP_SECONDS, raise_due)


RECORDING_SWEEP_SECONDS = 60


def copy_recordings_job() -> dict | None:
    """Copy messages callers left from Twilio into our database (bot/records/recordings.py)."""
    from bot.records import recordings

    runtime = worker_runtime()

    def copy_new():
        with runtime.session() as session:
            return recordings.copy_new(session, runtime.settings)

    return run_once(runtime.redis, "recordings", RECORDING_SWEEP_SECONDS, copy_new)


RETENTION_SWEEP_SECONDS = 3600


def retention_sweep_job() -> list | None:
    """Delete what the retention settings say is due (bot/records/retention.py)."""
    from bot.records import retention

    runtime = worker_runtime()

    def due():
        return [(o.kind, o.count, o.failed) for o in retention.sweep(runtime)]

    return run_once(runtime.redis, "retention", RETENTION_SWEEP_SECONDS, due)


def alert_duty_mobile(number: str, caller: str) -> str:
    """Tell the emergency duty mobile at once about danger in a text the database could
    not take (no outbox row: the database is what is down)."""
    runtime = worker_runtime()
    s = runtime.settings
    accepted = runtime.sender.send_text(
        to=number, from_=s.twilio_messaging_service_sid or s.twilio_phone_number,
        body=spool.alert_body(s, caller), status_callback=None)
    log.warning("the duty mobile was told of an unsafe text kept while the database was down")
    return accepted.sid


def leave_voicemail(call_sid: str) -> str:
    """A machine answered a call we made: the call now says who we are and our number
    (webhooks/twilio_in.py `call_voicemail`), which the machine records."""
    from bot.delivery.sender import SendError

    runtime = worker_runtime()
    url = f"{runtime.settings.public_url.rstrip('/')}/twilio/voice/voicemail"
    try:
        runtime.sender.redirect_call(sid=call_sid, url=url)
    except SendError as exc:  # e.g. 21220: the call ended before we could
        log.info("call %s… was not redirected to the voicemail message: %s", call_sid[:6],
                 exc.reason)
        return "call ended"
    return "voicemail"


def run_once(connection: redis.Redis, name: str, seconds: int, work):
    """Run `work()` unless the same sweep already ran within `seconds`; returns its result.

    Even two schedulers (or a sweep run by hand) cannot run one sweep twice in a period."""
    if not connection.set(f"caseline:sweep:{name}", "1", nx=True, ex=max(1, seconds - 1)):
        log.info("sweep %s already ran this period; skipped", name)
        return None
    return work()
