"""One sync run: check the credentials, extract through the source, load with dlt."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from zoomsync.config import Settings
from zoomsync.errors import ConfigError, DestinationError, ZoomAPIError, ZoomSyncError
from zoomsync.sync.report import RunReport
from zoomsync.zoom import ZoomClient

# dlt would otherwise try to send anonymous telemetry; zoomsync sends nothing anywhere.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

log = logging.getLogger("zoomsync.sync")


def preflight(client: ZoomClient, settings: Settings) -> None:
    """Get a token once, so bad credentials or an unreachable URL fail in one clear line."""
    try:
        client.auth.token()
    except httpx.TransportError as exc:
        raise ConfigError(f"cannot reach Zoom's OAuth endpoint {settings.oauth_url} "
                          f"({type(exc).__name__}): check ZOOM_OAUTH_URL and the network"
                          ) from None
    except ZoomAPIError as exc:
        if exc.status == 0:
            raise ConfigError(f"cannot reach Zoom's OAuth endpoint {settings.oauth_url}: "
                              f"{exc.message}; check ZOOM_OAUTH_URL and the network") from None
        raise


def duckdb_destination(path: Path) -> Any:
    import dlt

    path = path.expanduser().resolve()
    if path.is_dir():
        raise ConfigError(f"--duckdb-path {path} is a directory: give a file name such as "
                          f"{path / 'zoomsync.duckdb'}")
    parent = path.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise ConfigError(f"cannot write the DuckDB file {path}: {parent} is not a writable "
                          "directory")
    return dlt.destinations.duckdb(str(path))


def pipeline_for(settings: Settings, destination: Any, identity: str) -> Any:
    import dlt

    # One pipeline (and its local state) per destination, so two warehouses never share it.
    name = "zoomsync_" + hashlib.sha256(identity.encode()).hexdigest()[:10]
    pipelines_dir = settings.pipelines_dir or Path.home() / ".zoomsync" / "pipelines"
    return dlt.pipeline(pipeline_name=name, destination=destination,
                        dataset_name=settings.dataset_name, pipelines_dir=str(pipelines_dir),
                        progress="log" if log.isEnabledFor(logging.DEBUG) else None)


def run(
    settings: Settings,
    *,
    streams: list[str] | None = None,
    start_date: date | None = None,
    client: ZoomClient | None = None,
    observe: Callable[[RunReport, ZoomClient], AbstractContextManager[Any]] | None = None,
) -> RunReport:
    """Sync the selected streams into the configured destination and report on it.

    `observe(report, client)` may return a context manager that watches the run (the CLI's
    progress display); it is entered around extraction and loading.
    """
    from dlt.pipeline.exceptions import PipelineStepFailed

    from zoomsync.sync.fanout import FanOut
    from zoomsync.sync.source import client_from, zoom_source

    if settings.destination != "duckdb":
        raise ConfigError(f"destination {settings.destination!r} is not available yet: use "
                          "duckdb")
    destination = duckdb_destination(settings.duckdb_path)
    if settings.duckdb_path.stem == settings.dataset_name:
        # DuckDB names the catalog after the file; a schema of the same name confuses its
        # binder and dlt then cannot update the tables.
        raise ConfigError(f"the DuckDB file {settings.duckdb_path.name} has the same name as the "
                          f"dataset {settings.dataset_name!r}: rename the file or set "
                          "ZOOMSYNC_DATASET_NAME")
    report = RunReport()
    own_client = client is None
    client = client or client_from(settings)
    fanout = FanOut(settings.workers)
    try:
        preflight(client, settings)
        source = zoom_source(settings, client=client, streams=streams, start_date=start_date,
                             report=report, fanout=fanout)
        pipeline = pipeline_for(settings, destination,
                                f"duckdb:{settings.duckdb_path.expanduser().resolve()}")
        # dlt extracts parallelized resources on 5 threads by default; ours mostly wait on
        # discovery and on the paced fan-out, so give each stream a thread, or streams that
        # could use an idle rate label sit queued behind ones waiting for another.
        os.environ.setdefault("EXTRACT__WORKERS", str(max(5, len(report.streams) + 2)))
        watcher = observe(report, client) if observe else nullcontext()
        try:
            with watcher:
                pipeline.run(source, loader_file_format="parquet")
        except PipelineStepFailed as exc:
            cause = _zoomsync_cause(exc)
            if cause is not None:
                raise cause from None
            raise DestinationError(f"the {exc.step} step failed: {_first_line(exc)}") from None
        trace = pipeline.last_trace
        if trace is not None and trace.last_normalize_info is not None:
            report.rows = {t: n for t, n in trace.last_normalize_info.row_counts.items()
                           if not t.startswith("_dlt")}
    finally:
        fanout.close()
        report.finished = time.time()
        report.calls = {label: asdict(stats) for label, stats in client.stats().items()}
        if own_client:
            client.close()
    return report


def _zoomsync_cause(exc: BaseException) -> ZoomSyncError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ZoomSyncError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__ or getattr(current, "exception", None)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "exception", exc)) or type(exc).__name__
    return text.strip().splitlines()[0][:300]
