"""Logging, configured once per process (web, worker, scheduler, CLI): JSON lines in
production, readable lines elsewhere (`LOG_FORMAT` overrides), at `LOG_LEVEL`.

Every line carries the process's role and, where there is one, the request id and the
call or message SID of what is being handled (`bind`). The rule for what is logged
never changes: never a message body, a PIN or a whole phone number (`bot.phones.mask`).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import time
from contextlib import contextmanager
from types import MappingProxyType

_context: contextvars.ContextVar = contextvars.ContextVar("caseline_log",
                                                       default=MappingProxyType({}))
_handler: logging.Handler | None = None
_role = "cli"

TEXT_FORMAT = "%(asctime)s %(levelname)s %(role)s %(name)s: %(message)s%(where)s"


def configure(role: str, settings=None) -> None:
    """Send this process's logs to stderr, as `settings` say (LOG_FORMAT, LOG_LEVEL; before
    settings are read, the environment's). Called again once settings are loaded, or by
    `caseline worker` after the CLI's own call: the last call wins."""
    global _handler, _role
    _role = role
    fmt = (getattr(settings, "log_format", "") or os.environ.get("LOG_FORMAT")
           or _default_format()).lower()
    # A command run by hand keeps its terminal for its own words: warnings only, unless told.
    level = (getattr(settings, "log_level", "") or os.environ.get("LOG_LEVEL")
             or ("WARNING" if role == "cli" else "INFO")).upper()
    root = logging.getLogger()
    if _handler is None:
        _handler = logging.StreamHandler(sys.stderr)
        _handler.addFilter(_ContextFilter())
        root.handlers = [_handler]
        # RQ says "could not connect to Redis" every few seconds of an outage: once will do.
        logging.getLogger("rq.worker").addFilter(OncePerOutage())
        for noisy in ("urllib3", "twilio.http_client", "werkzeug"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    _handler.setFormatter(JsonFormatter() if fmt == "json" else
                          logging.Formatter(TEXT_FORMAT, "%H:%M:%S"))
    root.setLevel(level)


def _default_format() -> str:
    return "json" if os.environ.get("CASELINE_ENV") == "production" else "text"


def bind_now(**fields) -> contextvars.Token:
    """`bind` for code that cannot hold a block open (a request's before/after hooks)."""
    return _context.set({**_context.get(), **{k: v for k, v in fields.items() if v}})


def unbind(token: contextvars.Token) -> None:
    _context.reset(token)


def current() -> dict:
    """The fields bound now (e.g. the request id, to return it to the caller)."""
    return dict(_context.get())


@contextmanager
def bind(**fields):
    """Add fields (request_id, sid, job ...) to every line logged inside the block."""
    token = bind_now(**fields)
    try:
        yield
    finally:
        unbind(token)


@contextmanager
def timed(logger: logging.Logger, what: str, **fields):
    """Log one line when the block ends: what, its outcome (set `result["outcome"]`) and
    how long it took."""
    result: dict = {"outcome": "ok"}
    started = time.perf_counter()
    try:
        yield result
    except Exception as exc:
        result["outcome"] = f"error: {type(exc).__name__}"
        raise
    finally:
        ms = round((time.perf_counter() - started) * 1000)
        logger.info("%s: %s (%d ms)", what, result["outcome"], ms,
                    extra={"fields": {**fields, "outcome": result["outcome"],
                                      "duration_ms": ms}})


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.role = _role
        context = _context.get()
        record.context = context
        record.where = "".join(f" {k}={v}" for k, v in context.items())
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                "role": getattr(record, "role", ""), "logger": record.name,
                "message": record.getMessage(), **getattr(record, "context", {}),
                **getattr(record, "fields", {})}
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class OncePerOutage(logging.Filter):
    """Let the first 'could not connect' line through; drop repeats until another line."""

    def __init__(self):
        super().__init__()
        self.in_outage = False

    def filter(self, record: logging.LogRecord) -> bool:
        lost = "could not connect to redis" in record.getMessage().lower()
        repeat = lost and self.in_outage
        self.in_outage = lost
        return not repeat
