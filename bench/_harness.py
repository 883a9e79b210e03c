"""Shared pieces of the bench scripts: an emulator in its own process, a transport that
records when requests are in flight, interval arithmetic, memory, and a plain-text table.

Run the scripts as modules from the repository root (`.venv/bin/python -m bench.pacing`),
so `bench` and `zoomsync` import from the checkout whether or not it is pip-installed.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import resource
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import httpx

from zoomsync.emulator.app import EmulatorConfig

# A bench, like the `zoomsync` command, sends nothing anywhere: no dlt telemetry.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

# Bounds on every wait for the emulator process, so a wedged child cannot hang a bench.
START_TIMEOUT_S = 120.0  # building a large dataset takes a while
REPLY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


# -- the emulator ---------------------------------------------------------------------------
def _serve(config: EmulatorConfig, conn: Connection) -> None:
    """The child process: serve the emulator on 127.0.0.1 until told to stop."""
    from zoomsync.emulator.server import RunningEmulator

    try:
        emu = RunningEmulator(config, host="127.0.0.1").start(timeout=START_TIMEOUT_S)
    except Exception as exc:  # report it to the parent instead of dying silently
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", emu.base_url))
    try:
        while True:
            # Poll with a timeout so an orphaned child (parent killed) notices and exits.
            if not conn.poll(5.0):
                parent = mp.parent_process()
                if parent is None or not parent.is_alive():
                    return
                continue
            command = conn.recv()
            if command == "counters":
                conn.send(("counters", emu.emulator.limiter.counters()))
            elif command == "stop":
                return
    except (EOFError, OSError):
        return
    finally:
        emu.stop()


class EmulatorProcess:
    """The emulator served from a child process.

    A separate process because Zoom is remote: in-process, the emulator's handlers would
    take the GIL from the sync being measured (skewing its pacing and its time outside the
    API) and its dataset would count in the sync's peak RSS.
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        ctx = mp.get_context("spawn")  # no fork of a process that may hold threads and locks
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(config, child), name="zoom-emulator",
                                 daemon=True)
        self.base_url = ""

    def __enter__(self) -> EmulatorProcess:
        self._proc.start()
        kind, value = self._reply(START_TIMEOUT_S)
        if kind != "ready":
            self.__exit__()
            raise RuntimeError(f"the emulator did not start: {value}")
        self.base_url = str(value)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc.is_alive():
            with contextlib.suppress(OSError):  # the child may be gone already
                self._conn.send("stop")
            self._proc.join(STOP_TIMEOUT_S)
        if self._proc.is_alive():  # only ever the process this object started
            self._proc.terminate()
            self._proc.join(STOP_TIMEOUT_S)
        self._conn.close()

    @property
    def api_url(self) -> str:
        return self.base_url + "/v2"

    @property
    def oauth_url(self) -> str:
        return self.base_url + "/oauth/token"

    def counters(self) -> dict[str, Any]:
        """The emulator's rate-limit counters (`RateLimiter.counters()`)."""
        self._conn.send("counters")
        kind, value = self._reply(REPLY_TIMEOUT_S)
        if kind != "counters":
            raise RuntimeError(f"unexpected reply from the emulator: {kind}")
        return dict(value)

    def _reply(self, timeout: float) -> tuple[str, Any]:
        try:
            if not self._conn.poll(timeout):
                raise TimeoutError(f"the emulator process did not answer within {timeout:.0f} s")
            kind, value = self._conn.recv()
        except EOFError:
            self._proc.join(STOP_TIMEOUT_S)
            raise RuntimeError(f"the emulator process exited (code {self._proc.exitcode})"
                               ) from None
        return str(kind), value


class EmulatorThread:
    """The emulator in this process (`--emulator-in-process`), same interface."""

    def __init__(self, config: EmulatorConfig) -> None:
        from zoomsync.emulator.server import RunningEmulator

        self._emu = RunningEmulator(config, host="127.0.0.1")
        self.base_url = self._emu.base_url
        self.api_url, self.oauth_url = self._emu.api_url, self._emu.oauth_url

    def __enter__(self) -> EmulatorThread:
        self._emu.start(timeout=START_TIMEOUT_S)
        return self

    def __exit__(self, *exc: object) -> None:
        self._emu.stop()

    def counters(self) -> dict[str, Any]:
        return self._emu.emulator.limiter.counters()


# -- in-flight requests ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Flight:
    """One HTTP exchange: sent at `start`, body read (or failed) at `end`, perf_counter s."""

    start: float
    end: float
    method: str
    path: str  # raw, still percent-encoded, without the query
    status: int  # 0: no response (transport error)


class _TimedStream(httpx.SyncByteStream):
    """A response body that reports when it has been read and closed.

    httpx returns from `handle_request` with the body still unread; the exchange is in
    flight until the client has consumed and closed it.
    """

    def __init__(self, inner: httpx.SyncByteStream, done: Callable[[], None]) -> None:
        self._inner = inner
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._done()


class RecordingTransport(httpx.BaseTransport):
    """Wraps a transport and records every exchange's in-flight interval. Thread-safe."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner or httpx.HTTPTransport()
        self._lock = threading.Lock()
        self._flights: list[Flight] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        # Only the raw path is kept here; mapping it to a rate label waits until the run
        # is over, so the hot path costs a list append.
        path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        try:
            response = self._inner.handle_request(request)
        except BaseException:
            self._add(Flight(start, time.perf_counter(), request.method, path, 0))
            raise
        finished = False

        def done() -> None:
            nonlocal finished
            if not finished:
                finished = True
                self._add(Flight(start, time.perf_counter(), request.method, path,
                                 response.status_code))

        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _TimedStream(response.stream, done)
        return response

    def _add(self, flight: Flight) -> None:
        with self._lock:
            self._flights.append(flight)

    def flights(self) -> list[Flight]:
        with self._lock:
            return sorted(self._flights, key=lambda f: f.start)

    def close(self) -> None:
        self._inner.close()


def busy_intervals(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of intervals, as disjoint intervals in order."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def idle_gaps(busy: Sequence[tuple[float, float]], start: float,
              end: float) -> list[tuple[float, float]]:
    """The parts of [start, end] that no interval of `busy` (disjoint, ordered) covers."""
    gaps: list[tuple[float, float]] = []
    cursor = start
    for b_start, b_end in busy:
        if b_start > cursor:
            gaps.append((cursor, min(b_start, end)))
        cursor = max(cursor, b_end)
        if cursor >= end:
            break
    if cursor < end:
        gaps.append((cursor, end))
    return [(s, e) for s, e in gaps if e > s]


# -- memory ---------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """This process's peak resident set (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vm_hwm_mb() -> float | None:
    """The kernel's own high-water mark of this process's RSS, where /proc has it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class RssSampler:
    """Samples this process's RSS in a daemon thread, to say *when* the peak happened.

    ru_maxrss gives the peak but not the phase; a sample every `interval` seconds places it
    in extract, normalize or load. Stops with the `with` block, so it is always bounded.
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (perf_counter s, RSS MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._page_mb = resource.getpagesize() / (1024 * 1024)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with open("/proc/self/statm", encoding="ascii") as statm:
                    resident = int(statm.read().split()[1])
            except (OSError, ValueError, IndexError):
                return  # no /proc: ru_maxrss alone will do
            self.samples.append((time.perf_counter(), resident * self._page_mb))
            self._stop.wait(self.interval)

    def peak(self) -> tuple[float, float] | None:
        """(perf_counter s, MB) of the largest sample."""
        return max(self.samples, key=lambda s: s[1]) if self.samples else None


# -- output ---------------------------------------------------------------------------------
def render_table(header: Sequence[str], rows: Sequence[Sequence[str]],
                 right: Sequence[bool] | None = None) -> str:
    """A plain-text table: copy-pasteable into an issue or a commit message, no colours."""
    right = right or [i > 0 for i in range(len(header))]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        out = [str(c).rjust(w) if r else str(c).ljust(w)
               for c, w, r in zip(cells, widths, right, strict=True)]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def add_account_args(parser: argparse.ArgumentParser, *, users: int,
                     meetings_per_user: int = 2, participants_mean: int = 8) -> None:
    """The options that size a bench account, with this script's defaults."""
    parser.add_argument("--users", type=int, default=users,
                        help=f"users in the benchmark account (default {users})")
    parser.add_argument("--meetings-per-user", type=int, default=meetings_per_user,
                        help=f"scheduled meetings per host (default {meetings_per_user})")
    parser.add_argument("--participants-mean", type=int, default=participants_mean,
                        help=f"mean people per instance (default {participants_mean})")
    parser.add_argument("--seed", type=int, default=42, help="dataset seed (default 42)")
