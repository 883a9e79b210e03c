"""Where a run loads: a destination name to a dlt destination, loader format and hints.

    target = resolve(settings)        # ZOOMSYNC_DESTINATION, its credentials, its driver
    pipeline = dlt.pipeline(..., destination=target.destination, staging=target.staging)
    pipeline.run(target.adapt(source), loader_file_format=target.loader_file_format)

Each destination reads its own settings (docs/destinations.md) and fails in one line —
a `ConfigError` — on a missing or malformed credential or a driver that is not installed.
"""

from __future__ import annotations

from collections.abc import Callable

from zoomsync.config import Settings
from zoomsync.destinations.cloud import (
    bigquery_target,
    panoply_target,
    redshift_target,
    snowflake_target,
)
from zoomsync.destinations.duckdb import duckdb_target
from zoomsync.destinations.files import delta_target, filesystem_target
from zoomsync.destinations.postgres import postgres_target
from zoomsync.destinations.target import Target
from zoomsync.errors import ConfigError

__all__ = ["BUILDERS", "NAMES", "Target", "resolve"]


def _synapse(settings: Settings) -> Target:
    from zoomsync.destinations.synapse.target import synapse_target

    return synapse_target(settings)


BUILDERS: dict[str, Callable[[Settings], Target]] = {
    "duckdb": duckdb_target,
    "postgres": postgres_target,
    "filesystem": filesystem_target,
    "delta": delta_target,
    "snowflake": snowflake_target,
    "bigquery": bigquery_target,
    "redshift": redshift_target,
    "panoply": panoply_target,
    "synapse": _synapse,
}
NAMES = tuple(BUILDERS)


def resolve(settings: Settings) -> Target:
    """The configured destination, ready for dlt; ConfigError with the fix if it is not."""
    name = settings.destination.strip().lower()
    if name not in BUILDERS:
        raise ConfigError(f"unknown destination {settings.destination!r}: use one of "
                          f"{', '.join(NAMES)}")
    return BUILDERS[name](settings)
