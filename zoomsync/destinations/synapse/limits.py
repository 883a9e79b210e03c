"""What a dedicated SQL pool lets a value and a row hold, checked before a file is uploaded.

- A value longer than its column's declared `nvarchar(n)` / `varbinary(n)` fails the whole
  COPY (COPY's MAXERRORS defaults to 0) with an error that names neither row nor value, and
  `(max)` cannot be declared in a columnstore table. So every value is measured against the
  width the pool declares (INFORMATION_SCHEMA.COLUMNS, `widths`) and the staging table's
  before upload; an over-long one stops that table with a line naming table, column, row
  and limit. `nvarchar(n)` counts UTF-16 code units: a character outside the Basic
  Multilingual Plane (an emoji) takes two.
  https://learn.microsoft.com/sql/t-sql/statements/copy-into-transact-sql
  https://learn.microsoft.com/sql/t-sql/data-types/nchar-and-nvarchar-transact-sql
- A row loaded from Parquet may not exceed 1,000,000 bytes ("MB per row 1" for PolyBase
  loads; COPY reports "exceeds the maximum allowed row size of 1000000 bytes for Polybase").
  Such rows are not refused: upload.py sets them aside and the staging step INSERTs them,
  so no load fails on a long string (a Zoom field, or dlt's own pipeline state of a large
  account). Sizes are counted as the pool stores them: 2 bytes per UTF-16 code unit of
  `nvarchar`, the bytes of `varbinary`, the width of fixed types.
  https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-service-capacity-limits
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zoomsync.errors import ConfigError

ROW_BYTES = 1_000_000  # PolyBase/COPY's largest row from a file
MAX_COLUMNS = 1024  # columns per table
_SUPPLEMENTARY = r"[\x{10000}-\x{10FFFF}]"  # RE2: characters that take two UTF-16 units


class ValueTooLong(ConfigError):
    """A value longer than its column can hold: widen the column, then run again (the same
    load fails the same way until then, so it is a setting to fix, exit code 2)."""


def utf16_units(column: Any) -> Any:
    """Per value of a string column, its length in UTF-16 code units (nulls as null)."""
    import pyarrow.compute as pc

    units = pc.utf8_length(column)
    if (pc.sum(pc.binary_length(column)).as_py() or 0) > (pc.sum(units).as_py() or 0):
        # Not all ASCII: count the characters that take two units (the regex is slower).
        units = pc.add(units, pc.count_substring_regex(column, _SUPPLEMENTARY))
    return units


def _kind(column: Any) -> str | None:
    """"text" for a string column, "bytes" for a binary one, None for any other."""
    import pyarrow as pa

    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return "text"
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        return "bytes"
    return None


def check_widths(table: str, batch: Any, widths: Mapping[str, int], first_row: int,
                 source: str) -> None:
    """Raise ValueTooLong for the first value of `batch` longer than its column's width.

    `widths`: column -> the most characters (text) or bytes (binary) it holds; columns not
    listed are unbounded. `first_row` numbers the batch's rows within the file `source`.
    """
    import pyarrow.compute as pc

    for name, width in widths.items():
        if name not in batch.schema.names:
            continue
        column = batch.column(name)
        kind = _kind(column)
        if kind is None:
            continue
        lengths = utf16_units(column) if kind == "text" else pc.binary_length(column)
        unit = "characters" if kind == "text" else "bytes"
        longest = pc.max(lengths).as_py()
        if longest is None or longest <= width:
            continue
        row = pc.index(pc.greater(lengths, width), True).as_py()
        raise ValueTooLong(
            f"table {table}, column {name}: the value in row {first_row + row + 1} of {source} "
            f"is {longest} {unit} long, more than the {width} the column holds. Widen the "
            f"column (ALTER TABLE ... ALTER COLUMN, or a larger 'lengths' setting in "
            f"ZOOMSYNC_SYNAPSE_LAYOUT for a table not created yet), then run again")


def row_bytes(batch: Any) -> Any:
    """Per row of `batch`, its size as the pool stores it (an int64 array)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = pa.array([0] * batch.num_rows, pa.int64())
    for column in batch.columns:
        kind = _kind(column)
        if kind == "text":
            size = pc.multiply(pc.cast(utf16_units(column), pa.int64()), 2)
        elif kind == "bytes":
            size = pc.cast(pc.binary_length(column), pa.int64())
        else:  # a fixed-width type: its width (within a byte or two of the pool's)
            width = max(1, getattr(column.type, "bit_width", 64) // 8)
            size = pc.if_else(pc.is_valid(column), pa.scalar(width, pa.int64()),
                              pa.scalar(0, pa.int64()))
        total = pc.add(total, pc.fill_null(size, 0))
    return total


def large_rows(batch: Any) -> Any:
    """A boolean array: the rows of `batch` over ROW_BYTES (the cheap bound first: UTF-8
    bytes x 2 bound the UTF-16 size, and almost no row comes near it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    bound = pa.array([0] * batch.num_rows, pa.int64())
    for column in batch.columns:
        if _kind(column) is not None:
            bound = pc.add(bound, pc.fill_null(
                pc.multiply(pc.cast(pc.binary_length(column), pa.int64()), 2), 0))
    if batch.num_rows == 0 or (pc.max(bound).as_py() or 0) + 8 * batch.num_columns <= ROW_BYTES:
        return pa.array([False] * batch.num_rows)
    return pc.greater(row_bytes(batch), ROW_BYTES)
