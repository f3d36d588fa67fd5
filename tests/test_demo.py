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
