"""The engine is pure: no web, database, queue or telephony imports; no clock; no chance."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "bot" / "engine"
FORBIDDEN_MODULES = ("flask", "twilio", "sqlmodel", "sqlalchemy", "redis", "rq", "werkzeug",
                     "requests", "random", "secrets", "uuid", "socket", "time")
FORBIDDEN_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
                   ("date", "today"), ("time", "time"), ("time", "monotonic")}


def engine_files():
    files = sorted(ENGINE.glob("*.py"))
    assert len(files) > 10
    return files


def test_engine_imports_nothing_impure():
    for path in engine_files():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top not in FORBIDDEN_MODULES, f"{path.name} imports {name}"
                assert not (top == "bot" and not name.startswith("bot.engine")), \
                    f"{path.name} imports {name}: the engine must stay self-contained"


def test_engine_reads_no_clock_and_no_chance():
    for path in engine_files():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert (node.value.id, node.attr) not in FORBIDDEN_CALLS, \
                    f"{path.name}:{node.lineno} calls {node.value.id}.{node.attr}"


def test_importing_the_engine_loads_no_impure_module():
    code = ("import sys, bot.engine, bot.engine.fake, bot.engine.lint, bot.engine.convtest; "
            "bad = [m for m in ('flask', 'twilio', 'sqlmodel', 'sqlalchemy', 'redis', 'rq') "
            "if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
