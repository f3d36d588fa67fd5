"""The embedded Redis server: started on demand, shared by processes, stopped cleanly."""

import os
import subprocess
import sys
import time

import pytest

from bot.config import load_settings
from bot.redis_conn import SOCKET_NAME, get_redis, redis_url_for, stop_embedded


@pytest.fixture
def instance(tmp_path):
    yield tmp_path
    stop_embedded(tmp_path)


def test_started_on_demand_and_shared(instance):
    settings = load_settings({"INSTANCE_DIR": str(instance)}, env_file=None)
    client = get_redis(settings)
    client.set("shared", "yes")
    assert (instance / SOCKET_NAME).exists()
    assert redis_url_for(settings) == f"unix://{instance / SOCKET_NAME}"
    # Another process of the same installation finds the same server.
    code = ("from pathlib import Path; from bot.redis_conn import embedded_redis;"
            f"print(embedded_redis(Path({str(instance)!r})).get('shared').decode())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "yes"


def test_two_processes_starting_at_once_get_one_server(instance):
    code = ("from pathlib import Path; from bot.redis_conn import embedded_redis;"
            f"r = embedded_redis(Path({str(instance)!r})); print(r.info()['process_id'])")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    pids = {p.communicate(timeout=30)[0].strip() for p in procs}
    assert len(pids) == 1


def test_stop_embedded(instance):
    settings = load_settings({"INSTANCE_DIR": str(instance)}, env_file=None)
    get_redis(settings).ping()
    stop_embedded(instance)
    for _ in range(50):
        if not (instance / SOCKET_NAME).exists():
            break
        time.sleep(0.05)
    assert not (instance / SOCKET_NAME).exists()


def test_configured_url_is_used_as_given(redis_url):
    settings = load_settings({"REDIS_URL": redis_url}, env_file=None)
    assert redis_url_for(settings) == redis_url
    assert get_redis(settings).ping()


def test_a_second_test_run_on_the_same_redis_claims_another_db(redis_url):
    """Two suites on one Redis (two checkouts, or a run beside a helper's) never flush each
    other's keys: each claims a db number of its own."""
    from tests import conftest

    if not redis_url.startswith(conftest.REDIS_SERVER) or conftest.REDIS_URL:
        pytest.skip("this run uses an embedded Redis or the TEST_REDIS_URL it was given")
    ours = int(redis_url.rsplit("/", 1)[1])
    theirs, claims = conftest._claim_redis_db("another run")
    try:
        assert theirs != ours and 1 <= theirs <= 15
    finally:
        claims.delete(conftest.CLAIM_KEY.format(theirs))
        claims.close()


def _gone(instance, seconds=20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not (instance / SOCKET_NAME).exists():
            return True
        time.sleep(0.1)
    return False


def test_a_short_lived_script_leaves_no_embedded_server_behind(instance):
    """A script that calls create_app() (here: starts the embedded Redis) and exits: once
    nobody has been connected for the idle time, the server and its watcher stop."""
    code = ("from pathlib import Path; from bot.redis_conn import embedded_redis;"
            f"embedded_redis(Path({str(instance)!r})).set('kept', 'yes')")
    env = {**os.environ, "CASELINE_EMBEDDED_REDIS_IDLE_SECONDS": "1"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=30)
    assert (instance / SOCKET_NAME).exists()
    assert _gone(instance)
    assert (instance / "redis.rdb").exists()  # what it held was saved, not thrown away


def test_a_connected_process_keeps_the_embedded_server(instance, monkeypatch):
    monkeypatch.setenv("CASELINE_EMBEDDED_REDIS_IDLE_SECONDS", "1")
    settings = load_settings({"INSTANCE_DIR": str(instance)}, env_file=None)
    client = get_redis(settings)
    client.ping()
    time.sleep(3)  # three idle periods: it is still here, because we are connected
    assert client.ping()
    client.close()
    assert _gone(instance)
