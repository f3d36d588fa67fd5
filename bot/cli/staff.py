"""`caseline staff create|list|code|disable|enable|unlock|new-code`: accounts for the staff
pages, through the same services as the admin pages (`/staff/admin/accounts`)."""

from __future__ import annotations

import click

from .common import runtime_or_exit


@click.group("staff")
def staff_group() -> None:
    """Make, list and change accounts for the staff pages (/staff/)."""


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
                                   password=password, team_ref=team_ref, worker_ref=worker_ref,
                                   actor="cli")
            secret, uri = made.totp_secret, made.totp_uri
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    _print_secret(f"Account {email} ({role}) made.", secret, uri)


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
    from bot.services import staff_accounts as accounts

    runtime = runtime_or_exit()
    with runtime.session() as session:
        rows = []
        for a in accounts.listed(session):
            state = accounts.state(a, runtime.now())
            rows.append(f"{a.email}  {a.name}  {a.role}  "
                        f"{'can sign in' if state == 'active' else state}")
    click.echo("\n".join(rows) or "No accounts yet: caseline staff create --help")


def _change(email: str, change, done: str) -> None:
    """One change to an account through its service; a refusal is the service's words."""
    from bot.services import staff_accounts as accounts

    runtime = runtime_or_exit()
    try:
        with runtime.session() as session:
            change(accounts, session, runtime.now())
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(done)


@staff_group.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Stop an account signing in, and end its open sessions at once."""
    _change(email, lambda accounts, session, now: accounts.disable(
        session, email, now=now, actor="cli"),
        f"Account {email} disabled; its sessions are ended.")


@staff_group.command("enable")
@click.argument("email")
def enable(email: str) -> None:
    """Let a disabled account sign in again."""
    _change(email, lambda accounts, session, now: accounts.enable(session, email, actor="cli"),
            f"Account {email} enabled.")


@staff_group.command("unlock")
@click.argument("email")
def unlock(email: str) -> None:
    """Forget an account's failed sign-ins, so it need not wait to sign in."""
    _change(email, lambda accounts, session, now: accounts.unlock(session, email, actor="cli"),
            f"Account {email} unlocked.")


@staff_group.command("new-code")
@click.argument("email")
def new_code(email: str) -> None:
    """A new second factor (TOTP secret) for an account, printed once; codes from the old
    one stop working at once."""
    from bot.services import staff_accounts as accounts

    runtime = runtime_or_exit()
    try:
        with runtime.session() as session:
            made = accounts.new_second_factor(session, email, actor="cli")
            secret, uri = made.totp_secret, made.totp_uri
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    _print_secret(f"Account {email} has a new second factor; the old one no longer works.",
                  secret, uri)


def _print_secret(lead: str, secret: str, uri: str) -> None:
    """A TOTP secret, printed once (it is never stored in a form anyone can read back)."""
    click.echo(f"{lead} Add it to an authenticator app with this secret (shown once): {secret}")
    click.echo(f"or this link (as a QR code): {uri}")
