"""Preparing dlt's Parquet files for COPY INTO, and staging them.

COPY maps Parquet columns to the staging table's columns by position, and the merge picks the
newest row per key by `_zoomsync_seq`. So each file is rewritten, one row group at a time:
- its columns in the table's order (`columns`), a column the file lacks (a field that first
  appeared later in the load) written as nulls of the column's type, so every file of a
  table matches the one staging table;
- plus `_zoomsync_seq`: the row's position in the file (dlt writes rows in extraction
  order), above the file's place among its table's files in the load (file_order.py: in the
  order they were written), so rows of a later file come after, and never tie.
Timestamps stay as dlt wrote them: the destination asks dlt for millisecond precision,
because COPY documents Parquet MICROS/NANOS as unsupported
(https://learn.microsoft.com/azure/synapse-analytics/sql/design-elt-data-loading).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import Any

from zoomsync.destinations.synapse.names import SEQ
from zoomsync.destinations.synapse.storage import StagingArea

ROW_BITS = 32  # rows per file below 2**32; the file's place above (a positive bigint)


def prepare(source: str, target: str, columns: Sequence[str], arrow_types: dict[str, Any],
            place: int) -> int:
    """Rewrite the Parquet file `source` into `target` for COPY; returns the row count.
    `place`: the file's among its table's files in the load (file_order.file_place)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    reader = pq.ParquetFile(source)
    have = set(reader.schema_arrow.names)
    fields = [reader.schema_arrow.field(c) if c in have else pa.field(c, arrow_types[c])
              for c in columns]
    schema = pa.schema([*fields, pa.field(SEQ, pa.int64(), nullable=False)])
    base = place << ROW_BITS
    rows = 0
    with pq.ParquetWriter(target, schema, compression="snappy",
                          coerce_timestamps="ms", allow_truncated_timestamps=True) as writer:
        for batch in reader.iter_batches(columns=[c for c in columns if c in have]):
            arrays = [batch.column(c) if c in have else pa.nulls(batch.num_rows, f.type)
                      for c, f in zip(columns, fields, strict=True)]
            seq = pa.array(range(base + rows, base + rows + batch.num_rows), pa.int64())
            writer.write_batch(pa.RecordBatch.from_arrays([*arrays, seq], schema=schema))
            rows += batch.num_rows
    return rows


def stage_file(area: StagingArea, schema: str, table: str, load_id: str, source: str,
               columns: Sequence[str], arrow_types: dict[str, Any], file_id: str,
               place: int) -> str:
    """Prepare one dlt file (its `place` among the table's files, in write order) and
    upload it to the table's folder of this load; its blob name.

    The blob is named after dlt's file id, so a retried job overwrites its own earlier
    upload instead of adding a second copy of the rows.
    """
    name = f"{area.folder(schema, table, load_id)}/{file_id}.parquet"
    with tempfile.NamedTemporaryFile(suffix=".parquet") as tmp:
        prepare(source, tmp.name, columns, arrow_types, place)
        with open(tmp.name, "rb") as data:
            area.upload(name, data)
    return name
