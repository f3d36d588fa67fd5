"""`caseline --help` and each group's --help answer without loading the database layer,
Redis or the flow engine (the commands are loaded lazily, bot/cli/main.py). Measured by
what is imported, not by a clock; benchmarks/startup.py prints the times."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import click.testing
import pytest

from bot.cli.main import COMMANDS, cli

HEAVY = ("sqlalchemy", "sqlmodel", "redis", "rq", "alembic", "bot.engine", "twilio", "flask",
         "requests")


def _imported_after(*args: str) -> set[str]:
    code = ("import sys, json\nfrom bot.cli.main import cli\ntry:\n"
            f"    cli({list(args)!r}, prog_name='caseline')\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["cases", "--help"], ["people", "--help"],
                                  ["staff", "--help"], ["clock", "--help"], ["db", "--help"]])
def test_help_loads_nothing_heavy(args):
    modules = _imported_after(*args)
    assert not [m for m in HEAVY if m in modules], args


def test_each_listed_help_is_the_commands_own():
    context = click.Context(cli)
    for name, (_, _, listed) in COMMANDS.items():
        command = cli.get_command(context, name)
        assert command is not None, name
        assert command.get_short_help_str(limit=200) == listed, name


def test_the_lists_of_outcomes_and_risks_are_the_services():
    from bot.cli import cases as cli_cases
    from bot.services import cases as services

    assert cli_cases.OUTCOME_NAMES == tuple(services.OUTCOMES)
    assert cli_cases.RISK_NAMES == tuple(services.RISKS)


def test_an_unknown_command_is_said_plainly():
    result = click.testing.CliRunner().invoke(cli, ["nonsense"])
    assert result.exit_code == 2 and "No such command 'nonsense'" in result.output
