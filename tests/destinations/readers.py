"""Read what a sync left in a destination, with the destination's own tools rather than
zoomsync's or dlt's code: duckdb for DuckDB, psycopg2 for PostgreSQL, pyarrow for Parquet,
deltalake for Delta.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Reader:
    """`tables()`: the dataset's data tables (dlt's own left out); `rows(table)`: its rows."""

    tables: Callable[[], list[str]]
    rows: Callable[[str], Rows]


def duckdb(path: str, dataset: str) -> Reader:
    """A DuckDB file, opened read-only for each read (a sync may hold it in between)."""
    import duckdb as engine

    def tables() -> list[str]:
        with engine.connect(path, read_only=True) as con:
            return sorted(r[0] for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "and table_name not like '\\_dlt%' escape '\\'", [dataset]).fetchall())

    def rows(table: str) -> Rows:
        with engine.connect(path, read_only=True) as con:
            cursor = con.execute(f'select * from "{dataset}"."{table}"')
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    return Reader(tables, rows)


def postgres(url: str, dataset: str) -> Reader:
    import psycopg2
    import psycopg2.extras

    def tables() -> list[str]:
        with psycopg2.connect(url) as con, con.cursor() as cur:
            cur.execute("select table_name from information_schema.tables "
                        "where table_schema = %s and table_name not like '\\_dlt%%'", [dataset])
            return sorted(r[0] for r in cur.fetchall())

    def rows(table: str) -> Rows:
        with psycopg2.connect(url) as con, con.cursor(
                cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(f'select * from "{dataset}"."{table}"')
            return [dict(r) for r in cur.fetchall()]

    return Reader(tables, rows)


def parquet(fs: Any, root: str) -> Reader:
    """Plain Parquet files under `root` (`bucket/dataset`), one folder per table."""
    import pyarrow.parquet as pq

    def tables() -> list[str]:
        fs.invalidate_cache()  # a run replaces files: never list from an earlier look
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(root, detail=False)
                      if fs.isdir(p) and not p.rstrip("/").rsplit("/", 1)[-1].startswith("_dlt"))

    def rows(table: str) -> Rows:
        fs.invalidate_cache()
        out: Rows = []
        for path in sorted(fs.glob(f"{root}/{table}/*.parquet")):
            with fs.open(path, "rb") as f:
                out.extend(pq.read_table(f).to_pylist())
        return out

    return Reader(tables, rows)


def delta(fs: Any, root: str, uri: str, storage_options: dict[str, str] | None) -> Reader:
    """Delta tables under `root` as fsspec sees it, and `uri` as delta-rs does."""
    from deltalake import DeltaTable

    listing = parquet(fs, root)

    def rows(table: str) -> Rows:
        return DeltaTable(f"{uri}/{table}", storage_options=storage_options
                          ).to_pyarrow_table().to_pylist()

    return Reader(listing.tables, rows)
