"""Database commands: migrate, createsuperuser and the seed's `db` maintenance commands."""

from __future__ import annotations

import asyncio
import uuid

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
@click.option("--days", type=click.IntRange(min=0), default=30, show_default=True)
def cleanup(days: int) -> None:
    """Delete sessions idle for more than N days (with their messages) and spent codes."""
    from core.chat.cleanup import cleanup as run_cleanup

    cleaned = asyncio.run(run_cleanup(idle_days=days))
    if not (cleaned.sessions or cleaned.otp_codes):
        click.echo(f"no data: nothing idle for more than {days} days")
        return
    click.echo(
        f"Deleted {cleaned.sessions} sessions ({cleaned.messages} messages) "
        f"and {cleaned.otp_codes} expired one-time codes."
    )


@db.command()
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True)
def users(limit: int) -> None:
    """The most recently signed-in end users."""
    from core.maintenance import recent_end_users

    rows = asyncio.run(recent_end_users(limit))
    if not rows:
        click.echo("no data")
    for row in rows:
        seen = row["last_login"].isoformat(timespec="seconds") if row["last_login"] else "never"
        click.echo(
            f"{row['identifier']:<32} {row['identifier_kind']:<9} {seen:<26} {row['customer.name']}"
        )


@db.command()
@click.option("--session-id", required=True, type=click.UUID, help="A chat session id.")
def session(session_id: uuid.UUID) -> None:
    """One persisted session with its messages."""
    from core.maintenance import session_with_messages

    found = asyncio.run(session_with_messages(session_id))
    if found is None:
        click.echo(f"no data: no session {session_id}")
        return
    details, messages = found
    for key, value in details.items():
        click.echo(f"{key:<14} {value}")
    for message in messages:
        click.echo(
            f"[{message['created_at']:%Y-%m-%d %H:%M:%S}] {message['role']}: {message['content']}"
        )
