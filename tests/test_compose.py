"""docker-compose.yml can't run here (no Docker engine): check its shape and its commands."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from api.cli import cli

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def test_compose_has_the_whole_stack() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"api", "worker", "scheduler", "postgres", "redis", "weaviate"} <= set(services)
    for name in ("api", "postgres", "redis", "weaviate"):
        assert "healthcheck" in services[name], f"{name} has no health check"
    assert services["weaviate"]["environment"]["DEFAULT_VECTORIZER_MODULE"] == "none"


def test_every_service_command_exists_in_our_cli() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    runner = CliRunner()
    ours = {
        name: spec for name, spec in services.items() if spec.get("command", [""])[0] == "botfleet"
    }
    assert {"api", "worker", "scheduler", "migrate"} <= set(ours)
    for name, spec in ours.items():
        # --help parses every option the service passes, without running the command.
        result = runner.invoke(cli, [*spec["command"][1:], "--help"])
        assert result.exit_code == 0, f"{name}: {result.output}"
        options = [arg for arg in spec["command"][1:] if arg.startswith("--")]
        for option in options:
            assert option in result.output, f"{name}: botfleet has no {option}"
