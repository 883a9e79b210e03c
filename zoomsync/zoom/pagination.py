"""Zoom's two ways to page a list: `next_page_token` and the deprecated `page_number`.

https://developers.zoom.us/docs/api/using-zoom-apis/#pagination: the token ends with `""`,
must be sent back with the same query, and expires after 15 minutes (400 code 300).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from zoomsync.errors import InvalidAnswerError, ZoomAPIError

log = logging.getLogger("zoomsync.zoom")

GetPage = Callable[[str, dict[str, Any]], dict[str, Any]]
Key = Callable[[dict[str, Any]], object]
# A list whose token keeps expiring this often has a deeper problem than a slow consumer.
MAX_RESTARTS = 3
# Zoom's code for "The next page token is invalid or expired." (also for other bad params).
PAGE_TOKEN_INVALID = 300
# Pages in a row with no records but a next_page_token: a list paging without end (an
# API mock answered 2,387 such pages in two minutes). Zoom may send one or two while a
# list changes under the reader.
MAX_EMPTY_PAGES = 5
# Pages allowed beyond what `total_records` needs: records added while paging move some.
SLACK_PAGES = 2


class _TokenExpired(Exception):
    def __init__(self, error: ZoomAPIError) -> None:
        super().__init__(str(error))
        self.error = error


def by_token(
    get: GetPage,
    path: str,
    params: Mapping[str, Any],
    *,
    list_key: str,
    page_size: int,
    key: Key | None = None,
    on_restart: Callable[[], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every record of a `next_page_token` list, once each, even if a token expires midway.

    A token held across slow work (a consumer fanning out to child endpoints under rate
    limits) can expire: Zoom then answers 400 code 300 (zoom-api.md §4, §11.7). The list is
    read again from the first page, and records already yielded are skipped by `key`
    (default: the whole record), counted as a multiset so rows that are legitimately
    identical still all come through.
    """
    digest_of = _digest_with(key)
    yielded: Counter[bytes] = Counter()
    restarts = 0
    while True:
        skip = yielded.copy()
        try:
            for record in _token_pass(get, path, dict(params), list_key, page_size):
                digest = digest_of(record)
                if skip[digest] > 0:
                    skip[digest] -= 1
                    continue
                yielded[digest] += 1
                yield record
            return
        except _TokenExpired as exc:
            restarts += 1
            if restarts > MAX_RESTARTS:
                raise exc.error from None
            log.warning("next_page_token for %s expired after %d records; reading the list "
                        "again from the first page and skipping those", path, yielded.total())
            if on_restart is not None:
                on_restart()


def _token_pass(get: GetPage, path: str, params: dict[str, Any], list_key: str,
                page_size: int) -> Iterator[dict[str, Any]]:
    query = {**params, "page_size": page_size}
    seen: set[str] = set()
    token = ""
    pages = empty = 0
    total = -1  # the most records Zoom said the list holds; -1: it did not say
    while True:
        if token:
            query["next_page_token"] = token
        try:
            body = get(path, query)
        except ZoomAPIError as exc:
            if token and exc.status == 400 and exc.code == PAGE_TOKEN_INVALID:
                raise _TokenExpired(exc) from exc
            raise
        items = records(body, list_key, path, query)
        yield from items
        token = body.get("next_page_token") or ""
        if not token:
            return
        pages += 1
        empty = 0 if items else empty + 1
        said = _count(body, "total_records")
        total = total if said is None else max(total, said)
        size = _count(body, "page_size") or page_size
        if token in seen:
            # Following it would loop forever (singer-sdk's paginator guards the same way).
            fault = "a next_page_token it had sent before"
        elif empty >= MAX_EMPTY_PAGES:
            fault = f"{empty} pages in a row with no records and yet a next_page_token"
        elif total >= 0 and pages >= math.ceil(total / max(size, 1)) + SLACK_PAGES:
            fault = f"a next_page_token after {pages} pages of a list of {total} records"
        else:
            seen.add(token)
            continue
        raise InvalidAnswerError(200, None, f"Zoom sent {fault}", "GET", path,
                                 query=urlencode(query))


def by_number(
    get: GetPage, path: str, params: Mapping[str, Any], *, list_key: str, page_size: int
) -> Iterator[dict[str, Any]]:
    """Every record of a `page_number` list, for endpoints that have no token.

    `GET /users/{userId}/webinars` documents only `page_number` (zoom-api.md §4). The end is
    `page_count` when Zoom sends it, else a short page, measured against the `page_size`
    Zoom says it used: Zoom may clamp the size we asked for.
    """
    page = 1
    previous: list[dict[str, Any]] | None = None
    while True:
        query = {**params, "page_size": page_size, "page_number": page}
        body = get(path, query)
        items = records(body, list_key, path, query)
        if not items:
            return
        size = _count(body, "page_size") or page_size
        total = _count(body, "total_records")
        fault = None
        if items == previous:
            fault = f"page {page} equal to page {page - 1}"
        elif total is not None and page > math.ceil(total / max(size, 1)) + SLACK_PAGES:
            fault = f"a page {page} of a list of {total} records"
        if fault is not None:
            raise InvalidAnswerError(200, None, f"Zoom sent {fault}", "GET", path,
                                     query=urlencode(query))
        yield from items
        page_count = body.get("page_count")
        if isinstance(page_count, int):
            if page >= page_count:
                return
        elif len(items) < size:
            return
        previous = items
        page += 1


def records(body: dict[str, Any], list_key: str, path: str,
            query: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The page's records; a missing list key is an empty page only if Zoom says so."""
    items = body.get(list_key)
    fault = None
    if items is None:
        if not body.get("total_records"):
            return []
        fault = f"no {list_key!r} list in a page of {body['total_records']} records"
    elif not isinstance(items, list):
        fault = f"{list_key!r} is a {type(items).__name__}, not a list"
    else:
        odd = next((i for i in items if not isinstance(i, dict)), None)
        if odd is None:
            return items
        fault = f"{list_key!r} holds a {type(odd).__name__} ({str(odd)[:40]!r}), not an object"
    raise InvalidAnswerError(200, None, fault, "GET", path, query=urlencode(query or {}))


def _count(body: dict[str, Any], name: str) -> int | None:
    """A count Zoom sends (`page_size`, `total_records`), if it is one."""
    value = body.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _digest_with(key: Key | None) -> Callable[[dict[str, Any]], bytes]:
    # Digests, not the keys themselves, keep memory flat for lists of millions of rows.
    def digest(record: dict[str, Any]) -> bytes:
        value = record if key is None else key(record)
        text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.blake2b(text.encode(), digest_size=16).digest()

    return digest
