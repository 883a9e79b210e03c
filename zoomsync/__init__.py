"""zoomsync: keep a company's Zoom data in its analytics warehouse.

    from zoomsync import Settings, zoom_source, sync
    from zoomsync import duckdb, postgres    # our dlt destinations, for your own pipeline
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zoomsync.errors import (
    AuthError,
    ConfigError,
    DailyLimitError,
    DestinationError,
    EntitlementError,
    FatalAPIError,
    RetryableAPIError,
    ScopeError,
    SkippableAPIError,
    ZoomAPIError,
    ZoomSyncError,
)

if TYPE_CHECKING:
    from zoomsync.config import Settings
    from zoomsync.destinations.duckdb.factory import duckdb
    from zoomsync.destinations.postgres.factory import postgres
    from zoomsync.sync.runner import run as sync
    from zoomsync.sync.source import zoom_source

__all__ = [
    "AuthError",
    "ConfigError",
    "DailyLimitError",
    "DestinationError",
    "EntitlementError",
    "FatalAPIError",
    "RetryableAPIError",
    "ScopeError",
    "Settings",
    "SkippableAPIError",
    "ZoomAPIError",
    "ZoomSyncError",
    "duckdb",
    "postgres",
    "sync",
    "zoom_source",
]
__version__ = "0.1.0"

# Imported on first use: dlt and pydantic take a second to load, which every CLI call
# (even `zoomsync --help`) would otherwise pay.
_LAZY = {"Settings": ("zoomsync.config", "Settings"),
         "duckdb": ("zoomsync.destinations.duckdb.factory", "duckdb"),
         "postgres": ("zoomsync.destinations.postgres.factory", "postgres"),
         "sync": ("zoomsync.sync.runner", "run"),
         "zoom_source": ("zoomsync.sync.source", "zoom_source")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'zoomsync' has no attribute {name!r}")
