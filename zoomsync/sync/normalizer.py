"""dlt's relational normalizer, made to extend each table family once instead of once per table.

dlt calls its JSON normalizer's `extend_table(name)` for every table of a schema whenever a
schema is made, cloned or restored (`extend_schema`): about 33 times in one zoomsync run.
What `extend_table` does depends only on the table's root (`get_root_table`): whether the
family needs `_dlt_root_id` propagated, decided by resolving the root's merge strategy on a
deep copy of the root table (`requires_root_key` -> `resolve_merge_strategy` ->
`prepare_load_table`). zoomsync's schema has 123 tables in 35 families, with wide roots
(Zoom's settings objects flatten to hundreds of columns), so doing it per table cost ~0.3 s
of a no-change rerun (profiled, dlt 1.31: 3,003 deep copies of a table in 5 reruns).
`extend_schema` here extends each root once: the same propagation settings, a third of
the copies.

The schema of zoomsync's source names this module as its JSON normalizer
(`normalizers.json.module`, sync/source.py), which dlt allows for any subclass of its
relational normalizer (`DataItemNormalizer.ensure_this_normalizer`): it applies to that
schema only. Upstream: docs/upstream/dlt-extend-schema-per-root.md would make it
unnecessary.
"""

from __future__ import annotations

from dlt.common.normalizers.json.relational import DataItemNormalizer as RelationalNormalizer

MODULE = __name__  # what a schema's `normalizers.json.module` names


class DataItemNormalizer(RelationalNormalizer):
    """dlt's relational normalizer; `extend_schema` extends each root table once."""

    def extend_schema(self, extend_tables: bool = True) -> None:
        super().extend_schema(extend_tables=False)
        if extend_tables:
            for name, table in list(self.schema.tables.items()):
                if not table.get("parent"):  # a nested table's extension is its root's
                    self.extend_table(name)
