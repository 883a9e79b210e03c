"""Every table's full contents in a form two loads can be compared by, child tables included.

dlt's own columns differ between two loads of the same data (`_dlt_load_id`, and `_dlt_id`
may be random), and so does `_zoomsync_read_order` (when a row was read), so they are left
out; a child row instead carries its parent's identity —
the parent's own contents, or for a nested child its parent's identity and list index — so
a child row that lost or changed its parent counts as different. Rows are compared as
multisets: a duplicated row is a difference, not a match.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.destinations.readers import Reader, Rows
from tests.sync.compare import scalar
from zoomsync.sync.read_order import READ_ORDER

Contents = dict[str, Counter[str]]


def contents(reader: Reader) -> Contents:
    """Every data table of the dataset: canonical rows, counted."""
    tables = sorted(reader.tables(), key=lambda t: t.count("__"))  # parents first
    identity: dict[Any, str] = {}  # _dlt_id -> the row's identity
    out: Contents = {}
    for table in tables:
        out[table] = Counter()
        for row in reader.rows(table):
            data = repr(sorted((k, scalar(v)) for k, v in row.items()
                               if not k.startswith("_dlt") and k != READ_ORDER))
            if "__" in table:
                parent = identity.get(row.get("_dlt_parent_id"), "<no parent row>")
                me = f"{parent}/{row.get('_dlt_list_idx')}"
                data = f"{me} {data}"
            else:
                me = data
            identity[row.get("_dlt_id")] = me
            out[table][data] += 1
    return out


def filled(reader: Reader, tables: list[str]) -> set[str]:
    """The tables that hold rows; a table a killed run never created holds none."""
    found: set[str] = set()
    for table in tables:
        try:
            rows: Rows = reader.rows(table)
        except Exception:  # not there yet: every engine words that differently
            continue
        if rows:
            found.add(table)
    return found


def differences(expected: Contents, actual: Contents, *, limit: int = 3) -> list[str]:
    """Tables missing or extra, and per table the rows missing, extra or duplicated."""
    problems = [f"table {t} missing" for t in sorted(expected.keys() - actual.keys())]
    problems += [f"table {t} not expected" for t in sorted(actual.keys() - expected.keys())]
    for table in sorted(expected.keys() & actual.keys()):
        exp, act = expected[table], actual[table]
        missing, extra = exp - act, act - exp
        if missing or extra:
            problems.append(f"{table}: {sum(missing.values())} rows missing, "
                            f"{sum(extra.values())} extra (of {sum(exp.values())}); e.g. "
                            f"missing {list(missing)[:limit]}, extra {list(extra)[:limit]}")
    return problems
