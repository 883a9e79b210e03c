"""What does staying current cost? API calls of a full sync, of a rerun with nothing
changed, and of a rerun after 1% of the meetings changed or ended.

The emulator (clock frozen, limits out of the way) serves a benchmark account; three runs
of `zoomsync.sync.runner.run` load one DuckDB file in a temporary directory. Between the
second and third run, 1% of the meeting definitions (at least one) get a new topic and
as many meetings end (a new instance each, with participants). Prints one table: calls
and rows loaded per run, the calls as a share of the full sync, and whether the rows
loaded equal exactly the rows that changed (compared table by table with the previous
run's copy). Targets: nothing changed <= 5% of the full sync's calls; changed rows only.

    .venv/bin/python -m bench.incremental
    .venv/bin/python -m bench.incremental --users 40 --meetings-per-user 3
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx

from bench._harness import render_table
from zoomsync.config import Settings
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.counting import Counting
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.routes_meetings import expired
from zoomsync.emulator.server import RunningEmulator
from zoomsync.sync.runner import run
from zoomsync.zoom import Pacer, ZoomClient, ZoomCredentials

TARGET_UNCHANGED = 0.05
FAST = {"LIGHT": 100_000, "MEDIUM": 100_000, "HEAVY": 100_000, "RESOURCE_INTENSIVE": 100_000}


def sync(emu: RunningEmulator, settings: Settings) -> tuple[int, dict[str, int], float]:
    """One run: its API calls, rows loaded per table, and wall time (extract to load)."""
    transport = Counting()
    client = ZoomClient(ZoomCredentials(CREDS.account_id, CREDS.client_id, CREDS.client_secret),
                        api_url=emu.api_url, oauth_url=emu.oauth_url, transport=transport,
                        pacer=Pacer(plan="business", budget=1.0, limits=FAST))
    with client:
        report = run(settings, client=client, now=emu.emulator.clock.now())
    if not report.ok:
        raise SystemExit("the sync was partial: " + "; ".join(report.reasons()))
    return sum(transport.calls.values()), dict(report.rows), report.duration


def snapshot(path: Path) -> dict[str, set[tuple[Any, ...]]]:
    """Every table's rows (without dlt's ids), to count the rows a run changed."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    with duckdb.connect(str(path), read_only=True) as db:
        tables = [t for (t,) in db.execute(
            "select table_name from information_schema.tables where table_schema = 'zoom' "
            "and table_name not like '_dlt%' and table_name not like '%\\_\\_%' escape '\\'"
        ).fetchall()]
        for table in tables:
            cursor = db.execute(f'select * from zoom."{table}"')
            keep = [i for i, c in enumerate(cursor.description) if not c[0].startswith("_")]
            out[table] = {tuple(str(r[i]) for i in keep) for r in cursor.fetchall()}
    return out


def changed_rows(before: dict[str, set[tuple[Any, ...]]],
                 after: dict[str, set[tuple[Any, ...]]]) -> int:
    return sum(len(rows - before.get(table, set())) for table, rows in after.items())


def change(emu: RunningEmulator, share: float) -> int:
    """Give `share` of the meetings a new topic and end as many; returns how many of each."""
    ds = emu.emulator.dataset
    now = emu.emulator.clock.now()
    listed = [d for d in ds.definitions.values() if d.kind == "meeting" and not d.deleted
              and d.type in (2, 3, 8) and not expired(d, now)
              and not any(i.live(now) for i in ds.instances_of(d.id))]
    n = max(1, round(len(listed) * share))
    with httpx.Client(base_url=emu.base_url + "/_emulator", timeout=30) as admin:
        for d in listed[:n]:
            admin.patch(f"/meetings/{d.id}", json={"topic": f"{d.topic} (changed)"})
        for d in listed[n:2 * n]:
            admin.post(f"/meetings/{d.id}/end", json={"duration": 20, "people": 5})
        admin.post("/clock", json={"advance_seconds": 600})
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--meetings-per-user", type=int, default=2)
    parser.add_argument("--participants-mean", type=int, default=8)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    anchor = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    config = EmulatorConfig(dataset=DatasetConfig(
        seed=args.seed, anchor=anchor, users=args.users, meetings_per_user=args.meetings_per_user,
        participants_mean=args.participants_mean), plan="business", limits=FAST,
        daily_cap=10**9, frozen_clock=True)
    with tempfile.TemporaryDirectory() as tmp, RunningEmulator(config) as emu:
        db = Path(tmp) / "w.duckdb"
        settings = Settings(account_id=CREDS.account_id, client_id=CREDS.client_id,
                            client_secret=CREDS.client_secret, api_url=emu.api_url,
                            oauth_url=emu.oauth_url, duckdb_path=db,
                            pipelines_dir=Path(tmp) / "pipelines", plan="business", budget=1.0)
        full_calls, full_rows, full_s = sync(emu, settings)
        before = snapshot(db)
        with httpx.Client(base_url=emu.base_url + "/_emulator") as admin:
            admin.post("/clock", json={"advance_seconds": 300})
        same_calls, same_rows, same_s = sync(emu, settings)
        unchanged = snapshot(db)
        n = change(emu, 0.01)
        after_calls, after_rows, after_s = sync(emu, settings)
        after = snapshot(db)
    ratio = same_calls / full_calls
    rows = [("full sync", str(full_calls), "100%", f"{full_s:.2f}", "100%",
             *_loaded(full_rows), "")]
    for label, calls, seconds, loaded, old, new, extra in (
            ("rerun, nothing changed", same_calls, same_s, same_rows, before, unchanged,
             f"calls <= {TARGET_UNCHANGED:.0%}: "
             f"{'PASS' if ratio <= TARGET_UNCHANGED else 'FAIL'}; "),
            (f"rerun, {n} changed + {n} ended", after_calls, after_s, after_rows, unchanged,
             after, "")):
        root, children = _loaded(loaded)
        expected = changed_rows(old, new)
        rows.append((label, str(calls), f"{calls / full_calls:.1%}", f"{seconds:.2f}",
                     f"{seconds / full_s:.0%}", root, children,
                     f"{extra}root rows = {expected} changed: "
                     f"{'PASS' if int(root) == expected else 'FAIL'}"))
    # Wall time with the rate limits out of the way: what zoomsync itself costs a rerun
    # (discovery, state, dlt's steps); at a plan's real limits the calls dominate.
    print(render_table(["run", "API calls", "of full", "wall s", "of full", "rows loaded",
                        "child rows", "target"], rows))


def _loaded(rows: dict[str, int]) -> tuple[str, str]:
    """Rows loaded into stream tables, and into their child tables (`a__b`)."""
    root = sum(n for t, n in rows.items() if "__" not in t)
    return str(root), str(sum(rows.values()) - root)


if __name__ == "__main__":
    main()
