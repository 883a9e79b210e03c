"""Zoom webhooks: signing, and a sender that delivers events the way Zoom does.

Zoom's rules (https://developers.zoom.us/docs/api/webhooks/):
- every POST carries `x-zm-request-timestamp` (epoch seconds) and
  `x-zm-signature: v0=<hex HMAC-SHA256(secret_token, "v0:<timestamp>:<raw body>")>`;
- when a subscription is saved, Zoom POSTs `endpoint.url_validation` and expects
  `{"plainToken", "encryptedToken": hex HMAC-SHA256(secret_token, plainToken)}` within 3 s;
- a non-2xx answer, or none within 3 s, is a failure: Zoom retries 3 more times (about
  5, 20 and 60 minutes apart), then drops the event. Events may come twice or out of order.

The event bodies themselves are built in `webhook_events.py`.
"""

from __future__ import annotations

import enum
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import random
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

import httpx

from zoomsync.emulator.clock import Clock
from zoomsync.emulator.webhook_events import Json, epoch_ms

logger = logging.getLogger("zoomsync.emulator.webhooks")

USER_AGENT = "Zoom Marketplace/1.0a"
ZOOM_RETRY_DELAYS = (300.0, 1200.0, 3600.0)  # seconds before retries 1, 2 and 3


# --- signing ---------------------------------------------------------------------------


def _hmac_hex(secret_token: str, message: bytes) -> str:
    return hmac.new(secret_token.encode(), message, hashlib.sha256).hexdigest()


def sign(secret_token: str, timestamp: str, body: bytes) -> str:
    """The `x-zm-signature` of the raw `body` sent with `x-zm-request-timestamp: timestamp`."""
    return "v0=" + _hmac_hex(secret_token, b"v0:" + timestamp.encode() + b":" + body)


def verify(secret_token: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether `signature` matches the raw `body`, compared in constant time."""
    return hmac.compare_digest(sign(secret_token, timestamp, body), signature)


def url_validation_response(secret_token: str, plain_token: str) -> dict[str, str]:
    """The answer Zoom expects to an `endpoint.url_validation` challenge."""
    return {
        "plainToken": plain_token,
        "encryptedToken": _hmac_hex(secret_token, plain_token.encode()),
    }


# --- delivery --------------------------------------------------------------------------


class _Unset(enum.Enum):
    TOKEN = enum.auto()


_UNSET = _Unset.TOKEN

_COUNTERS = (
    "emitted",
    "recorded",
    "attempts",
    "delivered",
    "failed_attempts",
    "retries",
    "dropped",
    "duplicated",
    "reordered",
    "validations_passed",
    "validations_failed",
)


@dataclass
class _Delivery:
    id: int
    event: str
    body: bytes  # serialised once, so every attempt sends and signs the same bytes
    duplicate_of: int | None = None
    status: str = "pending"  # pending, retrying, delivered, dropped or recorded
    attempts: int = 0
    status_code: int | None = None
    last_error: str | None = None

    def as_dict(self) -> Json:
        return {
            "id": self.id,
            "event": self.event,
            "status": self.status,
            "attempts": self.attempts,
            "status_code": self.status_code,
            "last_error": self.last_error,
            "duplicate_of": self.duplicate_of,
            "body": json.loads(self.body),
        }


class WebhookSender:
    """Delivers events to one endpoint the way Zoom does, from a background thread.

    `emit` only queues. Retry delays run on real (monotonic) time rather than the
    emulator clock, so a retry fires even when nobody moves the clock; the clock gives
    the `x-zm-request-timestamp`. With `url=None` events are recorded, not sent.

    Fault knobs, drawn from `random.Random(seed)`: `duplicate_rate` is the chance that
    an event is delivered twice; `reorder` is the chance that it is held back
    `reorder_delay` seconds, so that events emitted just after it overtake it.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        url: str | None,
        secret_token: str,
        retry_delays: tuple[float, ...] = ZOOM_RETRY_DELAYS,
        timeout: float = 3.0,
        duplicate_rate: float = 0.0,
        reorder: float = 0.0,
        reorder_delay: float = 0.5,
        seed: int | None = None,
        history: int = 1000,
    ) -> None:
        self._clock = clock
        self._url = url
        self._secret_token = secret_token
        self._retry_delays = tuple(retry_delays)
        self._timeout = timeout
        self._duplicate_rate = duplicate_rate
        self._reorder = reorder
        self._reorder_delay = reorder_delay
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, _Delivery]] = []  # a heap ordered by due time
        self._in_flight = 0
        self._closed = False
        self._history: deque[_Delivery] = deque(maxlen=history)
        self._counts: Counter[str] = Counter(dict.fromkeys(_COUNTERS, 0))
        self._client = httpx.Client(timeout=timeout)
        self._thread = threading.Thread(target=self._run, name="zoom-webhooks", daemon=True)
        self._thread.start()

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # public API

    def configure(
        self,
        *,
        url: str | _Unset | None = _UNSET,
        secret_token: str | _Unset = _UNSET,
    ) -> None:
        """Change the endpoint or the secret; queued events and retries use the new ones."""
        with self._cond:
            if not isinstance(url, _Unset):
                self._url = url
            if not isinstance(secret_token, _Unset):
                self._secret_token = secret_token

    def emit(self, event_body: Json) -> None:
        body = json.dumps(event_body, separators=(",", ":")).encode()
        event = str(event_body["event"])
        with self._cond:
            if self._closed:
                raise RuntimeError("the webhook sender is closed")
            self._counts["emitted"] += 1
            delivery = self._record(event, body)
            if self._url is None:
                delivery.status = "recorded"
                self._counts["recorded"] += 1
                return
            delay = 0.0
            if self._rng.random() < self._reorder:
                delay = self._reorder_delay
                self._counts["reordered"] += 1
            self._schedule(delivery, delay)
            if self._rng.random() < self._duplicate_rate:
                self._counts["duplicated"] += 1
                self._schedule(self._record(event, body, duplicate_of=delivery.id), delay)

    def validate_endpoint(self) -> bool:
        """Send Zoom's `endpoint.url_validation` challenge and check the answer."""
        with self._cond:
            url, secret_token = self._url, self._secret_token
        if url is None:
            return False
        plain_token = secrets.token_urlsafe(16)
        body = json.dumps(
            {
                "payload": {"plainToken": plain_token},
                "event_ts": epoch_ms(self._clock.now()),
                "event": "endpoint.url_validation",
            },
            separators=(",", ":"),
        ).encode()
        expected = url_validation_response(secret_token, plain_token)
        try:
            with httpx.Client(timeout=self._timeout) as client:
                response = client.post(url, content=body, headers=self._headers(secret_token, body))
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("url validation of %s failed: %s", url, exc)
            ok = False
        else:
            ok = (
                response.status_code == 200
                and isinstance(answer, dict)
                and answer.get("plainToken") == plain_token
                and hmac.compare_digest(
                    str(answer.get("encryptedToken", "")), expected["encryptedToken"]
                )
            )
            if not ok:
                logger.warning("url validation of %s failed: HTTP %s", url, response.status_code)
        with self._cond:
            self._counts["validations_passed" if ok else "validations_failed"] += 1
        return ok

    def flush(self, timeout: float) -> bool:
        """Wait until nothing is queued, retrying or in flight; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._in_flight, timeout)

    def deliveries(self) -> list[Json]:
        with self._cond:
            return [d.as_dict() for d in self._history]

    def counters(self) -> dict[str, int]:
        with self._cond:
            return {**self._counts, "pending": len(self._queue) + self._in_flight}

    def close(self) -> None:
        """Stop the thread; events still queued are abandoned (call flush first)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._thread.join(self._timeout + 1.0)
        self._client.close()

    # internals; callers of _record and _schedule hold the lock

    def _record(self, event: str, body: bytes, duplicate_of: int | None = None) -> _Delivery:
        delivery = _Delivery(next(self._ids), event, body, duplicate_of)
        self._history.append(delivery)
        return delivery

    def _schedule(self, delivery: _Delivery, delay: float) -> None:
        heapq.heappush(self._queue, (time.monotonic() + delay, delivery.id, delivery))
        self._cond.notify_all()

    def _headers(self, secret_token: str, body: bytes) -> dict[str, str]:
        # Each attempt gets a fresh timestamp, so it is signed afresh.
        timestamp = str(int(self._clock.timestamp()))
        return {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "x-zm-request-timestamp": timestamp,
            "x-zm-signature": sign(secret_token, timestamp, body),
        }

    def _run(self) -> None:
        while (delivery := self._next_due()) is not None:
            try:
                status_code, error = self._attempt(delivery)
            except Exception as exc:  # a bug here must not stop the thread and hang flush()
                logger.exception("webhook delivery %s crashed", delivery.id)
                status_code, error = None, f"internal error: {exc!r}"
            self._settle(delivery, status_code, error)

    def _next_due(self) -> _Delivery | None:
        with self._cond:
            while not self._closed:
                wait = self._queue[0][0] - time.monotonic() if self._queue else None
                if wait is not None and wait <= 0:
                    self._in_flight += 1
                    return heapq.heappop(self._queue)[2]
                self._cond.wait(wait)
            return None

    def _attempt(self, delivery: _Delivery) -> tuple[int | None, str | None]:
        with self._cond:
            url, secret_token = self._url, self._secret_token
        if url is None:  # the endpoint was removed while this event waited
            return None, None
        headers = self._headers(secret_token, delivery.body)
        try:
            response = self._client.post(url, content=delivery.body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        if response.is_success:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    def _settle(self, delivery: _Delivery, status_code: int | None, error: str | None) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()
            if status_code is None and error is None:
                delivery.status = "recorded"
                self._counts["recorded"] += 1
                return
            delivery.attempts += 1
            delivery.status_code = status_code
            delivery.last_error = error
            self._counts["attempts"] += 1
            if error is None:
                delivery.status = "delivered"
                self._counts["delivered"] += 1
                return
            self._counts["failed_attempts"] += 1
            if delivery.attempts <= len(self._retry_delays):
                delivery.status = "retrying"
                self._counts["retries"] += 1
                self._schedule(delivery, self._retry_delays[delivery.attempts - 1])
                return
            delivery.status = "dropped"
            self._counts["dropped"] += 1
            logger.warning(
                "dropped %s (delivery %s) after %s attempts: %s",
                delivery.event,
                delivery.id,
                delivery.attempts,
                error,
            )
