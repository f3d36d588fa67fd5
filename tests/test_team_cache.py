"""Each process keeps the teams between requests (bot/records/team_cache.py), and a change
made anywhere (another process's import, an ORM write here, a bulk update) is heard on
the very next text. A stale copy would give a caller the wrong duty number."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager

import pytest
import redis
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.models import Team
from bot.records import team_cache
from tests.factories import tells_status
from tests.faults import service_env

EDITH, EDITH_PIN = "+447700900101", "4821"  # Leeds's case in bot/demo/demo.yaml
LEEDS_DUTY = "0113 496 0000"


def _all(texts) -> str:
    return "\n".join(texts)


def _verified_edith(phone):
    edith = phone(EDITH)
    assert "PIN" in _all(edith.text("news"))
    assert tells_status(_all(edith.text(EDITH_PIN)))
    return edith


@contextmanager
def _team_reads(engine):
    """The SELECTs of the team table made in this process inside the block."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM team" in statement:
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def _leeds(engine) -> Team:
    with Session(engine) as session:
        return session.exec(select(Team).where(Team.ref == "T-LEEDS")).one()


def test_while_nothing_changes_the_team_is_read_once(demo_runtime, phone):
    edith = _verified_edith(phone)
    with _team_reads(demo_runtime.engine) as reads:
        for _ in range(3):
            assert LEEDS_DUTY in _all(edith.text("0"))
    assert len(reads) <= 1  # the first turn may read it; the others use this process's copy


def test_an_import_in_another_process_is_heard_on_the_next_text(demo_runtime, phone, tmp_path):
    edith = _verified_edith(phone)
    assert LEEDS_DUTY in _all(edith.text("0"))  # the copy is made
    file = tmp_path / "teams.yaml"
    file.write_text("teams:\n  - ref: T-LEEDS\n    name: Leeds Adult Safeguarding\n"
                    "    duty_number: 0113 496 0123\n    out_of_hours_number: 07700 900999\n")
    done = subprocess.run([sys.executable, "-m", "bot", "import", str(file)],
                          env=service_env(demo_runtime.settings), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    told = _all(edith.text("0"))
    assert "0113 496 0123" in told and LEEDS_DUTY not in told


def test_an_orm_write_here_and_a_bulk_update_are_heard_at_once(demo_runtime, phone):
    edith = _verified_edith(phone)
    assert LEEDS_DUTY in _all(edith.text("0"))
    with Session(demo_runtime.engine) as session:  # as the staff pages or the API write it
        team = session.exec(select(Team).where(Team.ref == "T-LEEDS")).one()
        team.duty_number = "+441134960124"
        session.add(team)
        session.commit()
    assert "0113 496 0124" in _all(edith.text("0"))
    with Session(demo_runtime.engine) as session:
        session.execute(sa.update(Team).where(Team.ref == "T-LEEDS")
                        .values(duty_number="+441134960125"))
        session.commit()
    assert "0113 496 0125" in _all(edith.text("0"))


def test_a_rolled_back_change_tells_no_other_process(demo_runtime, redis_client):
    cache = team_cache.attach(demo_runtime.engine, demo_runtime)
    leeds = _leeds(demo_runtime.engine)
    with Session(demo_runtime.engine) as session:
        assert cache.get(session, leeds.id).duty_number == leeds.duty_number
    before = redis_client.get(team_cache.GENERATION_KEY)
    with Session(demo_runtime.engine) as session:
        team = session.get(Team, leeds.id)
        team.duty_number = "+441134960126"
        session.add(team)
        session.flush()
        session.rollback()
        session.commit()  # nothing left to commit: no notice
    assert redis_client.get(team_cache.GENERATION_KEY) == before
    with Session(demo_runtime.engine) as session:
        assert cache.get(session, leeds.id).duty_number == leeds.duty_number


def _quietly_changed(engine, team_id: int, number: str) -> None:
    """A change no ORM session sees (raw SQL, a migration): nobody is told of it."""
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE team SET duty_number = :n WHERE id = :i"),
                     {"n": number, "i": team_id})


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_change_nobody_was_told_of_is_heard_within_max_age(demo_runtime):
    clock = _Clock()
    cache = team_cache.TeamCache(lambda: demo_runtime.redis, clock=clock)
    leeds = _leeds(demo_runtime.engine)
    with Session(demo_runtime.engine) as session:
        cache.get(session, leeds.id)
    _quietly_changed(demo_runtime.engine, leeds.id, "+441134960127")
    clock.now += team_cache.MAX_AGE - 1
    with Session(demo_runtime.engine) as session:
        assert cache.get(session, leeds.id).duty_number == leeds.duty_number  # the bound
    clock.now += 2
    with Session(demo_runtime.engine) as session:
        assert cache.get(session, leeds.id).duty_number == "+441134960127"


def test_a_restarted_redis_drops_every_copy(demo_runtime, redis_client):
    cache = team_cache.TeamCache(lambda: demo_runtime.redis)
    leeds = _leeds(demo_runtime.engine)
    redis_client.incr(team_cache.GENERATION_KEY)
    with Session(demo_runtime.engine) as session:
        cache.get(session, leeds.id)
    _quietly_changed(demo_runtime.engine, leeds.id, "+441134960128")
    redis_client.flushdb()  # Redis keeps nothing on disk: the counter is gone
    with Session(demo_runtime.engine) as session:
        assert cache.get(session, leeds.id).duty_number == "+441134960128"


class _DeadRedis:
    """A client whose server is gone, counting how often it was asked."""

    def __init__(self):
        self.asked = 0

    def get(self, _key):
        self.asked += 1
        raise redis.ConnectionError("Connection refused")

    def incr(self, _key):
        raise redis.ConnectionError("Connection refused")


def test_without_redis_teams_come_from_the_database(demo_runtime):
    dead, clock = _DeadRedis(), _Clock()
    cache = team_cache.TeamCache(lambda: dead, clock=clock)
    leeds = _leeds(demo_runtime.engine)
    with Session(demo_runtime.engine) as session:
        assert cache.get(session, leeds.id).duty_number == leeds.duty_number
    _quietly_changed(demo_runtime.engine, leeds.id, "+441134960129")
    with Session(demo_runtime.engine) as session:
        assert cache.get(session, leeds.id).duty_number == "+441134960129"
    assert dead.asked == 1  # not asked again on every turn while it is down
    clock.now += team_cache.RETRY_REDIS + 1
    with Session(demo_runtime.engine) as session:
        cache.get(session, leeds.id)
    assert dead.asked == 2
    cache.changed()  # a writer that cannot tell the others still forgets its own copies


@pytest.mark.one_backend  # a second transaction commits while the first is open
def test_a_team_read_before_a_change_in_the_same_session_is_not_kept(demo_runtime):
    cache = team_cache.attach(demo_runtime.engine, demo_runtime)
    leeds = _leeds(demo_runtime.engine)
    with Session(demo_runtime.engine) as turn:
        held = turn.get(Team, leeds.id)  # as a sweep's prefetch holds the teams it read
        with Session(demo_runtime.engine) as staff:
            team = staff.get(Team, leeds.id)
            team.duty_number = "+441134960130"
            staff.add(team)
            staff.commit()  # another process would be told through Redis
        assert cache.get(turn, leeds.id).duty_number == "+441134960130" and held is not None
    with Session(demo_runtime.engine) as later:
        assert cache.get(later, leeds.id).duty_number == "+441134960130"


def _reads_over_three_sessions(engine, cache, team_id: int) -> int:
    with _team_reads(engine) as reads:
        for _ in range(3):
            with Session(engine) as session:
                cache.get(session, team_id)
    return len(reads)


def _reads_in_sessions_of(runtime, cache, team_id: int) -> int:
    with _team_reads(runtime.engine) as reads:
        for _ in range(3):
            with runtime.session() as session:
                cache.get(session, team_id)
    return len(reads)


def test_each_runtimes_sessions_ask_its_own_redis(demo_runtime, redis_client):
    """A runtime on a Redis that is down (a test's, or one left from an earlier test until
    the garbage collector frees it) changes nothing for another runtime's sessions. A
    session made without a runtime asks the newest runtime still in use."""
    import gc
    from dataclasses import replace

    from bot.runtime import Runtime

    engine = demo_runtime.engine
    stopped = replace(demo_runtime.settings, redis_url="redis://127.0.0.1:9/0")
    left_over = Runtime(stopped, _engine=engine)
    current = Runtime(demo_runtime.settings, _engine=engine)
    newest = Runtime(stopped, _engine=engine)
    cache, leeds = team_cache.attach(engine, current), _leeds(engine)
    assert _reads_in_sessions_of(current, cache, leeds.id) == 1
    before = int(redis_client.get(team_cache.GENERATION_KEY) or 0)
    with current.session() as session:  # a change made here is told through current's Redis
        session.get(Team, leeds.id).name = "Leeds Adult Safeguarding Team"
    assert int(redis_client.get(team_cache.GENERATION_KEY)) == before + 1
    assert _reads_in_sessions_of(current, cache, leeds.id) == 1

    assert _reads_over_three_sessions(engine, cache, leeds.id) == 3  # newest's Redis is down
    del newest  # gone with no close: the one before it is asked
    gc.collect()
    cache.redis_back()
    assert _reads_over_three_sessions(engine, cache, leeds.id) == 1
    left_over.close()
    current.close()  # closed: demo_runtime, the one left, is asked
    cache.changed()
    assert int(redis_client.get(team_cache.GENERATION_KEY)) == before + 2


def test_the_cache_does_not_keep_its_runtime_alive(settings, redis_url, redis_client):
    import gc
    import weakref
    from dataclasses import replace

    from bot.runtime import Runtime

    runtime = Runtime(replace(settings, redis_url=redis_url))
    engine = weakref.ref(runtime.engine)
    gone = weakref.ref(runtime)
    runtime.close()
    del runtime
    gc.collect()
    assert gone() is None and engine() is None
