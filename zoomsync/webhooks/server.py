"""Running the receiver: in the foreground for `zoomsync webhooks serve`, or in a background
thread (`RunningReceiver`) for tests and the benchmark."""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from zoomsync.config import Settings
from zoomsync.errors import ConfigError
from zoomsync.webhooks.receiver import DEFAULT_PATH, ReceiverConfig, make_app
from zoomsync.webhooks.spool import Spool

log = logging.getLogger("zoomsync.webhooks")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def uvicorn_config(app: Any, host: str, port: int) -> uvicorn.Config:
    # Zoom waits 3 s for an answer and opens a new connection per delivery: short keep-alive.
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                          lifespan="off", timeout_keep_alive=5, server_header=False)


class RunningReceiver:
    """A receiver served by uvicorn in a daemon thread at `url`; `stop()` shuts it down."""

    def __init__(self, config: ReceiverConfig, spool_path: Path, *, host: str = "127.0.0.1",
                 port: int = 0, on_spooled: Any = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.config = config
        self.spool = Spool(spool_path)
        self.app = make_app(config, self.spool, on_spooled=on_spooled)
        self._server = uvicorn.Server(uvicorn_config(self.app, host, self.port))
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
        self.spool.close()

    def __enter__(self) -> RunningReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
        log.info("webhook receiver on http://%s:%s%s, spool %s%s", host, port, path,
                 settings.webhook_spool, ", applying" if apply else "")
        uvicorn.Server(uvicorn_config(app, host, port)).run()
    finally:
        stop.set()
        if worker is not None:
            worker.join(60)  # a batch in flight finishes its load, or stays pending
        if applier is not None:
            applier.close()
        spool.close()
