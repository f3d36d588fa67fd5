"""`caseline demo` brings the whole service up on embedded defaults, as a newcomer runs it."""

import json
import os
import socket
import subprocess
import sys


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_starts_and_reports_healthy(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CASELINE_", "DATABASE_", "REDIS_", "TWILIO_", "PUBLIC_"))}
    env["INSTANCE_DIR"] = str(tmp_path / "instance")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--check", "--port", str(_free_port())],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Demo data: teams: 2 created" in result.stdout
    health = json.loads(result.stdout.split("Health: ", 1)[1].splitlines()[0])
    assert health["database"] == "ok" and health["redis"] == "ok"
    assert (tmp_path / "instance" / "caseline.db").exists()
    assert not (tmp_path / "instance" / "redis.sock").exists()  # stopped with the demo


def _env(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CASELINE_", "DATABASE_", "REDIS_", "TWILIO_", "PUBLIC_"))}
    env["INSTANCE_DIR"] = str(tmp_path / "instance")
    return env


def _caseline(tmp_path, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=timeout)


def test_a_taken_port_is_named_with_the_way_out(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _caseline(tmp_path, "demo", "--check", "--port", str(port))
    assert result.returncode == 1
    assert f"Port {port} is taken" in result.stderr and f"--port {port + 50}" in result.stderr
    assert "Traceback" not in result.stderr and "JSONDecodeError" not in result.stderr


def test_a_restarted_demo_keeps_what_was_changed_and_reset_starts_again(tmp_path):
    port = str(_free_port())
    assert _caseline(tmp_path, "demo", "--check", "--port", port).returncode == 0
    news = "Sam has met the care home manager."
    changed = _caseline(tmp_path, "cases", "news", "SG-100101", news)
    assert changed.returncode == 0, changed.stderr[-1000:]
    again = _caseline(tmp_path, "demo", "--check", "--port", port)
    assert again.returncode == 0 and "Demo data: " in again.stdout
    assert news in _latest_news(tmp_path)  # the demo data did not undo it
    reset = _caseline(tmp_path, "demo", "--check", "--reset", "--port", port)
    assert reset.returncode == 0 and "starts again from its own data" in reset.stdout
    assert news not in _latest_news(tmp_path)


def _latest_news(tmp_path) -> str:
    import sqlite3

    with sqlite3.connect(tmp_path / "instance" / "caseline.db") as conn:
        return conn.execute("SELECT latest_news FROM safeguarding_case WHERE ref = ?",
                            ("SG-100101",)).fetchone()[0]
