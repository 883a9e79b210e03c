"""Progress while a run goes: a live table on a terminal, key=value log lines otherwise."""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from zoomsync.sync.report import RunReport
from zoomsync.zoom import ZoomClient

log = logging.getLogger("zoomsync.progress")


class Progress:
    """Watches a RunReport and the client's counters from a background thread."""

    def __init__(self, report: RunReport, client: ZoomClient, console: Console, *,
                 interactive: bool, interval: float | None = None) -> None:
        self.report = report
        self.client = client
        self.console = console
        self.interactive = interactive
        self.interval = interval or (0.5 if interactive else 15.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="zoomsync-progress", daemon=True)
        self._started = time.monotonic()

    def table(self) -> Table:
        elapsed = time.monotonic() - self._started
        table = Table(title=f"Syncing ({elapsed:.0f} s)", title_justify="left")
        for col in ("stream", "partitions", "rows", "ETA"):
            table.add_column(col, justify="left" if col == "stream" else "right")
        for stream, (done, total, rows, took) in self.report.progress().items():
            table.add_row(stream, f"{done}/{total}" if total else "-", f"{rows:,}",
                          _eta(done, total, took))
        calls = ", ".join(f"{label} {s.calls}" + (f" ({s.throttled} 429s)" if s.throttled else "")
                          for label, s in self.client.stats().items() if s.calls)
        table.caption = f"API calls: {calls or 'none yet'}"
        return table

    def _loop(self) -> None:
        if self.interactive:
            with Live(self.table(), console=self.console, refresh_per_second=4,
                      transient=True) as live:
                while not self._stop.wait(self.interval):
                    live.update(self.table())
            return
        while not self._stop.wait(self.interval):
            self._log()

    def _log(self) -> None:
        for stream, (done, total, rows, took) in self.report.progress().items():
            if done < total:
                log.info("progress stream=%s partitions=%d/%d rows=%d eta=%s", stream, done,
                         total, rows, _eta(done, total, took).replace(" ", "") or "unknown")

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _eta(done: int, total: int, elapsed: float) -> str:
    """Time left if partitions keep their pace so far (the pacer sets that pace)."""
    if not total or done >= total:
        return ""
    if not done:
        return "?"
    return f"{elapsed / done * (total - done):.0f} s"
