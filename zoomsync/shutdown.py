"""Graceful stop on SIGTERM and Ctrl-C, knowing which dlt step is running.

A run is extract (Zoom → local files), normalize (local files → load package), load
(package → warehouse). Only load touches the warehouse, and a load package that stops
half-way leaves some tables applied and others not until the next run finishes it. So:

* first signal: start no new run; the current one runs to its end (extract, normalize and
  the whole load), then the process exits 0;
* second signal during extract: abort the extraction (nothing of this run reaches the
  warehouse; bookmarks stay where they were, as they travel with the data); exit 128+signal
  (143 for SIGTERM, 130 for Ctrl-C). A third one exits at once, still only during extract;
* any further signal during normalize or load is noted and ignored: the load is committed,
  then the process exits 0.

dlt installs its own handler in normalize and load; on the first signal it stops starting
new load jobs, which is exactly the half-applied package we avoid, so `install` turns it off
(`RUNTIME__INTERCEPT_SIGNALS=false`). Only `kill -9` (or a power cut) can stop a load half-way;
the next run then completes the pending package before extracting (dlt load packages are
resumable and our merges are idempotent).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from types import FrameType
from typing import Any

from dlt.common.runtime import signals as dlt_signals
from dlt.common.runtime.collector_base import Collector

log = logging.getLogger("zoomsync.scheduler")

_phase: str | None = None


def phase() -> str | None:
    """The dlt step running now: "extract", "normalize", "load", or None between steps."""
    return _phase


class PhaseCollector(Collector):
    """A dlt progress collector that records the running step, around an optional other one."""

    def __init__(self, inner: Collector | None = None) -> None:
        self.inner = inner
        self.step = ""

    def update(self, name: str, inc: int = 1, total: int | None = None,
               inc_total: int | None = None, message: str | None = None,
               label: str | None = None) -> None:
        if self.inner is not None:
            self.inner.update(name, inc, total, inc_total, message, label)  # type: ignore[arg-type]

    def _start(self, step: str) -> None:
        global _phase
        _phase = step.split(" ", 1)[0].lower()
        log.info("step=%s started", _phase)
        if self.inner is not None:
            self.inner.step = step
            self.inner._start(step)

    def _stop(self) -> None:
        global _phase
        if _phase is not None:
            log.info("step=%s finished", _phase)
        _phase = None
        if self.inner is not None:
            self.inner._stop()


class Stopper:
    """Receives SIGTERM and SIGINT for the process; see the module docstring for what it does."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0
        self.aborted = False
        self._event = threading.Event()

    def install(self) -> Stopper:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._handle)
            signal.signal(signal.SIGINT, self._handle)
        os.environ["RUNTIME__INTERCEPT_SIGNALS"] = "false"
        return self

    @property
    def stopping(self) -> bool:
        return self.count > 0

    @property
    def exit_code(self) -> int:
        """0 after a graceful stop; 128+signal when an extraction was aborted."""
        return 128 + (self.signum or signal.SIGTERM) if self.aborted else 0

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if a signal arrived meanwhile."""
        return self._event.wait(max(0.0, seconds))

    def request(self, signum: int = signal.SIGTERM) -> None:
        """What a signal does, callable from code (tests, an embedding application)."""
        self._handle(signum, None)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        # Runs in the main thread between two bytecodes: set flags and write with os.write
        # only; never raise here, which could land inside a load.
        self.count += 1
        self.signum = signum
        self._event.set()
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        step = _phase
        if self.count == 1:
            _say(f"{name}: stopping after the current run (send again to abort an extraction; "
                 "a load always completes)")
        elif step == "extract":
            self.aborted = True
            if self.count == 2:
                _say(f"{name}: aborting the extraction; nothing of this run is loaded")
                # dlt checks this flag between extracted items and raises there.
                dlt_signals.set_received_signal(signum)
            else:
                _say(f"{name}: exiting now, during extraction (nothing of this run is loaded)")
                os._exit(128 + signum)
        else:
            _say(f"{name}: past extraction, the {step or 'current'} step is never "
                 "interrupted; exiting when the run is done")

    def clear(self) -> None:
        dlt_signals.set_received_signal(0)


def _say(text: str) -> None:
    with contextlib.suppress(OSError):
        os.write(2, f"zoomsync: {text}\n".encode())


def collector(debug: bool) -> Any:
    """The collector the runner gives dlt: phases always, dlt's log lines when debugging."""
    from dlt.common.runtime.collector import LogCollector

    return PhaseCollector(LogCollector() if debug else None)
