"""Pagination: every record exactly once, through faults, expired tokens and page numbers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import UNLIMITED
from tests.zoom.conftest import CREDS, client_for
from zoomsync.emulator import truth
from zoomsync.emulator.faults import FaultConfig
from zoomsync.emulator.routes_past import PAST_FIELDS
from zoomsync.emulator.server import RunningEmulator
from zoomsync.errors import FatalAPIError, InvalidAnswerError
from zoomsync.zoom import Pacer, ZoomClient, path_for

Handler = Callable[[httpx.Request], httpx.Response]


def largest_meeting(emu: RunningEmulator) -> tuple[str, list[dict[str, Any]]]:
    """The path of the largest ended meeting's participants, and its rows as Zoom holds them."""
    ds, now = emu.emulator.dataset, emu.emulator.clock.now()
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in truth.iter_table(ds, "meeting_participants", now):
        rows.setdefault(row["meeting_uuid"], []).append({k: row[k] for k in PAST_FIELDS})
    uuid = max(rows, key=lambda u: len(rows[u]))
    return path_for("/past_meetings/{meetingId}/participants", meetingId=uuid), rows[uuid]


def participants(zoom: ZoomClient, path: str) -> Iterator[dict[str, Any]]:
    # 30 a page rather than Zoom's 300 maximum, so the list has many pages to go wrong on.
    return zoom.paginate(path, label="MEDIUM", list_key="participants", page_size=30)


def by_row(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(tuple(str(r[k]) for k in PAST_FIELDS) for r in rows)


def test_token_pages_give_every_row(emu: RunningEmulator) -> None:
    path, expected = largest_meeting(emu)
    assert len(expected) > 300
    with client_for(emu) as zoom:
        rows = list(participants(zoom, path))
        assert zoom.stats()["MEDIUM"].calls == -(-len(expected) // 30)
    assert by_row(rows) == by_row(expected)


def test_faults_do_not_change_the_rows(emu: RunningEmulator) -> None:
    path, _ = largest_meeting(emu)
    with client_for(emu) as zoom:
        clean = list(participants(zoom, path))
    # 10% 5xx, 5% 429 (Retry-After: 1), 5% connection resets mid-body, 5% slow responses;
    # seed 5 gives at least one of each over this list.
    emu.emulator.faults.configure(FaultConfig(error_5xx=0.10, rate_429=0.05, reset=0.05,
                                              slow=0.05, slow_ms=200), seed=5)
    with client_for(emu) as zoom:
        rows = list(participants(zoom, path))
        stats = zoom.stats()["MEDIUM"]
    faults = emu.emulator.faults.counters()
    assert all(faults[k] >= 1 for k in ("error_5xx", "rate_429", "reset", "slow")), faults
    assert rows == clean
    assert stats.throttled == faults["rate_429"]
    assert stats.retries == faults["error_5xx"] + faults["rate_429"] + faults["reset"]


def test_expired_token_restarts_without_duplicates_or_gaps(
    emu: RunningEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    path, expected = largest_meeting(emu)
    rows = []
    with client_for(emu) as zoom:
        for n, row in enumerate(participants(zoom, path), start=1):
            rows.append(row)
            if n == 45:  # mid-page 2: the token for page 3 is now held...
                emu.emulator.clock.advance(16 * 60)  # ...past Zoom's 15 minutes
        stats = zoom.stats()["MEDIUM"]
    assert by_row(rows) == by_row(expected)
    assert len(rows) == len(expected)
    assert stats.restarts == 1
    restarts = [r for r in caplog.records if "expired" in r.getMessage()]
    assert len(restarts) == 1 and "after 60 records" in restarts[0].getMessage()


def test_page_numbers(emu: RunningEmulator) -> None:
    host = next(d.host_id for d in emu.emulator.dataset.definitions.values()
                if d.kind == "webinar")
    with client_for(emu) as zoom:
        by_token = list(zoom.paginate("/users", label="MEDIUM", list_key="users", page_size=3))
        by_number = list(zoom.paginate("/users", label="MEDIUM", list_key="users", page_size=3,
                                       paging="page_number"))
        webinars = list(zoom.paginate(path_for("/users/{userId}/webinars", userId=host),
                                      label="MEDIUM", list_key="webinars", page_size=300,
                                      paging="page_number"))
    assert by_number == by_token and len(by_token) > 3
    assert webinars and all(w["host_id"] == host for w in webinars)


# Shapes the emulator cannot produce: a fake Zoom serving scripted pages.

def fake_zoom(pages: Callable[[httpx.Request], dict[str, Any]]) -> ZoomClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3599})
        body = pages(request)
        return httpx.Response(body.pop("_status", 200), json=body)

    return ZoomClient(CREDS, api_url="https://zoom.test/v2",
                      oauth_url="https://zoom.test/oauth/token",
                      transport=httpx.MockTransport(handler), backoff=0.001,
                      pacer=Pacer(limits=UNLIMITED))


def scripted(passes: list[list[list[str]]], expire_at: set[tuple[int, int]]) -> Callable[
        [httpx.Request], dict[str, Any]]:
    """Serve `passes[p][page]` pages of `{"id": x}`; `(p, page)` in `expire_at` answers code 300."""
    state = {"pass": -1}

    def pages(request: httpx.Request) -> dict[str, Any]:
        token = request.url.params.get("next_page_token")
        if token is None:
            state["pass"] += 1
        p = state["pass"]
        page = int(token.split("-")[1]) if token else 0
        if (p, page) in expire_at:
            return {"_status": 400, "code": 300,
                    "message": "The next page token is invalid or expired."}
        items = passes[p][page]
        nxt = f"{p}-{page + 1}" if page + 1 < len(passes[p]) else ""
        return {"items": [{"id": x} for x in items], "next_page_token": nxt}

    return pages


def ids(zoom: ZoomClient, **kw: Any) -> list[str]:
    return [r["id"] for r in zoom.paginate("/items", label="LIGHT", list_key="items",
                                           page_size=2, **kw)]


def test_restart_tolerates_a_list_that_changed() -> None:
    # The token expires before page 2; meanwhile "x" was added at the front of the list.
    passes = [[["a", "b"], ["c", "d"], ["e"]], [["x", "a"], ["b", "c"], ["d", "e"]]]
    with fake_zoom(scripted(passes, {(0, 2)})) as zoom:
        assert ids(zoom) == ["a", "b", "c", "d", "x", "e"]
        assert zoom.stats()["LIGHT"].restarts == 1


def test_restart_keeps_rows_that_are_legitimately_identical() -> None:
    passes = [[["a", "a"], ["a", "b"]], [["a", "a"], ["a", "b"]]]
    with fake_zoom(scripted(passes, {(0, 1)})) as zoom:
        assert ids(zoom) == ["a", "a", "a", "b"]


def test_key_decides_what_counts_as_seen() -> None:
    passes = [[["a1", "b1"], ["c1"]], [["a2", "b2"], ["c2"]]]  # records changed between passes
    with fake_zoom(scripted(passes, {(0, 1)})) as zoom:
        assert ids(zoom, key=lambda r: r["id"][0]) == ["a1", "b1", "c2"]


def test_a_token_that_keeps_expiring_is_an_error() -> None:
    passes = [[["a"], ["b"]]] * 5
    with fake_zoom(scripted(passes, {(p, 1) for p in range(5)})) as zoom, \
            pytest.raises(FatalAPIError) as caught:
        ids(zoom)
    assert caught.value.code == 300


def test_code_300_on_the_first_page_is_not_a_restart() -> None:
    def pages(request: httpx.Request) -> dict[str, Any]:
        return {"_status": 400, "code": 300, "message": "Invalid parameter: from."}

    with fake_zoom(pages) as zoom, pytest.raises(FatalAPIError, match="from"):
        ids(zoom)
    assert zoom.stats()["LIGHT"].restarts == 0


def test_a_repeated_token_is_refused() -> None:
    def pages(request: httpx.Request) -> dict[str, Any]:
        return {"items": [{"id": "a"}], "next_page_token": "same"}

    with fake_zoom(pages) as zoom, pytest.raises(InvalidAnswerError,
                                                 match="had sent before") as caught:
        ids(zoom)
    assert caught.value.request == "GET /items?page_size=2&next_page_token=same"


def test_pages_without_records_that_never_end_are_refused() -> None:
    """An API mock answered 2,387 empty pages in two minutes, each with a new token."""
    asked: list[str] = []

    def pages(request: httpx.Request) -> dict[str, Any]:
        asked.append(request.url.params.get("next_page_token", ""))
        return {"items": [], "next_page_token": f"t{len(asked)}"}

    with fake_zoom(pages) as zoom, pytest.raises(InvalidAnswerError, match="5 pages in a row"):
        ids(zoom)
    assert len(asked) == 5


def test_paging_far_past_total_records_is_refused() -> None:
    asked: list[str] = []

    def pages(request: httpx.Request) -> dict[str, Any]:
        asked.append(request.url.params.get("next_page_token", ""))
        return {"total_records": 3, "page_size": 2, "items": [{"id": f"r{len(asked)}"}],
                "next_page_token": f"t{len(asked)}"}

    with fake_zoom(pages) as zoom, pytest.raises(InvalidAnswerError,
                                                 match="after 4 pages of a list of 3"):
        ids(zoom)
    assert len(asked) == 4  # 2 pages hold 3 records; 2 more are allowed for a growing list


def test_a_list_growing_while_read_is_followed() -> None:
    # total_records rises as users are added mid-read: the later, larger count counts.
    def pages(request: httpx.Request) -> dict[str, Any]:
        n = int(request.url.params.get("next_page_token") or 0)
        return {"total_records": 2 + n, "page_size": 1, "items": [{"id": f"r{n}"}],
                "next_page_token": str(n + 1) if n < 6 else ""}

    with fake_zoom(pages) as zoom:
        assert ids(zoom) == [f"r{n}" for n in range(7)]


@pytest.mark.parametrize("items", ["a", [{"id": 1}, "user@example.com"]])
def test_a_list_that_is_not_a_list_of_objects_is_refused(items: Any) -> None:
    def pages(request: httpx.Request) -> dict[str, Any]:
        return {"items": items}

    with fake_zoom(pages) as zoom, pytest.raises(InvalidAnswerError, match="'items'"):
        ids(zoom)


def test_missing_list_key_is_not_silently_empty() -> None:
    def pages(request: httpx.Request) -> dict[str, Any]:
        return {"total_records": 3, "other": [], "next_page_token": ""}

    with fake_zoom(pages) as zoom, pytest.raises(InvalidAnswerError,
                                                 match="no 'items' list in a page of 3"):
        ids(zoom)


@pytest.mark.parametrize("with_page_count", [True, False])
def test_page_numbers_follow_the_size_zoom_used(with_page_count: bool) -> None:
    # We ask for 5 a page; this Zoom clamps to 2 and may leave out page_count.
    data = ["a", "b", "c", "d", "e"]

    def pages(request: httpx.Request) -> dict[str, Any]:
        n = int(request.url.params["page_number"])
        body: dict[str, Any] = {"page_size": 2, "items": [{"id": x} for x in
                                                        data[(n - 1) * 2:n * 2]]}
        if with_page_count:
            body["page_count"] = 3
        return body

    with fake_zoom(pages) as zoom:
        got = [r["id"] for r in zoom.paginate("/items", label="LIGHT", list_key="items",
                                              page_size=5, paging="page_number")]
    assert got == data


def test_page_number_ignored_by_zoom_is_refused() -> None:
    def pages(request: httpx.Request) -> dict[str, Any]:
        return {"page_size": 1, "items": [{"id": "a"}]}

    with fake_zoom(pages) as zoom, pytest.raises(InvalidAnswerError,
                                                 match="page 2 equal to page 1"):
        list(zoom.paginate("/items", label="LIGHT", list_key="items", page_size=1,
                           paging="page_number"))


def test_restart_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="zoomsync.zoom")
    passes = [[["a"], ["b"]], [["a"], ["b"]]]
    with fake_zoom(scripted(passes, {(0, 1)})) as zoom:
        ids(zoom)
    assert sum("expired" in r.getMessage() for r in caplog.records) == 1
