"""Teams kept in each process between requests, and dropped in every process on a change.

A team is configuration, not anyone's case: its name, duty and out-of-hours numbers and
office hours. The line reads one on nearly every turn, so each process keeps copies. A
stale copy would give a caller the wrong duty number, so:

- whatever commits a change to a team (the import, the API, the CLI, the staff pages:
  anything that writes through the ORM) drops this process's copies at the commit and
  moves a generation counter in Redis;
- before a session (one turn, one chunk of a sweep) first uses a copy, the counter is
  read (one Redis round trip, not a database query): if it moved, every copy is dropped
  and read again from the database;
- if Redis cannot be read, copies are not used at all (the database is); and no copy is
  used once it is older than MAX_AGE, so a change made while Redis was unreachable from
  the writer reaches every process within that time.

Nothing about a caller is ever kept here.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable

import redis
import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from bot.models import Team
from bot.redis_conn import REDIS_DOWN

log = logging.getLogger(__name__)

GENERATION_KEY = "caseline:teams:generation"
MAX_AGE = 60.0  # seconds: the longest a copy is used without the database being read
RETRY_REDIS = 5.0  # seconds: after Redis failed, teams come from the database until then
_CHANGED = "caseline_teams_changed"
_CHECKED = "caseline_teams_checked"
RUNTIME = "caseline_runtime"  # session.info: the Runtime whose session it is (Runtime.session)
_COPIED = tuple(Team.model_fields)
_REDIS_FAILS = (*REDIS_DOWN, redis.RedisError)  # down, unreachable, or refusing (out of memory)


class TeamCache:
    """One process's copies of the teams of one database."""

    def __init__(self, redis_client: Callable[[], redis.Redis],
                 clock: Callable[[], float] = time.monotonic):
        self._redis, self._clock = redis_client, clock
        self._teams: dict[int, Team] = {}
        self._generation: bytes | None = None
        self._loaded_at = 0.0
        self._redis_down_until = 0.0  # each failed read costs Redis's retries: not every turn

    def get(self, session: Session, team_id: int | None) -> Team | None:
        """The team, as it is in the database now (a copy not bound to `session`)."""
        if team_id is None:
            return None
        if not self._current_for(session) or session.info.get(_CHANGED):
            return session.get(Team, team_id)  # this session changed a team: not a copy
        if team_id not in self._teams:
            # From the database now, not from the session's identity map: a team read
            # there before the counter was looked at may be older than the counter.
            team = session.exec(select(Team).where(Team.id == team_id)
                                .execution_options(populate_existing=True)).first()
            if team is None or session.info.get(_CHANGED):  # its own change, just flushed
                return team
            self._teams[team_id] = Team(**{name: getattr(team, name) for name in _COPIED})
        return self._teams[team_id]

    def changed(self, session: Session | None = None) -> None:
        """A change to a team was committed: forget this process's copies and tell the others."""
        self.clear()
        try:
            self._client(session).incr(GENERATION_KEY)
        except _REDIS_FAILS as exc:
            log.warning("a team changed but other processes could not be told (%s): their "
                        "copies are read again within %d seconds", type(exc).__name__,
                        MAX_AGE)

    def clear(self) -> None:
        self._teams.clear()
        self._generation = None

    def redis_back(self) -> None:
        """Ask Redis again on the next session rather than wait out RETRY_REDIS."""
        self._redis_down_until = 0.0

    def _current_for(self, session: Session) -> bool:
        """Redis is asked once a session (one turn, one chunk of a sweep), not once a read."""
        checked = session.info.setdefault(_CHECKED, {})
        if id(self) not in checked:
            checked[id(self)] = self._still_current(session)
        return checked[id(self)]

    def _client(self, session: Session | None) -> redis.Redis:
        """The Redis of the runtime whose session this is; for a session made without one
        (a test's, a script's), the engine's newest runtime's."""
        runtime = session.info.get(RUNTIME) if session is not None else None
        return runtime.redis if runtime is not None else self._redis()

    def _still_current(self, session: Session | None = None) -> bool:
        """Whether the copies may be used; drops them when another process changed a team."""
        now = self._clock()
        if now < self._redis_down_until:
            return False
        try:
            generation = self._client(session).get(GENERATION_KEY)
        except _REDIS_FAILS:
            self.clear()
            self._redis_down_until = self._clock() + RETRY_REDIS
            return False
        if generation != self._generation or now - self._loaded_at > MAX_AGE:
            self._teams.clear()
            self._generation, self._loaded_at = generation, now
        return True


class _Owners:
    """The Runtimes that use one engine in this process, held weakly (the cache must not
    keep them, nor the engine that is its key, alive). A session a Runtime made asks that
    Runtime's Redis; one made without (`Session(engine)`) asks the newest that lives and
    has not been closed. In production there is one; in tests one from an earlier test
    may live on until the garbage collector frees it, and must not be the one asked."""

    def __init__(self) -> None:
        self._refs: list[weakref.ref] = []

    def add(self, runtime) -> None:
        self._refs = [ref for ref in self._refs if ref() is not None]
        if all(ref() is not runtime for ref in self._refs):
            self._refs.append(weakref.ref(runtime))

    def remove(self, runtime) -> None:
        # By identity: two Runtimes with the same settings are equal (dataclasses).
        self._refs = [ref for ref in self._refs if ref() is not None and ref() is not runtime]

    def redis(self) -> redis.Redis:
        for ref in reversed(self._refs):
            runtime = ref()
            if runtime is not None:
                return runtime.redis
        raise redis.ConnectionError("no runtime of this process is using this database")


_CACHES: weakref.WeakKeyDictionary[sa.Engine, tuple[TeamCache, _Owners]] = (
    weakref.WeakKeyDictionary())


def attach(engine: sa.Engine, runtime) -> TeamCache:
    """The cache of `engine`'s teams in this process. A change is told of through the Redis
    of the runtime whose session made it, or (a session made without one) of the newest
    runtime on the engine still in use."""
    if engine not in _CACHES:
        owners = _Owners()
        _CACHES[engine] = TeamCache(owners.redis), owners
    cache, owners = _CACHES[engine]
    owners.add(runtime)
    cache.redis_back()  # a runtime that has just come may reach a Redis the last one did not
    return cache


def detach(engine: sa.Engine, runtime) -> None:
    """`runtime` is closed: its Redis no longer tells the other processes of changes."""
    if engine in _CACHES:
        _CACHES[engine][1].remove(runtime)


def cache_for(session: Session) -> TeamCache | None:
    bind = session.get_bind()
    found = _CACHES.get(bind if isinstance(bind, sa.Engine) else bind.engine)
    return found[0] if found else None


def get_team(session: Session, team_id: int | None) -> Team | None:
    """The team, from this process's copies when the session's engine keeps them."""
    cache = cache_for(session)
    if cache is None:
        return session.get(Team, team_id) if team_id is not None else None
    return cache.get(session, team_id)


# ---- noticing changes: every ORM write of a team, wherever it is made -------------------

@sa.event.listens_for(OrmSession, "after_flush")
def _note_team_writes(session: OrmSession, _flush_context) -> None:
    if any(isinstance(obj, Team) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED] = True


@sa.event.listens_for(OrmSession, "do_orm_execute")
def _note_bulk_team_writes(state) -> None:
    if (state.is_update or state.is_delete or state.is_insert) and any(
            mapper.class_ is Team for mapper in state.all_mappers):
        state.session.info[_CHANGED] = True


@sa.event.listens_for(OrmSession, "after_commit")
def _tell_of_team_changes(session: OrmSession) -> None:
    if session.info.pop(_CHANGED, False):
        cache = cache_for(session)
        if cache is not None:
            cache.changed(session)


@sa.event.listens_for(OrmSession, "after_soft_rollback")
def _forget_rolled_back(session: OrmSession, previous_transaction) -> None:
    if not session.in_transaction() and session.info.pop(_CHANGED, False):
        cache = cache_for(session)  # nothing was cached from it, but be sure
        if cache is not None:
            cache.clear()
