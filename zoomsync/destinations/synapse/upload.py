"""Preparing dlt's Parquet files for COPY INTO, and staging them.

COPY maps Parquet columns to the staging table's columns by position, and the merge picks the
newest row per key by `_zoomsync_seq`. So each file is rewritten, one row group at a time:
- its columns in the table's order (`columns`), a column the file lacks (a field that first
  appeared later in the load) written as nulls of the column's type, so every file of a
  table matches the one staging table;
- plus `_zoomsync_seq`: the row's position in the file (dlt writes rows in extraction
  order), above the file's place among its table's files in the load (files.py), so no
  two rows of a load tie; the merge orders by the table's dedup sort column first.
Before anything is uploaded, every value is measured against its column's declared width
and every row against COPY's 1 MB (limits.py): an over-long value stops the table with one
line; a row over 1 MB goes into a side file (`<file id>.large-rows`, Parquet, which COPY's
`*.parquet` never matches) that the staging step INSERTs after the COPY (stage.insert_rows).
Timestamps stay as dlt wrote them: the destination asks dlt for millisecond precision,
because COPY documents Parquet MICROS/NANOS as unsupported
(https://learn.microsoft.com/azure/synapse-analytics/sql/design-elt-data-loading).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

from zoomsync.destinations.synapse.limits import check_widths, large_rows
from zoomsync.destinations.synapse.names import SEQ
from zoomsync.destinations.synapse.storage import StagingArea

ROW_BITS = 32  # rows per file below 2**32; the file's place above (a positive bigint)
LARGE_ROWS = ".large-rows"  # a side file's suffix: rows COPY cannot take


def prepare(source: str, target: str, columns: Sequence[str], arrow_types: dict[str, Any],
            place: int, *, table: str = "", widths: Mapping[str, int] | None = None,
            large_target: str | None = None) -> tuple[int, int]:
    """Rewrite the Parquet file `source` into `target` for COPY; (rows, rows set aside).

    `place`: the file's among its table's files in the load (files.file_place);
    `widths`: the most characters/bytes each bounded column holds (limits.check_widths);
    `large_target`: where rows over 1 MB go (without it, they stay in `target`).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    reader = pq.ParquetFile(source)
    have = set(reader.schema_arrow.names)
    fields = [reader.schema_arrow.field(c) if c in have else pa.field(c, arrow_types[c])
              for c in columns]
    schema = pa.schema([*fields, pa.field(SEQ, pa.int64(), nullable=False)])
    base = place << ROW_BITS
    rows = aside = 0
    large: Any = None
    try:
        with pq.ParquetWriter(target, schema, compression="snappy",
                              coerce_timestamps="ms", allow_truncated_timestamps=True) as writer:
            for batch in reader.iter_batches(columns=[c for c in columns if c in have]):
                arrays = [batch.column(c) if c in have else pa.nulls(batch.num_rows, f.type)
                          for c, f in zip(columns, fields, strict=True)]
                seq = pa.array(range(base + rows, base + rows + batch.num_rows), pa.int64())
                out = pa.RecordBatch.from_arrays([*arrays, seq], schema=schema)
                check_widths(table, out, widths or {}, rows, os.path.basename(source))
                rows += batch.num_rows
                over = large_rows(out) if large_target else None
                if over is not None and pc.any(over).as_py():
                    if large is None:
                        large = pq.ParquetWriter(large_target, schema, compression="snappy",
                                                 coerce_timestamps="ms",
                                                 allow_truncated_timestamps=True)
                    large.write_batch(out.filter(over))
                    aside += pc.sum(over).as_py()
                    out = out.filter(pc.invert(over))
                writer.write_batch(out)
    finally:
        if large is not None:
            large.close()
    return rows, aside


def stage_file(area: StagingArea, schema: str, table: str, load_id: str, source: str,
               columns: Sequence[str], arrow_types: dict[str, Any], file_id: str,
               place: int, widths: Mapping[str, int] | None = None) -> str:
    """Prepare one dlt file (its `place` among the table's files, in write order) and
    upload it to the table's folder of this load, with its side file of rows over 1 MB if
    it has any; the blob name of the Parquet file.

    Blobs are named after dlt's file id, so a retried job overwrites its own earlier
    upload instead of adding a second copy of the rows.
    """
    name = f"{area.folder(schema, table, load_id)}/{file_id}.parquet"
    with tempfile.TemporaryDirectory(prefix="zoomsync-upload-") as tmp:
        target, large = os.path.join(tmp, "rows.parquet"), os.path.join(tmp, "large.parquet")
        _, aside = prepare(source, target, columns, arrow_types, place, table=table,
                           widths=widths, large_target=large)
        if aside:
            with open(large, "rb") as data:
                area.upload(name.removesuffix(".parquet") + LARGE_ROWS, data)
        with open(target, "rb") as data:
            area.upload(name, data)
    return name
