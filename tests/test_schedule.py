"""One scheduler fires the sweeps: a second copy stands by, and a sweep runs once a period."""

from bot.jobs import run_once
from bot.schedule import acquire_leadership, release_leadership


def test_only_one_scheduler_leads(redis_client):
    assert acquire_leadership(redis_client, "first")
    assert not acquire_leadership(redis_client, "second")
    release_leadership(redis_client, "second")  # not the holder: changes nothing
    assert not acquire_leadership(redis_client, "second")
    release_leadership(redis_client, "first")
    assert acquire_leadership(redis_client, "second")


def test_a_sweep_runs_once_per_period(redis_client):
    runs = []
    assert run_once(redis_client, "contacts", 300, lambda: runs.append(1) or "done") == "done"
    assert run_once(redis_client, "contacts", 300, lambda: runs.append(1) or "done") is None
    assert runs == [1]
