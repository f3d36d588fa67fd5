"""`GET /healthz`: can the web answer Twilio, and how are its helpers doing.

503 only when the database is down: without Redis the webhooks still answer and
outbound work waits in the outbox, so a Redis outage is reported, not fatal. "degraded"
(still 200, for Twilio) when Redis is down or no worker or no scheduler has a fresh
heartbeat: then nothing goes out, and an operator must look.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from bot import clock, db
from bot.health import heartbeats, redis_ok

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    runtime = current_app.extensions["caseline"]
    report = {"time": clock.real_now().isoformat(timespec="seconds")}
    if clock.offset():  # moved outside production: say so, so nobody mistakes it
        report["line_time"] = clock.now().isoformat(timespec="seconds")
    try:
        db.ping(runtime.engine)
        report["database"] = "ok"
    except Exception as exc:  # any driver error means "down"; the type is for operators
        current_app.logger.warning("healthz: database down (%s)", type(exc).__name__)
        report["database"] = "down"
    report["redis"], client = redis_ok(runtime)
    report.update(heartbeats(client))
    status = 200 if report["database"] == "ok" else 503
    working = report["redis"] == "ok" and report["workers_fresh"] and report["scheduler_fresh"]
    report["status"] = "ok" if status == 200 and working else "degraded"
    return jsonify(report), status
