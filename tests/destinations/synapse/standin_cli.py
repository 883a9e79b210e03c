"""`zoomsync` itself, in its own process, with the pool stand-in as its Synapse driver.

    python -m tests.destinations.synapse.standin_cli DATABASE_FILE run --destination synapse ...

ZOOMSYNC_TEST_STANDIN_OPTIONS, if set, is JSON of the stand-in's options (a pool without
READ_COMMITTED_SNAPSHOT: '{"read_committed_snapshot": false}').

Everything else — settings from ZOOMSYNC_* / AZURE_* variables, the CLI, the runner, the
destination, the uploads to Azurite — is what a user runs; only the DB-API connection is the
stand-in (on a DuckDB file, so the test can read the result afterwards).
"""

from __future__ import annotations

import json
import os
import sys

from tests.destinations.synapse.standin import PoolStandIn
from zoomsync.destinations.synapse import target as synapse_target


def main() -> None:
    database, *argv = sys.argv[1:]
    options = json.loads(os.environ.get("ZOOMSYNC_TEST_STANDIN_OPTIONS") or "{}")
    pool = PoolStandIn(os.environ["ZOOMSYNC_TEST_AZURITE_BLOB_URL"], database, **options)
    synapse_target.CONNECTORS["standin"] = pool.connector
    sys.argv = ["zoomsync", *argv]
    from zoomsync.cli import main as cli

    try:
        cli()
    finally:
        pool.db.close()


if __name__ == "__main__":
    main()
