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
        schema = self.schema  # type: ignore[attr-defined]
        table = schema.tables.get(table_name)
        # The schema does not change under a load; a table that did (columns added, or the
        # table replaced) is prepared again.
        key = (table_name, id(table), len(table["columns"]) if table else -1)
        cache: dict[Any, Any] = self.__dict__.setdefault("_zoomsync_prepared", {})
        if key not in cache:
            cache[key] = super().prepare_load_table(table_name)  # type: ignore[misc]
        return json_copy(cache[key])


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
