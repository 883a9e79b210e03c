"""Serve the emulator on a loopback port, in the foreground or in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace

import uvicorn

from zoomsync.emulator.app import Emulator, EmulatorConfig


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class RunningEmulator:
    """An emulator served by uvicorn in a daemon thread; `stop()` shuts it down."""

    def __init__(self, config: EmulatorConfig | None = None, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        config = config or EmulatorConfig()
        self.emulator = Emulator(replace(config, base_url=self.base_url))
        self._server = uvicorn.Server(uvicorn.Config(
            self.emulator.app, host=host, port=self.port, log_level="warning",
            access_log=False, lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, name="zoom-emulator", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/v2"

    @property
    def oauth_url(self) -> str:
        return self.base_url + "/oauth/token"

    def start(self, timeout: float = 10.0) -> RunningEmulator:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not start on {self.base_url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.emulator.webhooks.close()

    def __enter__(self) -> RunningEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
