"""One log line per request: request id, the call or message SID, the masked caller, the
answer's status and how long it took. Never the body (it may hold a PIN or a message)."""

from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, g, request

from bot import logs
from bot.phones import mask

log = logging.getLogger("webhooks.requests")


def register(app: Flask) -> None:
    @app.before_request
    def _start():
        g.started = time.perf_counter()
        request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16]
        sid = request.form.get("MessageSid") or request.form.get("CallSid") \
            if request.method == "POST" else None
        g.log_token = logs.bind_now(request_id=request_id, sid=sid)

    @app.after_request
    def _finish(response):
        ms = round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000)
        caller = request.form.get("From") if request.method == "POST" else None
        log.info("%s %s %s (%d ms)", request.method, request.path, response.status_code, ms,
                 extra={"fields": {"status": response.status_code, "duration_ms": ms,
                                   "caller": mask(caller) if caller else None}})
        response.headers["X-Request-Id"] = logs.current().get("request_id", "")
        return response

    @app.teardown_request
    def _unbind(_exc):
        token = g.pop("log_token", None)
        if token is not None:
            logs.unbind(token)
