"""Server-to-Server OAuth: `POST /oauth/token` and Bearer-token checks.

https://developers.zoom.us/docs/internal-apps/s2s-oauth/
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from zoomsync.emulator.clock import Clock
from zoomsync.emulator.responses import zoom_error


@dataclass(frozen=True)
class Credentials:
    """One S2S OAuth app installed on one account."""

    account_id: str
    client_id: str
    client_secret: str


# Fixed so that tests, docs and a developer's shell can use them without setup.
DEFAULT_CREDENTIALS = Credentials(
    account_id="emu_account_0001",
    client_id="emu_client_id",
    client_secret="emu_client_secret",
)

# The classic read-only set a data extractor asks for (zoom-api.md §2.2).
DEFAULT_SCOPES: tuple[str, ...] = (
    "user:read:admin",
    "meeting:read:admin",
    "webinar:read:admin",
    "report:read:admin",
    "recording:read:admin",
    "dashboard:read:admin",
    "account:read:admin",
    "room:read:admin",
    "role:read:admin",
)

GRANT_TYPE = "account_credentials"
# Tokens that expired more than this long ago are forgotten, so the store stays small;
# until then they keep answering "Access token is expired." rather than "Invalid".
_FORGET_AFTER_S = 24 * 3600


@dataclass(frozen=True)
class _Token:
    account_id: str
    issued_at: float
    expires_at: float


def _oauth_error(status: int, error: str, reason: str) -> JSONResponse:
    # Token-endpoint errors are not Zoom's `{code, message}` envelope but
    # `{"reason": ..., "error": ...}`, e.g. zoom/server-to-server-oauth-token#3:
    # `{"reason":"unsupported grant type","error":"unsupported_grant_type"}`.
    return JSONResponse({"reason": reason, "error": error}, status_code=status)


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, client_secret = decoded.partition(":")
    return (client_id, client_secret) if sep else None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class TokenIssuer:
    """Mints and checks S2S access tokens against the emulator clock. Thread-safe."""

    def __init__(
        self,
        clock: Clock,
        credentials: Credentials = DEFAULT_CREDENTIALS,
        *,
        ttl: int = 3599,
        api_url: str,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        invalidate_previous: bool = False,
    ) -> None:
        self.clock = clock
        self.credentials = credentials
        # Zoom documents one hour; observed `expires_in` is 3599 or 3600.
        self.ttl = ttl
        self.api_url = api_url
        self.scopes = list(scopes)
        # Zoom staff (2022, devforum "Randomly receiving 'Invalid access token' for
        # Server-to-Server OAuth"): minting a token invalidated the previous one.
        self.invalidate_previous = invalidate_previous
        self.tokens_issued = 0
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()

    async def token_endpoint(self, request: Request) -> Response:
        """`POST /oauth/token`: Basic auth plus `grant_type` and `account_id`.

        The parameters are read from the form body or, failing that, the query string:
        Zoom's own examples use the query string, the docs the form body (zoom-api.md §2.1).
        """
        params = dict(request.query_params)
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            body = (await request.body()).decode("utf-8", errors="replace")
            params.update(parse_qsl(body, keep_blank_values=True))

        pair = _basic_auth(request.headers.get("authorization"))
        creds = self.credentials
        # Compare both halves every time so the timing does not say which one was wrong.
        if pair is None or not (
            _same(pair[0], creds.client_id) & _same(pair[1], creds.client_secret)
        ):
            return _oauth_error(401, "invalid_client", "Invalid client_id or client_secret")
        if params.get("grant_type") != GRANT_TYPE:
            return _oauth_error(400, "unsupported_grant_type", "unsupported grant type")
        # The exact reasons for account_id problems are not documented [unconfirmed].
        account_id = params.get("account_id", "")
        if not account_id:
            return _oauth_error(400, "invalid_request", "Missing account_id")
        if not _same(account_id, creds.account_id):
            return _oauth_error(400, "invalid_request", "Invalid account_id")

        token = self.issue(account_id)
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.ttl,
                "scope": " ".join(self.scopes),
                "api_url": self.api_url,
            },
            # RFC 6749 §5.1: token responses must not be cached.
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def issue(self, account_id: str) -> str:
        """Mint a token for `account_id` without HTTP (for tests and the admin API)."""
        now = self.clock.timestamp()
        token = secrets.token_urlsafe(48)
        with self._lock:
            if self.invalidate_previous:
                self._tokens = {k: t for k, t in self._tokens.items() if t.account_id != account_id}
            else:
                self._tokens = {
                    k: t for k, t in self._tokens.items() if t.expires_at + _FORGET_AFTER_S > now
                }
            self._tokens[token] = _Token(account_id, now, now + self.ttl)
            self.tokens_issued += 1
        return token

    def authenticate(self, authorization: str | None) -> str | Response:
        """The account id for a valid `Bearer` header, else Zoom's 401 code 124 response."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        with self._lock:
            found = self._tokens.get(token) if scheme.lower() == "bearer" and token else None
        if found is None:
            return zoom_error(401, 124, "Invalid access token.")
        if self.clock.timestamp() >= found.expires_at:
            return zoom_error(401, 124, "Access token is expired.")
        return found.account_id

    def revoke(self, token: str) -> bool:
        """Forget one token; True if it was known."""
        with self._lock:
            return self._tokens.pop(token, None) is not None

    def revoke_all(self) -> int:
        """Forget every token (fault injection, or "the app was deactivated")."""
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
        return count

    def counters(self) -> dict[str, int]:
        now = self.clock.timestamp()
        with self._lock:
            live = sum(1 for t in self._tokens.values() if t.expires_at > now)
        return {"tokens_issued": self.tokens_issued, "tokens_live": live}
