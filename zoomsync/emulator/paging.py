"""Zoom's pagination: opaque `next_page_token`s that expire after 15 minutes, and `page_number`.

https://developers.zoom.us/docs/api/using-zoom-apis/#pagination
The token is stateless: it carries the offset, the time it was issued and a digest of the
query it belongs to, sealed with an HMAC, so the emulator keeps nothing per client and a
token replayed against another query or after 15 minutes is refused with 400 code 300.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

TOKEN_TTL_SECONDS = 15 * 60
_PAGING_PARAMS = {"next_page_token", "page_number", "page_size"}
_BODY = struct.Struct(">IIQ")  # offset, issued at (epoch s), query digest
_MAC_BYTES = 8


class PageTokenError(Exception):
    """The token is malformed, forged, for another query, or expired."""


class PageTokens:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def issue(self, query_digest: bytes, offset: int, now: float) -> str:
        body = _BODY.pack(offset, int(now), int.from_bytes(query_digest[:8], "big"))
        mac = hmac.new(self._secret, body, hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.urlsafe_b64encode(body + mac).decode().rstrip("=")

    def read(self, token: str, query_digest: bytes, now: float) -> int:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError) as exc:
            raise PageTokenError("malformed") from exc
        if len(raw) != _BODY.size + _MAC_BYTES:
            raise PageTokenError("malformed")
        body, mac = raw[:_BODY.size], raw[_BODY.size:]
        expected = hmac.new(self._secret, body, hashlib.sha256).digest()[:_MAC_BYTES]
        if not hmac.compare_digest(mac, expected):
            raise PageTokenError("forged")
        offset, issued, digest = _BODY.unpack(body)
        if digest != int.from_bytes(query_digest[:8], "big"):
            raise PageTokenError("for another query")
        if now - issued > TOKEN_TTL_SECONDS:
            raise PageTokenError("expired")
        return offset


def query_digest(path: str, params: Mapping[str, str]) -> bytes:
    """What a token is bound to: the path and every query parameter but the paging ones."""
    text = path + "?" + "&".join(
        f"{k}={params[k]}" for k in sorted(params) if k not in _PAGING_PARAMS
    )
    return hashlib.sha256(text.encode()).digest()


def page_size(raw: str | None, default: int, maximum: int) -> int:
    """Zoom clamps an oversized `page_size` to the endpoint's maximum rather than failing."""
    if raw in (None, ""):
        return default
    try:
        size = int(raw)
    except ValueError:
        return default
    return max(1, min(size, maximum))


def envelope(
    items: Sequence[Any], *, offset: int, size: int, next_token: str, legacy: bool
) -> dict[str, Any]:
    """The paging fields around a page of `items` (the list key is added by the caller)."""
    body: dict[str, Any] = {}
    if legacy:
        body["page_count"] = max(1, math.ceil(len(items) / size)) if items else 0
        body["page_number"] = offset // size + 1
    body["page_size"] = size
    body["total_records"] = len(items)
    body["next_page_token"] = next_token
    return body
