"""Incremental runs against the emulator's clock and admin API: after every run the live
rows equal the ground truth, vanished rows carry `_zoomsync_deleted_at`, and a rerun makes
only the calls its changes need."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from tests.conftest import UNLIMITED
from tests.sync.compare import PAIRS, comparable, differences, truth_rows
from zoomsync.config import Settings
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.counting import Counting
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.routes_meetings import expired
from zoomsync.emulator.server import RunningEmulator
from zoomsync.sync.deletes import DELETED_AT
from zoomsync.sync.report import RunReport
from zoomsync.sync.runner import run
from zoomsync.sync.state import bookmarks
from zoomsync.zoom import Pacer, ZoomClient, ZoomCredentials

# A day before the real clock, so the emulator can move forward without passing it; at a
# fixed hour, so the runs do not depend on when the suite runs: how many instances ended
# inside the look-back (their children are read again) varies with the anchor's hour —
# 70, 74, 78 calls for a nothing-changed rerun at 00, 06, 18 h (4.6-5.2% of this small
# account's full sync; bench/incremental.py measures the ratio on the benchmark account).
ANCHOR = (datetime.now(UTC) - timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
FAST = {label: 2000 for label in UNLIMITED}


@dataclass
class Account:
    emu: RunningEmulator
    settings: Settings
    admin: httpx.Client
    runs: list[tuple[RunReport, collections.Counter[str]]] = field(default_factory=list)
    snapshots: list[dict[str, list[dict[str, Any]]]] = field(default_factory=list)

    def now(self) -> datetime:
        return self.emu.emulator.clock.now()

    def sync(self) -> tuple[RunReport, collections.Counter[str]]:
        transport = Counting()
        client = ZoomClient(ZoomCredentials(CREDS.account_id, CREDS.client_id,
                                            CREDS.client_secret),
                            api_url=self.emu.api_url, oauth_url=self.emu.oauth_url,
                            pacer=Pacer(plan="business", budget=1.0, limits=FAST),
                            transport=transport)
        with client:
            report = run(self.settings, client=client, now=self.now())
        assert report.ok, report.reasons()
        self.runs.append((report, transport.calls))
        self.snapshots.append(self.tables())
        return report, transport.calls

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        r = self.admin.post(path, json=body or {})
        assert r.status_code < 300, r.text
        return r.json()

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        r = self.admin.patch(path, json=body)
        assert r.status_code < 300, r.text
        return r.json()

    def delete(self, path: str) -> None:
        r = self.admin.delete(path)
        assert r.status_code < 300, r.text

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        with duckdb.connect(str(self.settings.duckdb_path), read_only=True) as db:
            out = {}
            for table in PAIRS:
                cursor = db.execute(f'select * from zoom."{table}"')
                names = [c[0] for c in cursor.description]
                out[table] = comparable(dict(zip(names, r, strict=True))
                                        for r in cursor.fetchall())
            return out


def live(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != DELETED_AT} for r in rows
            if r.get(DELETED_AT) is None]


def marked(rows: list[dict[str, Any]], key: tuple[str, ...]) -> set[tuple[Any, ...]]:
    return {tuple(r[k] for k in key) for r in rows if r.get(DELETED_AT) is not None}


def assert_equals_truth(account: Account) -> dict[str, list[dict[str, Any]]]:
    tables = account.tables()
    for table, (truth_table, key) in PAIRS.items():
        expected = truth_rows(account.emu.emulator, truth_table, key)
        if table == "past_webinars":  # Zoom's webinar report leaves out one-person ones
            expected = [r for r in expected if r["participant_segments"] >= 2]
        assert differences(expected, live(tables[table]), key) == [], table
    return tables


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    tmp: Path = tmp_path_factory.mktemp("incremental")
    config = EmulatorConfig(dataset=DatasetConfig(anchor=ANCHOR), plan="business",
                            limits=UNLIMITED, daily_cap=10_000_000, frozen_clock=True)
    with RunningEmulator(config) as emu, httpx.Client(base_url=emu.base_url + "/_emulator",
                                                        timeout=30) as admin:
        settings = Settings(account_id=CREDS.account_id, client_id=CREDS.client_id,
                            client_secret=CREDS.client_secret, api_url=emu.api_url,
                            oauth_url=emu.oauth_url, duckdb_path=tmp / "w.duckdb",
                            pipelines_dir=tmp / "pipelines", plan="business", budget=1.0)
        yield Account(emu, settings, admin)


@dataclass
class Changes:
    deleted_user: str
    deleted_meetings: set[int]
    deleted_webinars: set[int]
    updated_meeting: int
    ended_uuid: str
    late_uuid: str


@pytest.fixture(scope="module")
def changed(account: Account) -> Changes:
    """A first (full) run, then changes to every kind of object, then a second run."""
    account.sync()
    ds = account.emu.emulator.dataset
    now = account.now()
    # An instance that ended inside the look-back: its participants arrive late.
    recent = max((i for i in ds.ended_instances(now) if i.kind == "meeting"),
                 key=lambda i: i.end)
    assert now - recent.end < timedelta(days=3)
    account.post(f"/instances/{recent.uuid}/participants",
                 {"participants": [{"name": "Late Larry", "email": "larry@example.org"}]})
    hosts = [u for u in ds.live_users() if u.status == "active"
             and u.record.get("role_id") != "0"]
    doomed = next(u for u in hosts if any(d.host_id == u.id and not d.deleted
                                          for d in ds.definitions.values()))
    gone_meetings = {d.id for d in ds.definitions.values()
                     if d.host_id == doomed.id and not d.deleted and d.kind == "meeting"}
    gone_webinars = {d.id for d in ds.definitions.values()
                     if d.host_id == doomed.id and not d.deleted and d.kind == "webinar"}
    account.delete(f"/users/{doomed.id}")
    keep = [u for u in hosts if u.id != doomed.id]
    account.patch(f"/users/{keep[0].id}", {"dept": "Moved Department"})
    account.patch(f"/users/{keep[1].id}", {"status": "inactive"})
    account.post("/users", {"email": "newcomer@example.com", "first_name": "New"})
    mine = [d for d in ds.definitions.values() if d.host_id == keep[2].id and not d.deleted
            and d.kind == "meeting" and d.type in (2, 3, 8)]
    account.patch(f"/meetings/{mine[0].id}", {"topic": "A changed topic"})
    created = account.post("/meetings", {"host_id": keep[2].id, "topic": "Brand new",
                                         "type": 2, "registration": True,
                                         "start_time": (now + timedelta(days=2)).strftime(
                                             "%Y-%m-%dT%H:%M:%SZ")})
    # A meeting still in its host's list: one that expired is seen gone by the next full
    # compare (or at once by the meeting.deleted webhook).
    victim = next(d for d in ds.definitions.values() if d.kind == "meeting" and not d.deleted
                  and d.type in (2, 8) and d.id != mine[0].id and d.host_id != doomed.id
                  and not expired(d, now) and not any(i.live(now) for i in ds.instances_of(d.id)))
    account.delete(f"/meetings/{victim.id}")
    account.post("/clock", {"advance_seconds": 3600})
    ended = account.post(f"/meetings/{created['id']}/end",
                         {"duration": 30, "people": 4, "recording": True})
    account.post("/clock", {"advance_seconds": 600})
    account.sync()
    return Changes(doomed.id, gone_meetings | {victim.id}, gone_webinars, mine[0].id,
                   ended["uuid"], recent.uuid)


def test_first_run_equals_the_truth_and_sets_every_bookmark(account: Account,
                                                            changed: Changes) -> None:
    first, calls = account.runs[0]
    assert sum(first.rows.values()) > 1000 and calls["/past_meetings/{meetingId}"] > 100
    states = bookmarks(account.settings)
    assert {"users", "meetings", "meeting_participants", "recordings"} <= states.keys()
    assert all(s.bookmark is not None for s in states.values())
    assert states["users"].rows_tracked == len(truth_rows(account.emu.emulator, "users", ()))


def test_second_run_equals_the_truth_with_deletes_marked(account: Account,
                                                         changed: Changes) -> None:
    tables = assert_equals_truth(account)
    assert marked(tables["users"], ("id",)) == {(changed.deleted_user,)}
    # Every deleted definition the warehouse held is marked (an instant meeting that had
    # ended was never held: Zoom forgets those).
    for table, gone in (("meetings", changed.deleted_meetings),
                        ("webinars", changed.deleted_webinars)):
        held = {(r["id"],) for r in tables[table] if r["id"] in gone}
        assert held and marked(tables[table], ("id",)) == held, table
    # A deleted meeting's registrants go with it, as Zoom's lists no longer show them.
    reg = [r for r in tables["meeting_registrants"] if r["meeting_id"] in changed.deleted_meetings]
    assert reg and all(r[DELETED_AT] is not None for r in reg)
    late = [r for r in tables["meeting_participants"]
            if r["meeting_uuid"] == changed.late_uuid and r["name"] == "Late Larry"]
    assert len(late) == 1
    assert any(r["uuid"] == changed.ended_uuid for r in tables["recordings"])
    report = account.runs[1][0]
    assert report.deleted["users"] == 1
    assert report.deleted["meetings"] == len(marked(tables["meetings"], ("id",)))


def test_second_run_loads_only_changes_and_calls_little(account: Account,
                                                        changed: Changes) -> None:
    (_, full_calls), (second, calls) = account.runs[0], account.runs[1]
    assert sum(calls.values()) < 0.1 * sum(full_calls.values())
    # Settings only for users whose list row changed: renamed, deactivated, new.
    assert calls["/users/{userId}/settings"] == 3
    # Children only for instances that ended inside the look-back, not the whole history.
    assert 2 <= calls["/past_meetings/{meetingId}/participants"] < 10
    assert calls["/past_meetings/{meetingId}/instances"] == 0
    # Rows loaded = exactly the rows that are new or differ from the first run's.
    before, after = account.snapshots[0], account.snapshots[1]
    for table, (_, key) in PAIRS.items():
        old = {tuple(r[k] for k in key): r for r in live(before[table])}
        new = [r for r in live(after[table]) if old.get(tuple(r[k] for k in key)) != r]
        assert second.rows.get(table, 0) == len(new), table
    assert second.rows["meeting_participants"] >= 1 + 4  # Late Larry, the new instance's 4
    assert second.rows["users"] == 3  # moved, deactivated, new


def test_rerun_with_nothing_changed_loads_nothing(account: Account, changed: Changes) -> None:
    account.post("/clock", {"advance_seconds": 300})
    report, calls = account.sync()
    assert sum(report.rows.values()) == 0, report.rows
    assert calls["/users/{userId}/settings"] == 0 and calls["/meetings/{meetingId}/polls"] == 0
    assert sum(calls.values()) < 0.05 * sum(account.runs[0][1].values())
    assert_equals_truth(account)


def test_state_is_stored_packed_and_an_old_plain_state_still_works(account: Account,
                                                                  changed: Changes) -> None:
    import json

    from zoomsync.destinations import resolve
    from zoomsync.sync.runner import pipeline_for
    from zoomsync.sync.state import unpack_hashes

    pipeline = pipeline_for(account.settings, resolve(account.settings))

    def docs(state: Any) -> dict[str, dict[str, Any]]:
        return state["sources"]["zoom"]["resources"]

    packed = {n: d for n, d in docs(pipeline.state).items() if "hashes_packed" in d}
    assert {"users", "meetings", "meeting_participants"} <= packed.keys()
    assert not any("hashes" in d for d in docs(pipeline.state).values())
    plain = {n: unpack_hashes(d["hashes_packed"]) for n, d in packed.items()}
    assert all(d["rows_tracked"] == sum(map(len, plain[n].values())) for n, d in packed.items())
    # This account is small (240 rows: 52% in all); measured 32% for its participants
    # (45 rows), 30% for bench.load's 400 users (250k rows), 12% in test_packed_state.py.
    assert (len(json.dumps(packed["meeting_participants"]["hashes_packed"]))
            < 0.4 * len(json.dumps(plain["meeting_participants"])))
    with pipeline.managed_state() as state:  # rewritten as zoomsync stored it before
        for name, doc in docs(state).items():
            if name in plain:
                del doc["hashes_packed"], doc["rows_tracked"]
                doc["hashes"] = plain[name]
    assert all("hashes" in docs(pipeline.state)[name] for name in plain)
    account.post("/clock", {"advance_seconds": 300})
    report, _ = account.sync()
    assert sum(report.rows.values()) == 0, report.rows  # the old hashes were read
    after = docs(pipeline.state)
    assert not any("hashes" in d for d in after.values())
    for name, hashes in plain.items():  # stored packed again; only rows left the look-back
        again = unpack_hashes(after[name]["hashes_packed"])
        assert all(hashes[s].items() >= rows.items() for s, rows in again.items()), name
    assert_equals_truth(account)


def test_state_show_and_reset_then_a_full_read(account: Account, changed: Changes,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from zoomsync.cli import app

    monkeypatch.setenv("ZOOMSYNC_DUCKDB_PATH", str(account.settings.duckdb_path))
    monkeypatch.setenv("ZOOMSYNC_PIPELINES_DIR", str(account.settings.pipelines_dir))
    shown = CliRunner().invoke(app, ["state", "show", "--stream", "users"])
    assert shown.exit_code == 0, shown.output
    users = len(live(account.snapshots[-1]["users"]))
    assert "users" in shown.output and f" {users} " in shown.output
    assert "meetings" not in shown.output
    asked = CliRunner().invoke(app, ["state", "reset", "--stream", "users"], input="n\n")
    assert asked.exit_code != 0 and bookmarks(account.settings)["users"].bookmark is not None
    done = CliRunner().invoke(app, ["state", "reset", "--stream", "users", "--yes"])
    assert done.exit_code == 0 and "reset users" in done.output, done.output
    assert "users" not in bookmarks(account.settings)
    report, calls = account.sync()
    assert calls["/users/{userId}"] == users  # every profile read again
    assert report.rows["users"] == users and report.rows.get("meetings", 0) == 0
    assert_equals_truth(account)


def test_full_refresh_reads_a_stream_again_and_loads_every_row(
        account: Account, changed: Changes, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from zoomsync.cli import app

    s = account.settings
    for name, value in {"ZOOM_ACCOUNT_ID": CREDS.account_id, "ZOOM_CLIENT_ID": CREDS.client_id,
                        "ZOOM_CLIENT_SECRET": CREDS.client_secret, "ZOOM_API_URL": s.api_url,
                        "ZOOM_OAUTH_URL": s.oauth_url, "ZOOMSYNC_PLAN": "business",
                        "ZOOMSYNC_DUCKDB_PATH": str(s.duckdb_path),
                        "ZOOMSYNC_PIPELINES_DIR": str(s.pipelines_dir)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(s.pipelines_dir)
    before = bookmarks(s)["meetings"].bookmark
    result = CliRunner().invoke(app, ["run", "--streams", "meetings,users", "--full-refresh",
                                      "meetings", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{"):])
    held = len(live(account.snapshots[-1]["meetings"]))
    assert report["rows"]["meetings"] == held  # every meeting again, unchanged or not
    assert report["rows"].get("users", 0) == 0  # the other stream stayed incremental
    assert bookmarks(s)["meetings"].bookmark != before
    assert_equals_truth(account)
