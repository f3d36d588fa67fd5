"""`GET /healthz`: 200 while the database answers, Redis and heartbeats reported."""

from dataclasses import replace

import sqlalchemy as sa

from bot import db
from bot.runtime import Runtime
from webhooks import create_app


def test_healthy(runtime):
    response = create_app(runtime).test_client().get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["database"], body["redis"], body["status"]) == ("ok", "ok", "ok")
    assert body["worker_heartbeat"] is None and body["scheduler_heartbeat"] is None


def test_redis_down_degrades_but_answers(runtime):
    broken = Runtime(replace(runtime.settings, redis_url="redis://127.0.0.1:1/0"),
                     _engine=runtime.engine)
    response = create_app(broken).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["redis"] == "down"
    assert response.get_json()["status"] == "degraded"


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
