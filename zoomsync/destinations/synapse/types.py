"""dlt column types as Synapse dedicated SQL pool column types.

Input is a dlt column schema (`{"name", "data_type", "nullable", "precision", "scale",
"primary_key", ...}`, as in `zoomsync.catalog.columns` or a dlt table schema); output is a
`SqlColumn` that knows its DDL text and its declared width in bytes, which layout.py needs to
check index rules before anything reaches the server.

Choices (and why):
- text: `nvarchar(n)` when dlt carries a length `n` <= 4000, else `nvarchar(max)`. A load
  must never fail on a long string, and `(max)` holds anything up to 2 GB. The one place
  `(max)` is illegal is a CLUSTERED COLUMNSTORE table; layout.py refuses that combination
  at configuration time instead of narrowing silently as dlt does.
  https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-tables-index
- key columns (primary keys and dlt's `_dlt_id`/`_dlt_root_id`/`_dlt_parent_id`):
  `nvarchar(128) COLLATE Latin1_General_100_BIN2 NOT NULL`. The default database collation
  is case-insensitive, and Zoom meeting UUIDs (and dlt's base64 row ids) differ only by case:
  `aDYl…==` and `adyl…==` are two meetings. Binary collation makes `=` compare code points.
  We use the non-UTF-8 `_BIN2`: on nvarchar the `_UTF8` suffix changes nothing (it only
  re-encodes varchar), and the plain one is valid in every Synapse context.
  https://learn.microsoft.com/azure/synapse-analytics/sql/reference-collation-types
  128 characters is 5x the longest Zoom id and keeps a three-column clustered index key
  under SQL Server's 900-byte limit.
- timestamp: `datetime2(3)`, holding UTC. Zoom sends UTC (`...Z`) with second precision, so
  an offset column would always say +00:00; datetime2 is what COPY's Parquet mapping
  documents for TIMESTAMP (not datetimeoffset), and Parquet MICROS/NANOS are documented as
  unsupported, so the uploader writes MILLIS and 3 digits hold them exactly.
  https://learn.microsoft.com/azure/synapse-analytics/sql/design-elt-data-loading
- bool `bit`, double `float`, bigint `bigint` (or `int`/`smallint` when dlt's precision says
  so; never `tinyint`, which Parquet loads only for 0-127), decimal `decimal(p,s)`
  (default 38,9), wei `decimal(38,0)`, date `date`, json `nvarchar(max)` (Synapse has no JSON
  type; its JSON functions read nvarchar), binary `varbinary(n|max)`.
  https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-tables-data-types
- time: refused. Synapse cannot load TIME columns from Parquet (dlt-hub/dlt#4256).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zoomsync.destinations.synapse.names import quote
from zoomsync.errors import ConfigError

KEY_COLLATION = "Latin1_General_100_BIN2"
KEY_CHARS = 128
MAX_NVARCHAR = 4000  # nvarchar(n) stops at 4000 characters; beyond is nvarchar(max)
MAX_VARBINARY = 8000
DEFAULT_DECIMAL = (38, 9)
DEFAULT_TIMESTAMP_PRECISION = 3

# dlt's row ids link child rows to their parents and roots; they are case-sensitive base64.
DLT_ID_COLUMNS = frozenset({"_dlt_id", "_dlt_root_id", "_dlt_parent_id"})
# dlt's other system text column is short and known; bounding it keeps tables CCI-compatible.
BOUNDED = {"_dlt_load_id": 64}


@dataclass(frozen=True)
class SqlColumn:
    """One column as Synapse will hold it.

    `nbytes` is the declared width (for index key limits), None for a `(max)` type.
    """

    name: str
    sql_type: str
    nullable: bool = True
    collation: str | None = None
    nbytes: int | None = 0
    data_type: str = "text"

    @property
    def is_max(self) -> bool:
        return self.nbytes is None

    def ddl(self, *, force_nullable: bool = False) -> str:
        """`[name] type [COLLATE c] NULL|NOT NULL`. `force_nullable` for ALTER TABLE ADD:
        rows already in the table have no value for a new column."""
        parts = [quote(self.name), self.sql_type]
        if self.collation:
            parts.append(f"COLLATE {self.collation}")
        parts.append("NULL" if self.nullable or force_nullable else "NOT NULL")
        return " ".join(parts)


def is_key(column: Mapping[str, Any]) -> bool:
    """Columns that rows are matched on: the stream's primary key and dlt's row ids."""
    return bool(column.get("primary_key") or column.get("row_key") or column.get("parent_key")
                or column.get("root_key") or column["name"] in DLT_ID_COLUMNS)


def sql_column(column: Mapping[str, Any], *, length: int | None = None,
               bounded: bool = False) -> SqlColumn:
    """The Synapse column for one dlt column. `length` overrides dlt's `precision` for text
    and binary (a per-table configuration, see layout.py). `bounded`: never a `(max)` type
    (a column added to a columnstore table): text without a length gets the widest bounded
    one, `nvarchar(4000)`, binary `varbinary(8000)`; longer values are refused before upload."""
    name = column["name"]
    data_type = column.get("data_type") or "text"
    key = is_key(column)
    nullable = bool(column.get("nullable", True)) and not key
    precision = length if length is not None else column.get("precision")
    if bounded and data_type in ("text", "json", "binary"):
        widest = MAX_VARBINARY if data_type == "binary" else MAX_NVARCHAR
        precision = min(int(precision), widest) if precision is not None else widest
    if key:
        if data_type not in ("text", "bigint", "date", "timestamp", "decimal", "bool"):
            raise ConfigError(f"column {name}: a key column of type {data_type} cannot be "
                              "compared by the merge")
        if data_type == "text":
            chars = int(precision or KEY_CHARS)
            if chars > MAX_NVARCHAR:
                raise ConfigError(f"key column {name}: at most {MAX_NVARCHAR} characters")
            return SqlColumn(name, f"nvarchar({chars})", False, KEY_COLLATION, 2 * chars, data_type)
    sql_type, nbytes = _type(name, data_type, precision, column.get("scale"))
    return SqlColumn(name, sql_type, nullable, None, nbytes, data_type)


def _type(name: str, data_type: str, precision: Any, scale: Any) -> tuple[str, int | None]:
    if data_type in ("text", "json"):
        if precision is None and name in BOUNDED:
            precision = BOUNDED[name]
        if precision is not None and int(precision) <= MAX_NVARCHAR:
            return f"nvarchar({int(precision)})", 2 * int(precision)
        return "nvarchar(max)", None
    if data_type == "bigint":
        if precision is not None and int(precision) <= 16:
            return "smallint", 2
        if precision is not None and int(precision) <= 32:
            return "int", 4
        return "bigint", 8
    if data_type == "double":
        return "float", 8
    if data_type == "bool":
        return "bit", 1
    if data_type in ("decimal", "wei"):
        p, s = (38, 0) if data_type == "wei" else DEFAULT_DECIMAL
        p = int(precision) if precision is not None else p
        s = int(scale) if scale is not None else s
        if not 1 <= p <= 38 or not 0 <= s <= p:
            raise ConfigError(f"column {name}: decimal({p},{s}) is outside Synapse's 38 digits")
        return f"decimal({p},{s})", 5 if p <= 9 else 9 if p <= 19 else 13 if p <= 28 else 17
    if data_type == "date":
        return "date", 3
    if data_type == "timestamp":
        p = min(int(precision), 7) if precision is not None else DEFAULT_TIMESTAMP_PRECISION
        return f"datetime2({p})", 6 if p <= 2 else 7 if p <= 4 else 8
    if data_type == "binary":
        if precision is not None and int(precision) <= MAX_VARBINARY:
            return f"varbinary({int(precision)})", int(precision)
        return "varbinary(max)", None
    if data_type == "time":
        raise ConfigError(f"column {name}: Synapse cannot load TIME from Parquet; declare it as "
                          "text")
    raise ConfigError(f"column {name}: dlt type {data_type!r} has no Synapse mapping")
