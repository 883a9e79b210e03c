"""Opt-in: against a real Zoom account, when ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and
ZOOM_CLIENT_SECRET are set. Read-only: it lists users and syncs two small streams."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from zoomsync.config import Settings
from zoomsync.sync.runner import run

CREDENTIALS = ("ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET")
pytestmark = [
    pytest.mark.zoom_live,
    pytest.mark.skipif(not all(os.environ.get(k) for k in CREDENTIALS),
                       reason="set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET to run"),
]


def test_users_and_groups_sync_from_the_real_account(tmp_path: Path) -> None:
    settings = Settings(duckdb_path=tmp_path / "live.duckdb", pipelines_dir=tmp_path / "p",
                        budget=0.2)
    report = run(settings, streams=["users", "groups"])
    assert report.ok, report.reasons()
    with duckdb.connect(str(tmp_path / "live.duckdb"), read_only=True) as db:
        users = db.execute("select count(*), count(distinct id) from zoom.users").fetchone()
    assert users[0] == users[1] > 0
