"""A job client that prepares each table once per client instead of once per question.

dlt's load step asks its job client about a table again and again while it sets up a load
(`should_load_data_to_staging_dataset`, `should_truncate_table_before_load`, each job and
each completed table chain), and every ask goes through `prepare_load_table`, which
deep-copies the table (documented: "the table schema is cloned"). zoomsync's tables are
wide (Zoom's settings objects flatten to hundreds of columns): 1,534 such copies in one
load of the benchmark account, profiled. `PreparesOnce.prepare_load_table` prepares a table
once per client (again should it change) and hands each caller its own copy of the result, made
as a JSON document is (new dicts and lists, immutable leaves shared), which is what a
prepared table is: callers may change their copy as before.
"""

from __future__ import annotations

import copy
from typing import Any

_LEAVES = (str, int, float, bool, type(None))  # immutable JSON values: shared, not copied


class PreparesOnce:
    """Job client mixin; put it before dlt's client class in the bases."""

    def prepare_load_table(self, table_name: str) -> Any:
        table = self.schema.tables.get(table_name)  # type: ignore[attr-defined]
        width = len(table["columns"]) if table else -1
        cache: dict[str, tuple[Any, int, Any]] = self.__dict__.setdefault(
            "_zoomsync_prepared", {})
        # The schema does not change under a load; a table that did (replaced, or columns
        # added) is prepared again. The entry holds the table itself, so `is` is sound.
        entry = cache.get(table_name)
        if entry is None or entry[0] is not table or entry[1] != width:
            entry = cache[table_name] = (
                table, width, super().prepare_load_table(table_name))  # type: ignore[misc]
        return json_copy(entry[2])


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON document: new dicts and lists, immutable leaves shared, anything
    else through `copy.deepcopy`."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _LEAVES else json_copy(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _LEAVES else json_copy(v) for v in value]
    if kind in _LEAVES:
        return value
    return copy.deepcopy(value)
