"""`caseline staff create|list|code|disable`: accounts for the staff pages."""

from __future__ import annotations

import click

from .common import runtime_or_exit


@click.group("staff")
def staff_group() -> None:
    """Make and list accounts for the staff pages (/staff/)."""


@staff_group.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True, help="As colleagues know them, e.g. 'Priya Shah'.")
@click.option("--role", required=True, type=click.Choice(["worker", "manager", "duty", "admin"]))
@click.option("--team", "team_ref", help="The team's ref (managers; duty and admin optional).")
@click.option("--worker", "worker_ref", help="A worker's own Worker ref (the worker role).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Asked for (hidden) when not given: at least 12 characters.")
def create(email, name, role, team_ref, worker_ref, password) -> None:
    """Make an account; prints the TOTP secret for its authenticator app, once."""
    from bot.services import staff_accounts as accounts

    runtime = runtime_or_exit()
    try:
        with runtime.session() as session:
            made = accounts.create(session, email=email, name=name, role=role,
                                   password=password, team_ref=team_ref, worker_ref=worker_ref)
            secret, uri = made.totp_secret, made.totp_uri
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Account {email} ({role}) made. Add it to an authenticator app with this "
               f"secret (shown once): {secret}")
    click.echo(f"or this link (as a QR code): {uri}")


@staff_group.command("code")
@click.argument("email")
def code(email: str) -> None:
    """The sign-in code an authenticator app would show now (not in production): for
    trying the pages without a phone."""
    from bot.services import staff_accounts as accounts

    runtime = runtime_or_exit()
    if runtime.settings.is_production:
        raise click.ClickException("Not in production: use the authenticator app.")
    with runtime.session() as session:
        account = accounts.find(session, email)
        if account is None:
            raise click.ClickException(f"There is no account for {email}.")
        click.echo(accounts.current_code(account, runtime.now()))


@staff_group.command("list")
def list_accounts() -> None:
    """Every account: e-mail, name, role, and whether it can sign in."""
    from sqlmodel import select

    from bot.models import StaffAccount

    runtime = runtime_or_exit()
    with runtime.session() as session:
        rows = [f"{a.email}  {a.name}  {a.role}  "
                f"{'disabled' if a.disabled_at else 'can sign in'}"
                for a in session.exec(select(StaffAccount).order_by(StaffAccount.id))]
    click.echo("\n".join(rows) or "No accounts yet: caseline staff create --help")
