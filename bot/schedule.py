"""The periodic sweeps and the one process that fires them (`caseline scheduler`).

Exactly one scheduler may fire: a copy that cannot take the Redis leader lock waits
as a standby and takes over if the leader dies. Each sweep also takes a short lock
of its own when it runs (`bot.jobs.run_once`), so even two schedulers cannot run the
same sweep twice in one period; and the sweeps themselves are idempotent.
"""

from __future__ import annotations

import logging
import signal
import threading
import uuid

import redis
from rq.exceptions import SchedulerNotFound

from bot.config import Settings
from bot.delivery.queues import BULK_QUEUE, URGENT_QUEUE
from bot.jobs import (
    CONTACT_SWEEP_SECONDS,
    ESCALATION_SWEEP_SECONDS,
    RECORDING_SWEEP_SECONDS,
    RETENTION_SWEEP_SECONDS,
    contact_sweeps_job,
    copy_recordings_job,
    escalation_sweep_job,
    retention_sweep_job,
    sweep_outbox_job,
)
from bot.redis_conn import REDIS_DOWN, wait_for_redis
from bot.runtime import Runtime

log = logging.getLogger(__name__)

LEADER_KEY = "caseline:scheduler:leader"
LEADER_TTL = 60  # seconds; renewed every third of that
STANDBY_POLL = 15

# Renew or release the lock only if we still hold it.
_RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then " \
         "return redis.call('EXPIRE', KEYS[1], ARGV[2]) else return 0 end"
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then " \
           "return redis.call('DEL', KEYS[1]) else return 0 end"


def sweeps(settings: Settings):
    """(job function, every N seconds, queue) for each periodic sweep. The outbox sweep is
    how work comes back after an outage, so it never waits behind bulk check-ins."""
    return [(sweep_outbox_job, settings.outbox_sweep_seconds, URGENT_QUEUE),
            (contact_sweeps_job, CONTACT_SWEEP_SECONDS, BULK_QUEUE),
            # Not on the urgent queue: it needs the database, and in an outage it must not
            # stand before an alarm to the duty mobile, which does not.
            (escalation_sweep_job, ESCALATION_SWEEP_SECONDS, BULK_QUEUE),
            (copy_recordings_job, RECORDING_SWEEP_SECONDS, BULK_QUEUE),
            (retention_sweep_job, RETENTION_SWEEP_SECONDS, BULK_QUEUE)]


def acquire_leadership(connection: redis.Redis, token: str) -> bool:
    return bool(connection.set(LEADER_KEY, token, nx=True, ex=LEADER_TTL))


def release_leadership(connection: redis.Redis, token: str) -> None:
    connection.eval(_RELEASE, 1, LEADER_KEY, token)


def run_scheduler(runtime: Runtime, stop: threading.Event | None = None) -> None:
    """Lead (or stand by), fire the sweeps, and carry on through Redis outages, until
    SIGTERM/SIGINT (or `stop`, for tests)."""
    stop = stop or _stop_on_signals()
    connection = runtime.redis
    while not stop.is_set():
        try:
            _lead_while_possible(connection, runtime.settings, stop)
        except REDIS_DOWN:
            if not wait_for_redis(connection, "scheduler", stop):
                return


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _lead_while_possible(connection: redis.Redis, settings: Settings,
                         stop: threading.Event) -> None:
    """Wait to be the leader, then fire due sweeps until the lock is lost or we stop.

    The lock is renewed in the same loop that fires, so a scheduler that lost it (a long
    outage, a Redis that came back empty while another took over) stops firing at once."""
    from rq.cron import CronScheduler

    token = uuid.uuid4().hex
    while not acquire_leadership(connection, token):
        log.info("another scheduler is running; standing by")
        if stop.wait(STANDBY_POLL):
            return
    scheduler = CronScheduler(connection, name=f"caseline-{token[:8]}")
    for func, every, queue in sweeps(settings):
        # RQ stops a job after 180 s by default; an hourly sweep with a backlog needs
        # longer, and never longer than its own period.
        scheduler.register(func, queue, interval=every, result_ttl=0,
                           job_timeout=max(180, every - 60))
    scheduler.register_birth()
    try:
        while not stop.is_set():
            if not connection.eval(_RENEW, 1, LEADER_KEY, token, LEADER_TTL):
                log.error("scheduler lost its leader lock; standing by")
                return
            if scheduler.enqueue_jobs():
                scheduler.save()
            scheduler.heartbeat()
            stop.wait(min(scheduler.calculate_sleep_interval(), LEADER_TTL / 3))
    finally:
        try:
            scheduler.register_death()
            release_leadership(connection, token)
        except REDIS_DOWN:
            pass  # the lock expires by itself
        except SchedulerNotFound:
            pass  # Redis came back empty: there is nothing to tidy
