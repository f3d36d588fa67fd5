"""`caseline serve`, `worker` and `demo`: the running service's processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import click

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo" / "demo.yaml"


def _gunicorn_args(host: str, port: int, workers: int) -> list[str]:
    # No access log of gunicorn's own: the app logs one line per request (webhooks/
    # request_log.py), with its request id and SID, and never a body.
    args = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}",
            "--workers", str(workers), "--timeout", "30"]
    if _gunicorn_has_control_socket():
        # Newer gunicorns open one control socket per user: two services would collide.
        args.append("--no-control-socket")
    return [*args, "webhooks:create_app()"]


def _gunicorn_has_control_socket() -> bool:
    from gunicorn.config import KNOWN_SETTINGS

    return any(setting.name == "control_socket" for setting in KNOWN_SETTINGS)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="Web processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app (Twilio webhooks, health) with gunicorn."""
    from .common import runtime_or_exit

    runtime_or_exit(service=True)  # fail here, with the settings to fix, not in each worker
    args = _gunicorn_args(host, port, workers)
    os.execv(args[0], args)


@click.command()
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then stop.")
def worker(burst: bool) -> None:
    """Run an RQ worker (with RQ's scheduler for delayed retries) on the configured Redis.

    It waits out a Redis outage of any length and carries on."""
    from bot import logs
    from bot.delivery.workers import run_worker

    from .common import runtime_or_exit

    runtime = runtime_or_exit(service=True)
    logs.configure("worker", runtime.settings)
    run_worker(runtime.redis, burst=burst)


@click.command()
def scheduler() -> None:
    """Fire the periodic sweeps (one process; a second copy waits as a standby)."""
    from bot import logs
    from bot.schedule import run_scheduler

    from .common import runtime_or_exit

    runtime = runtime_or_exit(service=True)
    logs.configure("scheduler", runtime.settings)
    run_scheduler(runtime)


@click.command()
@click.argument("which", type=click.Choice(["all", "check-ins", "watchdog", "feedback",
                                            "outbox"]), default="all")
def sweep(which: str) -> None:
    """Run the periodic sweeps now instead of waiting for the scheduler (safe to repeat)."""
    from bot.delivery import sending
    from bot.outreach import sweeps

    from .common import runtime_or_exit

    runtime = runtime_or_exit()
    parts = {"check-ins": sweeps.check_ins, "watchdog": sweeps.watchdog,
             "feedback": sweeps.feedback}
    chosen = parts if which == "all" else {which: parts[which]} if which in parts else {}
    for name, run in chosen.items():
        click.echo(f"{name}: {run(runtime)} new text(s) or call(s) in the outbox")
    if which in ("all", "outbox"):
        counts = sending.sweep(runtime)
        click.echo(f"outbox: {counts['enqueued']} handed to the worker, "
                   f"{counts['released']} released, {counts['checking']} being checked")


@click.command("fake-twilio", add_help_option=False,
               context_settings={"ignore_unknown_options": True})
@click.argument("options", nargs=-1, type=click.UNPROCESSED)
def fake_twilio(options: tuple[str, ...]) -> None:
    """Run the local fake of Twilio's API that the demo and tests send through.

    `caseline fake-twilio --help` lists its options and how to make it slow, fail,
    answer calls or block a number that replied STOP."""
    from bot.tryout.fake_twilio import main as fake_main

    from .common import runtime_or_exit

    settings = runtime_or_exit(schema=False).settings
    if settings.is_production:
        raise click.ClickException("The fake Twilio is not for production.")
    raise SystemExit(fake_main(["--account-sid", settings.twilio_account_sid,
                                "--auth-token", settings.twilio_auth_token, *options]))


@click.command()
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--check", is_flag=True,
              help="Start everything, print the health report, then stop (for a quick test).")
@click.option("--reset", is_flag=True,
              help="Start again from the demo's own data: delete the demo's database first.")
def demo(port: int, check: bool, reset: bool) -> None:
    """Run the whole service on this machine with demo cases and a fake Twilio.

    Web, worker and scheduler on SQLite and an embedded Redis; texts and calls go to
    a local fake of Twilio that shows them in its log and to `caseline chat`.

    Starting it again keeps what you changed (news, closures, PINs): the demo data is
    imported as the case system's nightly file is, which never undoes a change made here.
    --reset starts from the demo's own data.
    """
    os.environ.setdefault("CASELINE_ENV", "demo")
    os.environ.setdefault("PUBLIC_URL", f"http://127.0.0.1:{port}")
    from bot import db
    from bot.importer import import_file
    from bot.redis_conn import stop_embedded

    from .common import runtime_or_exit

    _refuse_a_taken_port(port, f"choose another: caseline demo --port {port + 50}")
    runtime = runtime_or_exit(schema=False)  # it builds or upgrades the schema itself
    fake_port = _local_fake_port(runtime.settings.twilio_api_base)
    if fake_port:
        _refuse_a_taken_port(fake_port, "or set TWILIO_API_BASE to another, e.g. "
                                        f"TWILIO_API_BASE=http://127.0.0.1:{fake_port + 50}",
                             what="the fake Twilio's port")
    if reset:
        _delete_demo_database(runtime)
    db.upgrade(runtime.engine)
    report = import_file(DEMO_FILE, runtime.engine, pin_key=runtime.settings.pin_key)
    click.echo(f"Demo data: {report.summary()}")
    from bot.demo import staff as demo_staff

    with runtime.session() as session:
        staff_account = demo_staff.ensure(session)
    runtime.redis.ping()  # starts the embedded Redis once, before the children share it
    logs = runtime.settings.instance_path / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children, log_files = _start_children(port, _local_fake_port(runtime.settings.twilio_api_base),
                                          logs)
    try:
        health = _wait_for_health(port)
        click.echo(f"Health: {json.dumps(health)}")
        if check:
            return
        _print_next_steps(port, logs, runtime.settings.twilio_api_base)
        _print_staff_sign_in(port, staff_account)
        _wait_for_exit(children)
    finally:
        _stop(children)
        for handle in log_files:
            handle.close()
        if not runtime.settings.redis_url:
            stop_embedded(runtime.settings.instance_path)


def _start_children(port: int, fake_twilio_port: int | None, logs: Path):
    """Web, worker, scheduler and, unless Twilio is configured, the local fake of Twilio.

    Each writes to its own log in `logs`, so the terminal keeps the next steps readable.
    """
    caseline = [sys.executable, "-m", "bot"]
    commands = {"web": _gunicorn_args("127.0.0.1", port, 2), "worker": [*caseline, "worker"],
                "scheduler": [*caseline, "scheduler"]}
    if fake_twilio_port:
        commands["fake-twilio"] = [*caseline, "fake-twilio", "--port", str(fake_twilio_port)]
    children, handles = [], []
    for name, command in commands.items():
        handle = open(logs / f"{name}.log", "a")  # closed when the demo stops
        handles.append(handle)
        children.append(subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT))
    return children, handles


def _refuse_a_taken_port(port: int, fix: str, what: str = "Port") -> None:
    """Say a port is taken before anything starts, not a bare error from the first request
    to whatever holds it."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # only a listener counts
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            name = f"Port {port}" if what == "Port" else f"{what[0].upper()}{what[1:]} {port}"
            raise click.ClickException(
                f"{name} is taken: another program (perhaps a demo still running) listens "
                f"on it. Stop it, {fix}.") from None


def _delete_demo_database(runtime) -> None:
    """--reset: only the demo's own SQLite file in the instance folder, never a server."""
    url = runtime.engine.url
    path = Path(url.database or "") if url.get_backend_name() == "sqlite" else None
    instance = runtime.settings.instance_path.resolve()
    if path is None or instance not in path.resolve().parents:
        raise click.ClickException(
            "--reset deletes only the demo's own SQLite database in the instance folder; "
            "DATABASE_URL points elsewhere, so nothing was deleted.")
    runtime.engine.dispose()
    path.unlink(missing_ok=True)
    click.echo(f"Deleted {path}: the demo starts again from its own data.")


def _local_fake_port(api_base: str) -> int | None:
    """The port of the local fake Twilio the settings send to, if they do."""
    from urllib.parse import urlsplit

    parts = urlsplit(api_base)
    if parts.hostname in ("127.0.0.1", "localhost") and parts.port:
        return parts.port
    return None


def _wait_for_health(port: int, seconds: float = 30.0) -> dict:
    url = f"http://127.0.0.1:{port}/healthz"
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            return json.load(exc)
        except OSError:
            if time.monotonic() > deadline:
                raise click.ClickException(f"The web server did not answer on {url}.") from None
            time.sleep(0.2)


def _print_next_steps(port: int, logs: Path, fake_twilio: str) -> None:
    click.echo(
        f"\nCaseline is running on http://127.0.0.1:{port} (press Ctrl-C to stop).\n"
        "In another terminal:\n"
        "  caseline chat            text the line as Edith Marsh (PIN 4821)\n"
        "  caseline chat --voice    phone the line\n"
        f"The demo people, their numbers and PINs are listed at the top of {DEMO_FILE}.\n"
        f"What the line sends: {fake_twilio.rstrip('/')}/_fake/messages. Logs: {logs}/\n"
    )


def _print_staff_sign_in(port: int, account) -> None:
    click.echo(
        f"Staff pages: http://127.0.0.1:{port}/staff/ as {account.email}, password "
        f"'{account.password}'.\n"
        f"  The code: caseline staff code {account.email}   (or add the secret "
        f"{account.totp_secret} to an authenticator app)\n")


def _wait_for_exit(children: list[subprocess.Popen]) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
