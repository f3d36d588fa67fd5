"""`GET /healthz`: 200 while the database answers, Redis and heartbeats reported."""

from dataclasses import replace

import sqlalchemy as sa

from bot import db
from bot.runtime import Runtime
from webhooks import create_app


def test_with_no_worker_or_scheduler_it_is_degraded_but_answers(runtime):
    response = create_app(runtime).test_client().get("/healthz")
    assert response.status_code == 200  # Twilio's webhooks still work
    body = response.get_json()
    assert (body["database"], body["redis"], body["status"]) == ("ok", "ok", "degraded")
    assert body["workers"] == [] and body["worker_heartbeat"] is None
    assert body["scheduler_heartbeat"] is None


def test_real_worker_and_scheduler_processes_make_it_ok_and_their_deaths_degraded(runtime):
    """`caseline worker` and `caseline scheduler` as processes: ok with both beating;
    killed, their last heartbeats age and the report says degraded."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("CASELINE_", "REDIS_"))},
           "CASELINE_ENV": "test", "DATABASE_URL": runtime.settings.database_url,
           "REDIS_URL": runtime.settings.redis_url, "PIN_KEY": runtime.settings.pin_key,
           "INSTANCE_DIR": runtime.settings.instance_dir}
    started = [subprocess.Popen([sys.executable, "-m", "bot", what], env=env,
                                start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for what in ("worker", "scheduler")]
    client = create_app(runtime).test_client()
    try:
        deadline = time.monotonic() + 30
        while (body := client.get("/healthz").get_json())["status"] != "ok":
            assert time.monotonic() < deadline, body
            time.sleep(0.2)
        assert body["workers"][0]["age_seconds"] <= 5 and body["scheduler_fresh"]
    finally:
        for process in started:
            os.killpg(process.pid, signal.SIGKILL)  # as when the machine dies
            process.wait(10)
    from datetime import UTC, datetime, timedelta

    from bot.health import heartbeats

    later = heartbeats(runtime.redis, now=datetime.now(UTC) + timedelta(minutes=3))
    assert not later["workers_fresh"] and not later["scheduler_fresh"]
    assert later["workers"][0]["age_seconds"] >= 180


def test_redis_down_degrades_but_answers(runtime):
    broken = Runtime(replace(runtime.settings, redis_url="redis://127.0.0.1:1/0"),
                     _engine=runtime.engine)
    response = create_app(broken).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["redis"] == "down"
    assert response.get_json()["status"] == "degraded"
    broken.close()


def test_database_down_is_503(runtime):
    engine = db.make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                            connect_args={"connect_timeout": 1}, poolclass=sa.NullPool)
    broken = Runtime(runtime.settings, _engine=engine)
    response = create_app(broken).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "down"


def test_worker_heartbeat_is_reported(runtime):
    from rq import Worker

    from bot.delivery.queues import queues

    worker = Worker(queues(runtime.redis), connection=runtime.redis)
    worker.register_birth()
    try:
        worker.heartbeat()
        body = create_app(runtime).test_client().get("/healthz").get_json()
        assert body["worker_heartbeat"] is not None
    finally:
        worker.register_death()
