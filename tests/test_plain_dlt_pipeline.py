"""Another dlt pipeline in the process of a sync behaves as dlt alone does (issue 14).

Two child processes run the same plain dlt pipelines, one into DuckDB and one into
PostgreSQL (`dev_mode=False`), each loading twice (dlt's default format, then Parquet) a
deterministic set of resources: a `merge` resource with nested lists three levels deep
whose key repeats within each load (in its two batches), and an `append` one, in data files
of a few rows each. Process A first imports zoomsync and syncs the emulator into DuckDB and
PostgreSQL; process B never imports zoomsync (checked at its end), and runs the pipelines
twice (rounds b0 and b1): the comparison must find nothing between those two. The test
then compares what A's pipelines left with what B's did, per destination:

- every table's rows, without dlt's random ids, load ids and times: a nested row is
  compared with its parent's content in place of `_dlt_parent_id`, and every nested row's
  parent and root must be there. Without a `dedup_sort` hint dlt keeps an arbitrary version
  of a repeated key: the key whose versions sit in one file is compared exactly when B kept
  the same version in both rounds; the other (see UNSTABLE) must be one complete version;
- the tables' and columns' definitions (information_schema, with collations; constraints
  and indexes), dlt's staging dataset's too;
- the load packages: each completed package's jobs per table with their formats (the
  random file ids masked, their lengths compared), and the keys of the package state.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.services import POSTGRES_URL, service
from tests.zoomsync_sync import sync_both

ROOT = Path(__file__).resolve().parents[1]
DESTINATIONS = ("duckdb", "postgres")
FILE_MAX_ITEMS = 10  # rows per data file: each table of the plain pipelines spans several
# Load -> the key of `people` both its batches hold (a newer version in the second).
REPEATED = {1: 20, 2: 3}
# The key whose two versions dlt loads from different files, by jobs running in parallel:
# which one dlt alone keeps changes from run to run (18 runs here kept each version on both
# destinations, in no pattern), so its rows are only checked to be one complete version.
# From one file dlt kept the same version 18 times out of 18 (the first on DuckDB, the last
# on PostgreSQL): that key is compared exactly when B's two rounds agree.
UNSTABLE = frozenset({REPEATED[1]})
# Columns whose values differ from run to run whatever the code: dlt's random row ids (a
# nested row's parent is compared by content instead), load ids, times, and the pipeline
# state's blob and hash (which name the dataset).
VOLATILE = frozenset({"_dlt_id", "_dlt_parent_id", "_dlt_root_id", "_dlt_load_id", "load_id",
                      "inserted_at", "created_at", "state", "version_hash"})
Row = dict[str, Any]


# --- the data: the same in both processes ----------------------------------------------

def person(i: int, version: int) -> Row:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return {"id": i, "name": f"person {i} v{version}", "score": i * 1.5 + version,
            "active": (i + version) % 2 == 0, "joined": start + timedelta(hours=i * version),
            "note": None if i % 3 else f"note {i}",
            "address": {"city": f"city {i % 4}", "zip": f"{10000 + i}"},
            "tags": [f"t{i}-{version}-{k}" for k in range(i % 3 + version)],
            "phones": [{"kind": ("home", "work")[k % 2], "number": f"+1-555-{i:03d}{version}{k}",
                        "ext": list(range(version + k))} for k in range((i + version) % 3)]}


def people_batches(load: int) -> list[list[Row]]:
    """Two batches per load, the second repeating `REPEATED[load]` in a newer version: in
    the first load (five files of `people`) in another file than the first version, in the
    second (one file) in the same. The second load updates keys 0-5 (their nested lists
    longer or shorter than before) and adds key 50."""
    if load == 1:
        return [[person(i, 1) for i in range(30)],
                [person(i, 1) for i in range(30, 45)] + [person(REPEATED[1], 2)]]
    return [[person(i, 3) for i in range(6)] + [person(50, 3)], [person(REPEATED[2], 4)]]


def candidates(key: int) -> list[Row]:
    """The versions of a repeated key that dlt may keep."""
    load = next(load for load, k in REPEATED.items() if k == key)
    return [p for batch in people_batches(load) for p in batch if p["id"] == key]


def events(load: int) -> list[Row]:
    start = datetime(2026, 2, 1, tzinfo=UTC)
    return [{"seq": load * 1000 + k, "kind": ("open", "close")[k % 2],
             "at": start + timedelta(minutes=k),
             "items": [{"sku": f"s{k}-{j}", "qty": j} for j in range(k % 3)]}
            for k in range(40 if load == 1 else 12)]


# --- the children ------------------------------------------------------------------------

def pipeline_name(destination: str) -> str:
    return f"plain_{destination}"


def plain_pipelines(job: dict[str, Any], round_name: str) -> None:
    """The plain pipelines of one round: two loads each into DuckDB and PostgreSQL."""
    import dlt

    @dlt.resource(primary_key="id", write_disposition="merge")
    def people(load: int) -> Iterator[list[Row]]:
        yield from people_batches(load)

    @dlt.resource(write_disposition="append")
    def event_log(load: int) -> Iterator[list[Row]]:
        rows = events(load)
        yield rows[: len(rows) // 2]
        yield rows[len(rows) // 2:]

    where = Path(job["tmp"]) / round_name
    destinations = {"duckdb": dlt.destinations.duckdb(str(where / "lake.duckdb")),
                    "postgres": dlt.destinations.postgres(job["postgres_url"])}
    for name, destination in destinations.items():
        pipeline = dlt.pipeline(pipeline_name=pipeline_name(name), destination=destination,
                                dataset_name=job["datasets"][round_name][name],
                                pipelines_dir=str(where / "pipelines"), dev_mode=False)
        # dlt's default format first: the Parquet of the second load is a hint the schema
        # keeps (a first load in Parquet would make the second Parquet too).
        for load, file_format in ((1, None), (2, "parquet")):
            info = pipeline.run([people(load), event_log(load)],
                                loader_file_format=file_format)  # type: ignore[arg-type]
            info.raise_on_failed_jobs()


def child(job: dict[str, Any]) -> None:
    started = time.monotonic()
    if job["with_zoomsync"]:
        where = Path(job["tmp"]) / "sync"
        where.mkdir()
        sync_both(job["api_url"], job["oauth_url"], job["postgres_url"], job["sync_dataset"],
                  where)
    for round_name in job["rounds"]:
        plain_pipelines(job, round_name)
    Path(job["out"]).write_text(json.dumps({
        "zoomsync_imported": "zoomsync" in sys.modules,
        "seconds": round(time.monotonic() - started, 2)}))


# --- what a pipeline left ----------------------------------------------------------------

@dataclass
class Observed:
    """One plain pipeline's result, comparable across processes."""

    rows: dict[str, list[str]]  # table -> its rows as sorted JSON, random ids left out
    counts: dict[str, int]  # rows per table, those in `families` aside
    families: dict[int, list[str]]  # repeated key -> its people rows and nested rows
    orphans: list[str]  # nested rows whose parent or root row is missing
    definitions: list[str]  # columns, constraints, indexes; the dataset's name masked
    packages: list[dict[str, Any]]  # per completed load package, in load order


def observe(destination: str, job: dict[str, Any], round_name: str) -> Observed:
    dataset = job["datasets"][round_name][destination]
    where = Path(job["tmp"]) / round_name
    if destination == "duckdb":
        tables, definitions = read_duckdb(where / "lake.duckdb", dataset)
    else:
        tables, definitions = read_postgres(job["postgres_url"], dataset)
    rows, families, orphans = comparable(tables)
    return Observed(rows, {t: len(r) for t, r in rows.items()}, families, orphans, definitions,
                    packages(where / "pipelines" / pipeline_name(destination)))


def read_duckdb(path: Path, dataset: str) -> tuple[dict[str, list[Row]], list[str]]:
    import duckdb

    schemas = [dataset, f"{dataset}_staging"]
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ?",
            [dataset]).fetchall()]
        tables: dict[str, list[Row]] = {}
        for name in names:
            cursor = con.execute(f'select * from "{dataset}"."{name}"')
            columns = [c[0] for c in cursor.description]
            tables[name] = [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]
        definitions = [*query(con.execute(
            "select table_schema, table_name, column_name, ordinal_position, data_type, "
            "is_nullable, column_default, collation_name, character_maximum_length, "
            "numeric_precision, numeric_scale, datetime_precision "
            "from information_schema.columns where table_schema in (?, ?)", schemas).fetchall()),
            *query(con.execute(
                "select schema_name, table_name, constraint_type, constraint_text "
                "from duckdb_constraints() where schema_name in (?, ?)", schemas).fetchall()),
            *query(con.execute(
                "select schema_name, table_name, index_name, is_unique, sql "
                "from duckdb_indexes() where schema_name in (?, ?)", schemas).fetchall())]
    return tables, masked(definitions, dataset)


def read_postgres(url: str, dataset: str) -> tuple[dict[str, list[Row]], list[str]]:
    import psycopg2
    import psycopg2.extras

    schemas = (dataset, f"{dataset}_staging")
    with psycopg2.connect(url) as con, con.cursor(
            cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("select table_name from information_schema.tables where table_schema = %s",
                    [dataset])
        tables: dict[str, list[Row]] = {}
        for name in [r["table_name"] for r in cur.fetchall()]:
            cur.execute(f'select * from "{dataset}"."{name}"')
            tables[name] = [dict(r) for r in cur.fetchall()]
        definitions: list[str] = []
        for sql in (
                "select table_schema, table_name, column_name, ordinal_position, data_type, "
                "is_nullable, column_default, collation_name, character_maximum_length, "
                "numeric_precision, numeric_scale, datetime_precision "
                "from information_schema.columns where table_schema in %s",
                "select n.nspname, t.relname, c.conname, c.contype, "
                "pg_get_constraintdef(c.oid) as definition from pg_constraint c "
                "join pg_class t on t.oid = c.conrelid "
                "join pg_namespace n on n.oid = t.relnamespace where n.nspname in %s",
                "select schemaname, tablename, indexname, indexdef from pg_indexes "
                "where schemaname in %s"):
            cur.execute(sql, [schemas])
            definitions += query(cur.fetchall())
    return tables, masked(definitions, dataset)


def query(rows: Any) -> list[str]:
    return [json.dumps(list(r.values()) if isinstance(r, dict) else list(r), default=str)
            for r in rows]


def masked(definitions: list[str], dataset: str) -> list[str]:
    """The definitions sorted, the dataset's name (and its staging dataset's) as `<dataset>`."""
    return sorted(d.replace(dataset, "<dataset>") for d in definitions)


def comparable(tables: dict[str, list[Row]]
               ) -> tuple[dict[str, list[str]], dict[int, list[str]], list[str]]:
    """Each table's rows as sorted JSON without the random columns; a nested row carries
    its parent's content (so the whole chain up to its root) in place of the parent's id.
    The rows of a repeated `people` key, its nested rows too, go to `families` instead."""
    content: dict[str, dict[str, str]] = {}  # table -> _dlt_id -> the row as compared
    key_of: dict[str, int] = {}  # _dlt_id of a people family row -> its key
    rows: dict[str, list[str]] = {}
    families: dict[int, list[str]] = {key: [] for key in REPEATED.values()}
    orphans: list[str] = []
    for table in sorted(tables, key=lambda t: t.count("__")):
        parent = table.rsplit("__", 1)[0] if "__" in table else None
        content[table], rows[table] = {}, []
        for row in tables[table]:
            kept = {c: canonical(v) for c, v in row.items() if c not in VOLATILE}
            if parent is not None:
                kept["<parent>"] = content.get(parent, {}).get(row.get("_dlt_parent_id"))
                if kept["<parent>"] is None:
                    orphans.append(f"{table}: {as_json(kept)} has no parent")
                root = row.get("_dlt_root_id")
                if root is not None and root not in content.get(table.split("__")[0], {}):
                    orphans.append(f"{table}: {as_json(kept)} has no root row")
            text = as_json(kept)
            if "_dlt_id" in row:
                content[table][row["_dlt_id"]] = text
            key = (row.get("id") if table == "people"
                   else key_of.get(row.get("_dlt_parent_id")) if parent else None)
            if table.split("__")[0] == "people" and key in families:
                key_of[row["_dlt_id"]] = key
                families[key].append(f"{table}: {text}")
            else:
                rows[table].append(text)
    return ({t: sorted(r) for t, r in rows.items()},
            {k: sorted(f) for k, f in families.items()}, orphans)


def canonical(value: Any) -> Any:
    """A JSON document stored as text (dlt's stored schema) by content: dlt writes its keys
    in an order that varies from run to run."""
    if isinstance(value, str) and value.startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def as_json(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def packages(pipeline_dir: Path) -> list[dict[str, Any]]:
    """Each loaded package: its completed jobs per table (`table.<id>.retry.format`, the
    random file id masked), the lengths of those ids, its failed jobs, and the keys of its
    state (two levels)."""
    found = []
    for package in sorted((pipeline_dir / "load" / "loaded").iterdir()):
        jobs: dict[str, list[str]] = {}
        id_lengths: set[int] = set()
        for name in sorted(p.name for p in (package / "completed_jobs").iterdir()):
            table, file_id, retry, kind = name.split(".", 3)
            jobs.setdefault(table, []).append(f"{table}.<id>.{retry}.{kind}")
            id_lengths.add(len(file_id))
        state = json.loads((package / "load_package_state.json").read_text())
        keys = sorted([*state, *(f"{k}.{sub}" for k, v in state.items()
                                 if isinstance(v, dict) and k != "load_metrics" for sub in v)])
        found.append({"jobs": {t: sorted(j) for t, j in jobs.items()},
                      "id lengths": sorted(id_lengths),
                      "failed": sorted(p.name for p in (package / "failed_jobs").iterdir()),
                      "state keys": keys})
    return found


# --- comparing -----------------------------------------------------------------------------

def differences(a: Observed, b: Observed, exact: set[int]) -> list[str]:
    """What A's pipeline left that B's did not, one line each. The rows of a repeated key
    are compared exactly for the keys in `exact`; for the others A must have kept one
    complete version of the key."""
    found = [f"{side} has a nested row without its parent: {o}"
             for side, obs in (("A", a), ("B", b)) for o in obs.orphans[:5]]
    for table in sorted(a.rows.keys() | b.rows.keys()):
        if table not in a.rows or table not in b.rows:
            found.append(f"table {table} only in {'A' if table in a.rows else 'B'}")
            continue
        if a.counts[table] != b.counts[table]:
            found.append(f"{table}: {a.counts[table]} rows (repeated keys aside), dlt alone "
                         f"{b.counts[table]}")
        found += rows_apart(table, a.rows[table], b.rows[table])
    for key, family in a.families.items():
        if key in exact and family != b.families[key]:
            found.append(f"people key {key}: kept {version_of(family)}; dlt alone "
                         f"{version_of(b.families[key])}")
        elif not complete_version(key, family):
            found.append(f"people key {key}: not one complete version: {version_of(family)}")
    found += [f"definition only in A: {d}" for d in sorted(set(a.definitions) -
                                                            set(b.definitions))]
    found += [f"definition only in dlt alone: {d}" for d in sorted(set(b.definitions) -
                                                                  set(a.definitions))]
    if len(a.packages) != len(b.packages):
        found.append(f"{len(a.packages)} load packages, dlt alone {len(b.packages)}")
    for n, (pa, pb) in enumerate(zip(a.packages, b.packages, strict=False), start=1):
        for table in sorted(pa["jobs"].keys() | pb["jobs"].keys()):
            ja, jb = pa["jobs"].get(table, []), pb["jobs"].get(table, [])
            if ja != jb:
                found.append(f"load {n}, {table} jobs: {summary(ja)}; dlt alone {summary(jb)}")
        if pa["id lengths"] != pb["id lengths"]:
            found.append(f"load {n}: job file ids of {pa['id lengths']} characters, dlt alone "
                         f"{pb['id lengths']}")
        if pa["failed"] or pb["failed"]:
            found.append(f"load {n} failed jobs: {pa['failed']}; dlt alone {pb['failed']}")
        if pa["state keys"] != pb["state keys"]:
            only_a = sorted(set(pa["state keys"]) - set(pb["state keys"]))
            only_b = sorted(set(pb["state keys"]) - set(pa["state keys"]))
            found.append(f"load {n} package state keys: added {only_a}, missing {only_b}")
    return found


def rows_apart(what: str, a: list[str], b: list[str]) -> list[str]:
    ca, cb = Counter(a), Counter(b)
    only_a, only_b = list((ca - cb).elements()), list((cb - ca).elements())
    if not only_a and not only_b:
        return []
    return [f"{what}: {len(only_a)} rows only in A, {len(only_b)} only in dlt alone; e.g. "
            f"A {[r[:300] for r in only_a[:2]]} / dlt alone {[r[:300] for r in only_b[:2]]}"]


def complete_version(key: int, family: list[str]) -> bool:
    """One version of `key`: its single people row and as many nested rows as it has."""
    tables = Counter(line.split(":", 1)[0] for line in family)
    names = [json.loads(line.split(": ", 1)[1])["name"] for line in family
             if line.startswith("people: ")]
    for version in candidates(key):
        expected = Counter({"people": 1, "people__tags": len(version["tags"]),
                            "people__phones": len(version["phones"]),
                            "people__phones__ext": sum(len(p["ext"]) for p in version["phones"])})
        if names == [version["name"]] and tables == +expected:
            return True
    return False


def version_of(family: list[str]) -> str:
    """The `people` rows of a key's family by name, and its rows per table."""
    names = [json.loads(line.split(": ", 1)[1])["name"] for line in family
             if line.startswith("people: ")]
    tables = Counter(line.split(":", 1)[0] for line in family)
    return f"{names} with {dict(sorted(tables.items()))}"


def summary(jobs: list[str]) -> str:
    return ", ".join(f"{n} x {name}" for name, n in sorted(Counter(jobs).items())) or "none"


# --- the test ------------------------------------------------------------------------------

def test_a_plain_dlt_pipeline_beside_a_sync_behaves_as_dlt_alone(tmp_path: Path) -> None:
    from tests.conftest import small_account  # imports zoomsync: only in the parent

    url = service(POSTGRES_URL, "PostgreSQL")
    tag = secrets.token_hex(3)
    datasets = {r: {"duckdb": "plain", "postgres": f"plain_{r}_{tag}"} for r in ("a", "b0", "b1")}
    # The plain pipelines' files rotate every few rows; the sync's are left as they are.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RUNTIME__DLTHUB_TELEMETRY": "false",
           **{f"{pipeline_name(d).upper()}__DATA_WRITER__FILE_MAX_ITEMS": str(FILE_MAX_ITEMS)
              for d in DESTINATIONS}}
    with small_account(users=4) as emu:
        jobs = {"A": {"with_zoomsync": True, "rounds": ["a"], "sync_dataset": f"zoom_{tag}",
                      "api_url": emu.api_url, "oauth_url": emu.oauth_url},
                "B": {"with_zoomsync": False, "rounds": ["b0", "b1"]}}
        children: dict[str, subprocess.Popen[str]] = {}
        try:
            for name, job in jobs.items():  # both at once: their pipelines share nothing
                job.update(tmp=str(tmp_path), postgres_url=url, datasets=datasets,
                           out=str(tmp_path / f"{name}.json"))
                children[name] = subprocess.Popen(
                    [sys.executable, "-m", "tests.test_plain_dlt_pipeline", json.dumps(job)],
                    cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                    text=True)
            for name, proc in children.items():
                _, err = proc.communicate(timeout=120)
                assert proc.returncode == 0, f"process {name}: {err[-4000:]}"
        finally:
            for proc in children.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    outcome = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in jobs}
    assert outcome["A"]["zoomsync_imported"] is True
    assert outcome["B"]["zoomsync_imported"] is False

    found = []
    for destination in DESTINATIONS:
        a, b0, b1 = (observe(destination, jobs["A" if r == "a" else "B"], r)
                     for r in ("a", "b0", "b1"))
        # The comparison itself holds still: dlt alone twice differs at most in which
        # version of a repeated key it kept.
        itself = differences(b1, b0, set())
        assert itself == [], f"{destination}: dlt alone differs from itself: {itself}"
        assert b0.counts["people"] == 44 and b0.counts["people__phones__ext"] > 20, b0.counts
        # Files of a few rows: load 1's `people` in several, load 2's in one (and its SQL).
        assert len(b0.packages) == 2, b0.packages
        assert len(b0.packages[0]["jobs"]["people"]) > 2, b0.packages[0]["jobs"]["people"]
        assert len(b0.packages[1]["jobs"]["people"]) == 2, b0.packages[1]["jobs"]["people"]
        # Which version of a key dlt keeps is compared where dlt alone kept the same twice.
        exact = {k for k in REPEATED.values()
                 if k not in UNSTABLE and b0.families[k] == b1.families[k]}
        found += [f"{destination}: {d}" for d in differences(a, b0, exact)]
    assert found == [], f"{len(found)} differences from dlt alone:\n" + "\n".join(found)


if __name__ == "__main__":
    child(json.loads(sys.argv[1]))
