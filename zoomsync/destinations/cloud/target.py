"""Snowflake and Google BigQuery, configured through dlt's own destinations.

Neither is reachable from our build machines: tests check the configuration built here,
and opt-in tests in tests/live/ run a sync when their credentials are set.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from zoomsync.config import Settings
from zoomsync.destinations.target import Target, require_driver, required
from zoomsync.errors import ConfigError

SNOWFLAKE_EXAMPLE = ("snowflake://loader:PASSWORD@myorg-myaccount/ANALYTICS"
                     "?warehouse=LOADING&role=LOADER")


def snowflake_target(settings: Settings) -> Target:
    import dlt

    url = required(settings.snowflake_url, "ZOOMSYNC_SNOWFLAKE_URL", SNOWFLAKE_EXAMPLE)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ConfigError(f"ZOOMSYNC_SNOWFLAKE_URL is not a valid URL: use {SNOWFLAKE_EXAMPLE}"
                          ) from None
    if parts.scheme != "snowflake" or not parts.hostname or not parts.username:
        raise ConfigError(f"ZOOMSYNC_SNOWFLAKE_URL must be snowflake://user:password@account/"
                          f"database?warehouse=...: e.g. {SNOWFLAKE_EXAMPLE}")
    database = parts.path.strip("/")
    if not database:
        raise ConfigError(f"ZOOMSYNC_SNOWFLAKE_URL names no database: use {SNOWFLAKE_EXAMPLE}")
    if not parts.password and "private_key" not in parts.query and (
            "authenticator" not in parts.query):
        raise ConfigError("ZOOMSYNC_SNOWFLAKE_URL has no password, private_key or "
                          f"authenticator: use {SNOWFLAKE_EXAMPLE}")
    require_driver("snowflake", "snowflake.connector")
    # JSONL through Snowflake's internal stage (dlt's default): Zoom's JSON columns land
    # as VARIANT objects; from Parquet they would arrive as strings.
    return Target("snowflake", f"snowflake:{parts.username}@{parts.hostname}/{database}",
                  dlt.destinations.snowflake(credentials=url), "jsonl")


def bigquery_target(settings: Settings) -> Target:
    """A service-account key file (GOOGLE_APPLICATION_CREDENTIALS) or Google's default chain."""
    import dlt

    credentials: Any = None
    key_project = None
    if settings.google_credentials is not None:
        path = settings.google_credentials.expanduser()
        try:
            credentials = json.loads(path.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read GOOGLE_APPLICATION_CREDENTIALS {path}: "
                              f"{exc.strerror}") from None
        except ValueError:
            raise ConfigError(f"GOOGLE_APPLICATION_CREDENTIALS {path} is not a JSON key file "
                              "from Google Cloud's console") from None
        if not isinstance(credentials, dict) or credentials.get("type") != "service_account":
            raise ConfigError(f"GOOGLE_APPLICATION_CREDENTIALS {path} is not a service-account "
                              "key: create one under IAM > Service accounts > Keys")
        key_project = credentials.get("project_id")
    project = settings.bigquery_project or key_project
    if not project:
        raise ConfigError("ZOOMSYNC_BIGQUERY_PROJECT is not set: give the Google Cloud project "
                          "that holds the dataset, e.g. ZOOMSYNC_BIGQUERY_PROJECT=my-project")
    require_driver("bigquery", "google.cloud.bigquery")
    destination = dlt.destinations.bigquery(credentials=credentials,
                                            location=settings.bigquery_location or "US",
                                            project_id=project)
    # JSONL (dlt's default): BigQuery cannot load Zoom's JSON columns from Parquet.
    return Target("bigquery", f"bigquery:{project}", destination, "jsonl")
