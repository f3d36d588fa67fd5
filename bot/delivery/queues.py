"""The RQ queues the worker listens on."""

from __future__ import annotations

import redis
from rq import Queue

# One queue: sends are paced per number by the outbound code, not by queue priority.
QUEUE_NAMES = ("caseline",)


def queues(connection: redis.Redis) -> list[Queue]:
    return [Queue(name, connection=connection) for name in QUEUE_NAMES]
