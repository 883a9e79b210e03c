"""`zoomsync` itself, in its own process, with the pool stand-in as its Synapse driver.

    python -m tests.destinations.synapse.standin_cli DATABASE_FILE run --destination synapse ...

Everything else — settings from ZOOMSYNC_* / AZURE_* variables, the CLI, the runner, the
destination, the uploads to Azurite — is what a user runs; only the DB-API connection is the
stand-in (on a DuckDB file, so the test can read the result afterwards).
"""

from __future__ import annotations

import os
import sys

from tests.destinations.synapse.standin import PoolStandIn
from zoomsync.destinations.synapse import target as synapse_target


def main() -> None:
    database, *argv = sys.argv[1:]
    pool = PoolStandIn(os.environ["ZOOMSYNC_TEST_AZURITE_BLOB_URL"], database)
    synapse_target.CONNECTORS["standin"] = lambda _config: pool.connect()
    sys.argv = ["zoomsync", *argv]
    from zoomsync.cli import main as cli

    try:
        cli()
    finally:
        pool.db.close()


if __name__ == "__main__":
    main()
