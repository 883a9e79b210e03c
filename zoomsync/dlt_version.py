"""The dlt versions zoomsync is tested with, and the check that refuses any other.

zoomsync builds on dlt (destinations, load packages, state); some of what it relies on is
not part of dlt's documented API yet (issue 14 narrows that). A dlt release zoomsync was not
tested with may fail every load, or worse, load differently in silence: so a run refuses it
in one line naming the tested range. `pyproject.toml` allows the same range; run the suite
against the newest dlt with `./scripts/test --dlt-latest` before widening both.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version

from zoomsync.errors import ConfigError

# (major, minor) releases the whole suite has passed on.
TESTED = ((1, 31),)
# Set by `scripts/test --dlt-latest` to try a newer dlt; not for production runs.
ALLOW_ENV = "ZOOMSYNC_ALLOW_UNTESTED_DLT"


def tested_range() -> str:
    return ", ".join(f"{major}.{minor}.x" for major, minor in TESTED)


def check_dlt(found: str | None = None) -> None:
    """Raise ConfigError unless the installed dlt (or `found`) is a tested minor release."""
    if found is None:
        try:
            found = version("dlt")
        except PackageNotFoundError:
            raise ConfigError("dlt is not installed: pip install zoomsync installs it") from None
    parts = found.split(".")
    try:
        release = (int(parts[0]), int(parts[1]))
    except (IndexError, ValueError):
        release = None
    if release in TESTED or os.environ.get(ALLOW_ENV) == "1":
        return
    first, last = min(TESTED), max(TESTED)
    raise ConfigError(
        f"dlt {found} is installed, but zoomsync is tested with dlt {tested_range()} only: "
        f"pip install 'dlt>={first[0]}.{first[1]},<{last[0]}.{last[1] + 1}'")
