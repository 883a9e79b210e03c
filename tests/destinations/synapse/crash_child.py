"""A `zoomsync run --destination synapse` process that kills itself with SIGKILL mid-load.

    python -m tests.destinations.synapse.crash_child ARGS_JSON

ARGS_JSON names the emulator, the Azurite container and the stand-in's database file. By
default the process dies at the first BEGIN TRANSACTION after meeting_participants was
COPied into its staging table: staging is done, the family's transaction never ran — the
window where a loader without a ledger would lose or double rows. With
`"kill": {"when": "after", "head": "<statement start>"}` it dies right after the first
statement starting so took effect (a COPY, a COMMIT, a CREATE TABLE).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from tests.destinations.synapse.standin import PoolStandIn
from zoomsync.destinations.synapse import target as synapse_target


def main() -> None:
    args = json.loads(sys.argv[1])
    pool = PoolStandIn(args["blob_url"], args["database"])
    synapse_target.CONNECTORS["standin"] = pool.connector
    staged: list[str] = []

    def die(sql: str) -> bool:
        if sql.startswith("COPY INTO") and "[meeting_participants__" in sql:
            staged.append(sql)
        if staged and sql == "BEGIN TRANSACTION":
            Path(args["marker"]).write_text(staged[0])
            os.kill(os.getpid(), signal.SIGKILL)
        return False

    def die_after(sql: str) -> bool:
        if sql.startswith(args["kill"]["head"]):
            Path(args["marker"]).write_text(sql)
            os.kill(os.getpid(), signal.SIGKILL)
        return False

    if args.get("kill", {}).get("when") == "after":
        pool.fail_after = die_after
    else:
        pool.fail_before = die
    from tests.destinations.synapse.syncs import run_against

    run_against(args)


if __name__ == "__main__":
    main()
