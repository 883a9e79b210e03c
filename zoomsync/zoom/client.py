"""ZoomClient: paced and retried GETs against Zoom's REST API, errors mapped to `errors.py`."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, NamedTuple
from urllib.parse import quote, urlencode

import httpx

from zoomsync.errors import (
    AuthError,
    EntitlementError,
    FatalAPIError,
    RetryableAPIError,
    ScopeError,
    SkippableAPIError,
    ZoomAPIError,
)
from zoomsync.zoom import pagination
from zoomsync.zoom.auth import DEFAULT_OAUTH_URL, INVALID_TOKEN, ServerToServerAuth, ZoomCredentials
from zoomsync.zoom.pacing import LabelStats, Pacer, normalize_label
from zoomsync.zoom.retry import jittered_backoff

log = logging.getLogger("zoomsync.zoom")

DEFAULT_API_URL = "https://api.zoom.us/v2"
MAX_BACKOFF_S = 30.0
# Zoom invalidates an S2S token whenever any client of the same app mints a new one
# (zoom-api.md §2.1, §11.5): a token refused with code 124 right after renewing is most
# likely another client's doing, not bad credentials. Renew this many times, backing off,
# before calling the credentials refused.
MAX_RENEWALS = 5
# 404s for one partition that is gone, unfinished or has no data: 3001 meeting/webinar
# missing or "not end", 3301 no recording, 1001 user missing
# (https://developers.zoom.us/docs/api/errors/, zoom-api.md §6, §11.4).
SKIPPABLE_404 = frozenset({3001, 3301, 1001})
# 400 code 12702 "Can not access a meeting a year ago": past retention, for that meeting only.
SKIPPABLE_400 = frozenset({12702})
_PLACEHOLDER = re.compile(r"{(\w+)}")


def path_for(template: str, **values: str | int) -> str:
    """Fill a Zoom path template, percent-encoding every value with no safe characters.

    A value that begins with `/` or contains `//` is encoded twice. Zoom's spec, on every
    endpoint that takes a meeting UUID: "If you provide a meeting UUID that begins with a
    `/` character or contains the `//` characters, you must double-encode the meeting UUID"
    (https://developers.zoom.us/docs/api/meetings/#tag/meetings/GET/past_meetings/{meetingId}).
    Other ids never contain `/`, so the rule is applied to every value.

    >>> path_for("/past_meetings/{meetingId}", meetingId="/ajXp112QmuoKj4854875==")
    '/past_meetings/%252FajXp112QmuoKj4854875%253D%253D'
    """

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ValueError(f"{template} needs a value for {name!r}")
        text = str(values[name])
        encoded = quote(text, safe="")
        if text.startswith("/") or "//" in text:
            encoded = quote(encoded, safe="")
        return encoded

    unused = set(values) - set(_PLACEHOLDER.findall(template))
    if unused:
        raise ValueError(f"{template} has no placeholder for {sorted(unused)}")
    return _PLACEHOLDER.sub(fill, template)


class ZoomClient:
    """A thread-safe client for Zoom's REST API over one shared `httpx.Client`.

    Every call is paced by rate-limit label (`Pacer`). A 5xx or transport failure is
    retried up to `max_retries` times with jittered exponential backoff from `backoff`
    seconds; a 429 waits as the pacer says, up to `max_throttled` times; a token Zoom
    refuses (401 code 124) is renewed up to `max_renewals` times, backing off alike. Zoom's
    errors are raised as the tree in `zoomsync.errors`. `cancel()` makes every call still
    waiting or retrying raise `RunStopped` at once.

    >>> with ZoomClient(ZoomCredentials("acct", "id", "secret")) as zoom:  # doctest: +SKIP
    ...     for user in zoom.paginate("/users", {"status": "active"}, label="MEDIUM",
    ...                               list_key="users", page_size=2000):
    ...         print(user["email"])
    """

    def __init__(
        self,
        credentials: ZoomCredentials,
        *,
        api_url: str = DEFAULT_API_URL,
        oauth_url: str = DEFAULT_OAUTH_URL,
        pacer: Pacer | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_retries: int = 6,
        max_throttled: int = 20,
        max_renewals: int = MAX_RENEWALS,
        backoff: float = 1.0,
    ) -> None:
        self.pacer = pacer if pacer is not None else Pacer()
        self.max_retries = max_retries
        self.max_throttled = max_throttled
        self.max_renewals = max_renewals
        self.backoff = backoff
        self.auth = ServerToServerAuth(credentials, oauth_url, transport=transport,
                                       timeout=timeout)
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"), auth=self.auth, transport=transport, timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": "zoomsync"},
        )

    def get(self, path: str, params: Mapping[str, Any] | None = None, *,
            label: str) -> dict[str, Any]:
        """GET `path` (below the API URL; build it with `path_for`) and return the JSON body."""
        label = normalize_label(label)
        query = dict(params or {})
        failures = throttled = renewals = 0
        while True:
            self.pacer.acquire(label, method="GET", path=path)
            result = self._send(path, query, label)
            if not isinstance(result, _Failure):
                return result
            # A 429 is Zoom saying "wait", which the pacer already arranged; a failure is
            # something going wrong; a refused token may be another client's renewal.
            # Each has its own budget.
            if result.throttled:
                throttled += 1
                if throttled > self.max_throttled:
                    raise self._gave_up(result, failures + throttled, throttled, path, query)
                self.pacer.record(label, retries=1)
                continue
            if result.renew:
                renewals += 1
                if renewals > self.max_renewals:
                    raise AuthError(
                        result.status, result.code, result.message, "GET", path,
                        query=urlencode(query),
                        hint=f"Zoom refused {renewals} fresh access tokens in a row: check "
                             "that the app is activated, and that no other client of the same "
                             "app mints tokens continually (each one ends the others')")
                attempt, limit, what = renewals, self.max_renewals, "renewing the token"
            else:
                failures += 1
                if failures > self.max_retries:
                    raise self._gave_up(result, failures + throttled, throttled, path, query)
                attempt, limit, what = failures, self.max_retries, "retry"
            self.pacer.record(label, retries=1)
            delay = jittered_backoff(attempt, self.backoff, MAX_BACKOFF_S)
            log.warning("GET %s failed (%s); %s, %d of %d, in %.2f s", path, result.reason,
                        what, attempt, limit, delay)
            self.pacer.sleep(delay)
            self.pacer.record(label, wait_seconds=delay)

    @staticmethod
    def _gave_up(result: _Failure, attempts: int, throttled: int, path: str,
                 query: dict[str, Any]) -> RetryableAPIError:
        return RetryableAPIError(
            result.status, result.code,
            f"gave up after {attempts} attempts ({throttled} throttled); last: {result.reason}",
            "GET", path, query=urlencode(query))

    def cancel(self) -> None:
        """Calls waiting or retrying raise RunStopped now, new ones too, until `resume()`."""
        self.pacer.cancel()

    def resume(self) -> None:
        self.pacer.resume()

    def _send(self, path: str, query: dict[str, Any], label: str) -> dict[str, Any] | _Failure:
        """One attempt: the JSON body, a retryable `_Failure`, or a raised ZoomAPIError."""
        try:
            response = self._http.get(path, params=query)
        except (httpx.TransportError, RetryableAPIError) as exc:
            # Timeouts, refused or reset connections (a reset mid-body is a
            # RemoteProtocolError), and a token endpoint answering 5xx.
            code = exc.code if isinstance(exc, ZoomAPIError) else None
            return _Failure(0, code, f"{type(exc).__name__}: {exc}")
        self.pacer.record(label, bytes=len(response.content))
        status = response.status_code
        code, message = zoom_envelope(response)
        if response.is_success:
            body = self._json(response)
            if body is None:
                return _Failure(status, None, "a success whose body is not a JSON object")
            self.pacer.observe(label, response)
            return body
        if status == 429:
            self.pacer.on_429(label, response, path=path)  # pauses the label, or raises
            return _Failure(status, code, f"HTTP 429: {message}", throttled=True)
        if status >= 500:
            return _Failure(status, code, f"HTTP {status}: {message}")
        if status == 401 and code == INVALID_TOKEN:
            # The auth flow renewed the token and resent once; Zoom refused the new one too.
            return _Failure(status, code, f"HTTP 401 code {code}: {message}", renew=True,
                            message=message)
        raise error_for(response, "GET", path, urlencode(query))

    def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        label: str,
        list_key: str,
        page_size: int,
        key: Callable[[dict[str, Any]], object] | None = None,
        paging: Literal["token", "page_number"] = "token",
    ) -> Iterator[dict[str, Any]]:
        """Every record of a list endpoint, page by page.

        Pass the endpoint's maximum `page_size`. With `paging="token"` (the default) an
        expired `next_page_token` restarts the list without duplicates, judged by
        `key(record)` (default: the whole record); `"page_number"` is for the endpoints
        without tokens, such as `/users/{userId}/webinars`.
        """

        def get(p: str, query: dict[str, Any]) -> dict[str, Any]:
            return self.get(p, query, label=label)

        if paging == "page_number":
            return pagination.by_number(get, path, params or {}, list_key=list_key,
                                        page_size=page_size)
        return pagination.by_token(get, path, params or {}, list_key=list_key,
                                   page_size=page_size, key=key,
                                   on_restart=lambda: self.pacer.record(label, restarts=1))

    def stats(self) -> dict[str, LabelStats]:
        """Per label: calls, 429s (`throttled`), retries, restarts, wait seconds, bytes."""
        return self.pacer.stats()

    def close(self) -> None:
        self._http.close()
        self.auth.close()

    def __enter__(self) -> ZoomClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any] | None:
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None


class _Failure(NamedTuple):
    status: int  # 0: no response
    code: int | None
    reason: str
    throttled: bool = False
    renew: bool = False  # the token was refused: renew it and try again
    message: str = ""  # Zoom's own words, when it sent some


def zoom_envelope(response: httpx.Response) -> tuple[int | None, str]:
    """Zoom's `{"code", "message"}`, or (None, the reason phrase) for any other body, such as a
    load balancer's HTML page."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return None, response.reason_phrase or f"HTTP {response.status_code}"
    code = body.get("code")
    message = body.get("message") or response.reason_phrase
    return (code if isinstance(code, int) else None), str(message)


def error_for(response: httpx.Response, method: str, path: str,
              query: str = "") -> ZoomAPIError:
    """The exception for a failed response, by what the caller must do about it."""
    status = response.status_code
    code, message = zoom_envelope(response)
    args = (status, code, message, method, path)
    # 4700 "Invalid access token, does not contain scopes": https://developers.zoom.us/docs/api/errors/
    if code == 4700:
        return ScopeError(*args, query=query)
    if status == 401:
        return AuthError(*args, query=query,
                         hint="Zoom refused the access token even after renewing it; "
                              "check that the app is activated and its credentials")
    # 400 code 200: "Webinar plan is missing", "Only available for paid account": an add-on
    # or plan, which Zoom refuses much like a missing scope (zoom-api.md §11.11).
    if status == 400 and code == 200:
        return EntitlementError(*args, query=query)
    if (status == 404 and code in SKIPPABLE_404) or (status == 400 and code in SKIPPABLE_400):
        return SkippableAPIError(*args, query=query)
    if status == 429 or status >= 500:
        return RetryableAPIError(*args, query=query)
    return FatalAPIError(*args, query=query)
