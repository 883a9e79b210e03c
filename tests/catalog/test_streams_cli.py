"""`zoomsync streams` as a user runs it: a real process, its real output."""

from __future__ import annotations

import json
import subprocess
import sys

from zoomsync.catalog import CATALOG


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zoomsync", *args], capture_output=True,
                          text=True, timeout=60)


def test_streams_table_lists_every_stream_on_its_own_line() -> None:
    r = run_cli("streams")
    assert r.returncode == 0, r.stderr
    rows = {line.split("│")[1].strip(): line for line in r.stdout.splitlines()
            if line.startswith("│")}
    assert sorted(rows) == sorted(CATALOG)
    participants = rows["meeting_participants"]
    for cell in ("GET /past_meetings/{meetingId}/participants",
                 "meeting_uuid, user_id, join_time", "meeting_instances", "MEDIUM", "default"):
        assert cell in participants
    dashboard = rows["dashboard_meetings"]
    assert "RESOURCE_INTENSIVE" in dashboard and "business" in dashboard
    assert "opt-in" in dashboard


def test_streams_json_is_the_whole_catalog() -> None:
    r = run_cli("streams", "--json")
    assert r.returncode == 0, r.stderr
    entries = json.loads(r.stdout)
    assert len(entries) == 26
    assert [e["name"] for e in entries] == list(CATALOG)
    users = entries[0]
    assert users == {
        "name": "users", "path": "/users", "label": "MEDIUM", "primary_key": ["id"],
        "partition": "account", "parent_key": None, "list_key": "users",
        "sync": "reconciled", "plan": "pro",
        "default": True, "scopes": ["user:read:admin"],
        "granular_scopes": ["user:read:list_users:admin"],
        "description": CATALOG["users"].description,
    }
    opt_in = {e["name"] for e in entries if not e["default"]}
    assert opt_in == {"dashboard_meetings", "dashboard_meeting_participants"}


def test_streams_help_has_an_example() -> None:
    r = run_cli("streams", "--help")
    assert r.returncode == 0
    assert "Example: zoomsync streams --json" in r.stdout
