"""The shape of the code: no import circles, few modules at the top, stable job names.

The import graph counts every import a module makes, at its top or inside a function,
and ignores only `if TYPE_CHECKING:` blocks (they never run). A package's `__init__` is a
module like any other; the implicit import of a parent package is not an edge.
"""

from __future__ import annotations

import ast
import importlib
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL_BUDGET = 12  # modules directly in bot/, besides __init__ and __main__


def find_modules(root: Path, tops=("bot", "webhooks")) -> dict[str, Path]:
    found = {}
    for top in tops:
        for path in sorted((root / top).rglob("*.py")):
            if "versions" in path.parts:  # migration scripts are run by Alembic, not imported
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Imports(ast.NodeVisitor):
    def __init__(self, package: str, modules: dict[str, Path]):
        self.package, self.modules, self.found = package, modules, set()

    def _known(self, name: str | None) -> str | None:
        """The module of ours that `name` (a module or `module.attribute`) lives in."""
        while name and name not in self.modules:
            name = name.rpartition(".")[0]
        return name or None

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.update(filter(None, (self._known(alias.name) for alias in node.names)))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            anchor = self.package.split(".")[: len(self.package.split(".")) - node.level + 1]
            base = ".".join(anchor + ([node.module] if node.module else []))
        for alias in node.names:
            target = self._known(f"{base}.{alias.name}") or self._known(base)
            if target:
                self.found.add(target)


def import_graph(modules: dict[str, Path] | None = None) -> dict[str, set[str]]:
    modules = modules if modules is not None else find_modules(ROOT)
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        visitor = _Imports(package, modules)
        visitor.visit(ast.parse(path.read_text(), str(path)))
        graph[name] = visitor.found - {name}
    return graph


def test_the_graph_sees_imports_inside_functions_and_skips_type_checking():
    graph = import_graph()
    assert "bot.inbound.conversation" in graph["bot.outreach.sweeps"]  # inside a function
    assert "bot.runtime" not in graph["bot.delivery.queues"]  # only under TYPE_CHECKING
    assert "bot.delivery.outbox" in graph["bot.outreach.notices"]  # `from bot.delivery import`


def import_circle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        return error.args[1]
    return None


def test_there_is_no_import_circle_of_any_length():
    circle = import_circle(import_graph())
    assert circle is None, (f"import circle: {' -> '.join(circle)}. "
                            "Move what both sides need below both.")


def test_a_circle_through_a_function_level_import_is_found(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def later():\n    from .c import thing\n")
    (package / "c.py").write_text("from pkg.a import x\n")
    (package / "d.py").write_text("from typing import TYPE_CHECKING\n"
                                  "if TYPE_CHECKING:\n    from pkg import a\n")
    graph = import_graph(find_modules(tmp_path, tops=("pkg",)))
    assert set(import_circle(graph)) == {"pkg.a", "pkg.b", "pkg.c"}
    assert graph["pkg.d"] == set()


def test_the_runtime_imports_nothing_that_imports_it():
    graph = import_graph()
    assert graph["bot.runtime"] <= {"bot.clock", "bot.config", "bot.db", "bot.models.types",
                                    "bot.redis_conn", "bot.delivery.sender",
                                    "bot.records.team_cache"}
    # The teams cache the runtime attaches to its engine knows the models and Redis's faults.
    assert graph["bot.records.team_cache"] <= {"bot.models", "bot.redis_conn"}


def test_bot_keeps_few_modules_at_its_top():
    top = sorted(p.stem for p in (ROOT / "bot").glob("*.py")
                 if p.stem not in ("__init__", "__main__"))
    assert len(top) <= TOP_LEVEL_BUDGET, f"bot/ has {len(top)} modules at its top: {top}"


def test_the_engine_depends_on_nothing_else_of_ours():
    for name, targets in import_graph().items():
        if name.startswith("bot.engine"):
            assert all(t.startswith("bot.engine") for t in targets), (name, targets)


@pytest.mark.parametrize("path", [
    # RQ stores these names in Redis; jobs waiting there (retries, hours ahead) need them.
    "bot.jobs.send_outbox_message",
    "bot.jobs.reconcile_outbox_message",
    "bot.jobs.contact_sweeps_job",
    "bot.jobs.contact_chunk_job",
    "bot.jobs.sweep_outbox_job",
    "bot.jobs.retention_sweep_job",
])
def test_job_names_stored_in_redis_still_import(path):
    module, _, name = path.rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))


def test_the_queue_enqueues_the_jobs_by_their_real_names():
    from bot import jobs
    from bot.delivery import queues

    assert queues.SEND_JOB == f"{jobs.__name__}.{jobs.send_outbox_message.__name__}"
    assert queues.CHECK_JOB == f"{jobs.__name__}.{jobs.reconcile_outbox_message.__name__}"
    assert queues.SETTLE_JOB == f"{jobs.__name__}.{jobs.settle_outbox_message.__name__}"


@pytest.mark.parametrize("entry", ["webhooks", "bot.jobs", "bot.schedule"])
def test_what_runs_in_production_never_reaches_the_tryout_tools(entry):
    graph, seen, todo = import_graph(), set(), [entry]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph[name])
    assert not [name for name in seen if name.startswith("bot.tryout")]
