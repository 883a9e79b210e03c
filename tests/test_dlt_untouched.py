"""A sync leaves dlt as it found it (issue 14): every dlt module and class holds, after
zoomsync is imported and has run a sync into DuckDB and PostgreSQL, the very objects it held
before, and nothing more.

The check runs in a child process (the test process has imported zoomsync already; this
module imports nothing of it at the top, and the child runs it as `python -m`). The child
imports every dlt module that imports here and, before zoomsync is imported, so that what
an import would change is seen too, keeps a copy of each module's and each dlt class's
`__dict__` (the copies hold the original objects: `is` compares them, and no id is
reused). Then it imports zoomsync, syncs a small emulated account into a DuckDB file and a
PostgreSQL dataset, walks dlt again, and lists what differs: an attribute replaced, removed
or added (dlt modules first imported after the snapshot have nothing to compare with). It
also looks, cheaply, at the dlt objects still alive for attributes named after zoomsync.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import pkgutil
import secrets
import subprocess
import sys
import time
import types
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.services import POSTGRES_URL, service
from tests.zoomsync_sync import sync_both

ROOT = Path(__file__).resolve().parents[1]
# dlt packages the sync goes through: the walk must have reached each of them.
REQUIRED = ("dlt.load.load", "dlt.normalize.normalize", "dlt.extract.extract",
            "dlt.common.schema.utils", "dlt.common.data_writers.buffered",
            "dlt.common.storages.load_storage", "dlt.destinations.job_client_impl",
            "dlt.destinations.impl.duckdb.duck", "dlt.destinations.impl.postgres.postgres")

# What dlt itself sets in its modules as a pipeline runs (seen when this child ran plain dlt
# pipelines instead of the sync): its logger, telemetry and tracker state. Data only: a
# function or class put there is reported all the same.
DLT_RUNTIME_STATE = frozenset({"dlt.common.logger.LOGGER",
                               "dlt.common.runtime.telemetry._TELEMETRY_STARTED",
                               "dlt.common.runtime.anon_tracker._TRACKER_CONTEXT"})


def test_a_sync_leaves_every_dlt_module_and_class_as_it_was(tmp_path: Path) -> None:
    from tests.conftest import small_account  # imports zoomsync: only in the parent

    url = service(POSTGRES_URL, "PostgreSQL")
    out = tmp_path / "differences.json"
    with small_account(users=4) as emu:
        job = {"api_url": emu.api_url, "oauth_url": emu.oauth_url, "postgres_url": url,
               "dataset": f"iso_{secrets.token_hex(3)}", "tmp": str(tmp_path), "out": str(out)}
        child = subprocess.run([sys.executable, "-m", "tests.test_dlt_untouched",
                                json.dumps(job)], cwd=tmp_path, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert child.returncode == 0, child.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["zoomsync_before_snapshot"] is False
    # The walk reached dlt's modules (~500 here) and their classes.
    assert set(REQUIRED) <= set(report["walked"]), set(REQUIRED) - set(report["walked"])
    assert len(report["walked"]) > 300 and report["classes"] > 500, report["classes"]
    assert report["synced"] == ["duckdb", "postgres"], report["synced"]
    differences: list[str] = report["differences"]
    assert differences == [], (f"{len(differences)} changes to dlt:\n" + "\n".join(differences))


# --- the child --------------------------------------------------------------------------

@dataclass
class Snapshot:
    """dlt's modules and classes with a copy of each one's `__dict__` at one moment."""

    modules: dict[str, tuple[types.ModuleType, dict[str, Any]]]
    classes: list[tuple[str, type, dict[str, Any]]]


def walk_dlt() -> list[str]:
    """Import every dlt module that imports here (those needing an optional driver that is
    not installed do not); their names."""
    import dlt

    walked = ["dlt"]

    def walk(package: types.ModuleType) -> None:
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    module = importlib.import_module(info.name)
            except Exception:  # an optional dependency missing (MissingDependencyException)
                continue
            walked.append(info.name)
            if info.ispkg:
                walk(module)

    walk(dlt)
    return walked


def in_dlt(module_name: object) -> bool:
    return isinstance(module_name, str) and (module_name == "dlt"
                                             or module_name.startswith("dlt."))


def dlt_modules() -> dict[str, types.ModuleType]:
    return {name: m for name, m in list(sys.modules.items())
            if isinstance(m, types.ModuleType) and in_dlt(name)}


def dlt_classes(modules: dict[str, types.ModuleType]) -> Iterator[tuple[str, type]]:
    """Every class a dlt module defines, nested classes too, as `module.Qual.Name`."""
    seen: set[int] = set()

    def visit(cls: type) -> Iterator[tuple[str, type]]:
        if id(cls) in seen or not in_dlt(getattr(cls, "__module__", None)):
            return
        seen.add(id(cls))
        yield f"{cls.__module__}.{cls.__qualname__}", cls
        for value in list(vars(cls).values()):
            if isinstance(value, type):
                yield from visit(value)

    for module in modules.values():
        for value in list(vars(module).values()):
            if isinstance(value, type):
                yield from visit(value)


def snapshot() -> Snapshot:
    modules = dlt_modules()
    return Snapshot({name: (m, dict(vars(m))) for name, m in modules.items()},
                    [(name, cls, dict(vars(cls))) for name, cls in dlt_classes(modules)])


def compare(before: Snapshot, after_modules: dict[str, types.ModuleType]) -> list[str]:
    """What changed since `before`, one line each: `dlt.load.load.Load.x replaced (...)`."""
    found: list[str] = []
    for name, (module, old) in before.modules.items():
        if after_modules.get(name) is not module:
            found.append(f"{name} is another module object in sys.modules now")
            continue
        found += diff(name, old, dict(vars(module)), None)
    for name, cls, old in before.classes:
        found += diff(name, old, dict(vars(cls)), cls)
    return found


def diff(owner: str, old: dict[str, Any], new: dict[str, Any], cls: type | None) -> list[str]:
    found = [f"{owner}.{key} removed" for key in sorted(old.keys() - new.keys())]
    for key in sorted(new.keys() - old.keys()):
        if not (cls is not None and python_cache(cls, key, new[key])) and not dlt_state(
                f"{owner}.{key}", None, new[key]):
            found.append(f"{owner}.{key} added ({describe(new[key])})")
    for key in sorted(old.keys() & new.keys()):
        if new[key] is not old[key] and not dlt_state(f"{owner}.{key}", old[key], new[key]):
            found.append(f"{owner}.{key} replaced ({describe(old[key])} -> "
                         f"{describe(new[key])})")
    return found


def python_cache(cls: type, key: str, value: Any) -> bool:
    """What Python itself caches on a class as it is used: `copyreg` the slot names of a
    class copied or pickled (`__slotnames__`), and `typing` the `__init__` a subclass of a
    Protocol finds in its bases at its first instance (dlt's NamedTuple infos)."""
    if key == "__slotnames__":
        return isinstance(value, list) and all(isinstance(n, str) for n in value)
    return key == "__init__" and any(vars(base).get("__init__") is value
                                     for base in cls.__mro__[1:])


def dlt_state(name: str, old: Any, new: Any) -> bool:
    return name in DLT_RUNTIME_STATE and not any(
        callable(v) or isinstance(v, types.ModuleType) for v in (old, new))


def describe(value: Any) -> str:
    where = getattr(value, "__module__", None)
    name = getattr(value, "__qualname__", None)
    if where and name:
        return f"{where}.{name}"
    return type(value).__name__


def touched_instances() -> list[str]:
    """dlt objects still alive that carry an attribute named after zoomsync (cheap: it finds
    what a sync left on the objects it kept, e.g. a pipeline's destination client)."""
    found: set[str] = set()
    for obj in gc.get_objects():
        kind = type(obj)
        if not in_dlt(getattr(kind, "__module__", None)):
            continue
        attrs = getattr(obj, "__dict__", None)
        if isinstance(attrs, dict):
            found |= {f"an instance of {kind.__module__}.{kind.__qualname__} has {key}"
                      for key in list(attrs) if "zoomsync" in str(key).lower()}
    return sorted(found)


def child(job: dict[str, str]) -> None:
    started = time.monotonic()
    walked = walk_dlt()
    zoomsync_imported = any(n == "zoomsync" or n.startswith("zoomsync.") for n in sys.modules)
    before = snapshot()
    synced = sync_both(job["api_url"], job["oauth_url"], job["postgres_url"], job["dataset"],
                       Path(job["tmp"]))
    walk_dlt()  # what zoomsync imported of dlt since: nothing to compare it with
    differences = compare(before, dlt_modules()) + touched_instances()
    Path(job["out"]).write_text(json.dumps({
        "zoomsync_before_snapshot": zoomsync_imported, "walked": walked,
        "classes": len(before.classes), "synced": synced, "differences": differences,
        "seconds": round(time.monotonic() - started, 2)}, indent=1))


if __name__ == "__main__":
    child(json.loads(sys.argv[1]))
