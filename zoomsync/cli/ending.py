"""The process ends soon after its last line, whatever a leftover thread still waits on.

A stopped run cancels what it can (FanOut.close, ZoomClient.cancel): calls not started,
backoffs, rate-limit pauses. A request already on the wire can still wait for its answer up
to the HTTP timeout, and Python joins every worker thread before it exits: a scheduler
(systemd timer, CronJob with `concurrencyPolicy: Forbid`, Airflow) would see the run hang
after its error line and start no other. Nothing of value is lost by not waiting: what
was extracted but not loaded is reread next run, as after `kill -9`, and loads are never
left in worker threads (dlt joins its load jobs before it returns or raises).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

# Seconds a finished command waits for its threads before it leaves without them.
GRACE_S = 5.0


def exit_within(code: int, grace: float = GRACE_S) -> None:
    """Arrange for the process to end with `code` within `grace` seconds from now, even if
    non-daemon threads are still running then. Call it just before `sys.exit(code)`."""

    def leave() -> None:
        time.sleep(grace)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)

    threading.Thread(target=leave, name="zoomsync-exit", daemon=True).start()
