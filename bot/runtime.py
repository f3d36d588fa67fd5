"""What one process needs at run time: settings, a database engine, a Redis client.

Built once per process (web, worker, scheduler, CLI) from settings and handed to
whatever needs it, so nothing opens connections at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import redis
import sqlalchemy as sa

from . import db
from .config import Settings, load_settings
from .redis_conn import get_redis


@dataclass
class Runtime:
    settings: Settings
    _engine: sa.Engine | None = field(default=None, repr=False)

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

    def session(self):
        """`with runtime.session() as s:` commits on success, rolls back on error."""
        return db.session_scope(self.engine)
