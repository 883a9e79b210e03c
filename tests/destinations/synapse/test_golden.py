"""Golden SQL: every statement the real client sends in each scenario, frozen in golden/*.sql.

The scenarios (scenarios.py) are recorded from a real dlt pipeline with zoomsync's Synapse
destination against the pool stand-in and Azurite (recording.py), once per test module. A
change to the SQL — ours or dlt's — fails here until the golden files are regenerated
(`.venv/bin/python -m tests.destinations.synapse.golden`) and the diff reviewed.
Verified: the text and order, that sqlglot's T-SQL dialect parses every statement (with the
one documented substitution in tsql.py), that transactions hold only DML. Not verified:
that a real pool accepts it — no pool here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from tests.destinations.synapse.recording import in_family_order, normalise, recordings
from tests.destinations.synapse.scenarios import COLUMNSTORE, NEW_FIELD, SCENARIOS, render
from tests.destinations.synapse.tsql import parse_tsql, parseable, to_duckdb
from zoomsync.destinations.synapse.types import KEY_COLLATION

GOLDEN = Path(__file__).parent / "golden"
Recorded = Mapping[str, Sequence[str]]
# What sqlglot keeps as an opaque Command (no grammar for it), each statement listed.
OPAQUE = {
    "dynamic data masking": re.compile(
        r"^ALTER TABLE \[\w+\]\.\[\w+\] ALTER COLUMN \[\w+\] ADD MASKED WITH "
        r"\(FUNCTION = '[^']*'\)$"),
    "unmask grant (docs only; the client sends none)": re.compile(r"^GRANT UNMASK TO \[\w+\]$"),
}
# What may run between BEGIN TRANSACTION and COMMIT: DML, never DDL or COPY (dedicated pools
# refuse DDL inside a transaction).
DML = (exp.Insert, exp.Delete, exp.Update, exp.Select)


@pytest.fixture(scope="module")
def recorded() -> Recorded:
    return recordings()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_golden_file_is_current(recorded: Recorded, name: str) -> None:
    path = GOLDEN / f"{name}.sql"
    assert path.exists(), f"{path.name} is missing: run .venv/bin/python -m " \
        "tests.destinations.synapse.golden"
    assert path.read_text(encoding="utf-8") == render(name, recorded[name]), (
        f"{path.name} is stale: run .venv/bin/python -m tests.destinations.synapse.golden "
        "and review the diff")


def test_no_golden_file_without_a_scenario() -> None:
    assert {p.stem for p in GOLDEN.glob("*.sql")} == set(SCENARIOS)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_statement_parses_as_tsql(recorded: Recorded, name: str) -> None:
    for sql in recorded[name]:
        if parseable(sql) != sql:
            assert sql.startswith("CREATE TABLE"), "the index substitution is for CREATE only"
        tree = parse_tsql(sql)
        if isinstance(tree, exp.Command):
            assert any(p.match(sql) for p in OPAQUE.values()), (
                f"sqlglot could not parse: {sql[:100]}")


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_whole_golden_file_parses(name: str) -> None:
    # As one batch too (comments, separators). No statement count: sqlglot nests the
    # statements after an unbraced IF into its IfBlock, where T-SQL's IF governs only the
    # next statement. zoomsync sends statements one at a time, never as one batch.
    text = parseable_file((GOLDEN / f"{name}.sql").read_text(encoding="utf-8"))
    assert [e for e in sqlglot.parse(text, read="tsql") if e is not None]


def parseable_file(text: str) -> str:
    return ";\n\n".join(parseable(s.strip()) for s in text.split(";\n\n"))


def transactions(statements: Sequence[str]) -> list[list[str]]:
    """The statements of each BEGIN ... COMMIT, checking they pair up."""
    out: list[list[str]] = []
    inside: list[str] | None = None
    for sql in statements:
        if sql == "BEGIN TRANSACTION":
            assert inside is None, "BEGIN inside a transaction"
            inside = []
        elif sql == "COMMIT TRANSACTION":
            assert inside is not None, "COMMIT outside a transaction"
            out.append(inside)
            inside = None
        elif inside is not None:
            inside.append(sql)
    assert inside is None, "a transaction was left open"
    return out


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_transactions_hold_only_dml(recorded: Recorded, name: str) -> None:
    found = transactions(recorded[name])
    assert found, "every scenario commits at least one family"
    for transaction in found:
        for sql in transaction:
            assert not sql.startswith("COPY"), sql[:80]
            assert isinstance(parse_tsql(sql), DML), sql[:80]


def test_merges_transpile_to_duckdb(recorded: Recorded) -> None:
    for transaction in transactions(recorded["merge"]):
        for sql in transaction:
            assert to_duckdb(sql)


def test_dlts_own_statements_are_recorded(recorded: Recorded) -> None:
    first = recorded["first_load"]
    # dlt's stored-tables query, in the catalog's own case (a _CS_ pool refuses table_name)
    assert any("FROM INFORMATION_SCHEMA.COLUMNS" in s and "TABLE_NAME IN" in s for s in first)
    # and its bookkeeping rows, written once however often a lost connection retries them
    assert any(s.startswith("INSERT INTO [zoom].[_dlt_loads]") and "WHERE NOT EXISTS" in s
               for s in first)
    for table in ("_dlt_version", "_dlt_loads", "_dlt_pipeline_state"):
        assert any(s.startswith(f"CREATE TABLE [zoom].[{table}]") for s in first), table
        assert any(s.startswith(f"INSERT INTO [zoom].[{table}]") for s in first), table
    assert any(s.startswith("SELECT") and "FROM [zoom].[_dlt_pipeline_state]" in s
               for s in first)


def _create(statements: Sequence[str], table: str) -> str:
    (found,) = [s for s in statements if s.startswith(f"CREATE TABLE {table} (")]
    return found


def _column(create: str, column: str) -> str:
    return next(line for line in create.splitlines() if line.strip().startswith(f"[{column}]"))


def test_keys_compare_binary_in_production_and_staging(recorded: Recorded) -> None:
    first = recorded["first_load"]
    for table, keys in (("meeting_participants", ("meeting_uuid", "user_id", "_dlt_id")),
                        ("users", ("id", "_dlt_id")),
                        ("users__phone_numbers", ("_dlt_id", "_dlt_root_id", "_dlt_parent_id"))):
        production = _create(first, f"[zoom].[{table}]")
        staging = _create(first, f"[zoom_staging].[{table}__LOAD_1]")
        for create in (production, staging):
            for key in keys:
                assert f"COLLATE {KEY_COLLATION} NOT NULL" in _column(create, key), create
        assert staging.endswith("WITH (DISTRIBUTION = ROUND_ROBIN, HEAP)")
    assert _create(first, "[zoom].[meeting_participants]").endswith(
        "WITH (DISTRIBUTION = HASH([meeting_uuid]), HEAP)")
    assert _create(first, "[zoom].[users]").endswith(
        "WITH (DISTRIBUTION = REPLICATE, CLUSTERED INDEX ([id]))")


def test_a_second_load_only_merges(recorded: Recorded) -> None:
    merge = recorded["merge"]
    assert not [s for s in merge if s.startswith(("CREATE TABLE [zoom].", "ALTER TABLE"))]
    (users,) = [t for t in transactions(merge)
                if any(s.startswith("INSERT INTO [zoom].[users] ") for s in t)]
    deletes = [s for s in users if s.startswith("DELETE FROM")]
    # Children's rows go first (they are found through the production root's keys).
    assert [d.split()[2] for d in deletes] == [
        "[zoom].[users__group_ids]", "[zoom].[users__phone_numbers]", "[zoom].[users]"]


def test_a_schema_change_alters_before_loading(recorded: Recorded) -> None:
    change = recorded["schema_change"]
    ddl = [i for i, s in enumerate(change) if s.startswith(("ALTER TABLE", "CREATE TABLE [zoom]."))]
    assert [change[i].split("\n")[0] for i in ddl] == [
        f"ALTER TABLE [zoom].[users] ADD [{NEW_FIELD}] nvarchar(max) NULL",
        "CREATE TABLE [zoom].[users__custom_attributes] ("]
    assert max(ddl) < change.index("BEGIN TRANSACTION")


def test_masks_follow_the_ddl_and_precede_the_loads(recorded: Recorded) -> None:
    masking = recorded["masking"]
    masks = [i for i, s in enumerate(masking) if "ADD MASKED" in s]
    assert ("ALTER TABLE [zoom].[users] ALTER COLUMN [email] ADD MASKED WITH "
            "(FUNCTION = 'email()')") in masking
    assert ("ALTER TABLE [zoom].[meeting_participants] ALTER COLUMN [user_email] ADD MASKED "
            "WITH (FUNCTION = 'email()')") in masking
    creates = [i for i, s in enumerate(masking) if s.startswith("CREATE TABLE [zoom].")]
    assert max(creates) < min(masks) and max(masks) < masking.index("BEGIN TRANSACTION")
    assert not any("ADD MASKED" in s for s in recorded["first_load"])


def test_a_commit_lost_with_the_connection_is_found_in_the_ledger(recorded: Recorded) -> None:
    statements = recorded["retry_after_crash"]
    check = ("SELECT [rows] FROM [zoom].[zoomsync_loads] WHERE [load_id] = 'LOAD_1' AND "
             "[table_family] = 'users'")
    first, again = (i for i, s in enumerate(statements) if s == check)
    # The first attempt ran to its COMMIT (which went through, then the connection dropped).
    assert "COMMIT TRANSACTION" in statements[first:again]
    after = statements[again + 1:]
    drops = after[:next(i for i, s in enumerate(after) if not s.startswith("IF OBJECT_ID("))]
    assert [s.split("DROP TABLE ")[1] for s in drops] == [
        "[zoom_staging].[users__LOAD_1]", "[zoom_staging].[users__group_ids__LOAD_1]",
        "[zoom_staging].[users__phone_numbers__LOAD_1]"]
    # The second attempt: no staging, no COPY, no merge, no second ledger row.
    ledger_rows = [s for s in statements
                   if s.startswith("INSERT INTO [zoom].[zoomsync_loads]") and "'users'" in s]
    assert len(ledger_rows) == 1
    assert not [s for s in after if "[users" in s and not s.startswith("IF OBJECT_ID(")]


def test_columnstore_layout_reaches_the_create(recorded: Recorded) -> None:
    create = _create(recorded["columnstore"], "[zoom].[meeting_participants]")
    assert create.endswith(
        "WITH (DISTRIBUTION = HASH([meeting_uuid]), CLUSTERED COLUMNSTORE INDEX)")
    assert "(max)" not in create  # columnstore tables cannot hold them
    for column in COLUMNSTORE["meeting_participants"]["lengths"]:
        assert _column(create, column).strip().rstrip(",") == f"[{column}] nvarchar(256) NULL"
    assert isinstance(parse_tsql(create), exp.Create)


def test_golden_files_hold_no_real_secrets() -> None:
    for path in GOLDEN.glob("*.sql"):
        text = path.read_text(encoding="utf-8")
        assert "sig=" not in text and "AccountKey" not in text, path.name
        for line in text.splitlines():
            if "SECRET" in line:
                assert "SECRET = 'PLACEHOLDER'" in line, f"{path.name}: {line}"


def test_normalise_replaces_what_changes_between_runs() -> None:
    sas = "st=2026-01-01T00%3A00%3A00Z&sp=rl&sig=Zm9yZ2Vk%3D"
    sent = [
        "SELECT 1 FROM [zoom_staging].[users__1767225600_0123456]",
        f"COPY INTO x\nFROM 'https://acct.blob.core.windows.net/golden-0a1b2c3d/zoomsync/zoom/"
        f"1767229200.5/users/*.parquet'\nWITH (CREDENTIAL = (IDENTITY = 'Shared Access "
        f"Signature', SECRET = '{sas}'))",
        "INSERT INTO [zoom].[_dlt_version]([inserted_at], [version_hash], [schema]) VALUES "
        "('2026-01-01 10:00:00.123', N'8fo4kDKV6/9N4VXyo31M5YCWyAVXdIZPacB/wZlqJQg=', "
        "N'{\"version_hash\":\"8fo4kDKV6/9N4VXyo31M5YCWyAVXdIZPacB/wZlqJQg=\",\"x\":''y''}')",
        "\nSELECT '1767225600.0123456' ",
    ]
    assert normalise(sent, {"golden-0a1b2c3d": "CONTAINER", "acct": "STORAGE_ACCOUNT"}) == [
        "SELECT 1 FROM [zoom_staging].[users__LOAD_1]",
        "COPY INTO x\nFROM 'https://STORAGE_ACCOUNT.blob.core.windows.net/CONTAINER/zoomsync/"
        "zoom/LOAD_2/users/*.parquet'\nWITH (CREDENTIAL = (IDENTITY = 'Shared Access "
        "Signature', SECRET = 'PLACEHOLDER'))",
        "INSERT INTO [zoom].[_dlt_version]([inserted_at], [version_hash], [schema]) VALUES "
        "('TIMESTAMP', N'SCHEMA_HASH_1', N'SCHEMA_JSON')",
        "SELECT 'LOAD_1'",
    ]


def test_family_transactions_are_put_in_family_order() -> None:
    """dlt runs a load's families in its job folder's (random) order: the recording sorts
    each run of consecutive family blocks by name, a redone family's attempts in order,
    and leaves what comes before and after where it was."""
    def check(family: str) -> str:
        return (f"SELECT [rows] FROM [zoom].[zoomsync_loads] WHERE [load_id] = 'LOAD_1' "
                f"AND [table_family] = '{family}'")

    drop = "IF OBJECT_ID('[zoom_staging].[x]', 'U') IS NOT NULL DROP TABLE [zoom_staging].[x]"
    sent = ["CREATE TABLE a", check("users"), "BEGIN TRANSACTION", "COMMIT TRANSACTION",
            "ROLLBACK TRANSACTION", check("meetings"), "COMMIT TRANSACTION", drop,
            check("users"), drop, check("_dlt_pipeline_state"),
            "INSERT INTO [zoom].[_dlt_loads] x"]
    assert in_family_order(sent) == [
        "CREATE TABLE a", check("_dlt_pipeline_state"), check("meetings"),
        "COMMIT TRANSACTION", drop, check("users"), "BEGIN TRANSACTION", "COMMIT TRANSACTION",
        "ROLLBACK TRANSACTION", check("users"), drop, "INSERT INTO [zoom].[_dlt_loads] x"]
