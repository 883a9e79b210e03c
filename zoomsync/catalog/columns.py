"""Each stream's column types, from Zoom's spec, as dlt column hints.

    dlt.resource(rows, name=s.name, primary_key=list(s.primary_key),
                 columns=columns(s.name), nested_hints=nested_hints(s.name) or None)

Declared types keep an all-null first page or a value of drifting type (a numeric
`meeting_id`, a `dept` sent as a number) from fixing a column's type by accident; fields
the spec lacks still arrive through dlt's schema evolution. The data is `columns.json`,
generated from Zoom's OpenAPI specs by `scripts/gen_catalog_columns.py` and checked
against them by `tests/catalog/test_catalog.py`; edit the script, not the JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, cast

from zoomsync import hints

if TYPE_CHECKING:
    from dlt.common.schema.typing import TColumnSchema, TDataType, TTableSchemaColumns
    from dlt.common.typing import TTableNames
    from dlt.extract.hints import TResourceNestedHints

Personal = Literal["email", "name"]
SEPARATOR = "__"  # dlt's separator for flattened columns and child table names


@dataclass(frozen=True)
class StreamColumns:
    """A stream's tables as the spec types them.

    `columns`: the root table's columns and their dlt data types (`settings__host_video`:
    `bool`). `nested`: each child table (`meetings__tracking_fields`) and its columns.
    `personal`: per table, the columns the spec marks as an email or that hold a name.
    `schemas`: the spec paths whose 200 responses these types come from.
    dlt adds its own columns (`_dlt_id`, `_dlt_load_id`, ...) to these.
    """

    name: str
    columns: Mapping[str, str]
    nested: Mapping[str, Mapping[str, str]]
    personal: Mapping[str, Mapping[str, Personal]]
    schemas: tuple[str, ...]

    def path(self, table: str) -> tuple[str, ...]:
        """A child table's path below the root: `meetings__settings__x` is (settings, x)."""
        return tuple(table.removeprefix(self.name + SEPARATOR).split(SEPARATOR))

    def parent(self, table: str) -> str:
        """The table whose rows a child table's rows belong to.

        That is not always the name minus its last part: `meetings__settings__x` belongs to
        `meetings`, since `settings` is an object flattened into `meetings`' columns.
        """
        parts = table.split(SEPARATOR)
        for end in range(len(parts) - 1, 0, -1):
            candidate = SEPARATOR.join(parts[:end])
            if candidate == self.name or candidate in self.nested:
                return candidate
        raise ValueError(f"{table} is not a child table of {self.name}")


@cache
def _all() -> Mapping[str, StreamColumns]:
    raw = json.loads(files("zoomsync.catalog").joinpath("columns.json").read_text("utf-8"))
    return MappingProxyType({
        name: StreamColumns(
            name=name,
            columns=MappingProxyType(entry["columns"]),
            nested=MappingProxyType({t: MappingProxyType(c) for t, c in entry["nested"].items()}),
            personal=MappingProxyType({t: MappingProxyType(c)
                                       for t, c in entry["personal"].items()}),
            schemas=tuple(entry["schemas"]),
        )
        for name, entry in raw.items()
    })


def spec_columns(stream_name: str) -> StreamColumns:
    """The spec's tables for one stream, as generated into columns.json."""
    try:
        return _all()[stream_name]
    except KeyError:
        raise KeyError(f"no column types for stream {stream_name!r}: run "
                       ".venv/bin/python scripts/gen_catalog_columns.py") from None


def _hints(types: Mapping[str, str], not_null: frozenset[str] = frozenset(),
           personal: Mapping[str, str | None] | None = None) -> TTableSchemaColumns:
    # `name` is repeated inside each column: dlt fills it in for a resource's own columns,
    # but its nested-table hints fail on a column without one (KeyError: 'name', dlt 1.31).
    out = {name: cast("TColumnSchema", {"name": name, "data_type": cast("TDataType", kind),
                                        "nullable": name not in not_null})
           for name, kind in types.items()}
    for name, kind in (personal or {}).items():
        # A personal column the spec does not type still gets its mark (dlt types it when
        # the first value arrives).
        column: dict[str, Any] = dict(out.get(name) or {"name": name})
        column[hints.PERSONAL] = kind or hints.OTHER
        out[name] = cast("TColumnSchema", column)
    return out


def personal(stream_name: str) -> dict[str, dict[str, str | None]]:
    """table -> {column: kind} for one stream: the declaration's `personal` root columns
    (kind judged by name later: None) and the spec's email/name columns of every table."""
    from zoomsync.catalog import CATALOG

    out: dict[str, dict[str, str | None]] = {stream_name: {}}
    for column in CATALOG[stream_name].personal:
        out[stream_name][column] = None
    for table, columns in spec_columns(stream_name).personal.items():
        out.setdefault(table, {}).update(columns)
    return {t: cols for t, cols in out.items() if cols}


def columns(stream_name: str) -> TTableSchemaColumns:
    """The root table's column hints; primary-key columns are not nullable, personal ones
    carry `hints.PERSONAL` (for masking, docs/destinations/synapse.md)."""
    from zoomsync.catalog import CATALOG

    return _hints(spec_columns(stream_name).columns,
                  frozenset(CATALOG[stream_name].primary_key),
                  personal(stream_name).get(stream_name))


def nested_hints(stream_name: str) -> dict[TTableNames, TResourceNestedHints]:
    """Hints for every child table, keyed by its path below the root, as dlt wants them.

    Each names its parent table: by default dlt takes the path minus its last part, a
    table that does not exist when the path runs through a flattened object, and fails
    with ParentTableNotFoundException.
    """
    spec = spec_columns(stream_name)
    marked = personal(stream_name)
    out: dict[TTableNames, Any] = {}
    for table, types in spec.nested.items():
        out[spec.path(table)] = {"columns": _hints(types, personal=marked.get(table)),
                                 "parent_table_name": spec.parent(table)}
    return out
