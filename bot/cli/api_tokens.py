"""`caseline api-token create|list|revoke`: the tokens the case system calls the API with,
through the same service as the admin pages (`/staff/admin/tokens`)."""

from __future__ import annotations

import click

from .common import runtime_or_exit


@click.group("api-token")
def api_token_group() -> None:
    """Make, list and revoke tokens for the REST API (/api/v1)."""


@api_token_group.command("create")
@click.option("--name", required=True, help="Who uses it, e.g. mosaic-nightly.")
@click.option("--scopes", required=True,
              help="Comma-separated: read, write, timeline, messages, actions, admin.")
@click.option("--team", "team_ref", help="Limit it to one team's cases (the team's ref).")
def create(name: str, scopes: str, team_ref: str | None) -> None:
    """Make a token and print it once: only its hash is kept."""
    from bot.services import api_tokens

    runtime = runtime_or_exit()
    try:
        with runtime.session() as session:
            made = api_tokens.create(session, name=name, scopes=scopes.split(","),
                                     team_ref=team_ref, actor="cli")
            scopes_given, limited = made.token.scopes, team_ref
    except api_tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(made.secret)
    where = f" for team {limited}" if limited else ""
    click.echo(f"Token '{name}' ({', '.join(scopes_given)}{where}). Copy it now: it is not "
               "shown again. Send it as: Authorization: Bearer <token>", err=True)


@api_token_group.command("list")
def list_tokens() -> None:
    """Every token: name, scopes, team, when made, last used and revoked (never the token)."""
    from bot.models import Team
    from bot.services import api_tokens

    runtime = runtime_or_exit()
    with runtime.session() as session:
        rows = []
        for token in api_tokens.listed(session):
            team = session.get(Team, token.team_id).ref if token.team_id else "all teams"
            state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "live"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            rows.append(f"{token.name}  cl_{token.prefix}_…  {','.join(token.scopes)}  {team}"
                        f"  made {token.created_at:%Y-%m-%d}  last used {used}  {state}")
    click.echo("\n".join(rows) or "No tokens yet: caseline api-token create --name NAME "
               "--scopes read")


@api_token_group.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Stop a token working, at once."""
    from bot.services import api_tokens

    runtime = runtime_or_exit()
    try:
        with runtime.session() as session:
            api_tokens.revoke(session, name, actor="cli", when=runtime.now())
    except api_tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Token '{name}' revoked.")
