"""What RQ runs: the job functions the worker imports by name.

RQ stores each job's function as its path (`bot.jobs.send_outbox_message`), and retries
wait in Redis for hours, so these names are an interface: keep them. Each job builds the
worker's runtime once and calls the work in `bot/delivery/` or `bot/outreach/`; this
module sits above all of them and nothing below imports it (`bot/delivery/queues.py`
enqueues by name).
"""

from __future__ import annotations

import logging

import redis

from bot.delivery import sending
from bot.outreach import notices, sweeps
from bot.runtime import Runtime

log = logging.getLogger(__name__)

_runtime: Runtime | None = None
CONTACT_SWEEP_SECONDS = 300  # check-ins, watchdog, feedback: how often the scheduler fires


def worker_runtime() -> Runtime:
    """One runtime per worker process, built from the environment on first use."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime.from_env()
        notices.install(_runtime)
    return _runtime


def send_outbox_message(row_id: int) -> str:
    """Send one outbox row once: claim, pace, request, record."""
    return sending.send(worker_runtime(), row_id)


def reconcile_outbox_message(row_id: int, attempt_number: int) -> str:
    """Find out what happened to a request whose answer never arrived."""
    return sending.reconcile(worker_runtime(), row_id, attempt_number)


def settle_outbox_message(row_id: int, attempt_number: int) -> str:
    """Ask Twilio how a message or call it took ended, when no status callback said."""
    return sending.settle(worker_runtime(), row_id, attempt_number)


def contact_sweeps_job() -> dict | None:
    """Check-ins, the watchdog and MSP feedback (see bot/outreach/sweeps.py)."""
    runtime = worker_runtime()
    return run_once(runtime.redis, "contacts", CONTACT_SWEEP_SECONDS,
                    lambda: sweeps.run_all(runtime))


def sweep_outbox_job() -> dict | None:
    """Rows a lost job, a dead worker or a Redis outage left behind."""
    runtime = worker_runtime()
    return run_once(runtime.redis, "outbox", runtime.settings.outbox_sweep_seconds,
                    lambda: sending.sweep(runtime))


def run_once(connection: redis.Redis, name: str, seconds: int, work):
    """Run `work()` unless the same sweep already ran within `seconds`; returns its result.

    Even two schedulers (or a sweep run by hand) cannot run one sweep twice in a period."""
    if not connection.set(f"caseline:sweep:{name}", "1", nx=True, ex=max(1, seconds - 1)):
        log.info("sweep %s already ran this period; skipped", name)
        return None
    return work()
