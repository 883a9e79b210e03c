"""The receiver's metrics, served as Prometheus text at `/metrics`.

Requests received and rejected (by reason), and connections refused over the cap or closed
for room or for a slow request head (connections.py), are counted in memory by the
receiving process;
spooled, duplicate and applied events, the pending queue and the lag come from the spool,
so they are right whichever process applies and they survive restarts. Hand-written rather
than prometheus_client: a dozen lines of text format, half of them read from SQLite at
scrape time, which that library's registry would only wrap.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from zoomsync.webhooks.spool import Spool

REASONS = ("unsigned", "forged", "stale", "oversized", "malformed", "timeout")
CLOSED = ("head_timeout", "evicted")  # why connections.py closed a connection


class Metrics:
    """Thread-safe request counters of one receiver process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received = 0
        self.validations = 0
        self.rejected: Counter[str] = Counter(dict.fromkeys(REASONS, 0))
        self.refused = 0
        self.closed: Counter[str] = Counter(dict.fromkeys(CLOSED, 0))
        self._open_connections: Callable[[], int] | None = None
        self._max_connections = 0

    def watch_connections(self, count: Callable[[], int], cap: int) -> None:
        """Report `count()` open connections of at most `cap` (the served receiver's)."""
        self._open_connections, self._max_connections = count, cap

    def connection_dropped(self, what: str) -> None:
        """A connection refused over the cap ("refused") or closed (a CLOSED reason)."""
        with self._lock:
            if what == "refused":
                self.refused += 1
            else:
                self.closed[what] += 1

    def receive(self) -> None:
        with self._lock:
            self.received += 1

    def reject(self, reason: str) -> None:
        with self._lock:
            self.rejected[reason] += 1

    def validated(self) -> None:
        with self._lock:
            self.validations += 1

    def render(self, spool: Spool) -> str:
        stats = spool.stats()
        with self._lock:
            received, validations = self.received, self.validations
            rejected = dict(self.rejected)
            refused, closed = self.refused, dict(self.closed)
        count = self._open_connections
        lines = [
            *_metric("zoomsync_webhook_requests_received_total", "counter",
                     "POSTs to the webhook path since this process started.", received),
            *_metric("zoomsync_webhook_url_validations_total", "counter",
                     "endpoint.url_validation challenges answered.", validations),
            "# HELP zoomsync_webhook_requests_rejected_total Requests refused, by reason.",
            "# TYPE zoomsync_webhook_requests_rejected_total counter",
            *(f'zoomsync_webhook_requests_rejected_total{{reason="{r}"}} {n}'
              for r, n in sorted(rejected.items())),
            *_metric("zoomsync_webhook_connections_refused_total", "counter",
                     "Connections refused: the cap was reached, none of them waiting.", refused),
            "# HELP zoomsync_webhook_connections_closed_total Connections closed by the "
            "receiver, by reason: no complete request head in time, or to make room.",
            "# TYPE zoomsync_webhook_connections_closed_total counter",
            *(f'zoomsync_webhook_connections_closed_total{{reason="{r}"}} {n}'
              for r, n in sorted(closed.items())),
            *(_metric("zoomsync_webhook_connections_open", "gauge",
                      "Open connections to the receiver.", count())
              + _metric("zoomsync_webhook_connections_max", "gauge",
                        "The cap on open connections.", self._max_connections)
              if count is not None else []),
            *_metric("zoomsync_webhook_events_spooled_total", "counter",
                     "Distinct events stored durably in the spool.", stats["spooled"]),
            *_metric("zoomsync_webhook_events_duplicate_total", "counter",
                     "Re-deliveries of an event already in the spool (acknowledged, not stored).",
                     stats["duplicate"]),
            *_metric("zoomsync_webhook_events_applied_total", "counter",
                     "Events whose refresh has been loaded into the destination.",
                     stats["applied"]),
            *_metric("zoomsync_webhook_events_failed_total", "counter",
                     "Events set aside: Zoom refused their refresh for good (logged).",
                     stats["failed"]),
            *_metric("zoomsync_webhook_events_pending", "gauge",
                     "Events in the spool waiting for the applier.", stats["pending"]),
            *_metric("zoomsync_webhook_lag_seconds", "gauge",
                     "Age of the oldest pending event.", stats["oldest_pending_age"]),
            *_metric("zoomsync_webhook_apply_latency_max_seconds", "gauge",
                     "Longest receive-to-applied time of events applied in the last 5 minutes.",
                     stats["apply_lag_max_5m"]),
        ]
        return "\n".join(lines) + "\n"


def _metric(name: str, kind: str, help_text: str, value: float) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value:g}"]
