"""The embedded Redis server: started on demand, shared by processes, stopped cleanly."""

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
