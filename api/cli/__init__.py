"""`botfleet`: the one command line of the platform."""

from __future__ import annotations

import sys

import click

from api.cli.database import createsuperuser, db, migrate
from api.cli.knowledge import reindex
from api.cli.services import dev, scheduler, serve, worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Botfleet: a self-hostable, multi-tenant chatbot platform."""


for command in (dev, serve, worker, scheduler, migrate, createsuperuser, db, reindex):
    cli.add_command(command)


def main() -> None:
    from core.settings import SettingsError

    try:
        cli(prog_name="botfleet")
    except SettingsError as exc:
        click.secho(f"botfleet: {exc}", fg="red", err=True)
        sys.exit(2)
