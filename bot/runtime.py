"""What one process needs at run time: settings, a database engine, a Redis client.

Built once per process (web, worker, scheduler, CLI) from settings and handed to
whatever needs it, so nothing opens connections at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

import redis
import sqlalchemy as sa
from sqlmodel import Session

from . import db
from .config import Settings, load_settings
from .models.types import utcnow
from .redis_conn import get_redis


@dataclass
class Runtime:
    settings: Settings
    _engine: sa.Engine | None = field(default=None, repr=False)
    # The time for conversations and sweeps; tests set a fixed clock here.
    clock: Callable[[], datetime] = field(default=utcnow, repr=False)

    def now(self) -> datetime:
        return self.clock()

    @classmethod
    def from_env(cls) -> Runtime:
        return cls(load_settings())

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = db.make_engine(self.settings.database_url)
        return self._engine

    @cached_property
    def redis(self) -> redis.Redis:
        return get_redis(self.settings)

    def close(self) -> None:
        """Release connections (pooled database connections, the Redis client)."""
        if self._engine is not None:
            self._engine.dispose()
        if "redis" in self.__dict__:
            self.__dict__.pop("redis").close()
        if "sender" in self.__dict__:
            self.__dict__.pop("sender").close()

    @cached_property
    def sender(self):
        """The Sender for Twilio (or the mock or fake at TWILIO_API_BASE)."""
        from .outbound import TwilioSender

        return TwilioSender(self.settings)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """`with runtime.session() as s:` commits on success, rolls back on error.

        Outbox rows added in the session are handed to RQ once the commit succeeds.
        """
        with db.session_scope(self.engine) as session:
            yield session
        new_rows = session.info.pop("outbox_new", None)
        if new_rows:
            from .jobs import enqueue_new_rows

            enqueue_new_rows(self, new_rows)
