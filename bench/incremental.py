"""What does staying current cost? API calls of a full sync, of a rerun with nothing
changed, and of a rerun after 1% of the meetings changed or ended.

The emulator (clock frozen, limits out of the way) serves a benchmark account; three runs
of `zoomsync.sync.runner.run` load one DuckDB file in a temporary directory. Between the
second and third run, 1% of the meeting definitions (at least one) get a new topic and
as many meetings end (a new instance each, with participants). Prints one table: calls
and rows loaded per run, the calls as a share of the full sync, and whether the rows
loaded equal exactly the rows that changed (compared table by table with the previous
run's copy). Targets: nothing changed <= 5% of the full sync's calls; changed rows only.

`--limits plan` serves and paces at the plan's real limits instead (the emulator's clock
then runs: its rate buckets refill on it), e.g. the no-change rerun at Pro limits that
bench/endtoend.py compares between two trees; `--json` prints the figures as JSON only.

    .venv/bin/python -m bench.incremental
    .venv/bin/python -m bench.incremental --users 40 --meetings-per-user 3
    .venv/bin/python -m bench.incremental --limits plan --plan pro --latency-ms 50 --json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
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
from zoomsync.emulator.limits import PLAN_LIMITS
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.routes_meetings import expired
from zoomsync.emulator.server import RunningEmulator
from zoomsync.sync.runner import run
from zoomsync.zoom import Pacer, ZoomClient, ZoomCredentials

TARGET_UNCHANGED = 0.05
FAST: dict[str, float] = {"LIGHT": 100_000, "MEDIUM": 100_000, "HEAVY": 100_000,
                           "RESOURCE_INTENSIVE": 100_000}


def sync(emu: RunningEmulator, settings: Settings,
         limits: dict[str, float] | None = FAST) -> tuple[int, dict[str, int], float, float]:
    """One run: its API calls, rows loaded per table, the run's own duration (extract to
    load, `RunReport.duration`) and the wall time of the `run()` call around it. The client
    paces at the settings' plan and budget, with `limits` overriding the plan's table."""
    transport = Counting()
    client = ZoomClient(ZoomCredentials(CREDS.account_id, CREDS.client_id, CREDS.client_secret),
                        api_url=emu.api_url, oauth_url=emu.oauth_url, transport=transport,
                        pacer=Pacer(plan=settings.plan, budget=settings.budget, limits=limits))
    with client:
        started = time.perf_counter()
        report = run(settings, client=client, now=emu.emulator.clock.now())
        wall = time.perf_counter() - started
    if not report.ok:
        raise SystemExit("the sync was partial: " + "; ".join(report.reasons()))
    return sum(transport.calls.values()), dict(report.rows), report.duration, wall


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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--meetings-per-user", type=int, default=2)
    parser.add_argument("--participants-mean", type=int, default=8)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--limits", choices=("fast", "plan"), default="fast",
                        help="fast (default): rate limits out of the way, the emulator's clock "
                             "frozen; plan: the plan's real limits, the clock running")
    parser.add_argument("--plan", choices=sorted(PLAN_LIMITS), default="business",
                        help="the emulator's and the client's plan (default business)")
    parser.add_argument("--latency-ms", type=int, default=0,
                        help="latency the emulator adds to each API response (default 0)")
    parser.add_argument("--budget", type=float, default=1.0,
                        help="share of the limits the client paces at (default 1.0)")
    parser.add_argument("--reruns", type=int, default=1,
                        help="no-change reruns in a row, 5 minutes apart on the emulator's "
                             "clock (default 1): one run's wall time varies")
    parser.add_argument("--skip-changed", action="store_true",
                        help="stop after the no-change reruns (no rerun after changes)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = parser.parse_args(argv)
    if not 0 < args.budget <= 1:
        parser.error("--budget is a share of the limits in (0, 1]")
    if args.reruns < 1:
        parser.error("--reruns must be at least 1")
    return args


def bench(args: argparse.Namespace) -> dict[str, Any]:
    """The runs against one emulator, into one DuckDB file; their figures."""
    anchor = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    fast = args.limits == "fast"
    # A frozen clock gives every run the very same data, but the emulator's rate buckets
    # refill on its clock: at the plan's limits it has to run.
    config = EmulatorConfig(dataset=DatasetConfig(
        seed=args.seed, anchor=anchor, users=args.users, meetings_per_user=args.meetings_per_user,
        participants_mean=args.participants_mean), plan=args.plan,
        limits=FAST if fast else None, daily_cap=10**9 if fast else None,
        latency_ms=args.latency_ms, frozen_clock=fast)
    limits = FAST if fast else None
    runs: list[dict[str, Any]] = []

    def record(label: str, result: tuple[int, dict[str, int], float, float],
               expected: int | None) -> None:
        calls, loaded, duration, wall = result
        root, children = _loaded(loaded)
        runs.append({"run": label, "calls": calls, "duration_s": duration, "wall_s": wall,
                     "rows_root": root, "rows_child": children, "rows": loaded,
                     "changed_rows": expected})

    with tempfile.TemporaryDirectory() as tmp, RunningEmulator(config) as emu:
        db = Path(tmp) / "w.duckdb"
        settings = Settings(account_id=CREDS.account_id, client_id=CREDS.client_id,
                            client_secret=CREDS.client_secret, api_url=emu.api_url,
                            oauth_url=emu.oauth_url, duckdb_path=db,
                            pipelines_dir=Path(tmp) / "pipelines", plan=args.plan,
                            budget=args.budget)
        record("full sync", sync(emu, settings, limits), None)
        unchanged = snapshot(db)
        for k in range(args.reruns):
            with httpx.Client(base_url=emu.base_url + "/_emulator") as admin:
                admin.post("/clock", json={"advance_seconds": 300})
            same = sync(emu, settings, limits)
            before, unchanged = unchanged, snapshot(db)
            record("rerun, nothing changed" + (f" ({k + 1})" if k else ""), same,
                   changed_rows(before, unchanged))
        if not args.skip_changed:
            n = change(emu, 0.01)
            changed = sync(emu, settings, limits)
            record(f"rerun, {n} changed + {n} ended", changed,
                   changed_rows(unchanged, snapshot(db)))
    return {"dataset": {"users": args.users, "meetings_per_user": args.meetings_per_user,
                        "participants_mean": args.participants_mean, "seed": args.seed},
            "limits": args.limits, "plan": args.plan, "latency_ms": args.latency_ms,
            "budget": args.budget, "runs": runs,
            "unchanged_calls_share": runs[1]["calls"] / runs[0]["calls"]}


def render(result: dict[str, Any]) -> str:
    full, *reruns = result["runs"]
    rows = [(full["run"], str(full["calls"]), "100%", f"{full['duration_s']:.2f}", "100%",
             str(full["rows_root"]), str(full["rows_child"]), "")]
    for r in reruns:
        ratio = r["calls"] / full["calls"]
        extra = (f"calls <= {TARGET_UNCHANGED:.0%}: "
                 f"{'PASS' if ratio <= TARGET_UNCHANGED else 'FAIL'}; "
                 if r["run"].startswith("rerun, nothing changed") else "")
        expected = r["changed_rows"]
        rows.append((r["run"], str(r["calls"]), f"{ratio:.1%}", f"{r['duration_s']:.2f}",
                     f"{r['duration_s'] / full['duration_s']:.0%}", str(r["rows_root"]),
                     str(r["rows_child"]), f"{extra}root rows = {expected} changed: "
                     f"{'PASS' if r['rows_root'] == expected else 'FAIL'}"))
    # Wall time with the rate limits out of the way: what zoomsync itself costs a rerun
    # (discovery, state, dlt's steps); at a plan's real limits the calls dominate.
    head = ("" if result["limits"] == "fast" else
            f"{result['plan']} limits, {result['latency_ms']} ms latency, budget "
            f"{result['budget']:.0%}\n")
    return head + render_table(["run", "API calls", "of full", "wall s", "of full",
                                "rows loaded", "child rows", "target"], rows)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = bench(args)
    print(json.dumps(result, indent=2) if args.json else render(result))


def _loaded(rows: dict[str, int]) -> tuple[int, int]:
    """Rows loaded into stream tables, and into their child tables (`a__b`)."""
    root = sum(n for t, n in rows.items() if "__" not in t)
    return root, sum(rows.values()) - root


if __name__ == "__main__":
    main()
