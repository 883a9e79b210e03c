"""Is zoomsync's load step close to the warehouse's own bulk path?

The benchmark account, a mid-size company (400 users x 2 meetings, ~8 people per instance:
~250k rows in 48 tables), is extracted once from the emulator, fast (no rate limits:
extraction is not what this measures) and normalized once to Parquet. Rows/s is a
throughput: on bench/pacing.py's 20-user account (14k rows) the engine's whole load takes
0.1-0.3 s, less than dlt's fixed cost per load, so `--users 20` measures that fixed cost
(bench/README.md has both). Then, on the very same Parquet files:

- zoomsync's load step (dlt's load with zoomsync's destination: copied into staging, then
  merged, as dlt does) into a fresh DuckDB file and a fresh PostgreSQL schema;
- the engine's own bulk path from those files: DuckDB `CREATE TABLE ... AS SELECT * FROM
  read_parquet(...)` per table (the file opened and closed on the clock, as zoomsync's load
  does), and for PostgreSQL, which cannot read Parquet itself, each file read with pyarrow
  and sent by binary `COPY` through ADBC (`adbc_ingest`, which is
  `COPY ... FROM STDIN (FORMAT binary)`) per table, on one connection.

Each side loads `--repeat` times (default 3), alternately, each time into empty tables;
prints the medians' rows/s and ratio zoomsync / engine (target >= 0.5), and every run's
seconds. Never asserts. This ratio explains where a load's time goes; it does not decide
what the load path keeps: a change to it stays only if it moves a user's end-to-end time
(bench/endtoend.py) by at least 5% (issue 14).

From the repository root:

    .venv/bin/python -m bench.load                 # starts its own PostgreSQL if needed
    .venv/bin/python -m bench.load --users 20      # the small account: dlt's fixed cost
    .venv/bin/python -m bench.load --no-postgres   # DuckDB only
    .venv/bin/python -m bench.load --repeat 5      # five loads per side

PostgreSQL: ZOOMSYNC_TEST_POSTGRES_URL if set; otherwise the script runs itself again
under scripts/services.sh, which starts a throwaway server on 127.0.0.1 (and stops it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._harness import EmulatorProcess, add_account_args, render_table
from bench.pacing import DEFAULT_MEETINGS_PER_USER, DEFAULT_PARTICIPANTS_MEAN
from zoomsync.config import Settings
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS

TARGET_RATIO = 0.5  # zoomsync's load rows/s over the engine's bulk path: at least
DEFAULT_USERS = 400  # the benchmark account: a mid-size company (see the docstring)
POSTGRES_URL = "ZOOMSYNC_TEST_POSTGRES_URL"  # as tests/services.py names it
REPO = Path(__file__).resolve().parent.parent
NO_LIMITS = {"LIGHT": 100_000, "MEDIUM": 100_000, "HEAVY": 100_000,
             "RESOURCE_INTENSIVE": 100_000}
PIPELINE = "zoomsync_bench_load"
# As zoomsync.sync.runner sets it: dlt's anonymous telemetry is off in zoomsync's loads.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


@dataclass
class Measure:
    """Seconds of each repetition; the medians are compared (one run on a 2-core machine
    shared with the server varies by ±15%: threads, the server's own timing)."""

    destination: str
    rows: int
    tables: int
    zoomsync_runs: list[float]
    engine_runs: list[float]

    @property
    def zoomsync_s(self) -> float:
        return statistics.median(self.zoomsync_runs)

    @property
    def engine_s(self) -> float:
        return statistics.median(self.engine_runs)

    @property
    def ratio(self) -> float:
        return self.engine_s / self.zoomsync_s if self.zoomsync_s else float("nan")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.no_postgres and not os.environ.get(POSTGRES_URL):
        return _under_services(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="zoomsync-bench-load-") as tmp:
        results = bench(args, Path(tmp))
    if args.json:
        print(json.dumps([asdict(r) | {"zoomsync_s": r.zoomsync_s, "engine_s": r.engine_s,
                                       "ratio": r.ratio} for r in results], indent=2))
    else:
        print(render(results))
    return 0


def _under_services(argv: list[str]) -> int:
    """Run again with scripts/services.sh's PostgreSQL (stopped when the shell exits)."""
    print("ZOOMSYNC_TEST_POSTGRES_URL is not set: starting a throwaway PostgreSQL with "
          "scripts/services.sh", file=sys.stderr)
    script = 'source scripts/services.sh && "$0" -m bench.load "$@"'
    return subprocess.call(["bash", "-c", script, sys.executable, *argv], cwd=REPO)


def bench(args: argparse.Namespace, tmp: Path) -> list[Measure]:
    url = None if args.no_postgres else os.environ[POSTGRES_URL]
    extracted = extract(args, tmp / "extracted", url)
    results = [load_duckdb(extracted, tmp / "duckdb", args.repeat)]
    if not args.no_postgres:
        assert url is not None
        results.append(load_postgres(extracted, tmp / "postgres", url, args.repeat))
    return results


def extract(args: argparse.Namespace, where: Path, postgres_url: str | None) -> Path:
    """The benchmark account, extracted once by zoomsync's source; the pipelines dir.

    Extracted for PostgreSQL when it is measured: dlt fits the names to the destination
    at extract, and PostgreSQL's 63-character names suit DuckDB too, not the reverse.
    """
    import dlt

    from zoomsync.destinations import resolve
    from zoomsync.sync.source import zoom_source
    from zoomsync.zoom import Pacer, ZoomClient, ZoomCredentials

    dataset = DatasetConfig(seed=args.seed, anchor=datetime.now(UTC).replace(microsecond=0),
                            users=args.users, meetings_per_user=args.meetings_per_user,
                            participants_mean=args.participants_mean)
    config = EmulatorConfig(dataset=dataset, plan="business", limits=NO_LIMITS,
                            daily_cap=10_000_000)
    print(f"Extracting {args.users} users x {args.meetings_per_user} meetings "
          f"(participants mean {args.participants_mean}) from the emulator…",
          file=sys.stderr, flush=True)
    where.mkdir(parents=True)
    with EmulatorProcess(config) as emu:
        settings = Settings(_env_file=None, account_id=CREDS.account_id,  # type: ignore[call-arg]
                            client_id=CREDS.client_id, client_secret=CREDS.client_secret,
                            api_url=emu.api_url, oauth_url=emu.oauth_url, plan="business",
                            budget=1.0, duckdb_path=where / "unused.duckdb",
                            destination="postgres" if postgres_url else "duckdb",
                            postgres_url=postgres_url)
        target = resolve(settings)
        client = ZoomClient(ZoomCredentials(CREDS.account_id, CREDS.client_id,
                                            CREDS.client_secret),
                            api_url=emu.api_url, oauth_url=emu.oauth_url,
                            pacer=Pacer(plan="business", budget=1.0, limits=NO_LIMITS))
        with client:
            pipeline = dlt.pipeline(pipeline_name=PIPELINE, destination=target.destination,
                                    dataset_name="zoom", pipelines_dir=str(where))
            source = target.adapt(zoom_source(settings, client=client))
            pipeline.extract(source, loader_file_format=target.loader_file_format)
    return where


def _pipeline(extracted: Path, where: Path, target: Any) -> Any:
    """A pipeline for `target` holding a copy of the one extracted package, normalized."""
    pipeline = _copied(extracted, where / "pipelines", target)
    pipeline.normalize()  # Parquet for both: extract chose it (the same for both targets)
    return pipeline


def _copied(pipelines_dir: Path | str, where: Path, target: Any) -> Any:
    """A pipeline for `target` on a copy of `pipelines_dir` at `where` (for a normalized
    pipeline's: the same package, not loaded yet)."""
    import dlt

    shutil.copytree(pipelines_dir, where)
    return dlt.pipeline(pipeline_name=PIPELINE, destination=target.destination,
                        dataset_name="zoom", pipelines_dir=str(where))


def _files(pipeline: Any, aside: Path) -> tuple[dict[str, list[Path]], int]:
    """The normalized Parquet files per data table (copied aside), and their row count."""
    import pyarrow.parquet as pq

    (load_id,) = pipeline.list_normalized_load_packages()
    info = pipeline.get_load_package_info(load_id)
    aside.mkdir(parents=True)
    files: dict[str, list[Path]] = {}
    rows = 0
    for job in info.jobs["new_jobs"]:
        table = job.job_file_info.table_name
        if table.startswith("_dlt") or job.job_file_info.file_format != "parquet":
            continue
        copy = aside / Path(job.file_path).name
        shutil.copy(job.file_path, copy)
        files.setdefault(table, []).append(copy)
        rows += pq.ParquetFile(copy).metadata.num_rows
    return files, rows


def _timed_load(pipeline: Any) -> float:
    started = time.perf_counter()
    pipeline.load()
    return time.perf_counter() - started


def load_duckdb(extracted: Path, where: Path, repeat: int) -> Measure:
    import duckdb

    from zoomsync.destinations import resolve

    def target(n: int) -> Any:
        return resolve(Settings(_env_file=None, destination="duckdb",  # type: ignore[call-arg]
                                duckdb_path=where / f"zoomsync{n}.duckdb"))

    where.mkdir(parents=True)
    normalized = _pipeline(extracted, where, target(0))
    files, rows = _files(normalized, where / "parquet")
    print(f"Loading {rows:,} rows in {len(files)} tables into DuckDB, {repeat}x…",
          file=sys.stderr, flush=True)
    ours, engine = [], []
    for n in range(repeat):  # alternately: whatever the machine does hits both sides
        ours.append(_timed_load(_copied(normalized.pipelines_dir, where / f"run{n}", target(n))))
        # Opened and closed on the clock, as zoomsync's load opens the file and checkpoints
        # it when it closes (0.3 s of either side on the benchmark account).
        started = time.perf_counter()
        with duckdb.connect(str(where / f"engine{n}.duckdb")) as con:
            for table, paths in files.items():
                listed = ", ".join(f"'{p}'" for p in paths)
                con.execute(f'create table "{table}" as select * from read_parquet([{listed}])')
        engine.append(time.perf_counter() - started)
    return Measure("DuckDB", rows, len(files), ours, engine)


def load_postgres(extracted: Path, where: Path, url: str, repeat: int) -> Measure:
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow.parquet as pq

    from zoomsync.destinations import resolve

    target = resolve(Settings(_env_file=None, destination="postgres",  # type: ignore[call-arg]
                              postgres_url=url))
    normalized = _pipeline(extracted, where, target)
    files, rows = _files(normalized, where / "parquet")
    schema = f"bench_engine_{os.getpid()}"
    print(f"Loading {rows:,} rows in {len(files)} tables into PostgreSQL, {repeat}x…",
          file=sys.stderr, flush=True)
    ours, engine = [], []
    for n in range(repeat):  # each into empty schemas, alternately
        _drop(url, schema, normalized.dataset_name)
        _settle(url)
        try:
            ours.append(_timed_load(_copied(normalized.pipelines_dir, where / f"run{n}", target)))
            _settle(url)
            with adbc.connect(url) as con, con.cursor() as cur:
                cur.execute(f'create schema "{schema}"')
                con.commit()
                # From the files, as zoomsync's load starts: PostgreSQL cannot read Parquet,
                # so its bulk path from them is pyarrow's read and a binary COPY.
                started = time.perf_counter()
                for table, paths in files.items():
                    for i, path in enumerate(paths):
                        cur.adbc_ingest(table, pq.read_table(path),
                                        mode="create" if i == 0 else "append",
                                        db_schema_name=schema)
                con.commit()
                engine.append(time.perf_counter() - started)
        finally:
            _drop(url, schema, normalized.dataset_name)
    return Measure("PostgreSQL", rows, len(files), ours, engine)


def _settle(url: str) -> None:
    """Let the server finish what the last load left it (dirty pages, exiting connections)
    so neither side pays for the other: without this the COPY after zoomsync's load took
    0.41-0.70 s, and 0.41-0.47 s with it."""
    import psycopg2

    con = psycopg2.connect(url)
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute("checkpoint")
    except psycopg2.errors.InsufficientPrivilege:
        pass  # a server of the user's own, without the right to: the pause alone
    finally:
        con.close()
    time.sleep(1)


def _drop(url: str, *schemas: str) -> None:
    import psycopg2

    with psycopg2.connect(url) as con, con.cursor() as cur:
        for schema in (*schemas, f"{schemas[-1]}_staging"):
            cur.execute(f'drop schema if exists "{schema}" cascade')


def render(results: list[Measure]) -> str:
    header = ["destination", "rows", "tables", "zoomsync load s", "zoomsync rows/s",
              "engine bulk s", "engine rows/s", "ratio", f"target ≥{TARGET_RATIO}"]
    # Medians of the repetitions; the spread of zoomsync's and the engine's runs below.
    rows = [[r.destination, f"{r.rows:,}", str(r.tables), f"{r.zoomsync_s:.2f}",
             f"{r.rows / r.zoomsync_s:,.0f}", f"{r.engine_s:.2f}", f"{r.rows / r.engine_s:,.0f}",
             f"{r.ratio:.2f}", "PASS" if r.ratio >= TARGET_RATIO else "FAIL"]
            for r in results]
    spread = "\n".join(
        f"{r.destination}: zoomsync {' '.join(f'{s:.2f}' for s in r.zoomsync_runs)} s; "
        f"engine {' '.join(f'{s:.2f}' for s in r.engine_runs)} s (medians above)"
        for r in results)
    return render_table(header, rows) + "\n" + spread


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Load rows/s of zoomsync's load step into DuckDB and PostgreSQL next to "
                    "the engine's own bulk path on the same Parquet files. Prints one table.")
    add_account_args(p, users=DEFAULT_USERS, meetings_per_user=DEFAULT_MEETINGS_PER_USER,
                     participants_mean=DEFAULT_PARTICIPANTS_MEAN)
    p.add_argument("--repeat", type=int, default=3,
                   help="loads per side, compared by their medians (default 3)")
    p.add_argument("--no-postgres", action="store_true", help="DuckDB only")
    p.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = p.parse_args(argv)
    if args.users < 4:
        p.error("--users must be at least 4 (the emulator needs one user of each status)")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


if __name__ == "__main__":
    sys.exit(main())
