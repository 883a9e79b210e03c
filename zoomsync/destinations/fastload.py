"""Cut dlt's per-package Python cost in the load step (same results, less copying and rewriting).

Profiling zoomsync's load step (bench/load.py, 48 tables: 8 roots with nested tables)
showed most of dlt's fixed cost per load package is not SQL but Python: dlt's
`_extend_tables_with_table_chain` (dlt/load/utils.py, 1.31) deep-copies every nested table
of every root, once per table it is asked about, to read two fields the copy does not
change (the name and the normalizer's "seen data" mark), and its filter
(`should_load_data_to_staging_dataset`) deep-copies the table again per call. With our
wide tables that was ~3,800 deep copies of ~180 objects each per load: ~0.4 s of a 1.2 s
load on the benchmark account.

`faster_load_step()` installs an equivalent of that function that reads the schema's
tables without copying them and asks the filter once per table name per call. The result
is the same set of names: `fill_hints_from_parent_and_clone_table` only adds inherited
write disposition / format / merge strategy hints to the copy, none of which the loop
reads, and the filters are pure functions of the (unchanged) schema; a root reached again
through another of its tables adds the same names again, so each root is walked once.
dlt has no option for this; if dlt renames the function, its own version stays in place.

The same call also installs `clone_table` over dlt's `fill_hints_from_parent_and_clone_table`
(dlt/common/schema/utils.py), which every `prepare_load_table` (per job, per completed
table chain, per staging check: ~300 calls per benchmark load) and `get_completed_table_chain`
(per finished job) go through, and which spends its time in `copy.deepcopy` of the table
(~108k deepcopy calls per load; measured without a profiler: 0.06-0.11 s, now ~0.02 s).
Schema tables are JSON documents (dicts, lists, strings, numbers, booleans, None: dlt stores
them as JSON), so `json_copy` copies them as such: a new dict or list at every level, the
immutable leaves shared, anything else still through `deepcopy`. The result is equal to
dlt's and, like it, shares no dict or list with the schema, so dlt and our destination code
may change it as before; only deepcopy's bookkeeping is gone (~4x less time per table). Not
memoised: a fresh copy per call keeps dlt's own guarantee without a cache to invalidate.

And `_install_lean_package_state` drops, as a package starts loading, the copy of the whole
pipeline state dlt keeps in the package's own state: only dlt's filesystem destination
reads it (to write its state file; SQL warehouses get the state as a row of
`_dlt_pipeline_state`, a job of the package), yet dlt rewrites and hashes the package
state each time jobs finish — 7 times for the benchmark account, 4 MB each time with
zoomsync's row hashes (sync/state.py): 0.5 s of a 1.8 s PostgreSQL load, profiled.

Two more, each described where it is installed: `nested_tables` for dlt's
`get_nested_tables`, and `_install_outputs_hashed_once` for the load's lineage. And the
load starts a package's largest files first (largest_first.py).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("zoomsync.destinations")

_MODULES = ("dlt.load.utils", "dlt.load.load")  # where dlt defines and imports it
_CHAINS = "_extend_tables_with_table_chain"
# Where dlt defines `fill_hints_from_parent_and_clone_table` and the modules that import it
# by name (dlt 1.31), so each call site finds ours.
_CLONE_MODULES = ("dlt.common.schema.utils", "dlt.common.destination.utils", "dlt.load.utils")
_CLONE = "fill_hints_from_parent_and_clone_table"
# Where dlt defines `get_nested_tables` and the modules that import it by name (dlt 1.31).
_NESTED_MODULES = ("dlt.common.schema.utils", "dlt.load.utils",
                   "dlt.common.normalizers.json.helpers",
                   "dlt.destinations.impl.filesystem.filesystem")
_NESTED = "get_nested_tables"
# (module name, function name) -> dlt's function we replaced there
_dlt_originals: dict[tuple[str, str], Callable[..., Any]] = {}
_LEAVES = (str, int, float, bool, type(None))  # immutable JSON values: shared, not copied


def faster_load_step() -> None:
    """Replace dlt's table-chain helper by `extend_tables_with_table_chain`, its table clone
    by `clone_table`, its nested-table walk by `nested_tables`, keep the pipeline state out
    of SQL loads' package state, hash the schema once for the load's lineage, and start
    the largest files first (idempotent)."""
    from zoomsync.destinations.largest_first import start_largest_files_first

    _replace_in_modules(_MODULES, _CHAINS, extend_tables_with_table_chain)
    _replace_in_modules(_CLONE_MODULES, _CLONE, clone_table)
    _replace_in_modules(_NESTED_MODULES, _NESTED, nested_tables)
    _install_lean_package_state()
    _install_outputs_hashed_once()
    start_largest_files_first()


def _install_outputs_hashed_once() -> None:
    """dlt's `Load._compute_outputs` (the load's lineage in its trace) asks the schema's
    `version_hash` once per resource, and each ask serialises and hashes the whole schema:
    25 times per load, ~50 ms of a 1 s PostgreSQL load at its end (bench/load.py, a
    232 KB schema). The schema does not change while it runs: give it a stand-in whose
    hash is computed once."""

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def _compute_outputs(self: Any, schema: Any, *args: Any, **kwargs: Any) -> Any:
            return original(self, _HashedOnce(schema), *args, **kwargs)
        return _compute_outputs

    _wrap_load_method("_compute_outputs", wrap)


class _HashedOnce:
    """A schema whose `version_hash` was read once; everything else is the schema's."""

    def __init__(self, schema: Any) -> None:
        self._schema = schema
        self.version_hash = schema.version_hash

    def __getattr__(self, name: str) -> Any:
        return getattr(self._schema, name)


def _install_lean_package_state() -> None:
    try:
        from dlt.common.storages.load_package import load_package_state
    except ImportError:
        return

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def load_single_package(self: Any, load_id: str, schema: Any) -> Any:
            if not str(getattr(self.destination, "destination_type", "")).endswith(
                    ".filesystem"):
                # dlt's key for it (dlt/pipeline/state_sync.py LOAD_PACKAGE_STATE_KEY)
                load_package_state()["state"].pop("pipeline_state", None)
            return original(self, load_id, schema)
        return load_single_package

    _wrap_load_method("load_single_package", wrap)


def _wrap_load_method(name: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]
                      ) -> None:
    """Replace dlt's `Load.<name>` by `wrap(dlt's)`, once; left as dlt's if dlt renamed it."""
    try:
        from dlt.load.load import Load
    except ImportError:
        return
    original = getattr(Load, name, None)
    if not callable(original) or getattr(original, "_zoomsync_wrapped", False):
        return
    replacement = wrap(original)
    replacement._zoomsync_wrapped = True  # type: ignore[attr-defined]
    setattr(Load, name, replacement)


def _replace_in_modules(modules: Iterable[str], name: str, ours: Callable[..., Any]) -> None:
    """Put `ours` in place of dlt's function `name` in each of `modules` that has it (dlt
    defines it in one and imports it by name into the others), keeping dlt's for
    `dlt_original`. Where a module is missing (an extra not installed) or dlt renamed the
    function, dlt's own stays: ours gives the same answers, so a partial swap is harmless."""
    import importlib

    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        current = getattr(module, name, None)
        if not callable(current):
            log.debug("dlt's %s has no %s: left as it is", module_name, name)
            continue
        if current is not ours:
            _dlt_originals.setdefault((module_name, name), current)
        setattr(module, name, ours)


def dlt_original(module_name: str, name: str) -> Callable[..., Any]:
    """dlt's own function `name` of `module_name`, replaced by ours or not (for tests)."""
    import importlib

    return _dlt_originals.get((module_name, name),
                              getattr(importlib.import_module(module_name), name))


def dlt_nested_tables() -> Callable[..., list[Any]]:
    """dlt's own `get_nested_tables`, installed over or not (tests compare the two)."""
    return dlt_original("dlt.common.schema.utils", _NESTED)


def nested_tables(tables: Any, table_name: str, max_nesting: int | None = None,
                  include_self: bool | None = True) -> list[Any]:
    """dlt's `get_nested_tables` (1.31), the same list in the same order: `table_name`'s
    table and its nested tables, parents before children, children in `tables` order.

    dlt scans every table of the schema for the children of each table it reaches: with
    zoomsync's 123 tables, ~135k checks per load (0.07 s of a 1 s PostgreSQL load, and
    more in normalize). Here one pass finds every table's children, then the walk.
    """
    if table_name not in tables:
        return []
    children: dict[str, list[Any]] = {}
    for candidate in tables.values():
        if parent := candidate.get("parent"):
            children.setdefault(parent, []).append(candidate)
    chain: list[Any] = []

    def walk(table: Any, level: int) -> None:
        if include_self or level > 0:
            chain.append(table)
        if max_nesting is not None and level >= max_nesting:
            return
        for child in children.get(table["name"], ()):
            walk(child, level + 1)

    walk(tables[table_name], 0)
    return chain


def dlt_clone_table() -> Callable[[Any, Any], Any]:
    """dlt's own `fill_hints_from_parent_and_clone_table`, installed over or not."""
    return dlt_original("dlt.common.schema.utils", _CLONE)


def dlt_table_chains() -> Callable[..., Iterable[str]]:
    """dlt's own function, installed over or not (tests compare the two)."""
    return dlt_original("dlt.load.utils", _CHAINS)


def extend_tables_with_table_chain(
    schema: Any,
    tables: Iterable[str],
    tables_with_jobs: Iterable[str],
    include_table_filter: Callable[[str], bool] = lambda t: True,
) -> Iterable[str]:
    """dlt's `_extend_tables_with_table_chain` (1.31), without cloning tables to read them.

    `tables` extended with all their nested tables, minus tables that never saw data, that
    `include_table_filter` rejects, or (for append roots) that have no job.
    """
    from dlt.common.schema.utils import get_nested_tables, get_root_table, has_table_seen_data

    with_jobs = set(tables_with_jobs)
    included: dict[str, bool] = {}
    result: set[str] = set()
    done_roots: set[str] = set()  # each root's chain gives the same names every time
    for table_name in tables:
        root = get_root_table(schema.tables, table_name)
        if root["name"] in done_roots:
            continue
        done_roots.add(root["name"])
        skip_jobless_table = root["write_disposition"] not in ("replace", "merge")
        for table in get_nested_tables(schema.tables, root["name"]):
            name = table["name"]
            if not has_table_seen_data(table):
                continue
            if name not in included:
                included[name] = include_table_filter(name)
            if not included[name]:
                continue
            if name not in with_jobs and skip_jobless_table:
                continue
            result.add(name)
    return result


def clone_table(tables: Any, table: Any) -> Any:
    """dlt's `fill_hints_from_parent_and_clone_table` (1.31) with `json_copy` for `deepcopy`:
    a copy of `table` with write disposition, table format, file format and merge strategy
    taken from its parents where it has none."""
    from dlt.common.schema.utils import (
        get_file_format,
        get_merge_strategy,
        get_table_format,
        get_write_disposition,
    )

    table = json_copy(table)
    name = table["name"]
    if "write_disposition" not in table:
        table["write_disposition"] = get_write_disposition(tables, name)
    if "table_format" not in table and (table_format := get_table_format(tables, name)):
        table["table_format"] = table_format
    if "file_format" not in table and (file_format := get_file_format(tables, name)):
        table["file_format"] = file_format
    if "x-merge-strategy" not in table and (strategy := get_merge_strategy(tables, name)):
        table["x-merge-strategy"] = strategy
    return table


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON document: new dicts and lists, immutable leaves shared; any
    other type goes through `copy.deepcopy`. Unlike deepcopy it does not keep two references
    to one object inside `value` pointing at one copy (schema tables, read from JSON, have
    none)."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _LEAVES else json_copy(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _LEAVES else json_copy(v) for v in value]
    if kind in _LEAVES:
        return value
    return copy.deepcopy(value)
