"""Settings, read once at the edge (the CLI) from the environment, a .env file and a TOML file.

Zoom's own variable names for the app's credentials (`ZOOM_ACCOUNT_ID`, `ZOOM_CLIENT_ID`,
`ZOOM_CLIENT_SECRET`, `ZOOM_API_URL`, `ZOOM_OAUTH_URL`); `ZOOMSYNC_*` for everything else.
The TOML file (`--config`, `ZOOMSYNC_CONFIG`, or `./zoomsync.toml`) holds the same settings
by field name, below the environment in priority, plus a list of accounts (accounts.py).
The library never reads the environment itself: it takes a `Settings`.
"""

from __future__ import annotations

import os
import re
import tomllib
from contextvars import ContextVar
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from zoomsync.errors import ConfigError

ZOOM_API_URL = "https://api.zoom.us/v2"
ZOOM_OAUTH_URL = "https://zoom.us/oauth/token"
# An account's name (accounts.py): it names the account's state, status file and schema.
ACCOUNT_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,30}$"


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
    # A call failing this often (5xx, timeouts, resets), backing off from `retry_backoff`
    # seconds and doubling up to 30 s, fails its partition: reported, read again next run.
    # A 429 without Retry-After backs off from the same first wait.
    max_retries: int = Field(6, ge=0, le=20, description="Retries of a failing Zoom call.")
    retry_backoff: float = Field(1.0, gt=0, le=60,
                                 description="First wait before retrying a Zoom call, seconds.")
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
    # Entra ID (azure-identity's names): a service principal for Synapse and its storage.
    azure_tenant_id: str | None = Field(None, validation_alias=_env("AZURE_TENANT_ID"))
    azure_client_id: str | None = Field(None, validation_alias=_env("AZURE_CLIENT_ID"))
    azure_client_secret: SecretStr | None = Field(
        None, validation_alias=_env("AZURE_CLIENT_SECRET"))
    # Azure Synapse dedicated SQL pool (docs/destinations/synapse.md).
    synapse_server: str | None = None
    synapse_database: str | None = None
    synapse_port: int = Field(1433, ge=1, le=65535)
    synapse_auth: str | None = None  # sql, service-principal, managed-identity, default
    synapse_user: str | None = None
    synapse_password: SecretStr | None = None
    synapse_driver: str = "mssql-python"  # or pyodbc (with ODBC Driver 18)
    synapse_odbc_driver: str = "ODBC Driver 18 for SQL Server"
    synapse_container: str | None = None
    synapse_prefix: str = "zoomsync"
    synapse_storage_auth: str | None = None  # default: from the credentials given
    synapse_copy_auth: str | None = None  # default: a SAS zoomsync signs per load
    synapse_storage_endpoint: Literal["auto", "blob", "dfs"] = "auto"
    synapse_storage_url: str | None = None  # zoomsync's blob endpoint, if not Azure's
    synapse_layout: str | None = None  # JSON (or a JSON file): table -> distribution/index
    mask_pii: bool = False  # Synapse: dynamic data masking on personal columns
    dataset_name: str = "zoom"
    pipelines_dir: Path | None = None
    start_date: date | None = None
    # Incremental sync (docs/incremental.md): how far back each run re-reads data Zoom
    # finalises late, and how often lists are fully compared; per-stream overrides as JSON,
    # e.g. ZOOMSYNC_STREAM_LOOKBACK_DAYS='{"meeting_participants": 7}'.
    lookback_days: int = Field(3, ge=0, le=180, description="Days each run re-reads.")
    reconcile_hours: float = Field(24, ge=0, description="Hours between full compares.")
    stream_lookback_days: dict[str, int] = Field(default_factory=dict)
    stream_reconcile_hours: dict[str, float] = Field(default_factory=dict)
    # Several accounts (docs/accounts.md): set per account from the config file's list.
    account_name: str | None = Field(None, pattern=ACCOUNT_NAME_PATTERN)
    accounts_layout: Literal["column", "schema"] = "column"
    # The scheduler's wait after a failed run doubles from `backoff_initial` up to `backoff_max`.
    backoff_initial: float = Field(60, gt=0, description="Seconds to wait after a first failure.")
    backoff_max: float = Field(3600, gt=0, description="Longest wait between failed runs.")
    # Webhooks (docs/webhooks.md): the event subscription's secret token, and the spool.
    webhook_secret_token: SecretStr | None = None
    webhook_spool: Path = Path("zoomsync-webhooks.sqlite")
    webhook_max_age: float = Field(300, gt=0, description="Seconds a signed timestamp is fresh.")
    webhook_max_body: int = Field(1_048_576, ge=1024, description="Largest body accepted, bytes.")
    # Default: the open-file limit less a reserve for the spool and logs (webhooks/connections.py).
    webhook_max_connections: int | None = Field(None, ge=1, description="Open connections cap.")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The config file ranks below the environment and .env, above the defaults.
        return (init_settings, env_settings, dotenv_settings, _FileSource(settings_cls),
                file_secret_settings)

    @field_validator("start_date")
    @classmethod
    def _not_future(cls, value: date | None) -> date | None:
        # A run would move every bookmark past the days it never read, for good.
        if value is not None and value > datetime.now(UTC).date():
            raise ValueError(f"{value} is in the future: the earliest day to read must be "
                             "today or before")
        return value

    @field_validator("stream_lookback_days", "stream_reconcile_hours")
    @classmethod
    def _known_streams(cls, value: dict[str, Any]) -> dict[str, Any]:
        from zoomsync.catalog import CATALOG

        unknown = sorted(set(value) - set(CATALOG))
        if unknown:  # a typo would otherwise leave the stream on the default, unnoticed
            raise ValueError(f"unknown stream {unknown[0]!r} (`zoomsync streams` lists them)")
        return value

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


_file_values: ContextVar[dict[str, Any]] = ContextVar("zoomsync_file_values")


class _FileSource(PydanticBaseSettingsSource):
    """The config file's top-level settings, read by `read_config` and set for one load."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns all values at once

    def __call__(self) -> dict[str, Any]:
        return dict(_file_values.get({}))


def config_path(path: Path | None = None) -> Path | None:
    """`--config`, else ZOOMSYNC_CONFIG, else ./zoomsync.toml if it exists."""
    if path is not None:
        return path
    if os.environ.get("ZOOMSYNC_CONFIG"):
        return Path(os.environ["ZOOMSYNC_CONFIG"])
    default = Path("zoomsync.toml")
    return default if default.is_file() else None


def read_config(path: Path | None) -> dict[str, Any]:
    """The TOML file as a dict, `${VAR}` references resolved; one line if unreadable."""
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.expanduser().read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    # Accounts' references are resolved when an account is used (accounts.py), so one
    # account's unset variable does not stop a run of another with --account.
    accounts = data.pop("accounts", None)
    data = resolve_references(data, str(path))
    if accounts is not None:
        data["accounts"] = accounts
    return data


_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def resolve_references(value: Any, where: str) -> Any:
    """A whole-string `${NAME}` becomes the environment variable NAME (for secrets)."""
    if isinstance(value, dict):
        return {k: resolve_references(v, f"{where}: {k}") for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_references(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str) and (match := _REFERENCE.match(value)):
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"{where} refers to ${{{name}}}, which is not set in the "
                              "environment")
        return os.environ[name]
    return value


def check_keys(values: dict[str, Any], where: str, *, exclude: tuple[str, ...] = ()) -> None:
    known = set(Settings.model_fields) - set(exclude)
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r}; settings are named as in "
                          "the README's table without the ZOOMSYNC_ prefix, in lower case")


def load_settings(config: Path | None = None, **overrides: object) -> Settings:
    """Settings from the environment and config file, CLI options on top; one line if invalid."""
    path = config_path(config)
    values = read_config(path)
    values.pop("accounts", None)
    check_keys(values, str(path), exclude=("account_name",))
    return settings_with(values, **overrides)


def settings_with(file_values: dict[str, Any], **overrides: object) -> Settings:
    """Settings with `file_values` ranked as the config file, `overrides` on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    token = _file_values.set(file_values)
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from None
    finally:
        _file_values.reset(token)
