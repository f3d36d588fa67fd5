"""`caseline flows check|test|review`: validate, lint and test the conversation flows.

Registered in `bot/cli/main.py`; `caseline chat` is in `bot/tryout/chat.py`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from bot.config import default_flows_dir
from bot.engine import load_flows, review
from bot.engine.convtest import format_result, load_tests, run_test
from bot.engine.lint import lint

__all__ = ["check", "flows", "grade_table", "review_texts", "sms_table", "test"]

def _dir(directory: str | None) -> Path:
    return Path(directory) if directory else default_flows_dir()


@click.group()
def flows() -> None:
    """Check and test the conversation flows."""


@flows.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def check(directory: str | None) -> None:
    """Validate and lint flows; show each text's cost and each flow's reading grade."""
    fs = load_flows(_dir(directory))
    report = lint(fs) if fs.commands is not None or fs.flows else None
    problems = fs.errors + (report.problems if report else [])
    for problem in problems:
        click.echo(str(problem), err=problem.is_error)
    if report:
        click.echo(sms_table(report))
        click.echo(grade_table(report))
        click.echo(review.table(review.rows(fs)))
    over_budget = _timing(fs) if not fs.errors else []
    warnings = sum(not p.is_error for p in problems)
    errors = len(problems) - warnings + len(over_budget)
    click.echo(f"{len(fs.flows)} flows, {errors} errors, {warnings} warnings.")
    if errors:
        sys.exit(1)


def _timing(fs) -> list[str]:
    """Play every kind of call against the engine's cast and print how long each caller
    listens before the PIN prompt and before the facts; a path over budget is an error."""
    from bot.engine import timing

    timings = timing.measure_all(fs.flows)
    if not timings:
        return []
    click.echo(timing.table(timings))
    problems = [f"call path '{t.path.name}': {problem}" for t in timings for problem in t.problems]
    costs = timing.text_costs(fs.flows)
    click.echo(timing.text_table(costs))
    problems += [f"reply by text '{c.reply.name}': {c.parts} parts in all (budget {c.budget})"
                 for c in costs if not c.ok]
    for problem in problems:
        click.echo(f"{problem}. Shorten what is said before it (see bot/engine/timing.py).",
                   err=True)
    return problems


def sms_table(report) -> str:
    rows = [("flow", "step", "lang", "chars", "encoding", "texts", "parts", "budget", "")]
    for r in report.sms:
        rows.append((r.flow, r.step, r.language, str(r.chars), r.encoding, str(r.texts),
                     str(r.parts), str(r.budget), "ok" if r.ok else "OVER"))
    return "\nTexts (longest realistic values; parts = most parts any one text takes)\n" + \
        _table(rows)


def grade_table(report) -> str:
    rows = [("flow", "grade", "words", "sentences", "longest sentence")]
    for g in report.grades:
        rows.append((g.flow, f"{g.grade:.1f}", str(g.words), str(g.sentences), str(g.longest)))
    return "\nReading grade (Flesch-Kincaid, English)\n" + _table(rows)


def _table(rows) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


@flows.command("review")
@click.argument("language", default="cy")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--all", "show_all", is_flag=True, help="Include files already reviewed.")
def review_texts(language: str, directory: str | None, show_all: bool) -> None:
    """A reviewer's worksheet: every LANGUAGE text (default cy) beside its English, with
    file and line, for the files no speaker of it has reviewed yet."""
    fs = load_flows(_dir(directory))
    sheet = review.worksheet(fs, language, only_unreviewed=not show_all)
    click.echo(sheet or f"Every {review.LANGUAGE_NAMES.get(language, language)} text has been "
               "reviewed.")


@flows.command("test")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def test(directory: str | None) -> None:
    """Run the conversation tests in DIR/tests/*.yaml; show the transcript of any failure."""
    base = _dir(directory)
    fs = load_flows(base)
    if not fs.ok:
        for problem in fs.errors:
            click.echo(str(problem), err=True)
        sys.exit(1)
    failed = 0
    cases = load_tests(base / "tests")
    for file, fixture, case in cases:
        result = run_test(fs, case, fixture, os.path.relpath(file, base.parent))
        if result.passed:
            click.echo(f"ok   {result.name}")
        else:
            failed += 1
            click.echo(format_result(result))
    click.echo(f"{len(cases) - failed} passed, {failed} failed.")
    if failed:
        sys.exit(1)
