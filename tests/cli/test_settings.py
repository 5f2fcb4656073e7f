"""Bad settings stop start-up with a message that names the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import SettingsError, load_settings


def test_short_secret_key_is_refused() -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(secret_key="too-short")


def test_production_needs_a_secret_key() -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY is required in production"):
        load_settings(env="production", secret_key=None)


def test_invalid_values_name_their_variable() -> None:
    with pytest.raises(SettingsError, match="BOTFLEET_PORT"):
        load_settings(port=70000)
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings(database_url="mysql://x")
    with pytest.raises(SettingsError, match="REDIS_URL"):
        load_settings(redis_url="http://localhost")


def test_data_dir_holds_all_local_state(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "elsewhere")
    for path in (
        settings.sqlite_path,
        settings.vectors_path,
        settings.uploads_dir,
        settings.redis_dir,
    ):
        assert path.is_relative_to(tmp_path / "elsewhere")


def test_dev_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_settings(data_dir=tmp_path, secret_key=None).signing_key()
    second = load_settings(data_dir=tmp_path, secret_key=None).signing_key()
    assert first == second and len(first) >= 32


def test_cli_refuses_to_start_with_a_clear_message(tmp_path: Path) -> None:
    env = {**os.environ, "SECRET_KEY": "short", "BOTFLEET_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SECRET_KEY must be at least 32 characters" in result.stderr
    assert "Traceback" not in result.stderr


def test_createsuperuser_without_prompts(fx_migrated: None) -> None:
    name = f"ops-{os.getpid()}-{id(object())}"
    command = [sys.executable, "-m", "api.cli", "createsuperuser", "--no-input", "--username", name]
    created = subprocess.run(
        [*command, "--email", "ops@example.com", "--password", "Operat0r-pass"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    assert f"Operator {name!r} created" in created.stdout
    again = subprocess.run(
        [*command, "--email", "ops@example.com", "--password", "Operat0r-pass"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    missing = subprocess.run(
        command, env=dict(os.environ), capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and "--no-input needs" in missing.stderr
