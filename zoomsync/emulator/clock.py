"""The emulator's clock: real time shifted by an offset that tests and the admin API move."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time seen by the emulator.

    It starts at `start` (default: the real current time) and runs at real speed, so
    tokens and page tokens expire as they would on Zoom; `advance` and `set` jump it,
    and `frozen=True` stops it running, for tests that want exact instants.
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._frozen = frozen
        self._base = (start or datetime.now(UTC)).astimezone(UTC)
        self._mono = time.monotonic()

    def now(self) -> datetime:
        with self._lock:
            if self._frozen:
                return self._base
            return self._base + timedelta(seconds=time.monotonic() - self._mono)

    def timestamp(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._base += timedelta(seconds=seconds)
        return self.now()

    def set(self, when: datetime) -> datetime:
        with self._lock:
            self._base = when.astimezone(UTC)
            self._mono = time.monotonic()
        return self.now()


def iso(dt: datetime) -> str:
    """Zoom's timestamp format: ISO-8601 UTC with a `Z`, whole seconds."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
