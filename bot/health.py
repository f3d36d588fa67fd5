"""Health facts shared by `/healthz` and the CLI: Redis and the last heartbeats."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

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


# A heartbeat older than this means the process is gone or stuck. Workers beat at least
# every `WORKER_TTL - 15` s while idle (see bot/delivery/workers.py), the scheduler every
# 20 s at most.
WORKER_FRESH_SECONDS = 120
SCHEDULER_FRESH_SECONDS = 90


def heartbeats(client: redis.Redis | None, now: datetime | None = None) -> dict:
    """Every RQ worker's and cron scheduler's last heartbeat, with its age in seconds, and
    whether at least one of each is fresh."""
    if client is None:
        return {"workers": [], "schedulers": [], "worker_heartbeat": None,
                "scheduler_heartbeat": None, "workers_fresh": False, "scheduler_fresh": False}
    from rq import Worker
    from rq.cron import CronScheduler

    now = now or datetime.now(UTC)
    workers = [_beat(w.name, w.last_heartbeat, now) for w in Worker.all(connection=client)]
    schedulers = [_beat(s.name, s.last_heartbeat, now)
                  for s in CronScheduler.all(connection=client)]
    return {
        "workers": workers,
        "schedulers": schedulers,
        "worker_heartbeat": _latest(workers),
        "scheduler_heartbeat": _latest(schedulers),
        "workers_fresh": _fresh(workers, WORKER_FRESH_SECONDS),
        "scheduler_fresh": _fresh(schedulers, SCHEDULER_FRESH_SECONDS),
    }


def _beat(name: str, moment: datetime | None, now: datetime) -> dict:
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # RQ stores UTC without a zone
    age = round((now - moment).total_seconds()) if moment else None
    return {"name": name, "heartbeat": _iso(moment) if moment else None, "age_seconds": age}


def _latest(beats: list[dict]) -> str | None:
    times = [b["heartbeat"] for b in beats if b["heartbeat"]]
    return max(times) if times else None


def _fresh(beats: list[dict], seconds: int) -> bool:
    return any(b["age_seconds"] is not None and b["age_seconds"] <= seconds for b in beats)


def _iso(moment) -> str:
    return moment.isoformat(timespec="seconds")
