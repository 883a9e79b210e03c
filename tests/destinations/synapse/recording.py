"""Recording what zoomsync's Synapse destination really sends, for the golden files.

A recording runs a real dlt pipeline with zoomsync's Synapse destination, as `zoomsync run`
does (runner.pipeline_for, probe.reach, runner.load), against the pool stand-in
(standin.py) and Azurite, and keeps the stand-in's log: every statement the client sent, in
its order — dlt's own (INFORMATION_SCHEMA, `_dlt_version`, `_dlt_loads`, state) included.

What makes it deterministic:
- a child process with PYTHONHASHSEED=0. dlt iterates *sets* of table names (the
  INFORMATION_SCHEMA query's IN list, the order of CREATE TABLEs, hence of the tables'
  masks): their order changes with each process's string hashing, so the golden text is
  only stable under a fixed seed;
- one load worker (LOAD__WORKERS=1): jobs and families run one after another;
- a clean environment: none of the caller's ZOOMSYNC_* or dlt variables, a scratch working
  directory and HOME (no .env, no .dlt/config.toml), fixed rows (scenarios.py);
- `normalise`: the text that still changes from run to run;
- `in_family_order`: dlt starts a load's jobs in the order its job folder lists them, and
  names their files at random, so the table families of one load run in a different order
  each time: consecutive family transactions are put in family-name order.

    recordings()  # {scenario: statements}, normalised; the child runs once per process
"""

from __future__ import annotations

import functools
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.destinations.synapse.standin import PoolStandIn
from tests.services import AZURITE_BLOB_URL, AZURITE_CONNECTION_STRING, service

ROOT = Path(__file__).resolve().parents[3]  # the repository: the child imports from here
HASH_SEED = "0"
# dlt configuration for the recording, set in the child's environment only.
DLT_ENV = {"LOAD__WORKERS": "1", "RUNTIME__DLTHUB_TELEMETRY": "false"}
DATASET = "zoom"

# --- normalisation ------------------------------------------------------------------------
# Each rule: what changes between runs -> a stable placeholder. Applied in this order.
# dlt's schema as JSON, inlined into the `_dlt_version` INSERT (tens of KB, holds hashes and
# timestamps; the CREATE TABLEs show the same tables).
_SCHEMA_JSON = re.compile(r"N'\{(?:[^']|'')*\}'")
# The COPY credential's secret (a SAS signed per load): never in a golden file.
_SECRET = re.compile(r"SECRET = '(?:[^']|'')*'")
# dlt's schema version hashes: base64 of a SHA-256 -> SCHEMA_HASH_1, _2... by first use.
_HASH = re.compile(r"'[A-Za-z0-9+/]{43}='")
# Timestamps the client generates (`inserted_at` of _dlt_version and _dlt_loads).
_TIMESTAMP = re.compile(r"'\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?'")
# dlt load ids (unix time, `1767225600.0123456`; `_` for `.` in staging table names)
# -> LOAD_1, LOAD_2... by first use.
_LOAD_ID = re.compile(r"(?<![\d.])(\d{10})[._](\d+)(?![\d.])")


def normalise(statements: Sequence[str], names: Mapping[str, str]) -> list[str]:
    """`statements` with volatile text replaced, numbered in order of first appearance.

    `names`: literal text -> placeholder (the Azurite container and storage account, which
    differ per recording or per machine). Leading and trailing whitespace is dropped (dlt
    sends some queries with a leading newline or a trailing space).
    """
    loads: dict[str, str] = {}
    hashes: dict[str, str] = {}

    def load_id(match: re.Match[str]) -> str:
        key = f"{match.group(1)}.{match.group(2)}"
        return loads.setdefault(key, f"LOAD_{len(loads) + 1}")

    def version_hash(match: re.Match[str]) -> str:
        return "'" + hashes.setdefault(match.group(0), f"SCHEMA_HASH_{len(hashes) + 1}") + "'"

    out = []
    for sql in statements:
        sql = _SCHEMA_JSON.sub("N'SCHEMA_JSON'", sql)
        sql = _SECRET.sub("SECRET = 'PLACEHOLDER'", sql)
        sql = _HASH.sub(version_hash, sql)
        sql = _TIMESTAMP.sub("'TIMESTAMP'", sql)
        sql = _LOAD_ID.sub(load_id, sql)
        for literal, placeholder in names.items():
            sql = sql.replace(literal, placeholder)
        out.append(sql.strip())
    return out


_FAMILY_CHECK = re.compile(r"^SELECT \[rows\] FROM \[[^\]]+\]\.\[zoomsync_loads\] WHERE "
                           r"\[load_id\] = '[^']*' AND \[table_family\] = '([^']*)'")


_AFTER_COMMIT = ("IF OBJECT_ID(", "ROLLBACK TRANSACTION")
# dlt's own bookkeeping after a load's families: never part of one (a family redone after
# its lost COMMIT only drops its staging: no COMMIT of its own ends it).
_NOT_A_FAMILY = ("[_dlt_loads]", "[_dlt_version]", "INFORMATION_SCHEMA", " sys.")


def in_family_order(statements: Sequence[str]) -> list[str]:
    """`statements` with each run of consecutive family blocks sorted by family name. A
    block: the family's ledger check, through its COMMIT (or its last statement before the
    next check) and the staging drops (or the ROLLBACK of a COMMIT whose connection was
    lost) right after it. A family redone keeps its attempts in their order."""
    out: list[str] = []
    blocks: list[tuple[str, list[str]]] = []
    committed = False

    def flush() -> None:
        for _, block in sorted(blocks, key=lambda b: b[0]):
            out.extend(block)
        blocks.clear()

    for sql in statements:
        check = _FAMILY_CHECK.match(sql)
        if check:
            blocks.append((check.group(1), [sql]))
            committed = False
        elif blocks and not (committed and not sql.startswith(_AFTER_COMMIT)) and not any(
                mark in sql for mark in _NOT_A_FAMILY):
            blocks[-1][1].append(sql)
            committed = committed or sql in ("COMMIT TRANSACTION", "ROLLBACK TRANSACTION")
        else:
            flush()
            out.append(sql)
    flush()
    return out


# --- one scenario's world -------------------------------------------------------------------
@dataclass
class World:
    """A scenario's own pool stand-in, Azurite container and pipelines folder.

    `sync` runs what `zoomsync run` runs once the Zoom rows are extracted; statements sent
    before `begin()` are set-up, after it the recording.
    """

    pool: PoolStandIn
    connection: str  # Azurite's connection string
    container: str
    pipelines: Path
    start: int = 0
    names: dict[str, str] = field(default_factory=dict)

    def begin(self) -> None:
        self.start = len(self.pool.log)

    def settings(self, **extra: Any) -> Any:
        from pydantic import SecretStr

        from zoomsync.config import Settings

        return Settings(account_id="golden", client_id="golden",
                        client_secret=SecretStr("not-a-secret"), dataset_name=DATASET,
                        pipelines_dir=self.pipelines, plan="business", destination="synapse",
                        synapse_server="pool.sql.azuresynapse.net",
                        synapse_database="zoompool", synapse_user="loader",
                        synapse_password=SecretStr("not-a-secret"), synapse_driver="standin",
                        synapse_container=self.container,
                        azure_storage_connection_string=SecretStr(self.connection), **extra)

    def pipeline(self, settings: Any) -> tuple[Any, Any]:
        from zoomsync.destinations import resolve
        from zoomsync.destinations.probe import reach
        from zoomsync.sync.runner import pipeline_for

        target = resolve(settings)
        pipeline = pipeline_for(settings, target)
        reach(pipeline, target)
        return pipeline, target

    def sync(self, settings: Any, *resources: Any) -> None:
        """runner.run's load path with `resources` as the extracted streams."""
        import dlt

        from zoomsync.sync.deletes import apply_pending
        from zoomsync.sync.report import RunReport
        from zoomsync.sync.runner import load

        pipeline, target = self.pipeline(settings)
        apply_pending(pipeline, target)

        @dlt.source(name="zoom", root_key=True)  # as zoomsync.sync.source.zoom_source
        def zoom() -> Any:
            return list(resources)

        load(pipeline, target, target.adapt(zoom()), RunReport())
        apply_pending(pipeline, target)

    def statements(self) -> list[str]:
        """The recording: the whole log normalised (so LOAD_n counts set-up loads too),
        from `begin()` on."""
        return in_family_order(normalise(self.pool.log, self.names)[self.start:])


@contextmanager
def world() -> Iterator[World]:
    """A fresh world, the stand-in reachable as ZOOMSYNC_SYNAPSE_DRIVER=standin."""
    from azure.storage.blob import BlobServiceClient

    from zoomsync.destinations.synapse import target as synapse_target

    blob_url = service(AZURITE_BLOB_URL, "Azurite")
    connection = service(AZURITE_CONNECTION_STRING, "Azurite")
    container = f"golden-{secrets.token_hex(4)}"
    account = re.search(r"AccountName=([^;]+)", connection)
    names = {container: "CONTAINER", **({account.group(1): "STORAGE_ACCOUNT"} if account else {})}
    service_client = BlobServiceClient.from_connection_string(connection)
    service_client.create_container(container)
    pool = PoolStandIn(blob_url)
    previous = synapse_target.CONNECTORS.get("standin")
    synapse_target.CONNECTORS["standin"] = pool.connector
    try:
        with tempfile.TemporaryDirectory(prefix="zoomsync-golden-") as tmp:
            yield World(pool, connection, container, Path(tmp), names=names)
    finally:
        if previous is None:
            synapse_target.CONNECTORS.pop("standin", None)
        else:
            synapse_target.CONNECTORS["standin"] = previous
        service_client.delete_container(container)


# --- a connection lost after a family's COMMIT ---------------------------------------------
class AfterCommit:
    """`fail_after`: the connection drops right after `family`'s COMMIT went through (its
    ledger row is in), so the client cannot know whether it did."""

    def __init__(self, family: str) -> None:
        self.family = family
        self.ledger_written = False
        self.fired = False

    def __call__(self, sql: str) -> bool:
        if self.fired:
            return False
        if self.ledger_written and sql == "COMMIT TRANSACTION":
            self.fired = True
            return True
        if ("[zoomsync_loads]" in sql and f"'{self.family}'" in sql
                and not sql.startswith("SELECT")):  # the family's ledger row, not its check
            self.ledger_written = True
        return False


@contextmanager
def commit_lost(w: World, family: str) -> Iterator[None]:
    """Within: the connection drops after `family`'s COMMIT; the family is redone at once
    (no backoff wait, client.FAMILY_BACKOFF)."""
    from zoomsync.destinations.synapse import client

    hook = AfterCommit(family)
    w.pool.fail_after = hook
    saved, client.FAMILY_BACKOFF = client.FAMILY_BACKOFF, 0.0
    try:
        yield
    finally:
        w.pool.fail_after = None
        client.FAMILY_BACKOFF = saved
    assert hook.fired, f"no COMMIT of family {family} was seen"


# --- recording every scenario ---------------------------------------------------------------
def record_all() -> dict[str, list[str]]:
    """Every scenario, recorded in this process; the child's entry (see `recordings`)."""
    from tests.destinations.synapse.scenarios import SCENARIOS

    assert os.environ.get("PYTHONHASHSEED") == HASH_SEED, (
        "record under PYTHONHASHSEED=0 (recordings() does): dlt's table order follows "
        "string hashing")
    for name, value in DLT_ENV.items():
        assert os.environ.get(name) == value, f"record with {name}={value}"
    out: dict[str, list[str]] = {}
    for name, scenario in SCENARIOS.items():
        with world() as w:
            scenario.run(w)
            out[name] = w.statements()
    return out


@functools.cache
def recordings() -> Mapping[str, tuple[str, ...]]:
    """Every scenario's statements, recorded once per process by a child process with a
    fixed hash seed, one load worker and a clean environment."""
    blob_url = service(AZURITE_BLOB_URL, "Azurite")
    connection = service(AZURITE_CONNECTION_STRING, "Azurite")
    with tempfile.TemporaryDirectory(prefix="zoomsync-golden-") as tmp:
        out = Path(tmp) / "recordings.json"
        env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "TMPDIR": tempfile.gettempdir(),
               "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": HASH_SEED,
               AZURITE_BLOB_URL: blob_url, AZURITE_CONNECTION_STRING: connection, **DLT_ENV}
        child = subprocess.run([sys.executable, "-m", __name__, str(out)], cwd=tmp, env=env,
                               capture_output=True, text=True, timeout=300)
        if child.returncode != 0:
            raise RuntimeError(f"recording failed ({child.returncode}):\n{child.stderr[-4000:]}")
        recorded = json.loads(out.read_text(encoding="utf-8"))
    return {name: tuple(statements) for name, statements in recorded.items()}


def main(argv: Sequence[str]) -> None:
    (out,) = argv
    Path(out).write_text(json.dumps(record_all()), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
