"""The one settings object, read from the environment and `.env`.

Nothing else in Botfleet reads `os.environ`: every module takes what it needs from
`get_settings()` (or from arguments built from it).
"""

from __future__ import annotations

import re
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

MIN_SECRET_KEY_LENGTH = 32


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class SettingsError(RuntimeError):
    """Start-up stops with this: the message names the variable at fault."""


def _env(name: str, *more: str) -> Any:
    """Read a field from an unprefixed, conventional variable name (and aliases)."""
    return Field(default=None, validation_alias=AliasChoices(name, *more))


CommaList = Annotated[list[str], NoDecode]


class LLMProvider(BaseModel):
    """One OpenAI-compatible endpoint (OpenAI, OpenRouter, Groq, vLLM, Ollama ...)."""

    name: str = Field(min_length=1, max_length=50)
    base_url: str | None = None
    api_key: str | None = None
    models: list[str] = []  # the first is the provider's default model


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BOTFLEET_",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
    )

    # --- the platform ---
    env: Environment = Environment.development
    data_dir: Path = Path("var")
    secret_key: str | None = _env("SECRET_KEY", "BOTFLEET_SECRET_KEY")
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    cors_origins: CommaList = []

    # --- backends: embedded when unset ---
    database_url: str | None = _env("DATABASE_URL", "BOTFLEET_DATABASE_URL")
    redis_url: str | None = _env("REDIS_URL", "BOTFLEET_REDIS_URL")
    weaviate_url: str | None = _env("WEAVIATE_URL", "BOTFLEET_WEAVIATE_URL")
    weaviate_api_key: str | None = _env("WEAVIATE_API_KEY", "BOTFLEET_WEAVIATE_API_KEY")

    # --- customer accounts ---
    jwt_expiry_minutes: int = Field(default=60, ge=1, le=60 * 24 * 30)

    # --- workers ---
    # A worker that dies holds its messages until its heartbeat is this old (ms).
    broker_heartbeat_timeout_ms: int = Field(default=60_000, ge=1_000)
    # Out of a million fetches, how many also requeue dead workers' messages.
    broker_maintenance_chance: int = Field(default=1_000, ge=1, le=1_000_000)

    # --- knowledge ---
    max_upload_mb: int = Field(default=25, ge=1, le=1024)
    ingest_batch_size: int = Field(default=64, ge=1, le=2048)
    embedding_provider: Literal["local", "openai"] = "local"
    embedding_model: str | None = None
    embedding_dimensions: int = Field(default=384, ge=8, le=8192)
    embedding_base_url: str | None = None
    embedding_api_key: str | None = None

    # --- chat ---
    anonymous_session_ttl_s: int = Field(default=24 * 3600, ge=60)
    session_retention_days: int = Field(default=30, ge=1)
    rate_limit_per_key: int = Field(default=120, ge=1, description="Requests a minute per API key.")
    rate_limit_per_end_user: int = Field(
        default=30, ge=1, description="Requests a minute per end user."
    )

    # --- end-user sign-in ---
    end_user_token_minutes: int = Field(default=60 * 24 * 30, ge=1)
    otp_ttl_s: int = Field(default=300, ge=30)
    otp_max_attempts: int = Field(default=5, ge=1)
    otp_max_sends: int = Field(default=3, ge=1)
    otp_send_window_s: int = Field(default=600, ge=60)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Botfleet <no-reply@botfleet.invalid>"
    smtp_starttls: bool = True
    sms_webhook_url: str | None = None

    # --- LLM: providers in priority order; OPENAI_API_KEY (+ OPENAI_BASE_URL) alone is one ---
    llm_providers: list[LLMProvider] = []
    openai_api_key: str | None = _env("OPENAI_API_KEY", "BOTFLEET_OPENAI_API_KEY")
    openai_base_url: str | None = _env("OPENAI_BASE_URL", "BOTFLEET_OPENAI_BASE_URL")
    llm_default_model: str = "gpt-4o-mini"
    llm_timeout_s: float = Field(default=30.0, gt=0, le=600)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgres://", "postgresql://", "sqlite://")):
            raise ValueError("must start with postgresql:// (or sqlite:// for a file)")
        return value or None

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None

    @model_validator(mode="after")
    def _secret_key_policy(self) -> Settings:
        if self.secret_key is None and self.env is Environment.production:
            raise ValueError("SECRET_KEY is required in production")
        if self.secret_key is not None and len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters")
        return self

    # --- derived paths: all local state lives under data_dir ---
    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "botfleet.db"

    @property
    def vectors_path(self) -> Path:
        return self.data_dir / "vectors.db"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def redis_dir(self) -> Path:
        return self.data_dir / "redis"

    def providers(self) -> list[LLMProvider]:
        """Configured providers in priority order; OPENAI_API_KEY alone makes one."""
        if self.llm_providers:
            return list(self.llm_providers)
        if self.openai_api_key:
            models = [self.llm_default_model]
            return [
                LLMProvider(
                    name="openai",
                    base_url=self.openai_base_url,
                    api_key=self.openai_api_key,
                    models=models,
                )
            ]
        return []

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production

    def signing_key(self) -> str:
        """The JWT signing key; outside production a generated one is kept under data_dir."""
        if self.secret_key is not None:
            return self.secret_key
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        self.secret_key = key_file.read_text().strip()
        return self.secret_key


def _variable_name(loc: tuple[int | str, ...]) -> str:
    field = str(loc[0])
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"BOTFLEET_{field.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one message per variable."""
    try:
        return Settings(**overrides)
    except PydanticSettingsError as exc:  # a value that isn't even parseable (bad JSON)
        field = re.search(r'field "(\w+)"', str(exc))
        name = _variable_name((field.group(1),)) if field else "settings"
        raise SettingsError(f"invalid settings: {name}: not valid JSON") from None
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            message = err["msg"].removeprefix("Value error, ")
            # Whole-model rules (the SECRET_KEY policy) name their variable themselves.
            problems.append(f"{_variable_name(err['loc'])}: {message}" if err["loc"] else message)
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
