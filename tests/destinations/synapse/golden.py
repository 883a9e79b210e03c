"""Write the golden SQL files from fresh recordings of the real client: run after an
intended change, then review the diff like code. Needs Azurite, as the tests do:

    bash -c 'source scripts/services.sh && .venv/bin/python -m tests.destinations.synapse.golden'
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.destinations.synapse.recording import recordings
from tests.destinations.synapse.scenarios import SCENARIOS, render
from tests.services import AZURITE_BLOB_URL, AZURITE_CONNECTION_STRING

GOLDEN = Path(__file__).parent / "golden"


def main() -> None:
    missing = [v for v in (AZURITE_BLOB_URL, AZURITE_CONNECTION_STRING) if not os.environ.get(v)]
    if missing:
        sys.exit(f"Azurite is not running: {', '.join(missing)} not set (scripts/services.sh)")
    recorded = recordings()
    GOLDEN.mkdir(exist_ok=True)
    for name in SCENARIOS:
        path = GOLDEN / f"{name}.sql"
        path.write_text(render(name, recorded[name]), encoding="utf-8")
        print(f"wrote {path} ({len(recorded[name])} statements)")  # a developer script
    for stale in sorted(set(GOLDEN.glob("*.sql")) - {GOLDEN / f"{n}.sql" for n in SCENARIOS}):
        stale.unlink()
        print(f"removed {stale}: no such scenario")


if __name__ == "__main__":
    main()
