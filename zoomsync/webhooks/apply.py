"""The applier: drains the spool in micro-batches into the configured destination.

One batch: take up to `batch_size` pending events, plan what they touch (events.py), run
the sync's own source with a Discovery restricted to those ids (targeted.py), load with
dlt (merge by primary key), mark rows Zoom answers 404 for as deleted, and only then take
the events off the spool. A crash anywhere before that last commit leaves the events
pending, and applying them again is harmless: every refresh fetches current state.

The applier loads through its own dlt pipeline (`<sync pipeline>_webhooks`, same dataset),
so it never touches the scheduled sync's bookmarks, and a long sync does not hold up
minutes-fresh rows. A batch that fails (Zoom or the warehouse unavailable, the DuckDB file
held by a running sync) stays pending and is retried with a growing pause.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from zoomsync.config import Settings
from zoomsync.destinations import Target, resolve
from zoomsync.errors import ConfigError, DestinationError, FatalAPIError, ZoomSyncError
from zoomsync.sync.fanout import FanOut
from zoomsync.sync.report import RunReport
from zoomsync.webhooks.events import Refresh, plan
from zoomsync.webhooks.spool import Spool, SpooledEvent
from zoomsync.webhooks.targeted import EventDiscovery
from zoomsync.zoom import ZoomClient

log = logging.getLogger("zoomsync.webhooks")
PURGE_EVERY = 60.0  # seconds between sweeps of applied events and expired signatures


@dataclass
class BatchResult:
    """What one batch did."""

    events: int
    streams: list[str]
    rows: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    ignored: int = 0
    failed: int = 0  # events set aside: Zoom refused their refresh for good
    seconds: float = 0.0

    def add(self, other: BatchResult) -> None:
        self.events += other.events
        self.streams = list(dict.fromkeys([*self.streams, *other.streams]))
        for mine, theirs in ((self.rows, other.rows), (self.deleted, other.deleted)):
            for name, n in theirs.items():
                mine[name] = mine.get(name, 0) + n
        self.skipped += other.skipped
        self.ignored += other.ignored
        self.failed += other.failed
        self.seconds += other.seconds


def webhook_pipeline(settings: Settings, target: Target) -> Any:
    """The applier's dlt pipeline: the sync's name with `_webhooks`, the same dataset."""
    import dlt

    from zoomsync.sync.runner import pipeline_name, pipelines_dir

    return dlt.pipeline(pipeline_name=pipeline_name(settings, target) + "_webhooks",
                        destination=target.destination, staging=target.staging,
                        dataset_name=settings.dataset_name,
                        pipelines_dir=str(pipelines_dir(settings)))


class Applier:
    """Applies spooled events to one destination; `apply_batch` once, or `run` in a loop."""

    def __init__(self, settings: Settings, spool: Spool, *, client: ZoomClient | None = None,
                 streams: list[str] | None = None, batch_size: int = 500) -> None:
        from zoomsync.sync.source import client_from

        self.settings = settings
        self.spool = spool
        self.target = resolve(settings)
        if self.target.replaces_tables:
            raise ConfigError(f"the {self.target.name} destination rewrites whole tables, so it "
                              "cannot take a webhook refresh of a few rows: use "
                              "`zoomsync run` on a schedule, or a destination that merges")
        self.streams = set(streams) if streams else None
        self.batch_size = batch_size
        self._own_client = client is None
        self.client = client or client_from(settings)
        self.pipeline = webhook_pipeline(settings, self.target)
        self.fanout = FanOut(settings.workers)

    def close(self) -> None:
        self.fanout.close()
        if self._own_client:
            self.client.close()

    def __enter__(self) -> Applier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def apply_batch(self) -> BatchResult | None:
        """Apply the oldest pending events; None when there were none.

        A transient failure (Zoom or the warehouse unavailable) raises and leaves the events
        pending. A request Zoom will never accept (FatalAPIError) must not block the queue:
        the batch is retried one event at a time and the event that fails is set aside,
        logged and counted; the scheduled sync covers what it named.
        """
        events = self.spool.pending(self.batch_size)
        if not events:
            return None
        try:
            return self._apply(events)
        except FatalAPIError as exc:
            if len(events) == 1:
                return self._set_aside(events[0], exc)
        total = BatchResult(events=0, streams=[])
        for event in events:
            try:
                one = self._apply([event])
            except FatalAPIError as exc:
                one = self._set_aside(event, exc)
            total.add(one)
        return total

    def _set_aside(self, event: SpooledEvent, exc: FatalAPIError) -> BatchResult:
        self.spool.mark_applied([event.seq], error=str(exc))
        log.error("webhook event %s set aside: %s", event.event, exc)
        return BatchResult(events=1, streams=[], failed=1)

    def _apply(self, events: list[SpooledEvent]) -> BatchResult:
        started = time.monotonic()
        refresh = plan(e.body for e in events)
        streams = [s for s in refresh.streams() if self.streams is None or s in self.streams]
        result = BatchResult(events=len(events), streams=streams, ignored=refresh.ignored)
        if streams:
            report = self._load(refresh, streams, result)
            result.skipped = len(report.skipped)
        self.spool.mark_applied(e.seq for e in events)
        result.seconds = time.monotonic() - started
        log.info("webhook batch applied: events=%s streams=%s rows=%s deleted=%s seconds=%.2f",
                 result.events, ",".join(streams) or "-", sum(result.rows.values()),
                 sum(result.deleted.values()), result.seconds)
        return result

    def _load(self, refresh: Refresh, streams: list[str], result: BatchResult) -> RunReport:
        from dlt.pipeline.exceptions import PipelineStepFailed

        from zoomsync.failures import explain
        from zoomsync.sync.runner import load
        from zoomsync.sync.source import zoom_source

        report = RunReport()
        discovery = EventDiscovery(self.client, self.fanout, report, refresh)
        source = zoom_source(self.settings, client=self.client, streams=streams, report=report,
                             fanout=self.fanout, discovery=discovery, incremental=False)
        try:
            # As a sync's load: a package a killed applier left half done resumes safely.
            load(self.pipeline, self.target, self.target.adapt(source), report)
        except PipelineStepFailed as exc:
            # Our own error from the source, or the root cause in one line (failures.py).
            raise explain(exc, step=exc.step, settings=self.settings) from None
        for failed in report.failures:
            if failed.kind == FatalAPIError.__name__:  # never accepted: set the event aside
                method, _, path = failed.request.partition(" ")
                raise FatalAPIError(failed.status, failed.code, failed.answer, method,
                                    path.partition("?")[0])
        if report.failed or report.error:  # failed after its retries: try again later
            raise DestinationError("webhook refresh incomplete: " + "; ".join(report.reasons()))
        for stream, reason in report.stopped.items():
            # A missing scope or plan, or the daily cap: retrying would not help; the
            # scheduled sync reports the same and covers the stream.
            log.warning("webhook refresh of %s skipped: %s", stream, reason)
        trace = self.pipeline.last_trace
        if trace is not None and trace.last_normalize_info is not None:
            report.loaded(trace.last_normalize_info.row_counts)
            result.rows = dict(report.rows)
        result.deleted = self._mark_deleted(self._gone(report, discovery, streams))
        return report

    def _gone(self, report: RunReport, discovery: EventDiscovery,
              streams: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Keys Zoom answered 404 for: deleted, whatever the events said before."""
        gone: dict[str, list[dict[str, Any]]] = {
            "meetings": [{"id": int(k)} for k in discovery.gone("meeting")],
            "webinars": [{"id": int(k)} for k in discovery.gone("webinar")],
            "users": [{"id": s.partition} for s in report.skipped
                      if s.stream == "users" and s.status == 404],
        }
        if "recordings" in streams and discovery.refresh.gone_recordings:
            gone["recordings"] = [{"uuid": u} for u in discovery.gone_recordings()]
        return {s: keys for s, keys in gone.items() if keys and s in streams}

    def _mark_deleted(self, gone: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
        from zoomsync.sync.deletes import mark_deleted
        from zoomsync.sync.source import account_column

        if account_column(self.settings):  # shared tables: the key includes the account
            for keys in gone.values():
                for key in keys:
                    key["account_id"] = self.settings.account_id
        at = datetime.now(UTC)
        return {stream: mark_deleted(self.pipeline, self.target, stream, keys, at)
                for stream, keys in gone.items()}

    def run(self, stop: threading.Event, wake: threading.Event | None = None, *,
            idle: float = 1.0, linger: float = 0.2, max_pause: float = 60.0) -> None:
        """Apply batches until `stop` is set. Waits `idle` seconds (or for `wake`) when the
        spool is empty, `linger` seconds after a wake-up so a burst makes one batch, and
        pauses after a failure, doubling up to `max_pause`."""
        wake = wake or threading.Event()
        pause, purged = 0.0, 0.0
        while not stop.is_set():
            try:
                result = self.apply_batch()
            except Exception as exc:  # keep serving; the batch stays pending
                pause = min(max(pause * 2, 1.0), max_pause)
                if isinstance(exc, ZoomSyncError):
                    log.error("webhook batch failed, retrying in %.0f s: %s", pause, exc)
                else:
                    log.exception("webhook batch crashed, retrying in %.0f s", pause)
                stop.wait(pause)
                continue
            pause = 0.0
            if time.monotonic() - purged > PURGE_EVERY:
                self.spool.purge()
                purged = time.monotonic()
            if result is None and wake.wait(idle):
                wake.clear()
                stop.wait(linger)
