"""`zoomsync check` for a destination: what a load will need, tried on a throwaway dataset.

Connect, create a dataset (schema or folder), write a row through the very loader format,
staging and table format a run uses, read it back, drop the dataset.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from pathlib import Path
from typing import Any

from zoomsync.destinations.target import Target
from zoomsync.failures import explain, reason

PROBE_ROWS = [{"id": 1, "uuid": "aB/c+d=="}, {"id": 2, "uuid": "Ab/c+d=="}]  # case matters


def check_target(target: Target) -> str:
    """'ok', or 'failed: <the destination's first line>'."""
    import dlt

    # A fresh name per check, so a check never touches a dataset a run or a person uses.
    dataset = f"zoomsync_check_{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="zoomsync-check-") as tmp:
        pipeline = dlt.pipeline(pipeline_name="zoomsync_check", destination=target.destination,
                                staging=target.staging, dataset_name=dataset,
                                pipelines_dir=tmp)
        probe = target.adapt_resource(dlt.resource(PROBE_ROWS, name="probe", primary_key="id",
                                                   write_disposition="merge"))
        try:
            pipeline.run(probe, loader_file_format=target.loader_file_format)
            rows = read_table(pipeline, target, "probe")
        except Exception as exc:
            return f"failed: {reason(exc)}"
        finally:
            _drop(pipeline)
    got = sorted((int(r["id"]), r["uuid"]) for r in rows)
    if got != [(r["id"], r["uuid"]) for r in PROBE_ROWS]:
        return f"failed: wrote {len(PROBE_ROWS)} rows, read back {got}"
    return "ok"


def reach(pipeline: Any, target: Target) -> None:
    """Connect before extracting, so a wrong password or host costs no Zoom API calls."""
    from urllib.parse import urlsplit

    from zoomsync.errors import ConfigError, DestinationError

    if target.local_file is not None:
        open_briefly(target.local_file)
        return
    try:
        with pipeline.destination_client() as client:  # SQL clients connect on enter
            url = getattr(client.config, "bucket_url", None)
            if url and urlsplit(url).scheme not in ("", "file"):
                # The bucket or container must exist: dlt creates folders, not buckets.
                client.fs_client.ls(urlsplit(url).netloc, detail=False)
            if hasattr(client, "check_staging"):  # Synapse: its staging container
                client.check_staging()
    except ConfigError:
        raise  # the destination is reached but set up wrong: its own line, exit code 2
    except Exception as exc:
        raise DestinationError(f"cannot reach the {target.name} destination {target.label}: "
                               f"{reason(exc)}") from None


def open_briefly(path: Path) -> None:
    """Open a DuckDB file for writing for a moment, as the load will: a program that holds
    it (the duckdb shell, a notebook, even one only reading) stops the run now, in one line
    naming its pid (exit 75), before any Zoom call — not after minutes of extraction."""
    import duckdb

    from zoomsync.errors import DestinationError

    if not path.exists():
        return  # DuckDB creates it at the load; no one can hold a file that is not there
    try:
        duckdb.connect(str(path)).close()
    except duckdb.Error as exc:
        error = explain(exc)  # held by another program, a full disk, permission denied
        if type(error) is not DestinationError:
            raise error from None
        raise DestinationError(f"cannot open the DuckDB file {path}: {reason(exc)}") from None


def read_table(pipeline: Any, target: Target, table: str) -> list[dict[str, Any]]:
    """Every row of a loaded table, through the destination's own client."""
    with pipeline.destination_client() as client:
        if target.table_format == "delta":
            return client.load_open_table("delta", table).to_pyarrow_table().to_pylist()
        if hasattr(client, "list_table_files"):
            import pyarrow.parquet as pq

            rows: list[dict[str, Any]] = []
            for path in client.list_table_files(table):
                with client.fs_client.open(path, "rb") as f:
                    rows.extend(pq.read_table(f).to_pylist())
            return rows
        sql = client.sql_client
        with sql:
            name = sql.make_qualified_table_name(table)
            with sql.execute_query(f"SELECT * FROM {name}") as cursor:
                columns = [c[0] for c in cursor.description]
                return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _drop(pipeline: Any) -> None:
    try:
        with pipeline.destination_client() as client:
            client.drop_storage()
    except Exception as exc:  # the check's verdict stands; say what was left behind
        logging.getLogger("zoomsync.check").warning(
            "could not drop the check's dataset %s: %s", pipeline.dataset_name, reason(exc))

