"""Which of a key's rows is the newest: the order zoomsync read them in, as a column.

A Zoom list can return one record twice in a run (a page that shifted under pagination, a
user listed under two statuses while changing; a webhook burst naming one meeting twice),
the later copy in its newer state. Each stream keeps one row per key within a batch
(`StreamRun._changed`); across batches both copies are loaded, and the destination's merge
must keep the later one. dlt's merge keeps an arbitrary row of a repeated key unless the
table has a `dedup_sort` column: then the row with the highest value wins.
(https://dlthub.com/docs/general-usage/merge-loading#sorting-duplicates-in-staging)

So every row of every stream gets `_zoomsync_read_order`, a number that only grows in a
process (nanoseconds since the epoch, or one more than the last if the clock stepped
back), marked `dedup_sort: desc`. It is stamped after the row's hash is taken
(`state.Tracker.changed`), so it never makes an unchanged row look changed. A load package
holds the rows of one extraction, so rows of one key in it compare in the order they were
read; packages load one after another. Our Synapse destination reads the same hint.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlt.common.schema.typing import TColumnSchema

READ_ORDER = "_zoomsync_read_order"
HINT: TColumnSchema = {"name": READ_ORDER, "data_type": "bigint", "nullable": True,
                        "dedup_sort": "desc"}

_lock = threading.Lock()
_last = 0


def next_order() -> int:
    """A number greater than every one handed out before in this process."""
    global _last
    with _lock:
        _last = max(_last + 1, time.time_ns())
        return _last


def stamp(rows: Iterable[dict[str, Any]]) -> None:
    """Give each row, in order, its read order."""
    for row in rows:
        row[READ_ORDER] = next_order()
