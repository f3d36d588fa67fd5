"""The `caseline` command: run, migrate, import, change cases, set PINs, try flows.

Commands are thin: they parse, call a service in `bot/`, and print the outcome in
words an administrator can act on. Errors exit non-zero with the reason, never a
traceback. Each group lives in a module of its own beside this one.
"""

from __future__ import annotations

import click

from bot.tryout.chat import chat

from .api_tokens import api_token_group
from .cases import cases_group
from .clock import clock_group
from .data import db_group, import_command
from .flows import flows
from .people import people_group, retention_command
from .pins import pin_group
from .reports import report_group
from .run import demo, fake_twilio, scheduler, serve, sweep, worker
from .staff import staff_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Caseline: a text and phone update line for adult safeguarding cases."""


for command in (db_group, import_command, cases_group, serve, worker, scheduler, sweep, demo,
                fake_twilio, pin_group, report_group, flows, chat, clock_group, api_token_group,
                staff_group, people_group, retention_command):
    cli.add_command(command)


def main() -> None:
    from bot import logs

    logs.configure("cli")  # `worker`, `scheduler` and the web name their own role
    cli(prog_name="caseline")
