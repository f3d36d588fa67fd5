"""Health facts shared by `/healthz` and the CLI: Redis and the last heartbeats."""

from __future__ import annotations

import logging

import redis

log = logging.getLogger(__name__)


def redis_ok(runtime) -> tuple[str, redis.Redis | None]:
    """('ok', client) when Redis answers, else ('down', None)."""
    try:
        client = runtime.redis
        client.ping()
        return "ok", client
    except Exception as exc:  # connection, timeout, or the embedded server failing to start
        log.warning("health: redis down (%s)", type(exc).__name__)
        return "down", None


def heartbeats(client: redis.Redis | None) -> dict[str, str | None]:
    """The most recent RQ worker and cron-scheduler heartbeats, as ISO times."""
    if client is None:
        return {"worker_heartbeat": None, "scheduler_heartbeat": None}
    from rq import Worker
    from rq.cron import CronScheduler

    workers = [w.last_heartbeat for w in Worker.all(connection=client) if w.last_heartbeat]
    schedulers = [s.last_heartbeat for s in CronScheduler.all(connection=client)]
    schedulers = [t for t in schedulers if t]
    return {
        "worker_heartbeat": _iso(max(workers)) if workers else None,
        "scheduler_heartbeat": _iso(max(schedulers)) if schedulers else None,
    }


def _iso(moment) -> str:
    return moment.isoformat(timespec="seconds")
