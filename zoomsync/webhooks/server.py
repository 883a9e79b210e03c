"""Running the receiver: in the foreground for `zoomsync webhooks serve`, or in a background
thread (`RunningReceiver`) for tests and the benchmark."""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from zoomsync.config import Settings
from zoomsync.errors import ConfigError
from zoomsync.webhooks.connections import (
    QUIET_LOGGERS,
    ConnectionGuard,
    ConnectionLimits,
    QuietOverload,
    default_max_connections,
    guarded_protocol,
    open_file_limit,
)
from zoomsync.webhooks.receiver import DEFAULT_PATH, ReceiverConfig, make_app
from zoomsync.webhooks.spool import Spool

log = logging.getLogger("zoomsync.webhooks")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def uvicorn_config(app: Any, host: str, port: int, guard: ConnectionGuard) -> uvicorn.Config:
    """uvicorn serving `app` with `guard`'s head deadline and connection cap (connections.py).
    The backlog is also how many connections asyncio accepts at once, before the cap can
    close any: it is kept within the descriptors the cap leaves free. No websockets."""
    limits = guard.limits
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                          lifespan="off", server_header=False, http=guarded_protocol(guard),
                          ws="none", timeout_keep_alive=limits.keep_alive,
                          backlog=limits.backlog)


def connection_limits(settings: Settings) -> ConnectionLimits:
    """The cap from RLIMIT_NOFILE, or ZOOMSYNC_WEBHOOK_MAX_CONNECTIONS; a warning if that
    leaves the spool and logs less than the reserve."""
    limits = ConnectionLimits.from_open_files(settings.webhook_max_connections)
    room = default_max_connections()
    if room < 64 and settings.webhook_max_connections is None:
        log.warning("the open-file limit (%d) leaves room for %d connections only; raise it "
                    "(systemd: LimitNOFILE=)", open_file_limit(), room)
    if limits.max_connections > room:
        log.warning("ZOOMSYNC_WEBHOOK_MAX_CONNECTIONS=%d is more than the open-file limit "
                    "(%d) leaves room for (%d): a flood of connections can make the spool "
                    "fail with 'Too many open files'; raise the limit (systemd: LimitNOFILE=)",
                    limits.max_connections, open_file_limit(), room)
    return limits


class RunningReceiver:
    """A receiver served by uvicorn in a daemon thread at `url`; `stop()` shuts it down."""

    def __init__(self, config: ReceiverConfig, spool_path: Path, *, host: str = "127.0.0.1",
                 port: int = 0, on_spooled: Any = None,
                 limits: ConnectionLimits | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.config = config
        self.spool = Spool(spool_path)
        self.app = make_app(config, self.spool, on_spooled=on_spooled)
        self.guard = ConnectionGuard(limits or ConnectionLimits.from_open_files(),
                                     self.app.state.metrics)
        self._server = uvicorn.Server(uvicorn_config(self.app, host, self.port, self.guard))
        self._thread = threading.Thread(target=self._server.run, name="zoomsync-webhooks",
                                        daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + self.config.path

    def start(self, timeout: float = 10.0) -> RunningReceiver:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the webhook receiver did not start on {self.base_url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.guard.flush()  # the overload window still open when the loop ended
        self.spool.close()

    def __enter__(self) -> RunningReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def quiet_overload() -> Iterator[None]:
    """asyncio's and uvicorn's per-event overload lines, at most one a kind per 10 s and
    without tracebacks (QuietOverload), while the receiver serves."""
    quiet = QuietOverload()
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)


def receiver_config(settings: Settings, path: str) -> ReceiverConfig:
    """The receiver's checks from the settings; one clear line if the secret is missing."""
    secret = settings.webhook_secret_token
    if secret is None or not secret.get_secret_value():
        raise ConfigError("ZOOMSYNC_WEBHOOK_SECRET_TOKEN not set: copy the Secret Token from "
                          "your app's Feature page in Zoom's Marketplace (docs/webhooks.md)")
    if not path.startswith("/"):
        raise ConfigError(f"--path {path!r} must start with /")
    return ReceiverConfig(secret_token=secret, path=path,
                          max_age=settings.webhook_max_age, max_body=settings.webhook_max_body)


def open_spool(path: Path) -> Spool:
    try:
        return Spool(path)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"cannot open the webhook spool {path}: {exc}") from None


def serve(settings: Settings, *, host: str, port: int, path: str = DEFAULT_PATH,
          apply: bool = False, streams: list[str] | None = None) -> None:
    """Serve the receiver in the foreground until interrupted; with `apply`, an applier
    thread in the same process loads each micro-batch as soon as it is spooled."""
    config = receiver_config(settings, path)
    spool = open_spool(settings.webhook_spool)
    stop, wake = threading.Event(), threading.Event()
    worker: threading.Thread | None = None
    applier = None
    try:
        if apply:
            from zoomsync.webhooks.apply import Applier

            applier = Applier(settings, spool, streams=streams)  # a bad destination fails here
            worker = threading.Thread(target=applier.run, args=(stop, wake),
                                      name="zoomsync-applier", daemon=True)
            worker.start()
        app = make_app(config, spool, on_spooled=wake.set)
        guard = ConnectionGuard(connection_limits(settings), app.state.metrics)
        log.info("webhook receiver on http://%s:%s%s, spool %s%s, at most %d connections",
                 host, port, path, settings.webhook_spool, ", applying" if apply else "",
                 guard.limits.max_connections)
        server = uvicorn.Server(uvicorn_config(app, host, port, guard))
        try:
            with quiet_overload():
                server.run()
        finally:  # uvicorn re-raises the SIGINT it stopped for: KeyboardInterrupt
            guard.flush()
    finally:
        stop.set()
        if worker is not None:
            worker.join(60)  # a batch in flight finishes its load, or stays pending
        if applier is not None:
            applier.close()
        spool.close()
