"""Shared fixtures: real databases built by the migrations, a real Redis, a runtime.

Database tests run on SQLite and, when it answers, on PostgreSQL (127.0.0.1:5432,
database `test`, a schema of this run's own, dropped afterwards). Redis tests use
127.0.0.1:6379 (a db number claimed for this run alone, flushed) or, where none answers,
the embedded server. With CI=true a missing PostgreSQL or Redis fails the run instead of
falling back, so CI can never pass by silently testing less.
"""

from __future__ import annotations

import functools
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from bot import db
from bot.config import load_settings
from bot.models import metadata
from bot.runtime import Runtime

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_SERVER = os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")  # set: this run uses it, unclaimed
CLAIM_KEY, CLAIM_SECONDS = "caseline:test-run:db{}", 900
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS_USED: set[str] = set()


@functools.cache
def _postgres_available() -> bool:
    probe = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3}, poolclass=sa.NullPool)
    try:
        db.ping(probe)
        return True
    except sa.exc.OperationalError:
        if IN_CI:
            pytest.exit(f"CI=true but PostgreSQL does not answer at {PG_URL}", returncode=3)
        return False
    finally:
        probe.dispose()


@functools.cache
def _redis_available() -> bool:
    try:
        with redis.Redis.from_url(REDIS_URL or REDIS_SERVER, socket_connect_timeout=2) as probe:
            return bool(probe.ping())
    except redis.ConnectionError:
        if IN_CI:
            pytest.exit(f"CI=true but Redis does not answer at {REDIS_URL or REDIS_SERVER}",
                        returncode=3)
        return False


def _claim_redis_db(run: str) -> tuple[int, redis.Redis]:
    """A db number of the machine's Redis for this run alone, so two suites on one Redis
    (two checkouts, a run beside a helper's) never empty each other's. The claim is a key in
    db 0, renewed by every test and released at the end; a run that died frees its db
    after CLAIM_SECONDS."""
    claims = redis.Redis.from_url(f"{REDIS_SERVER}/0")
    for number in range(15, 0, -1):
        if claims.set(CLAIM_KEY.format(number), run, nx=True, ex=CLAIM_SECONDS):
            return number, claims
    pytest.exit(f"every Redis db 1-15 at {REDIS_SERVER} is claimed by another test run; "
                "wait for them, or set TEST_REDIS_URL", returncode=3)


@pytest.fixture(autouse=True)
def _no_listeners_left_behind():
    """Case-event and call listeners are per process: each test starts without them."""
    yield
    from bot.outreach import notices

    notices.uninstall()


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        backends = ["sqlite"] + (["postgresql"] if _postgres_available() else [])
        if metafunc.definition.get_closest_marker("one_backend"):
            backends = backends[-1:]  # about processes and time, not the database
        metafunc.parametrize("backend", backends, scope="session")


def pytest_terminal_summary(terminalreporter):
    if BACKENDS_USED:
        terminalreporter.write_line(f"backends used: {', '.join(sorted(BACKENDS_USED))}")


@pytest.fixture(scope="session")
def migrated_engine(backend, tmp_path_factory):
    """One database per backend per run, built by the migrations."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.db"
        engine = db.make_engine(f"sqlite:///{path}")
        db.upgrade(engine)
        BACKENDS_USED.add("sqlite")
        yield engine
        engine.dispose()
        return
    schema = f"caseline_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    # The schema rides in the URL so that subprocesses (the CLI, a worker) see it too.
    engine = db.make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    db.upgrade(engine)
    BACKENDS_USED.add("postgresql")
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def engine(migrated_engine):
    """The migrated database, emptied after each test."""
    yield migrated_engine
    with migrated_engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    if _redis_available():
        BACKENDS_USED.add("redis-server")
        if REDIS_URL:
            yield REDIS_URL
            return
        run = uuid.uuid4().hex
        number, claims = _claim_redis_db(run)
        _CLAIMED.update(key=CLAIM_KEY.format(number), claims=claims)
        yield f"{REDIS_SERVER}/{number}"
        if claims.get(CLAIM_KEY.format(number)) == run.encode():
            claims.delete(CLAIM_KEY.format(number))
        claims.close()
        return
    from bot.redis_conn import SOCKET_NAME, embedded_redis

    instance = Path(tmp_path_factory.mktemp("redis"))
    # Quiet stretches of the run must not let its watcher stop it (bot/redis_conn.py).
    os.environ.setdefault("CASELINE_EMBEDDED_REDIS_IDLE_SECONDS", str(24 * 3600))
    embedded_redis(instance)
    BACKENDS_USED.add("embedded-redis")
    yield f"unix://{instance / SOCKET_NAME}"


_CLAIMED: dict = {}


@pytest.fixture
def redis_client(redis_url):
    if _CLAIMED:  # still this run's
        _CLAIMED["claims"].expire(_CLAIMED["key"], CLAIM_SECONDS)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def settings(tmp_path, backend, migrated_engine):
    env = {
        "CASELINE_ENV": "test",
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "DATABASE_URL": migrated_engine.url.render_as_string(hide_password=False),
        "PIN_KEY": "test-pin-key",
    }
    return load_settings(env, env_file=None)


@pytest.fixture
def runtime(settings, engine, redis_url, redis_client):
    """Settings, the emptied migrated database and a flushed Redis, as one runtime."""
    from dataclasses import replace

    runtime = Runtime(replace(settings, redis_url=redis_url), _engine=engine)
    yield runtime
    runtime.close()  # its Redis client; the engine is the session's and stays open


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake_twilio(settings):
    """The local fake of Twilio's API on a real port, callbacks in order unless told."""
    from bot.tryout.fake_twilio import FakeTwilioServer

    with FakeTwilioServer(account_sid=settings.twilio_account_sid,
                          auth_token=settings.twilio_auth_token, chaos=False,
                          callback_delay=0.01) as server:
        yield server


@pytest.fixture
def live_runtime(runtime, fake_twilio):
    """The web app served on a real port (so the fake can post callbacks to it), with
    settings that send through the fake Twilio. Pacing is fast unless a test slows it."""
    with serving(runtime, fake_twilio) as live:
        yield live


@contextmanager
def serving(runtime, fake_twilio, **changes):
    """`runtime` with the web app served on a real port, sending through `fake_twilio`;
    `changes` replace settings (e.g. redis_url for a Redis server a test stops)."""
    from dataclasses import replace
    from threading import Thread

    from werkzeug.serving import make_server

    from webhooks import create_app

    port = free_port()
    settings = replace(runtime.settings, public_url=f"http://127.0.0.1:{port}",
                       twilio_api_base=fake_twilio.url, outbound_texts_per_second=50,
                       outbound_calls_per_second=50, **changes)
    live = Runtime(settings, _engine=runtime.engine)
    server = make_server("127.0.0.1", port, create_app(live), threaded=True)
    # Closing waits for requests still being handled (a late status callback), so no
    # database connection outlives the test.
    server.daemon_threads, server.block_on_close = False, True
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield live
    try:
        fake_twilio.wait_for(lambda: fake_twilio.state.idle, timeout=10)
    except TimeoutError:
        pass  # a test that left the fake hanging: close anyway
    server.shutdown()
    server.server_close()
    thread.join(5)
    live.close()  # the engine was handed over: it stays open for the rest of the run


DEMO_FILE = Path(__file__).resolve().parent.parent / "bot" / "demo" / "demo.yaml"


@pytest.fixture
def demo_runtime(runtime):
    """The runtime with the demo cases imported (the people in bot/demo/demo.yaml)."""
    from bot.importer import import_file

    import_file(DEMO_FILE, runtime.engine, pin_key=runtime.settings.pin_key)
    return runtime


@pytest.fixture
def caseline(demo_runtime, monkeypatch):
    """`caseline ...` as an administrator runs it, on the same database: the output (stdout
    and stderr together), after checking the exit status (`code=`, 0 unless told)."""
    from click.testing import CliRunner

    from bot.cli.main import cli

    s = demo_runtime.settings
    for name, value in {"CASELINE_ENV": "test", "DATABASE_URL": s.database_url,
                        "REDIS_URL": s.redis_url, "PIN_KEY": s.pin_key,
                        "INSTANCE_DIR": s.instance_dir}.items():
        monkeypatch.setenv(name, value)

    def run(*args, code: int = 0) -> str:
        result = CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


@pytest.fixture
def phone(demo_runtime):
    """phone(from_number) -> a SimulatedPhone texting and calling the app's real webhooks."""
    from bot.tryout.phone_sim import SimulatedPhone, path_of
    from webhooks import create_app

    client = create_app(demo_runtime).test_client()

    def transport(url, form, headers):
        response = client.post(path_of(url), data=form, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    def make(from_number: str) -> SimulatedPhone:
        settings = demo_runtime.settings
        return SimulatedPhone(transport, public_url=settings.public_url,
                              auth_token=settings.twilio_auth_token, from_number=from_number,
                              to_number=settings.twilio_phone_number)

    return make
