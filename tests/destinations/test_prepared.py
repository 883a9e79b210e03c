"""Our job clients prepare a table once per client (zoomsync/destinations/prepared.py): the
same answer as dlt's `prepare_load_table`, a copy of its own for each caller, prepared again
when the table changes."""

from __future__ import annotations

from pathlib import Path

import dlt
from dlt.destinations.job_client_impl import SqlJobClientBase

import zoomsync


def test_prepared_tables_equal_dlts_and_are_copies(tmp_path: Path) -> None:
    pipeline = dlt.pipeline("prepared", destination=zoomsync.duckdb(str(tmp_path / "p.duckdb")),
                            dataset_name="data", pipelines_dir=str(tmp_path / "pipelines"))
    rows = [{"id": 1, "topic": "a", "tags": [{"t": "x"}]}]
    pipeline.run(dlt.resource(rows, name="meetings", write_disposition="merge",
                              primary_key="id"))
    client = pipeline.destination_client()
    for table in ("meetings", "meetings__tags", "_dlt_pipeline_state"):
        ours = client.prepare_load_table(table)
        assert ours == SqlJobClientBase.prepare_load_table(client, table)  # dlt's answer
        ours["columns"]["extra"] = {"name": "extra"}  # a caller changes its copy
        assert "extra" not in client.prepare_load_table(table)["columns"]
    # A table that changed under the client is prepared again.
    client.schema.tables["meetings"]["columns"]["late"] = {"name": "late", "data_type": "text"}
    assert "late" in client.prepare_load_table("meetings")["columns"]
