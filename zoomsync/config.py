"""Settings, read once at the edge (the CLI) from the environment and an optional .env file.

Zoom's own variable names for the app's credentials (`ZOOM_ACCOUNT_ID`, `ZOOM_CLIENT_ID`,
`ZOOM_CLIENT_SECRET`, `ZOOM_API_URL`, `ZOOM_OAUTH_URL`); `ZOOMSYNC_*` for everything else.
The library never reads the environment itself: it takes a `Settings`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from zoomsync.errors import ConfigError

ZOOM_API_URL = "https://api.zoom.us/v2"
ZOOM_OAUTH_URL = "https://zoom.us/oauth/token"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """Everything a run needs. Secrets are `SecretStr`: they never print."""

    model_config = SettingsConfigDict(env_prefix="ZOOMSYNC_", env_file=".env",
                                      extra="ignore", populate_by_name=True)

    account_id: str | None = Field(None, validation_alias=_env("ZOOM_ACCOUNT_ID"))
    client_id: str | None = Field(None, validation_alias=_env("ZOOM_CLIENT_ID"))
    client_secret: SecretStr | None = Field(None, validation_alias=_env("ZOOM_CLIENT_SECRET"))
    api_url: str = Field(ZOOM_API_URL, validation_alias=_env("ZOOM_API_URL"))
    oauth_url: str = Field(ZOOM_OAUTH_URL, validation_alias=_env("ZOOM_OAUTH_URL"))

    plan: Literal["pro", "business"] = "pro"
    budget: float = Field(0.8, gt=0, le=1, description="Share of the plan's rate limits to use.")
    workers: int = Field(8, ge=1, le=64, description="Concurrent Zoom calls at most.")
    destination: str = "duckdb"
    duckdb_path: Path = Path("zoomsync.duckdb")
    # Destinations other than DuckDB (docs/destinations.md). URLs carry passwords: SecretStr.
    postgres_url: SecretStr | None = None
    bucket_url: str | None = None
    snowflake_url: SecretStr | None = None
    bigquery_project: str | None = None
    bigquery_location: str | None = None
    redshift_url: SecretStr | None = None
    redshift_iam_role: str | None = None
    panoply_url: SecretStr | None = None
    # Cloud credentials under the clouds' own variable names, so what the AWS, Azure and
    # Google tools already use works unchanged (and a .env file may hold them too).
    aws_access_key_id: str | None = Field(None, validation_alias=_env("AWS_ACCESS_KEY_ID"))
    aws_secret_access_key: SecretStr | None = Field(
        None, validation_alias=_env("AWS_SECRET_ACCESS_KEY"))
    aws_session_token: SecretStr | None = Field(None, validation_alias=_env("AWS_SESSION_TOKEN"))
    aws_region: str | None = Field(None, validation_alias=AliasChoices(
        "AWS_REGION", "aws_region", "AWS_DEFAULT_REGION", "aws_default_region"))
    aws_endpoint_url: str | None = Field(None, validation_alias=AliasChoices(
        "AWS_ENDPOINT_URL_S3", "aws_endpoint_url_s3", "AWS_ENDPOINT_URL", "aws_endpoint_url"))
    azure_storage_account_name: str | None = Field(
        None, validation_alias=_env("AZURE_STORAGE_ACCOUNT_NAME"))
    azure_storage_account_key: SecretStr | None = Field(
        None, validation_alias=_env("AZURE_STORAGE_ACCOUNT_KEY"))
    azure_storage_sas_token: SecretStr | None = Field(
        None, validation_alias=_env("AZURE_STORAGE_SAS_TOKEN"))
    azure_storage_connection_string: SecretStr | None = Field(
        None, validation_alias=_env("AZURE_STORAGE_CONNECTION_STRING"))
    google_credentials: Path | None = Field(
        None, validation_alias=_env("GOOGLE_APPLICATION_CREDENTIALS"))
    dataset_name: str = "zoom"
    pipelines_dir: Path | None = None
    start_date: date | None = None

    @field_validator("api_url", "oauth_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    def require_credentials(self) -> tuple[str, str, SecretStr]:
        missing = [name for name, value in (("ZOOM_ACCOUNT_ID", self.account_id),
                                            ("ZOOM_CLIENT_ID", self.client_id),
                                            ("ZOOM_CLIENT_SECRET", self.client_secret))
                   if not value]
        if missing:
            raise ConfigError(f"{', '.join(missing)} not set: create a Server-to-Server OAuth "
                              "app in Zoom's Marketplace and export its credentials (or run "
                              "`zoomsync demo` to try the emulator)")
        assert self.account_id and self.client_id and self.client_secret
        return self.account_id, self.client_id, self.client_secret


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with CLI options on top; one clear line if invalid."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from None
