"""`caseline pin set`: the PIN a person or representative gives to hear about a case."""

from __future__ import annotations

import click

from .common import runtime_or_exit


@click.group("pin")
def pin_group() -> None:
    """Set the PIN a person or representative uses to hear about a case."""


@pin_group.command("set")
@click.option("--person", "person_ref", help="The person's reference.")
@click.option("--representative", "rep_ref", help="The representative's reference.")
@click.option("--pin", prompt="New PIN (4 to 6 digits)", hide_input=True,
              confirmation_prompt=True, help="Prompted for (hidden) when not given.")
def pin_set(person_ref: str | None, rep_ref: str | None, pin: str) -> None:
    """Set a PIN; it is stored only as a keyed hash and never shown again."""
    from bot.services.pins import PinChangeError, set_pin

    if bool(person_ref) == bool(rep_ref):
        raise click.UsageError("Give exactly one of --person REF or --representative REF.")
    runtime = runtime_or_exit()
    try:
        with runtime.session() as session:
            who, weak = set_pin(session, pin, key=runtime.settings.pin_key,
                                person_ref=person_ref, representative_ref=rep_ref)
    except PinChangeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"PIN set for {who}.")
    if weak:
        click.echo("Warning: this PIN is easy to guess (repeated or counting digits).", err=True)
