"""The `caseline` command: run, migrate, import, change cases, set PINs, try flows.

Commands are thin: they parse, call a service in `bot/`, and print the outcome in
words an administrator can act on. Errors exit non-zero with the reason, never a
traceback. Each group lives in a module of its own beside this one.

The group loads a command's module only when that command runs (click's documented
"lazily loading subcommands"): `caseline --help` lists them from the one-line helps below
without importing SQLAlchemy, Redis or the flow engine, so it answers at once. A test checks
each line against its command's own help.
"""

from __future__ import annotations

import importlib

import click

# name: (module, attribute, its one-line help as the command gives it)
COMMANDS = {
    "api-token": ("bot.cli.api_tokens", "api_token_group",
                  "Make, list and revoke tokens for the REST API (/api/v1)."),
    "cases": ("bot.cli.cases", "cases_group",
              "Change a case: post news, change worker, close, pause contact."),
    "chat": ("bot.tryout.chat", "chat",
             "A phone in your terminal: text or call a running Caseline, as Twilio would."),
    "clock": ("bot.cli.clock", "clock_group",
              "Show the line's time; `set` moves it, `reset` goes back to real time."),
    "db": ("bot.cli.data", "db_group", "Manage the database schema."),
    "demo": ("bot.cli.run", "demo",
             "Run the whole service on this machine with demo cases and a fake Twilio."),
    "fake-twilio": ("bot.cli.run", "fake_twilio",
                    "Run the local fake of Twilio's API that the demo and tests send through."),
    "flows": ("bot.cli.flows", "flows", "Check and test the conversation flows."),
    "import": ("bot.cli.data", "import_command",
               "Import teams, workers, people, representatives and cases from YAML or CSV."),
    "people": ("bot.cli.people", "people_group",
               "Subject access and erasure: what is held about a person, and removing it."),
    "pin": ("bot.cli.pins", "pin_group",
            "Set the PIN a person or representative uses to hear about a case."),
    "report": ("bot.cli.reports", "report_group",
               "Reports for the team and the national return."),
    "retention": ("bot.cli.people", "retention_command",
                  "Delete what the retention settings say is due (the scheduler does this "
                  "hourly)."),
    "scheduler": ("bot.cli.run", "scheduler",
                  "Fire the periodic sweeps (one process; a second copy waits as a standby)."),
    "serve": ("bot.cli.run", "serve",
              "Serve the web app (Twilio webhooks, health) with gunicorn."),
    "staff": ("bot.cli.staff", "staff_group",
              "Make, list and change accounts for the staff pages (/staff/)."),
    "sweep": ("bot.cli.run", "sweep",
              "Run the periodic sweeps now instead of waiting for the scheduler (safe to "
              "repeat)."),
    "worker": ("bot.cli.run", "worker",
               "Run an RQ worker (with RQ's scheduler for delayed retries) on the configured "
               "Redis."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when they are used, not to list them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        # A stand-in with the same help shortens it exactly as the command itself would.
        rows = [(name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit))
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Caseline: a text and phone update line for adult safeguarding cases."""


def main() -> None:
    from bot import logs

    logs.configure("cli")  # `worker`, `scheduler` and the web name their own role
    cli(prog_name="caseline")
