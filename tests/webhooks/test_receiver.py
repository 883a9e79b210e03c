"""The receiver over a real socket: what it accepts, what it refuses and with which status,
and that nothing refused reaches the spool."""

from __future__ import annotations

import hashlib
import hmac
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.webhooks.helpers import SECRET, encode, event, receiver, signed
from zoomsync.webhooks.server import RunningReceiver

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[RunningReceiver]:
    with receiver(tmp_path / "spool.sqlite", max_body=4096) as r:
        yield r


def post(r: RunningReceiver, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(r.url, content=body, headers=headers, timeout=5)


def stored(r: RunningReceiver) -> list[bytes]:
    return r.spool.bodies()


def rejected(r: RunningReceiver) -> dict[str, int]:
    return dict(r.app.state.metrics.rejected)


def test_a_signed_event_is_spooled_and_acknowledged(served: RunningReceiver) -> None:
    body = encode(event(topic="Weekly"))
    response = post(served, body, signed(body))
    assert response.status_code == 204
    assert stored(served) == [body]
    [pending] = served.spool.pending()
    assert (pending.event, pending.body["payload"]["object"]["topic"]) == ("meeting.updated",
                                                                           "Weekly")


def test_url_validation_is_answered_with_the_hmac_of_the_plain_token(
        served: RunningReceiver) -> None:
    body = encode({"event": "endpoint.url_validation", "event_ts": 1,
                   "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}})
    response = post(served, body, signed(body))
    assert response.status_code == 200
    want = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert response.json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": want}
    assert stored(served) == []


@pytest.mark.parametrize(("case", "status", "reason"), [
    ("forged", 401, "forged"),
    ("wrong_secret", 401, "forged"),
    ("unsigned", 401, "unsigned"),
    ("no_timestamp", 401, "unsigned"),
    ("stale", 401, "stale"),
    ("future", 401, "stale"),
    ("not_json", 400, "malformed"),
    ("not_utf8", 400, "malformed"),
    ("array", 400, "malformed"),
    ("no_event_ts", 400, "malformed"),
    ("no_payload", 400, "malformed"),
    ("validation_without_token", 400, "malformed"),
])
def test_bad_requests_are_refused_and_never_spooled(
        served: RunningReceiver, case: str, status: int, reason: str) -> None:
    good = encode(event())
    bodies = {
        "not_json": b"{not json",
        "not_utf8": b'{"event": "\xff"}',
        "array": b"[1, 2]",
        "no_event_ts": encode({"event": "meeting.updated", "payload": {}}),
        "no_payload": encode({"event": "meeting.updated", "event_ts": 1}),
        "validation_without_token": encode({"event": "endpoint.url_validation",
                                            "event_ts": 1, "payload": {}}),
    }
    body = bodies.get(case, good)
    headers = signed(body)
    if case == "forged":  # a body changed after signing
        body = encode(event(topic="changed"))
    elif case == "wrong_secret":
        headers = signed(body, secret="not-the-secret")
    elif case == "unsigned":
        headers = {"content-type": "application/json"}
    elif case == "no_timestamp":
        del headers["x-zm-request-timestamp"]
    elif case == "stale":
        headers = signed(body, at=time.time() - 301)
    elif case == "future":  # +302: the header's whole seconds round +301 down to ~+300.x
        headers = signed(body, at=time.time() + 302)
    response = post(served, body, headers)
    assert response.status_code == status, response.text
    assert rejected(served)[reason] == 1
    assert stored(served) == []


def test_the_same_signed_request_again_is_acknowledged_and_stored_once(
        served: RunningReceiver) -> None:
    """Stored, then the 204 lost (a crash): Zoom's identical retry must not be refused, and
    a replay stores nothing either way."""
    body = encode(event())
    headers = signed(body)
    assert post(served, body, headers).status_code == 204
    again = post(served, body, headers)
    assert again.status_code == 204
    assert stored(served) == [body]
    assert sum(rejected(served).values()) == 0
    # Zoom's retry of an event it saw no answer for: same body, a newer signed timestamp.
    redelivery = post(served, body, signed(body, at=time.time() + 1))
    assert redelivery.status_code == 204
    assert stored(served) == [body]
    assert served.spool.stats()["duplicate"] == 1


def test_replays_are_remembered_across_a_restart(tmp_path: Path) -> None:
    body = encode(event())
    headers = signed(body)
    with receiver(tmp_path / "spool.sqlite") as first:
        assert post(first, body, headers).status_code == 204
    with receiver(tmp_path / "spool.sqlite") as second:
        assert post(second, body, headers).status_code == 204
        assert stored(second) == [body]
        assert second.spool.stats()["spooled"] == 1


def test_an_oversized_declared_body_is_refused(served: RunningReceiver) -> None:
    body = encode(event(agenda="x" * 5000))
    response = post(served, body, signed(body))
    assert response.status_code == 413
    assert rejected(served)["oversized"] == 1
    assert stored(served) == []


def test_an_oversized_chunked_body_is_refused_before_it_ends(served: RunningReceiver) -> None:
    # Chunks without a Content-Length, then silence: the answer must come without the rest.
    with socket.create_connection((served.host, served.port), timeout=5) as sock:
        sock.sendall(f"POST {served.config.path} HTTP/1.1\r\nHost: x\r\n"
                     "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
                     "x-zm-request-timestamp: 1\r\nx-zm-signature: v0=00\r\n\r\n".encode())
        chunk = b"a" * 1024
        for _ in range(6):  # 6 KiB of a never-ending body, over the 4 KiB cap
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert stored(served) == []


def test_wrong_method_and_path(served: RunningReceiver) -> None:
    assert httpx.get(served.url).status_code == 405
    body = encode(event())
    assert httpx.post(served.base_url + "/elsewhere", content=body,
                      headers=signed(body)).status_code == 404
    assert stored(served) == []


def test_metrics_count_received_rejected_spooled_and_pending(served: RunningReceiver) -> None:
    body = encode(event())
    post(served, body, signed(body))
    post(served, body, {"content-type": "application/json"})
    text = httpx.get(served.base_url + "/metrics").text
    assert "zoomsync_webhook_requests_received_total 2" in text
    assert 'zoomsync_webhook_requests_rejected_total{reason="unsigned"} 1' in text
    assert "zoomsync_webhook_events_spooled_total 1" in text
    assert "zoomsync_webhook_events_pending 1" in text
    assert SECRET not in text


def test_a_body_that_stops_arriving_is_refused_in_time(tmp_path: Path) -> None:
    with receiver(tmp_path / "spool.sqlite", read_timeout=0.3) as r, socket.create_connection(
            (r.host, r.port), timeout=5) as sock:
        sock.sendall(f"POST {r.config.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                     "Content-Type: application/json\r\n\r\n{\"event\":".encode())
        started = time.monotonic()
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
        assert time.monotonic() - started < 2
        assert stored(r) == []


def test_concurrent_deliveries_are_all_stored_within_zooms_3_seconds(
        served: RunningReceiver) -> None:
    def deliver(i: int) -> tuple[int, float]:
        body = encode(event(topic=f"t{i}"))
        started = time.monotonic()
        status = post(served, body, signed(body)).status_code
        return status, time.monotonic() - started

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(deliver, range(200)))
    assert {status for status, _ in answers} == {204}
    assert max(seconds for _, seconds in answers) < 3.0
    assert len(stored(served)) == 200


@pytest.mark.parametrize("body", [
    b'{"event": "meeting.started", "event_ts": ' + b"9" * 5000 + b', "payload": {}}',
    b'{"event": "meeting.started", "event_ts": 1, "payload": ' + b"[" * 100_000
    + b"]" * 100_000 + b"}",
    b'{"event": "meeting.started", "event_ts": 18446744073709551616, "payload": {}}',
    b'{"event": "meeting.started", "event_ts": -1, "payload": {}}',
], ids=["5000-digit event_ts", "100000-deep nesting", "event_ts past 64 bits",
        "negative event_ts"])
def test_a_signed_body_no_zoom_event_can_be_is_a_400(tmp_path: Path, body: bytes) -> None:
    with receiver(tmp_path / "spool.sqlite") as served:  # the default 1 MB cap
        response = post(served, body, signed(body))
        assert response.status_code == 400, response.text
        assert stored(served) == []
