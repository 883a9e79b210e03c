"""An httpx transport that counts the Zoom API calls a client makes, per path template.

    transport = Counting()
    client = ZoomClient(credentials, api_url=emu.api_url, transport=transport)
    ...
    transport.calls["/past_meetings/{meetingId}/participants"]  # calls made to it

For tests and benchmarks that assert or print how many calls a sync needed: paths are
matched against the emulator's endpoint table, so every meeting's calls count as one
endpoint's.
"""

from __future__ import annotations

import collections

import httpx

from zoomsync.emulator.endpoints import ENDPOINTS
from zoomsync.emulator.routing import match


class Counting(httpx.BaseTransport):
    """Counts API calls per Zoom path template (others by raw path), then sends them."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.calls: collections.Counter[str] = collections.Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raw = request.url.raw_path.decode().split("?")[0]
        if raw.startswith("/v2/"):
            found = match(raw[3:], ENDPOINTS)
            self.calls[found[0] if found else raw] += 1
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()
