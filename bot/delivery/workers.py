"""The `caseline worker` process: RQ's worker, kept going through Redis outages.

RQ's worker quits on the first lost connection. An outage of any length must not stop
outbound work for good: this waits for Redis (saying so once), then starts a fresh RQ
worker; jobs lost with Redis are handed over again by the outbox sweep, and the
database's conditional claims make sure nothing is sent twice.
"""

from __future__ import annotations

import logging
import signal
import threading

from rq import Worker

from bot.redis_conn import REDIS_DOWN, wait_for_redis

from .queues import queues

log = logging.getLogger(__name__)

MAINTENANCE_SECONDS = 60
WORKER_TTL = 75  # an idle worker beats every 60 s (RQ: TTL - 15), so health sees it


class LineWorker(Worker):
    """RQ's worker, retrying a lost Redis every few seconds rather than backing off to a
    minute: after an outage it is back at work within moments of Redis."""

    max_connection_wait_time = 5.0


def run_worker(connection, *, burst: bool = False) -> None:
    from bot import jobs  # the jobs sit above this module: imported here, not at the top

    jobs.worker_runtime()  # built once here, inherited by every forked work-horse
    stop = threading.Event()
    while True:
        # Maintenance every minute, not RQ's ten: it restarts the scheduler of delayed jobs
        # (retries) if an outage killed it, so retries are not ten minutes late.
        worker = None
        try:
            # RQ's worker names itself to Redis as it is made: Redis may be down then too.
            worker = LineWorker(queues(connection), connection=connection,
                                worker_ttl=WORKER_TTL, maintenance_interval=MAINTENANCE_SECONDS)
            worker.work(with_scheduler=True, burst=burst)
        except REDIS_DOWN:
            pass  # lost while starting or shutting down: wait for Redis below
        # RQ notes the moment a SIGTERM or Ctrl-C asked it to stop (warm shutdown).
        asked = worker is not None and worker._shutdown_requested_date is not None
        if burst or asked or stop.is_set():
            return  # asked to stop, or a burst ran out of work
        if _answers(connection):
            log.error("worker stopped unexpectedly with Redis up; starting a new one")
            if stop.wait(1.0):
                return
            continue
        # RQ's own handlers are gone with its worker: a stop request now ends the wait.
        previous = {s: signal.signal(s, lambda *_: stop.set())
                    for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            if not wait_for_redis(connection, "worker", stop):
                return
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _answers(connection) -> bool:
    try:
        return bool(connection.ping())
    except REDIS_DOWN:
        return False
