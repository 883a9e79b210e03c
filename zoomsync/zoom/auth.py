"""Zoom Server-to-Server OAuth as an `httpx.Auth`: one cached token, renewed before it expires.

https://developers.zoom.us/docs/internal-apps/s2s-oauth/
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from zoomsync.errors import AuthError, ConfigError, RetryableAPIError

log = logging.getLogger("zoomsync.zoom")

DEFAULT_OAUTH_URL = "https://zoom.us/oauth/token"
# Renew this long before `expires_in` runs out, so a request never leaves with a token that
# dies in flight; tokens live an hour (3599 or 3600 s) on Zoom.
RENEW_MARGIN_S = 300.0
# Zoom answers 401 {"code": 124, "message": "Invalid access token."} for an expired,
# revoked or superseded token: https://developers.zoom.us/docs/api/errors/
INVALID_TOKEN = 124


class ZoomCredentials:
    """A Server-to-Server OAuth app's credentials; the secret never shows in a repr."""

    __slots__ = ("_client_secret", "account_id", "client_id")

    def __init__(self, account_id: str, client_id: str, client_secret: str | SecretStr) -> None:
        secret = client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        missing = [name for name, value in (("ZOOM_ACCOUNT_ID", account_id),
                                            ("ZOOM_CLIENT_ID", client_id),
                                            ("ZOOM_CLIENT_SECRET", secret.get_secret_value()))
                   if not value]
        if missing:
            raise ConfigError(f"missing Zoom credentials: set {', '.join(missing)}")
        self.account_id = account_id
        self.client_id = client_id
        self._client_secret = secret

    @property
    def client_secret(self) -> SecretStr:
        return self._client_secret

    def __repr__(self) -> str:
        return (f"ZoomCredentials(account_id={self.account_id!r}, client_id={self.client_id!r}, "
                "client_secret='**********')")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ZoomCredentials):
            return NotImplemented
        return (self.account_id, self.client_id, self._client_secret) == (
            other.account_id, other.client_id, other._client_secret)

    def __hash__(self) -> int:
        return hash((self.account_id, self.client_id))


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    renew_at: float
    expires_at: float


class ServerToServerAuth(httpx.Auth):
    """Bearer auth with one cached token per account, shared by every thread using it.

    The token is fetched on first use and renewed `RENEW_MARGIN_S` before it expires (at
    half-life for short TTLs). One lock guards fetching, so concurrent threads never mint
    two tokens at once: in 2022 minting a token invalidated the previous one, and later
    reports describe a cap on live tokens (zoom-api.md §2.1, §11.5). A 401 code 124 renews
    the token once and resends the request once; if Zoom refuses again, the 401 goes back
    to the caller (`ZoomClient` backs off and tries again with a renewed token a bounded
    number of times, then raises `AuthError`).

    Args:
        clock: seconds on any monotonic scale, for token lifetimes (tests pass the
            emulator's clock).
    """

    requires_response_body = True

    def __init__(
        self,
        credentials: ZoomCredentials,
        oauth_url: str = DEFAULT_OAUTH_URL,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials = credentials
        self.oauth_url = oauth_url
        self.tokens_fetched = 0
        self.scopes: frozenset[str] = frozenset()
        self._clock = clock
        self._http = httpx.Client(transport=transport, timeout=timeout)
        self._lock = threading.Lock()
        self._token: _Token | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and _zoom_code(response) == INVALID_TOKEN:
            log.info("Zoom refused the access token (code 124); renewing it and retrying once")
            request.headers["Authorization"] = f"Bearer {self.token(stale=token)}"
            yield request

    def token(self, *, stale: str | None = None) -> str:
        """The current access token, fetched or renewed if due (or if it is `stale`)."""
        with self._lock:
            current = self._token
            now = self._clock()
            # A token another thread already renewed is not stale any more: reuse it.
            if current is None or now >= current.renew_at or current.value == stale:
                current = self._token = self._fetch(now)
            return current.value

    def close(self) -> None:
        self._http.close()

    def _fetch(self, now: float) -> _Token:
        creds = self.credentials
        # HTTP Basic client credentials and a form body; Zoom's examples also put the
        # parameters in the query string, which a forum thread (devforum #124925) saw
        # refused, so the body it is (zoom-api.md §2.1).
        response = self._http.post(
            self.oauth_url,
            auth=(creds.client_id, creds.client_secret.get_secret_value()),
            data={"grant_type": "account_credentials", "account_id": creds.account_id},
            headers={"Accept": "application/json"},
        )
        if response.status_code != 200:
            raise self._error(response)
        try:
            body = response.json()
            value = str(body["access_token"])
            ttl = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise RetryableAPIError(200, None, "the token response was not the JSON Zoom documents",
                                    "POST", self._path) from None
        self.tokens_fetched += 1
        # What the app was granted, space-separated, for `zoomsync check`.
        self.scopes = frozenset(str(body.get("scope") or "").split())
        log.info("fetched a Zoom access token for account %s, valid for %d s",
                 creds.account_id, ttl)
        # Zoom returns the account's regional `api_url` but states that api.zoom.us serves
        # every region, so requests keep the configured URL:
        # https://developers.zoom.us/changelog/ (Regional cluster API URL in token response)
        log.debug("token response api_url=%s", body.get("api_url"))
        margin = min(RENEW_MARGIN_S, ttl / 2)
        return _Token(value, renew_at=now + ttl - margin, expires_at=now + ttl)

    @property
    def _path(self) -> str:
        return urlsplit(self.oauth_url).path or "/"

    def _error(self, response: httpx.Response) -> AuthError | RetryableAPIError:
        """Map a failed token request to one clear line.

        Token-endpoint errors are `{"reason", "error"}` rather than Zoom's `{code, message}`
        envelope; the OAuth error codes are at
        https://developers.zoom.us/docs/integrations/oauth-error-messages/ (4702/4704 bad client or
        secret, 4705 grant type, 4717 app disabled).
        """
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        code = body.get("code") if isinstance(body.get("code"), int) else None
        error = str(body.get("error", ""))
        reason = str(body.get("reason") or body.get("message") or response.reason_phrase)
        # Never echo the secret, should a server ever repeat it back.
        reason = reason.replace(self.credentials.client_secret.get_secret_value(), "***")
        args = (status, code, reason, "POST", self._path)
        if status == 429 or status >= 500:
            return RetryableAPIError(*args)
        if status == 401 or error == "invalid_client" or code in (4702, 4704):
            return AuthError(*args, hint="Zoom rejected the client id or secret: check "
                                         "ZOOM_CLIENT_ID / ZOOM_CLIENT_SECRET")
        if error == "unsupported_grant_type" or code == 4705:
            return AuthError(*args, hint="the app must be a Server-to-Server OAuth app")
        if code == 4717:
            return AuthError(*args, hint="the app is disabled: activate it in the Zoom Marketplace")
        if "account" in reason.lower():
            return AuthError(*args, hint="Zoom rejected the account id: check ZOOM_ACCOUNT_ID")
        return AuthError(*args)


def _zoom_code(response: httpx.Response) -> int | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, int) else None
