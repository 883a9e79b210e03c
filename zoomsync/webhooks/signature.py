"""Zoom's webhook signature and URL-validation answer, checked the way Zoom documents them.

https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events
- `x-zm-signature` = "v0=" + hex HMAC-SHA256(secret_token, "v0:{timestamp}:{raw body}")
  where timestamp is the `x-zm-request-timestamp` header, computed over the raw bytes
  (re-serialised JSON is the classic cause of mismatches);
- `x-zm-request-timestamp` is epoch seconds;
- `endpoint.url_validation` is answered with hex HMAC-SHA256(secret_token, plainToken).
Written out here rather than imported from the emulator: the receiver must not depend on it.
"""

from __future__ import annotations

import hashlib
import hmac


def _hmac_hex(secret_token: str, message: bytes) -> str:
    return hmac.new(secret_token.encode(), message, hashlib.sha256).hexdigest()


def sign(secret_token: str, timestamp: str, body: bytes) -> str:
    """The `x-zm-signature` Zoom sends with `body` and `x-zm-request-timestamp: timestamp`."""
    return "v0=" + _hmac_hex(secret_token, b"v0:" + timestamp.encode() + b":" + body)


def verify(secret_token: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether `signature` is Zoom's for this raw body and timestamp (constant-time compare)."""
    return hmac.compare_digest(sign(secret_token, timestamp, body).encode(),
                               signature.encode("utf-8", "replace"))


def url_validation_response(secret_token: str, plain_token: str) -> dict[str, str]:
    """Zoom's expected answer to an `endpoint.url_validation` challenge."""
    return {"plainToken": plain_token,
            "encryptedToken": _hmac_hex(secret_token, plain_token.encode())}
