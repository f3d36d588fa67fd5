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

from . import clock, db
from .config import Settings, load_settings
from .models.types import utcnow
from .records import team_cache
from .redis_conn import get_redis


@dataclass
class Runtime:
    settings: Settings
    _engine: sa.Engine | None = field(default=None, repr=False)  # handed over: not ours to close
    # The line's time for conversations and sweeps (bot/clock.py); tests may fix it here.
    clock: Callable[[], datetime] = field(default=utcnow, repr=False)
    _made_engine: bool = field(default=False, init=False, repr=False, compare=False)

    def now(self) -> datetime:
        return self.clock()

    def __post_init__(self) -> None:
        # The line's clock may be moved outside production (`caseline clock`), never in it.
        clock.use(None if self.settings.is_production
                  else clock.file_for(self.settings.instance_path))
        if self._engine is not None:  # an engine handed over: its teams are told of by our Redis
            team_cache.attach(self._engine, self)

    @classmethod
    def from_env(cls) -> Runtime:
        return cls(load_settings())

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = db.make_engine(self.settings.database_url)
            self._made_engine = True
            # This process keeps the engine's teams, dropped when Redis says one changed.
            team_cache.attach(self._engine, self)
        return self._engine

    @cached_property
    def redis(self) -> redis.Redis:
        return get_redis(self.settings)

    def close(self) -> None:
        """Release connections (pooled database connections, the Redis client). An engine
        handed over is left open for whoever made it."""
        if self._engine is not None:
            team_cache.detach(self._engine, self)
            if self._made_engine:
                self._engine.dispose()
        if "redis" in self.__dict__:
            self.__dict__.pop("redis").close()
        if "sender" in self.__dict__:
            self.__dict__.pop("sender").close()

    @cached_property
    def sender(self):
        """The Sender for Twilio (or the mock or fake at TWILIO_API_BASE)."""
        from bot.delivery.sender import TwilioSender

        return TwilioSender(self.settings)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """`with runtime.session() as s:` commits on success, rolls back on error.

        Once the commit succeeds, the hooks the session collected (`after_commit`) run:
        that is how outbox rows added in it are handed to RQ.
        """
        with db.session_scope(self.engine) as session:
            session.info[team_cache.RUNTIME] = self  # teams' changes are told through our Redis
            yield session
        for hook, items in session.info.pop(_AFTER_COMMIT, {}).items():
            hook(self, items)


# Hooks live in the session, not here, so this module imports nothing that imports it.
_AFTER_COMMIT = "caseline_after_commit"
CommitHook = Callable[[Runtime, list], None]


def after_commit(session: Session, hook: CommitHook, item) -> None:
    """Have `hook(runtime, items)` called once, with every item added for it, after this
    session commits through `Runtime.session` (never if it rolls back)."""
    session.info.setdefault(_AFTER_COMMIT, {}).setdefault(hook, []).append(item)


def after_commit_items(session: Session, hook: CommitHook) -> list:
    """The items waiting for `hook` in this session (a copy)."""
    return list(session.info.get(_AFTER_COMMIT, {}).get(hook, ()))
