"""Connection limits of the webhook receiver: a deadline for each request head, and a cap on
open connections below the process's open-file limit.

Why not in the ASGI app: the app sees a request only once its head is complete. And why not
uvicorn's options (0.54): `timeout_keep_alive` is armed only after a response and cancelled
by any byte received, so a connection that sends nothing, or part of a head, is never closed;
`limit_concurrency` is checked only when a complete head has arrived (it then answers 503),
so it never limits accept(): each half-open connection keeps a file descriptor until the
process reaches its open-file limit. asyncio's accept loop then logs `socket.accept() out of
system resource` with a traceback up to `backlog` times a tick and reschedules itself as
often (cpython#151615), while the listen queue, spool and logs starve.

So each connection gets a head deadline, the number of open connections is capped, and a
new connection over the cap closes the oldest one still waiting for a request head (a slow
or idle client) before it is itself refused; a connection in the middle of a request is
never closed for room (its body has the receiver's own 2 s timeout). Zoom sends its whole
request at once, so it is never the one waiting.
"""

from __future__ import annotations

import asyncio
import logging
import math
import resource
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    from zoomsync.webhooks.metrics import Metrics

log = logging.getLogger("zoomsync.webhooks")

# A soft limit of "unlimited" still ends at the kernel's nr_open (2^20 by default).
_NO_LIMIT = 1 << 20
# Descriptors for everything but connections: the spool (3), logs, the applier's database
# and Zoom API sockets, the event loop's own.
OWN_FDS = 64


def open_file_limit() -> int:
    """The process's soft RLIMIT_NOFILE: what accept() fails with EMFILE beyond."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return _NO_LIMIT if soft == resource.RLIM_INFINITY or soft > _NO_LIMIT else soft


def accept_backlog(limit: int) -> int:
    """The listen backlog. asyncio also accepts up to this many sockets in one loop tick,
    before the cap can close any of them; a smaller queue makes bursts of clients wait
    for a SYN retransmit (1 s), so it only shrinks with the limit, not below 16."""
    return max(16, min(128, limit // 16))


def fd_reserve(limit: int) -> int:
    """Descriptors never given to connections: a quarter of the limit, and at least our own
    plus four accept bursts (under a flood, about four ticks of accepted sockets are open
    before the first of them is closed)."""
    return max(limit // 4, OWN_FDS + 4 * accept_backlog(limit))


def default_max_connections(limit: int | None = None) -> int:
    """The connection cap the open-file limit leaves room for."""
    limit = open_file_limit() if limit is None else limit
    return max(1, limit - fd_reserve(limit))


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a client may take and how many may be connected at once."""

    max_connections: int
    backlog: int = 128
    # Zoom sends its request at once and stops waiting for the answer after 3 s.
    head_timeout: float = 3.0
    # uvicorn's timeout_keep_alive (whole seconds): an idle connection after an answer.
    # Zoom opens a connection per delivery, so keep-alive only serves proxies and scrapers.
    keep_alive: int = 2
    report_every: float = 10.0  # at most one overload line per this many seconds

    @classmethod
    def from_open_files(cls, max_connections: int | None = None,
                        limit: int | None = None) -> ConnectionLimits:
        """The cap and backlog from RLIMIT_NOFILE; `max_connections` overrides the cap."""
        limit = open_file_limit() if limit is None else limit
        return cls(max_connections=max_connections or default_max_connections(limit),
                   backlog=accept_backlog(limit))


class ConnectionGuard:
    """The open connections of one server, and what was refused or closed. Called only from
    the event loop's thread; `metrics` (thread-safe) is read by the scrapes."""

    def __init__(self, limits: ConnectionLimits, metrics: Metrics | None = None) -> None:
        self.limits = limits
        self.metrics = metrics
        self.open: set[GuardedH11Protocol] = set()
        # Connections waiting for a request head, oldest first: the first to close for room.
        self.waiting: dict[GuardedH11Protocol, None] = {}
        self._counts: Counter[str] = Counter()
        self._report: asyncio.TimerHandle | None = None
        self._window_started = 0.0
        if metrics is not None:
            metrics.watch_connections(lambda: len(self.open), limits.max_connections)

    def admit(self, conn: GuardedH11Protocol) -> bool:
        """Room for `conn`, made by closing the oldest waiting connection if need be."""
        if len(self.open) >= self.limits.max_connections:
            oldest = next(iter(self.waiting), None)
            if oldest is None:  # every connection is in the middle of a request
                self.note("refused")
                return False
            oldest.close_for("evicted")
        self.open.add(conn)
        return True

    def forget(self, conn: GuardedH11Protocol) -> None:
        self.open.discard(conn)
        self.waiting.pop(conn, None)

    def note(self, what: str) -> None:
        """Count a refused ("refused") or closed ("head_timeout", "evicted") connection;
        the first of a quiet period starts a window reported once it ends."""
        self._counts[what] += 1
        if self.metrics is not None:
            self.metrics.connection_dropped(what)
        if self._report is None:
            self._window_started = time.monotonic()
            self._report = asyncio.get_running_loop().call_later(self.limits.report_every,
                                                                 self.flush)

    def flush(self) -> None:
        """Log what the window counted, in one line; nothing if it counted nothing."""
        if self._report is not None:
            self._report.cancel()
            self._report = None
        counts, self._counts = self._counts, Counter()
        if not counts:
            return
        log.warning("webhook receiver overloaded: refused %d connections over the cap of %d, "
                    "closed %d that sent no complete request head within %g s and %d waiting "
                    "ones to make room, in the last %.0f s", counts["refused"],
                    self.limits.max_connections, counts["head_timeout"],
                    self.limits.head_timeout, counts["evicted"],
                    time.monotonic() - self._window_started)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-head deadline and a connection cap, passed to
    uvicorn through its documented `http=` option (`guarded_protocol`).

    Remove when uvicorn times out request heads itself: uvicorn issue #157 ("Further
    timeouts and resource limiting": --timeout-request-start), PR #1685 (unmerged), and
    issue #160 (the keep-alive timeout for a first request). It relies on H11Protocol's
    connection_made/data_received/on_response_complete/connection_lost and on `cycle`
    (None, or the current request's RequestResponseCycle with `response_complete`);
    tests/webhooks/test_receiver_limits.py fails if an upgrade changes them.
    """

    guard: ClassVar[ConnectionGuard]
    _deadline: asyncio.TimerHandle | None = None
    _heard: bool = False  # bytes arrived since the connection began waiting for a head
    _served: bool = False  # a request was answered on this connection

    def connection_made(  # type: ignore[override]  # as H11Protocol's own
            self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        if not self.guard.admit(self):
            # Refused at once: the 503 costs nothing, though a client whose request is
            # already unread here may see the reset the close sends instead.
            transport.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n"
                            b"connection: close\r\n\r\n")
            transport.close()
            return
        self._wait_for_head()

    def data_received(self, data: bytes) -> None:
        self._heard = True
        super().data_received(data)
        if self._deadline is not None and not self._waiting():
            self._stop_waiting()

    def on_response_complete(self) -> None:
        self._served = True
        super().on_response_complete()  # may start a pipelined request already received
        if not self.transport.is_closing() and self._waiting():
            self._wait_for_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        self.guard.forget(self)
        super().connection_lost(exc)

    def close_for(self, reason: str) -> None:
        """Close now, counted under `reason`; abort() frees the descriptor even if the
        client reads nothing of what is still to be written."""
        self._stop_waiting()
        self.guard.forget(self)
        self.guard.note(reason)
        self.transport.abort()

    def _waiting(self) -> bool:
        """No request in progress: before the first head, or after the last answer."""
        return self.cycle is None or self.cycle.response_complete

    def _wait_for_head(self) -> None:
        self._stop_waiting()
        self._heard = bool(self.conn.trailing_data[0])  # part of a pipelined head, if any
        self.guard.waiting[self] = None
        self._deadline = self.loop.call_later(self.guard.limits.head_timeout, self._expired)

    def _stop_waiting(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.guard.waiting.pop(self, None)

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._served and not self._heard:
            # An idle keep-alive connection (when the head timeout is the shorter one):
            # closed as uvicorn's keep-alive would, not an overload.
            self.guard.forget(self)
            self.transport.close()
            return
        self.close_for("head_timeout")


def guarded_protocol(guard: ConnectionGuard) -> type[GuardedH11Protocol]:
    """A protocol class for uvicorn's `http=` option, bound to one server's guard (uvicorn
    builds one protocol per connection from the class and its own arguments)."""
    return cast(type[GuardedH11Protocol],
                type("GuardedH11Protocol", (GuardedH11Protocol,), {"guard": guard}))


class QuietOverload(logging.Filter):
    """Per-event lines that an overload repeats (asyncio's accept error, with a traceback,
    many times a tick; uvicorn's "Invalid HTTP request received." per bad client): the
    first of each kind in `every` seconds passes as one line without its traceback, saying
    how many were dropped since the last; the others are dropped."""

    PREFIXES = ("socket.accept() out of system resource", "Invalid HTTP request received.")

    def __init__(self, every: float = 10.0) -> None:
        super().__init__()
        self.every = every
        self._last: dict[str, float] = {}
        self._dropped: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        kind = next((p for p in self.PREFIXES if message.startswith(p)), None)
        if kind is None:
            return True
        now = time.monotonic()
        if now - self._last.get(kind, -math.inf) < self.every:
            self._dropped[kind] += 1
            return False
        self._last[kind] = now
        dropped = self._dropped.pop(kind, 0)
        record.msg = kind + (f" ({dropped} more dropped since the last)" if dropped else "")
        record.args, record.exc_info, record.exc_text, record.stack_info = None, None, None, None
        return True


# The loggers QuietOverload watches: asyncio's accept loop and uvicorn's protocol errors.
QUIET_LOGGERS = ("asyncio", "uvicorn.error")
