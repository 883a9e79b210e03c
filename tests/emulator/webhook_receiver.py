"""A tiny local webhook receiver on 127.0.0.1, and Zoom's signature formula written out, for
the tests of the webhook sender and of the events the admin API causes."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

SECRET = "s3cr3t-token"


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`x-zm-signature` as Zoom documents it, independently of the emulator's `sign`."""
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class Hit(NamedTuple):
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers POSTs with `statuses` in turn (then 200), after `delays` in turn (then at
    once), and records each request raw. It answers `endpoint.url_validation` challenges
    with `validation_secret`."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    validation_secret: str = SECRET
    delays: list[float] = field(default_factory=list)
    on_hit: Callable[[], None] | None = None
    hits: list[Hit] = field(default_factory=list)

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        self.hits.append(Hit(headers, body))
        if self.on_hit:
            self.on_hit()
        if self.delays:
            time.sleep(self.delays.pop(0))
        event = json.loads(body)
        if event["event"] == "endpoint.url_validation":
            plain = event["payload"]["plainToken"]
            digest = hmac.new(self.validation_secret.encode(), plain.encode(), hashlib.sha256)
            return 200, json.dumps(
                {"plainToken": plain, "encryptedToken": digest.hexdigest()}
            ).encode()
        return (self.statuses.pop(0) if self.statuses else 200), b"{}"


class _Server(ThreadingHTTPServer):
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the sender hung up on a slow answer; nothing to report


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, reply = self.server.receiver.answer(headers, body)
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving() -> Iterator[Receiver]:
    """A receiver listening on a free port at `receiver.url` until the block ends."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/zoom")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
