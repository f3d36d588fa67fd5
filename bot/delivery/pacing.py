"""Pacing shared by every worker through Redis: at most N sends a second per key.

Each send reserves the next free slot for its key (a sending number for texts, the
account for new calls) in one atomic script using Redis's own clock, then sleeps
until its slot. Workers on several machines therefore share one schedule.
"""

from __future__ import annotations

import time

import redis

# KEYS[1]: the key's next free slot (microseconds). ARGV[1]: the interval (microseconds).
# Returns how long the caller must wait (microseconds) before its slot.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, free)
local keep_ms = math.floor((slot + interval - now) / 1000) + 60000
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', keep_ms)
return slot - now
"""


class Pacer:
    """Reserve slots at `per_second` for a key; `wait(key)` sleeps until the slot."""

    def __init__(self, connection: redis.Redis, per_second: float, prefix: str = "caseline:pace"):
        if per_second <= 0:
            raise ValueError("per_second must be above 0")
        self._reserve = connection.register_script(_RESERVE)
        self._interval_us = int(1_000_000 / per_second)
        self._prefix = prefix

    def reserve(self, key: str) -> float:
        """Reserve the next slot for `key`; returns seconds to wait before using it."""
        waited = self._reserve(keys=[f"{self._prefix}:{key}"], args=[self._interval_us])
        return int(waited) / 1_000_000

    def wait(self, key: str) -> None:
        delay = self.reserve(key)
        if delay > 0:
            time.sleep(delay)
