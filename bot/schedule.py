"""The periodic sweeps and the one process that fires them (`caseline scheduler`).

Exactly one scheduler may fire: a copy that cannot take the Redis leader lock waits
as a standby and takes over if the leader dies. Each sweep also takes a short lock
of its own when it runs (`bot.jobs.run_once`), so even two schedulers cannot run the
same sweep twice in one period; and the sweeps themselves are idempotent.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import uuid

import redis

from bot.delivery.queues import QUEUE_NAMES
from bot.jobs import contact_sweeps_job, sweep_outbox_job
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


def sweeps():
    """(job function, every N seconds) for each periodic sweep."""
    return [(sweep_outbox_job, 60), (contact_sweeps_job, 300)]


def acquire_leadership(connection: redis.Redis, token: str) -> bool:
    return bool(connection.set(LEADER_KEY, token, nx=True, ex=LEADER_TTL))


def release_leadership(connection: redis.Redis, token: str) -> None:
    connection.eval(_RELEASE, 1, LEADER_KEY, token)


def run_scheduler(runtime: Runtime) -> None:
    """Wait to be the leader, then fire the sweeps with RQ's cron scheduler until stopped."""
    from rq.cron import CronScheduler

    connection = runtime.redis
    token = uuid.uuid4().hex
    while not acquire_leadership(connection, token):
        log.info("another scheduler is running; standing by")
        time.sleep(STANDBY_POLL)
    stop = threading.Event()
    threading.Thread(target=_keep_leadership, args=(connection, token, stop), daemon=True).start()
    scheduler = CronScheduler(connection, name=f"caseline-{token[:8]}")
    for func, every in sweeps():
        scheduler.register(func, QUEUE_NAMES[0], interval=every, result_ttl=0)
    try:
        scheduler.start()
    finally:
        stop.set()
        release_leadership(connection, token)


def _keep_leadership(connection: redis.Redis, token: str, stop: threading.Event) -> None:
    """Renew the lock; if it is lost (e.g. a long Redis outage), stop firing at once."""
    while not stop.wait(LEADER_TTL / 3):
        try:
            renewed = connection.eval(_RENEW, 1, LEADER_KEY, token, LEADER_TTL)
        except redis.RedisError:
            continue  # Redis is down: nothing can be enqueued anyway; try again
        if not renewed:
            log.error("scheduler lost its leader lock; stopping")
            os.kill(os.getpid(), signal.SIGTERM)
            return
