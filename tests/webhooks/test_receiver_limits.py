"""Connections that never finish their request head are closed in time, the number of open
connections stays under a cap below the open-file limit, valid deliveries still get in, and
an overload is one log line per interval, never a traceback (zoomsync/webhooks/connections.py).

The served tests also pin what GuardedH11Protocol relies on in uvicorn's H11Protocol: if an
upgrade changes it, they fail rather than leave slow clients open again."""

from __future__ import annotations

import errno
import logging
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from tests.webhooks.helpers import SECRET, encode, event, receiver, signed
from zoomsync.config import settings_with
from zoomsync.webhooks.connections import (
    ConnectionLimits,
    QuietOverload,
    accept_backlog,
    default_max_connections,
    fd_reserve,
    open_file_limit,
)
from zoomsync.webhooks.server import RunningReceiver, connection_limits, free_port

pytestmark = pytest.mark.timeout(60)

PARTIAL_HEAD = b"POST /zoom/webhooks HTTP/1.1\r\nHost: x\r\n"  # and never the blank line


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` within `within` seconds (EOF or a reset)."""
    sock.settimeout(within)
    try:
        while sock.recv(4096):  # a 503 or 408 may come first
            pass
    except TimeoutError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        pass
    return True


def still_open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def deliver(url: str) -> int | str:
    """One signed delivery on a new connection: its status, or the transport error's name."""
    body = encode(event(topic=f"t{time.monotonic_ns()}"))
    try:
        return httpx.post(url, content=body, headers=signed(body), timeout=3).status_code
    except httpx.TransportError as exc:
        return type(exc).__name__


def overload_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [rec for rec in caplog.records if "webhook receiver overloaded" in rec.getMessage()]


def assert_no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert not [rec for rec in caplog.records if rec.exc_info or rec.stack_info]
    assert "Traceback" not in caplog.text


@contextmanager
def raw(r: RunningReceiver, n: int, first: bytes = PARTIAL_HEAD) -> Iterator[list[socket.socket]]:
    with ExitStack() as stack:
        socks = []
        for _ in range(n):
            sock = stack.enter_context(socket.create_connection((r.host, r.port), timeout=5))
            if first:
                sock.sendall(first)
            socks.append(sock)
        yield socks


# --- the cap from RLIMIT_NOFILE -----------------------------------------------------------

def test_the_cap_leaves_a_quarter_of_the_open_file_limit_and_room_for_accept_bursts() -> None:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft <= 1 << 20:
        assert open_file_limit() == soft
    assert default_max_connections() == default_max_connections(open_file_limit())
    assert ConnectionLimits.from_open_files().max_connections == default_max_connections()
    assert default_max_connections(1024) == 704  # systemd's default limit: 320 kept back
    assert accept_backlog(1024) == 64
    for limit in (256, 1024, 4096, 65536, 1 << 20):
        reserve = fd_reserve(limit)
        assert reserve >= limit // 4
        assert reserve >= 64 + 4 * accept_backlog(limit)  # our own files, 4 accept bursts
        assert default_max_connections(limit) == limit - reserve


def test_the_setting_overrides_the_cap(monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("ZOOMSYNC_WEBHOOK_MAX_CONNECTIONS", "20")
    assert connection_limits(settings_with({})).max_connections == 20
    assert not caplog.records
    too_many = default_max_connections() + 1
    assert connection_limits(
        settings_with({}, webhook_max_connections=too_many)).max_connections == too_many
    assert "LimitNOFILE" in caplog.text  # more than the limit leaves room for: said once
    monkeypatch.delenv("ZOOMSYNC_WEBHOOK_MAX_CONNECTIONS")
    assert connection_limits(settings_with({})).max_connections == default_max_connections()


# --- served: head deadline, cap, log ------------------------------------------------------

def test_a_connection_without_a_complete_request_head_is_closed_in_time(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    limits = ConnectionLimits(max_connections=100, head_timeout=0.5, keep_alive=1,
                              report_every=0.3)
    with receiver(tmp_path / "spool.sqlite", limits=limits) as r, raw(r, 1, b"") as [silent], \
            raw(r, 1) as [partial], raw(r, 1, b"P") as [trickle], \
            raw(r, 2, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") as [idle, again]:
        started = time.monotonic()
        assert idle.recv(4096).startswith(b"HTTP/1.1 200")  # answered, then kept alive
        assert again.recv(4096).startswith(b"HTTP/1.1 200")
        again.sendall(PARTIAL_HEAD)  # the next request on a kept-alive connection, unfinished

        def dribble() -> None:  # a byte every 0.1 s: bytes do not extend the deadline
            try:
                for _ in range(30):
                    trickle.send(b"O")
                    time.sleep(0.1)
            except OSError:
                pass

        dribbler = threading.Thread(target=dribble)
        dribbler.start()
        for sock in (silent, partial, trickle, again, idle):
            assert closed_by_server(sock, within=2.0)
        dribbler.join()
        assert time.monotonic() - started < 2.5  # 0.5 s deadline, generous margin
        closed = r.app.state.metrics.closed
        # The idle kept-alive connection is closed too, but it is not an overload.
        assert closed["head_timeout"] == 4
        assert deliver(r.url) == 204  # a real delivery is not held up by any of it
        assert wait_for(lambda: len(overload_lines(caplog)) == 1)
        metrics = httpx.get(r.base_url + "/metrics", timeout=5).text
    [line] = overload_lines(caplog)
    assert "closed 4 that sent no complete request head within 0.5 s" in line.getMessage()
    assert 'zoomsync_webhook_connections_closed_total{reason="head_timeout"} 4' in metrics
    assert_no_tracebacks(caplog)


def test_over_the_cap_waiting_connections_make_room_and_busy_ones_are_refused(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Cap 20, 40 connections that never finish their head: the 20 oldest are closed to make
    room, and a valid delivery gets in at once. When all 20 are in the middle of a request
    (a body that stops arriving), a new connection is refused until their 408 (1 s)."""
    caplog.set_level(logging.INFO)
    limits = ConnectionLimits(max_connections=20, head_timeout=5.0, report_every=1.0)
    with receiver(tmp_path / "spool.sqlite", limits=limits, read_timeout=1.0) as r, \
            raw(r, 40) as half_open:
        metrics = r.app.state.metrics
        assert wait_for(lambda: metrics.closed["evicted"] == 20)
        assert len(r.guard.open) == 20
        assert all(closed_by_server(sock, within=1.0) for sock in half_open[:20])
        assert all(still_open(sock) for sock in half_open[20:])
        assert deliver(r.url) == 204  # a new connection over the cap: the oldest made room
        assert len(r.guard.open) <= 20

        busy_head = (b"POST /zoom/webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                     b"Content-Type: application/json\r\n\r\n{\"event\":")
        with raw(r, 20, busy_head) as busy:
            assert wait_for(lambda: not r.guard.waiting and len(r.guard.open) == 20)
            assert len(busy) == 20
            assert deliver(r.url) != 204  # refused: nothing to close, all 20 mid-request
            assert metrics.refused >= 1
            started = time.monotonic()  # their bodies time out (408), then there is room
            assert wait_for(lambda: deliver(r.url) == 204, timeout=5.0)
            assert time.monotonic() - started < 3.0
            assert wait_for(lambda: metrics.rejected["timeout"] == 20)  # each its own 408
        assert len(r.spool.bodies()) == 2
    lines = overload_lines(caplog)
    assert 1 <= len(lines) <= 3, [rec.getMessage() for rec in lines]
    assert all(rec.levelno == logging.WARNING for rec in lines)
    assert "over the cap of 20" in lines[0].getMessage()
    assert_no_tracebacks(caplog)


def test_uvicorn_alone_still_leaves_an_unfinished_request_head_open() -> None:
    """Why GuardedH11Protocol exists. When this fails, uvicorn times out request heads itself
    (uvicorn#157, --timeout-request-start): use that and drop the subclass."""
    config = uvicorn.Config(Starlette(), host="127.0.0.1", port=free_port(), http="h11",
                            ws="none", lifespan="off", log_level="warning", timeout_keep_alive=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: server.started)
        with socket.create_connection(("127.0.0.1", config.port), timeout=5) as sock:
            sock.sendall(PARTIAL_HEAD)
            assert not closed_by_server(sock, within=1.5)  # keep-alive 1 s never applies
    finally:
        server.should_exit = True
        thread.join(10)


def test_repeated_accept_errors_are_one_line_without_traceback() -> None:
    quiet = QuietOverload(every=60)
    records = []
    for _ in range(5):
        try:
            raise OSError(errno.EMFILE, "Too many open files")
        except OSError:
            records.append(logging.LogRecord(
                "asyncio", logging.ERROR, __file__, 1,
                "socket.accept() out of system resource\nsocket: <fd=9>", None, sys.exc_info()))
    passed = [rec for rec in records if quiet.filter(rec)]
    assert len(passed) == 1
    assert passed[0].exc_info is None
    assert passed[0].getMessage() == "socket.accept() out of system resource"
    other = logging.LogRecord("asyncio", logging.ERROR, __file__, 1, "something else", None,
                              None)
    assert quiet.filter(other)


# --- the real process under a low open-file limit -----------------------------------------

def test_the_served_process_never_runs_out_of_file_descriptors(tmp_path: Path) -> None:
    """`zoomsync webhooks serve` with RLIMIT_NOFILE 256 (cap 128) and 300 connections that
    never send a complete head: deliveries get 204, the process stays under its limit, and
    its log holds one overload line and no traceback (before the fix: every delivery timed
    out and asyncio's accept errors wrote 200 MB of tracebacks in 35 s)."""
    limit, port = 256, free_port()
    base = f"http://127.0.0.1:{port}"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 600:  # this test itself holds ~400 descriptors: raise our own soft limit
        wanted = 1024 if hard == resource.RLIM_INFINITY else min(hard, 1024)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= 600, "hard open-file limit < 600"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOOM_", "ZOOMSYNC_"))}
    env.update(ZOOMSYNC_WEBHOOK_SECRET_TOKEN=SECRET, HOME=str(tmp_path))
    launcher = (f"import resource, runpy, sys; "
                f"resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit})); "
                f"sys.argv = ['zoomsync', 'webhooks', 'serve', '--port', '{port}']; "
                f"runpy.run_module('zoomsync', run_name='__main__')")
    stderr = tmp_path / "stderr.log"
    with stderr.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", launcher], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        assert wait_for(lambda: port_open(port), timeout=30), stderr.read_text()
        with ExitStack() as stack:
            socks = [stack.enter_context(s) for s in connect_all(port, 300)]
            for sock in socks:
                with suppress(OSError):  # closed already to make room for a newer one
                    sock.sendall(PARTIAL_HEAD)
            # The kernel hands over what its small listen queue dropped as clients retransmit:
            # wait until the cap is reached, watching the process's descriptors meanwhile.
            fds: list[int] = []

            def cap_reached() -> bool:
                if Path(f"/proc/{proc.pid}/fd").is_dir():
                    fds.append(len(os.listdir(f"/proc/{proc.pid}/fd")))
                text = httpx.get(base + "/metrics", timeout=5).text
                return 'zoomsync_webhook_connections_closed_total{reason="evicted"} 0' not in text

            assert wait_for(cap_reached, timeout=15)
            statuses = [deliver(base + "/zoom/webhooks") for _ in range(3)]
        assert statuses == [204, 204, 204]
        assert max(fds, default=0) < limit
    finally:
        proc.send_signal(signal.SIGINT)  # uvicorn's graceful exit: the window is flushed
        proc.wait(15)
    log = stderr.read_text()
    assert "at most 128 connections" in log
    assert "Traceback" not in log and "Too many open files" not in log
    lines = [line for line in log.splitlines() if "webhook receiver overloaded" in line]
    assert 1 <= len(lines) <= 2, log[-2000:]
    assert len(log) < 5000


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def connect_all(port: int, n: int, timeout: float = 10.0) -> list[socket.socket]:
    """`n` connections opened at once (non-blocking): a SYN the listen queue drops costs
    one 1 s retransmit for all of them, not one each."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        sel.register(sock, selectors.EVENT_WRITE)
        socks.append(sock)
    pending, deadline = set(socks), time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(0.5):
            sel.unregister(key.fileobj)
            pending.discard(key.fileobj)  # type: ignore[arg-type]
    sel.close()
    assert not pending, f"{len(pending)} connections not established"
    for sock in socks:
        sock.setblocking(True)
        sock.settimeout(5)
    return socks
