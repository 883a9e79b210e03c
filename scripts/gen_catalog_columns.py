"""Generate `zoomsync/catalog/columns.json`: every stream's column types, from Zoom's specs.

    .venv/bin/python scripts/gen_catalog_columns.py [--spec-dir DIR] [--output FILE]

dlt infers a column's type from the first value it sees, so an all-null first page or a
field Zoom sends with a drifting type (a numeric `meeting_id`, a `dept` that is sometimes a
number) would fix the table's type by accident. Instead each stream declares its columns,
typed from the 200 response schema in Zoom's published OpenAPI specs, as dlt hints
(`zoomsync/catalog/columns.py` turns this file into them). Fields the spec lacks still
land through dlt's schema evolution.

The walk mirrors dlt's relational normaliser, so the names here are the names dlt gives:
objects are flattened into `parent__child` columns (down to MAX_DEPTH name parts; a deeper
object stays one `json` column, which dlt then leaves unflattened), and arrays become
child tables named `<table>__<field>`, a scalar array's items in a `value` column.

`tests/catalog/test_catalog.py` regenerates the file and compares it with the committed
one. The specs are found as `scripts/_spec.py` says; the spec-derived endpoint table of
`scripts/gen_emulator_endpoints.py` says which spec file holds each path.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlt.common.normalizers.naming.snake_case import NamingConvention

if str(Path(__file__).parent) not in sys.path:  # loaded by path (the tests), not run
    sys.path.insert(0, str(Path(__file__).parent))

from _spec import REPO, GenerationError, load_specs, run
from _spec import render as render  # re-exported: the tests render through this script

if str(REPO) not in sys.path:  # run as a script, the repo root is not on the path
    sys.path.insert(0, str(REPO))

from zoomsync.catalog import CATALOG, Stream
from zoomsync.emulator.endpoints import ENDPOINTS
from zoomsync.sync.source import NUMERIC_PARENTS

DEFAULT_OUTPUT = REPO / "zoomsync" / "catalog" / "columns.json"

# Name parts a flattened column may have: `settings__breakout_room__enable` is the deepest;
# an object found at that depth is kept whole as one json column instead. Zoom's settings
# nest 4 levels in places, and ever longer names help nobody querying the table.
MAX_DEPTH = 3
# dlt's names for the value column of a scalar array's child table.
VALUE_COLUMN = "value"
ROW_INDEX = "row_index"

# Personal data the spec does not mark with a format: a person's names. A bare `name` counts
# only beside an email (a person), not on a group, poll or device.
NAME_FIELDS = frozenset({"first_name", "last_name", "display_name", "user_name"})

# Streams whose records the engine completes from a second endpoint: discovery reads every
# user's full profile (zoomsync/sync/discovery.py), as the list lacks phone number, job
# title, language, ... Their columns are the union of both schemas.
COMPLETED_BY: Mapping[str, str] = {"users": "/users/{userId}"}

# dlt names exactly as its default naming convention (snake_case, no length limit: a
# destination's shorter limit is applied by dlt to hints and data alike).
NAMING = NamingConvention()


# --- the spec -------------------------------------------------------------------------------


def spec_template(path: str) -> str:
    """The spec's template for a catalog path: `/accounts/me/settings` is `{accountId}`."""
    if path in ENDPOINTS:
        return path
    parts = path.strip("/").split("/")
    for template in ENDPOINTS:
        segments = template.strip("/").split("/")
        if len(segments) == len(parts) and all(
                s == p or (s.startswith("{") and "{" not in p)
                for s, p in zip(segments, parts, strict=True)):
            return template
    raise GenerationError(f"{path} is not in zoomsync/emulator/endpoints.json; add it to "
                          "IN_SCOPE in scripts/gen_emulator_endpoints.py and regenerate")


def response_schema(specs: Mapping[str, Any], template: str) -> Mapping[str, Any]:
    """The 200 JSON schema of GET `template`, from the spec file the endpoint table names."""
    operation = specs[ENDPOINTS[template].spec]["paths"][template]["get"]
    return operation["responses"]["200"]["content"]["application/json"]["schema"]


@dataclass
class Node:
    """A schema with its `allOf` branches merged and its `oneOf` reduced to one branch."""

    type: str | None = None
    format: str | None = None
    properties: dict[str, Node] = field(default_factory=dict)
    items: Node | None = None


def resolve(schema: Mapping[str, Any], where: str) -> Node:
    node = Node()
    for branch in schema.get("allOf", []):
        _merge(node, resolve(branch, where), where)
    alternatives = [resolve(b, where) for b in (*schema.get("oneOf", []),
                                                  *schema.get("anyOf", []))]
    if alternatives:
        # Zoom's settings bodies are oneOf the full settings and the bodies `?option=` asks
        # for; we never pass `option`, so the branch with the most fields is the one served.
        _merge(node, max(alternatives, key=lambda n: len(n.properties)), where)
    own = Node(type=schema.get("type"), format=schema.get("format"),
               properties={k: resolve(v, f"{where}.{k}")
                           for k, v in schema.get("properties", {}).items()},
               items=resolve(schema["items"], f"{where}[]") if "items" in schema else None)
    _merge(node, own, where)
    if node.type is None and node.properties:
        node.type = "object"
    return node


def _merge(into: Node, other: Node, where: str) -> None:
    for attr in ("type", "format"):
        mine, theirs = getattr(into, attr), getattr(other, attr)
        if mine is not None and theirs is not None and mine != theirs:
            raise GenerationError(f"{where}: merged schemas disagree on {attr}: "
                                  f"{mine!r} vs {theirs!r}")
        setattr(into, attr, mine if mine is not None else theirs)
    for key, sub in other.properties.items():
        if key in into.properties:
            _merge(into.properties[key], sub, f"{where}.{key}")
        else:
            into.properties[key] = sub
    if other.items is not None:
        if into.items is None:
            into.items = other.items
        else:
            _merge(into.items, other.items, f"{where}[]")


def record_schema(stream: Stream, body: Node) -> Node:
    """The schema of one record: an item of `list_key`, or the whole body."""
    if stream.list_key is None:
        return body
    array = body.properties.get(stream.list_key)
    if array is None or array.type != "array" or array.items is None:
        raise GenerationError(f"{stream.name}: the response has no array {stream.list_key!r}")
    return array.items


# --- the tables -----------------------------------------------------------------------------


def data_type(node: Node, where: str) -> str:
    if node.type == "string":
        return {"date-time": "timestamp", "date": "date"}.get(node.format or "", "text")
    try:
        return {"integer": "bigint", "number": "double", "boolean": "bool"}[node.type or ""]
    except KeyError:
        raise GenerationError(f"{where}: no dlt type for {node.type!r}") from None


@dataclass
class Table:
    """One dlt table: its columns' types, and which of them hold personal data."""

    columns: dict[str, str] = field(default_factory=dict)
    personal: dict[str, str] = field(default_factory=dict)


def tables(root: str, record: Node) -> dict[str, Table]:
    """The root table of `record` and every child table below it, by dlt table name."""
    out: dict[str, Table] = {root: Table()}
    _fill(out, root, out[root], record, (), root)
    return out


def _fill(out: dict[str, Table], table_name: str, table: Table, obj: Node,
          prefix: tuple[str, ...], where: str) -> None:
    emails = any(p.format == "email" for p in obj.properties.values())
    for key, node in obj.properties.items():
        name = NAMING.normalize_identifier(key)
        if "__" in name:
            # columns.py splits child table names on `__` to get dlt's nested_hints paths
            raise GenerationError(f"{where}.{key}: a field name with '__' is not supported")
        path = (*prefix, name)
        column = NAMING.shorten_fragments(*path)
        here = f"{where}.{key}"
        if node.type == "object":
            if node.properties and len(path) < MAX_DEPTH:
                _fill(out, table_name, table, node, path, here)
            else:
                table.columns[column] = "json"
        elif node.type == "array":
            _child(out, NAMING.shorten_fragments(table_name, *path), node, here)
        else:
            table.columns[column] = data_type(node, here)
            if node.format == "email":
                table.personal[column] = "email"
            elif key in NAME_FIELDS or (key == "name" and emails):
                table.personal[column] = "name"


def _child(out: dict[str, Table], name: str, array: Node, where: str) -> None:
    items = array.items or Node()
    if name in out:
        raise GenerationError(f"{where}: child table {name} arises twice")
    table = out[name] = Table()
    if items.type == "object":
        _fill(out, name, table, items, (), f"{where}[]")
    elif items.type == "array":
        raise GenerationError(f"{where}: arrays of arrays are not supported")
    elif items.type is not None:
        table.columns[VALUE_COLUMN] = data_type(items, f"{where}[]")
    # An array of untyped items gets a child table with no declared columns: dlt infers them.


def stream_tables(stream: Stream, specs: Mapping[str, Any]) -> dict[str, Table]:
    template = spec_template(stream.path)
    where = f"GET {template} ({stream.name})"
    record = record_schema(stream, resolve(response_schema(specs, template), where))
    if stream.name in COMPLETED_BY:
        detail = COMPLETED_BY[stream.name]
        _merge(record, resolve(response_schema(specs, detail), f"GET {detail}"), where)
    out = tables(stream.name, record)
    root = out[stream.name]
    # The engine pops a dropped field whole, so whatever dlt would have made of it (its
    # flattened columns, its child tables) never arises either.
    for name in stream.drop:
        for column in [c for c in root.columns if c == name or c.startswith(name + "__")]:
            del root.columns[column]
            root.personal.pop(column, None)
        below = f"{stream.name}__{name}"
        for table in [t for t in out if t == below or t.startswith(below + "__")]:
            del out[table]
    added: list[tuple[str, str]] = []
    if stream.parent_key is not None:
        added.append((stream.parent_key,
                      "bigint" if stream.parent_key in NUMERIC_PARENTS else "text"))
    if stream.row_index:
        added.append((ROW_INDEX, "bigint"))
    for name, kind in added:
        if root.columns.get(name, kind) != kind:
            raise GenerationError(f"{where}: the spec's {name} is {root.columns[name]}, but "
                                  f"the engine fills it as {kind}")
        root.columns[name] = kind
    missing = [k for k in stream.primary_key if k not in root.columns]
    if missing:
        raise GenerationError(f"{where}: primary key {missing} is not a column of the record")
    return out


def schemas(stream: Stream) -> list[str]:
    """The spec paths whose response schemas type the stream's columns."""
    return [spec_template(stream.path), *([COMPLETED_BY[stream.name]]
                                          if stream.name in COMPLETED_BY else [])]


def build(spec_dir: Path) -> dict[str, Any]:
    """columns.json's content: per stream, its root columns, child tables, personal data and
    the spec paths these come from."""
    specs = load_specs(spec_dir, sorted({ep.spec for ep in ENDPOINTS.values()}))
    result: dict[str, Any] = {}
    for stream in CATALOG.values():
        found = stream_tables(stream, specs)
        root = found.pop(stream.name)
        result[stream.name] = {
            "columns": root.columns,
            "schemas": schemas(stream),
            "nested": {name: t.columns for name, t in found.items()},
            "personal": {name: t.personal for name, t in _with_root(stream.name, root, found)
                         if t.personal},
        }
    return result


def _with_root(name: str, root: Table, nested: Mapping[str, Table]) -> Iterator[tuple[str, Table]]:
    yield name, root
    yield from nested.items()


if __name__ == "__main__":
    sys.exit(run(doc=__doc__, default_output=DEFAULT_OUTPUT, build=build,
                 summary=lambda content, output:
                 f"wrote the columns of {len(content)} streams to {output}"))
