"""Every emulated endpoint, every page and every trap, checked against Zoom's official spec."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from tests.emulator.crawl import crawl
from tests.spec_validator import SpecValidator, spec_dir
from zoomsync.emulator.endpoints import ENDPOINTS
from zoomsync.emulator.routing import ROUTES

pytestmark = pytest.mark.skipif(not spec_dir().is_dir(), reason=f"no Zoom specs at {spec_dir()}")


def test_every_spec_endpoint_has_a_route() -> None:
    assert set(ENDPOINTS) == set(ROUTES)


def test_all_responses_match_the_spec(emulator, api) -> None:
    validator = SpecValidator()
    failures: dict[str, list[str]] = defaultdict(list)
    ok: Counter[str] = Counter()
    statuses: Counter[tuple[str, int]] = Counter()
    for call in crawl(emulator.emulator, api):
        statuses[(call.template, call.status)] += 1
        if call.status >= 500 or call.status == 429:
            failures[call.template].append(f"{call.url}: HTTP {call.status} {call.body}")
            continue
        try:
            validator.validate("GET", call.template, call.status, call.body)
        except AssertionError as exc:
            failures[call.template].append(f"{call.url} ({call.status}): {exc}")
        if call.status == 200:
            ok[call.template] += 1
    report = "\n".join(f"{t}: {len(f)} failures, e.g.\n  {f[0]}" for t, f in failures.items())
    assert not failures, report
    never = sorted(t for t in ROUTES if ok[t] == 0)
    assert not never, f"endpoints never answered 200 in the walk: {never}"
    # The traps were reached, not just the happy paths.
    assert statuses[("/past_meetings/{meetingId}", 404)] >= 1  # the live meeting
    assert statuses[("/report/meetings/{meetingId}/participants", 200)] >= 100
