"""The pieces of incremental state: windows and look-back, row hashes, vanished rows, policy."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from zoomsync.catalog import CATALOG
from zoomsync.config import Settings
from zoomsync.errors import ConfigError
from zoomsync.sync import windows
from zoomsync.sync.incremental import Policy
from zoomsync.sync.state import Tracker, key_of


def test_since_is_the_bookmark_minus_the_look_back() -> None:
    assert windows.since(None, 3) is None
    assert windows.since(datetime(2026, 3, 2, 0, 30, tzinfo=UTC), 3) == date(2026, 2, 27)


def test_windows_cover_every_day_once_at_most_a_month_each() -> None:
    got = windows.windows(date(2026, 1, 1), date(2026, 3, 5))
    assert got == [("2026-01-01", "2026-01-30"), ("2026-01-31", "2026-03-01"),
                   ("2026-03-02", "2026-03-05")]
    assert windows.windows(date(2026, 3, 5), date(2026, 3, 5)) == [("2026-03-05", "2026-03-05")]
    assert windows.months(date(2026, 1, 31), date(2026, 3, 1)) == [(2026, 1), (2026, 2),
                                                                    (2026, 3)]


def test_tracker_loads_new_and_changed_rows_and_reports_vanished_ones() -> None:
    doc: dict = {}
    t = Tracker(doc)
    rows = [{"id": 1, "topic": "a"}, {"id": 2, "topic": "b"}]
    assert [t.changed("*", key_of(r, ("id",)), r) for r in rows] == [True, True]
    again = Tracker(doc)  # the next run reads the same document
    assert again.changed("*", "[1]", {"id": 1, "topic": "a"}) is False
    assert again.changed("*", "[3]", {"id": 3, "topic": "c"}) is True
    assert again.vanished("*") == ["[2]"]
    assert again.rows_tracked == 2
    again.add_pending(["[2]"], datetime(2026, 1, 1, tzinfo=UTC))
    assert again.pending() == [(datetime(2026, 1, 1, tzinfo=UTC), [[2]])]
    again.clear_pending()
    assert again.pending() == []


def test_keep_seen_forgets_rows_outside_the_look_back() -> None:
    t = Tracker({"hashes": {"u1": {"[1]": "x"}, "u2": {"[2]": "y", "[3]": "z"}}})
    t.changed("u2", "[2]", {"id": 2})
    t.keep_seen()
    assert t.doc["hashes"] == {"u2": {"[2]": t.hashes("u2")["[2]"]}}


def test_bookmarks_round_trip_as_iso_strings() -> None:
    t = Tracker({})
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    t.bookmark = now
    t.reconciled_at = now
    assert t.doc == {"bookmark": now.isoformat(), "reconciled_at": now.isoformat()}
    assert Tracker(t.doc).bookmark == now


def test_policy_settings_override_the_catalog_which_overrides_the_default() -> None:
    settings = Settings(lookback_days=5, stream_lookback_days={"meeting_qa": 9},
                        stream_reconcile_hours={"users": 1})
    policy = Policy.from_settings(settings)
    assert policy.lookback_days_for("meeting_participants") == 5
    assert policy.lookback_days_for("meeting_qa") == 9
    assert policy.lookback_days_for("recordings") == CATALOG["recordings"].lookback_days == 29
    assert policy.reconcile_hours_for("users") == 1
    assert policy.reconcile_hours_for("meetings") == 24


def test_each_stream_declares_how_it_stays_current() -> None:
    modes = {s.name: s.mode for s in CATALOG.values()}
    assert modes["users"] == modes["meeting_registrants"] == "reconciled"
    assert modes["meeting_participants"] == modes["past_webinars"] == "children"
    assert modes["recordings"] == modes["daily_usage"] == "windowed"


def test_a_negative_look_back_is_one_clear_line() -> None:
    from zoomsync.config import load_settings

    with pytest.raises(ConfigError, match="lookback_days"):
        load_settings(lookback_days=-1)
