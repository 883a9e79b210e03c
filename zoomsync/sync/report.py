"""The run report: what was loaded, what Zoom refused, what it cost in API calls."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from zoomsync.errors import ZoomAPIError


@dataclass(frozen=True)
class Skipped:
    """A partition Zoom would not serve (e.g. 3001: meeting not ended); retried next run."""

    stream: str
    partition: str
    status: int
    code: int | None
    message: str


@dataclass(frozen=True)
class Failed:
    """A list or partition that failed this run (Zoom's errors outlived the retries, or its
    answer broke the API's rules): skipped with what depends on it, read again next run."""

    stream: str  # the stream, or the list its partitions come from ("users list")
    partition: str  # "" for a whole list
    request: str  # `GET /users?status=active&page_size=2000`
    status: int  # 0: no response
    code: int | None
    answer: str
    kind: str = ""  # the error's class: RetryableAPIError, InvalidAnswerError, FatalAPIError...


@dataclass
class RunReport:
    """Filled while a run goes; thread-safe. `ok` is False for any partial run."""

    streams: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    finished: float | None = None
    rows: dict[str, int] = field(default_factory=dict)
    extracted: dict[str, int] = field(default_factory=dict)
    # Rows extracted again under a key extracted earlier in the run: merged into one.
    replaced: dict[str, int] = field(default_factory=dict)
    partitions: dict[str, list[int]] = field(default_factory=dict)  # stream -> [done, total]
    calls: dict[str, dict[str, float]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    stopped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    failures: list[Failed] = field(default_factory=list)
    error: str | None = None
    deleted: dict[str, int] = field(default_factory=dict)  # rows marked deleted, per stream
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _planned: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    def skip(self, stream: str, partition: str, exc: ZoomAPIError) -> None:
        with self._lock:
            self.skipped.append(Skipped(stream, partition, exc.status, exc.code, exc.message))

    def stop(self, stream: str, reason: str) -> None:
        """The stream could not finish (daily cap, missing plan or scope)."""
        with self._lock:
            self.stopped.setdefault(stream, reason)

    def fail(self, stream: str, reason: str) -> None:
        """The stream did not read everything: its bookmark stays, the run is partial."""
        with self._lock:
            self.failed.setdefault(stream, reason)

    def fail_partition(self, stream: str, partition: str, exc: BaseException) -> None:
        """A partition (or, with `partition=""`, a whole list) failed: record what was asked
        and what came back; `stream` fails with it."""
        status, code = getattr(exc, "status", 0), getattr(exc, "code", None)
        request = getattr(exc, "request", "")
        answer = getattr(exc, "message", None) or str(exc)
        with self._lock:
            self.failures.append(Failed(stream, partition, request, status, code, answer,
                                        type(exc).__name__))
            self.failed.setdefault(stream, f"{partition}: {exc}" if partition else str(exc))

    def plan(self, stream: str, total: int) -> None:
        with self._lock:
            self.partitions[stream] = [0, total]
            self._planned[stream] = time.monotonic()

    def advance(self, stream: str) -> None:
        with self._lock:
            self.partitions.setdefault(stream, [0, 0])[0] += 1

    def progress(self) -> dict[str, tuple[int, int, int, float]]:
        """Per stream: partitions done, partitions planned, rows, seconds since planned."""
        now = time.monotonic()
        with self._lock:
            names = list(dict.fromkeys([*self.partitions, *self.extracted]))
            out = {}
            for n in names:
                done, total = self.partitions.get(n, [0, 0])
                out[n] = (done, total, self.extracted.get(n, 0), now - self._planned.get(n, now))
            return out

    def count(self, stream: str, n: int) -> None:
        with self._lock:
            self.extracted[stream] = self.extracted.get(stream, 0) + n

    def replace(self, stream: str, n: int) -> None:
        """`n` rows of `stream` replace rows extracted earlier in this run (same key)."""
        with self._lock:
            self.replaced[stream] = self.replaced.get(stream, 0) + n

    def loaded(self, normalized: dict[str, int]) -> None:
        """Rows loaded per table, from dlt's normalize counts less the rows the tables'
        merge folds into one (keys extracted twice in the run)."""
        with self._lock:
            self.rows = {t: n - self.replaced.get(t, 0) for t, n in normalized.items()
                         if not t.startswith("_dlt")}

    @property
    def ok(self) -> bool:
        return not (self.stopped or self.failed or self.error)

    @property
    def duration(self) -> float:
        return (self.finished or time.time()) - self.started

    def reasons(self) -> list[str]:
        """Why the run is partial, one line each."""
        out = [f"{s}: {r}" for s, r in self.stopped.items()]
        out += [f"{s}: {r}" for s, r in self.failed.items()]
        if self.error:
            out.append(self.error)
        return out

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "ok": self.ok, "streams": list(self.streams), "duration": round(self.duration, 3),
                "rows": dict(self.rows), "extracted": dict(self.extracted),
                "replaced": dict(self.replaced),
                "calls": {k: dict(v) for k, v in self.calls.items()},
                "skipped": [asdict(s) for s in self.skipped], "stopped": dict(self.stopped),
                "failed": dict(self.failed), "failures": [asdict(f) for f in self.failures],
                "error": self.error,
                "deleted": dict(self.deleted),
            }
