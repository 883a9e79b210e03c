"""One sync run: check the credentials, extract through the source, load with dlt."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx

from zoomsync.config import Settings
from zoomsync.destinations import Target, resolve
from zoomsync.destinations.probe import reach
from zoomsync.dlt_version import check_dlt
from zoomsync.errors import ConfigError, UnreachableError, ZoomAPIError
from zoomsync.sync.deletes import apply_pending
from zoomsync.sync.report import RunReport
from zoomsync.zoom import ZoomClient

log = logging.getLogger("zoomsync.sync")


def preflight(client: ZoomClient, settings: Settings) -> None:
    """Get a token once, so bad credentials or an unreachable URL fail in one clear line.

    Credentials Zoom refuses are the user's to fix (AuthError, exit 2); a token endpoint that
    does not answer, or answers 5xx/429 (RetryableAPIError), is most likely a network or
    Zoom outage that a later run outlives (exit 1) — the line still names the URL to check.
    """
    try:
        client.auth.token()
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise ConfigError(f"ZOOM_OAUTH_URL {settings.oauth_url} is not a usable URL ({exc}): "
                          "check ZOOM_OAUTH_URL") from None
    except httpx.TransportError as exc:
        raise UnreachableError(f"cannot reach Zoom's OAuth endpoint {settings.oauth_url} "
                               f"({type(exc).__name__}): check ZOOM_OAUTH_URL and the network"
                               ) from None
    except ZoomAPIError as exc:
        if exc.status == 0:
            raise UnreachableError(f"cannot reach Zoom's OAuth endpoint {settings.oauth_url}: "
                                   f"{exc.message}; check ZOOM_OAUTH_URL and the network"
                                   ) from None
        raise


def pipeline_name(settings: Settings, target: Target) -> str:
    """One pipeline (and its local state) per destination and configured account."""
    digest = hashlib.sha256(target.where.encode()).hexdigest()[:10]
    # An account from a config file (docs/accounts.md) gets its own state; the name-less
    # single account keeps the name earlier versions gave its pipeline.
    return f"zoomsync_{settings.account_name}_{digest}" if settings.account_name else (
        f"zoomsync_{digest}")


def pipelines_dir(settings: Settings) -> Path:
    return settings.pipelines_dir or Path.home() / ".zoomsync" / "pipelines"


def pipeline_for(settings: Settings, target: Target) -> Any:
    import dlt

    from zoomsync.shutdown import collector

    # The collector tells the scheduler which step runs, so a signal never cuts a load.
    return dlt.pipeline(pipeline_name=pipeline_name(settings, target),
                        destination=target.destination,
                        staging=target.staging, dataset_name=settings.dataset_name,
                        pipelines_dir=str(pipelines_dir(settings)),
                        progress=collector(log.isEnabledFor(logging.DEBUG)))


def run(
    settings: Settings,
    *,
    streams: list[str] | None = None,
    start_date: date | None = None,
    client: ZoomClient | None = None,
    observe: Callable[[RunReport, ZoomClient], AbstractContextManager[Any]] | None = None,
    full_refresh: list[str] | None = None,
    now: datetime | None = None,
) -> RunReport:
    """Sync the selected streams into the configured destination and report on it.

    `observe(report, client)` may return a context manager that watches the run (the CLI's
    progress display); it is entered around extraction and loading. Streams load only
    what changed since their state (docs/incremental.md); `full_refresh` names streams to
    read in full again. `now` is the run's start (default: the clock).
    """
    from dlt.common.destination.exceptions import DestinationException
    from dlt.pipeline.exceptions import PipelineStepFailed

    from zoomsync.failures import explain
    from zoomsync.sync.fanout import FanOut
    from zoomsync.sync.source import client_from, zoom_source

    check_dlt()
    target = resolve(settings)
    report = RunReport()
    own_client = client is None
    client = client or client_from(settings)
    fanout = FanOut(settings.workers)
    try:
        pipeline = pipeline_for(settings, target)
        reach(pipeline, target)
        preflight(client, settings)
        # Deletes a killed run found but did not mark yet (idempotent; state.py).
        apply_pending(pipeline, target, _account_key(settings))
        source = zoom_source(settings, client=client, streams=streams, start_date=start_date,
                             report=report, fanout=fanout, full_refresh=full_refresh, now=now,
                             incremental=not target.replaces_tables)
        # dlt extracts parallelized resources on 5 threads by default; ours mostly wait on
        # discovery and on the paced fan-out, so give each stream a thread, or streams that
        # could use an idle rate label sit queued behind ones waiting for another.
        workers = max(5, len(report.streams) + 2)
        watcher = observe(report, client) if observe else nullcontext()
        try:
            with watcher:
                load(pipeline, target, target.adapt(source), report, workers=workers)
        except PipelineStepFailed as exc:
            # Our own error from the source, or the root cause in one line (failures.py).
            raise explain(exc, step=exc.step, settings=settings) from None
        report.deleted = apply_pending(pipeline, target, _account_key(settings))
        trace = pipeline.last_trace
        if trace is not None and trace.last_normalize_info is not None:
            report.loaded(trace.last_normalize_info.row_counts)
    except (OSError, DestinationException) as exc:
        # Outside dlt's steps: setting up the pipeline's folder, marking deletes.
        raise explain(exc, settings=settings) from None
    finally:
        fanout.close()
        client.cancel()  # a call still retrying in a leftover thread ends now
        report.finished = time.time()
        report.calls = {label: asdict(stats) for label, stats in client.stats().items()}
        if own_client:
            client.close()
    return report


def load(pipeline: Any, target: Target, source: Any, report: RunReport, *,
         workers: int | None = None) -> None:
    """Finish what an earlier run left pending, then extract (on `workers` threads, dlt's
    default if None), normalize and load; for whole-table destinations, only a complete run.

    dlt's `run(source)` would load a pending package and return without extracting: the
    steps are called one by one instead, each through its documented method."""
    # What dlt's run() does first, by its public steps: the state an earlier run left in the
    # destination (a new machine, a lost pipelines folder), then a package left pending (our
    # destinations make a copy dlt runs again safe: destinations/resume.py).
    pipeline.sync_destination()
    if pipeline.list_extracted_load_packages():
        pipeline.normalize()
    if pipeline.list_normalized_load_packages():
        pipeline.load()
    options: dict[str, Any] = {"loader_file_format": target.loader_file_format}
    if workers is not None:
        options["workers"] = workers
    pipeline.extract(source, **options)
    # Replacing a table with a stream that stopped or lost partitions would drop rows the
    # destination holds from earlier runs; so load only when all finished.
    if target.replaces_tables and not report.ok:
        pipeline.drop_pending_packages()
        report.error = (f"nothing loaded: the {target.name} destination rewrites whole tables "
                        "and some streams did not finish; run again, or leave them out with "
                        "--streams")
        return
    pipeline.normalize()
    pipeline.load()


def _account_key(settings: Settings) -> str | None:
    """The `account_id` key column's value, when accounts share the tables."""
    from zoomsync.sync.source import account_column

    return settings.account_id if account_column(settings) else None
