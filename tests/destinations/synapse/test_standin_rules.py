"""The strict pool stand-in refuses what a dedicated SQL pool refuses: one test (at least) per
rule, each with the error's SQLSTATE/number/message, and next to it a statement that follows
the rule and is accepted. Rule ids: docs/destinations/synapse-rules.md."""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from tests.destinations.synapse.standin import Connection, PoolError, PoolStandIn
from tests.services import AZURITE_BLOB_URL, AZURITE_CONNECTION_STRING, service

USERS = ("CREATE TABLE [zoom].[users] (\n    [id] nvarchar(64) COLLATE Latin1_General_100_BIN2 "
         "NOT NULL,\n    [name] nvarchar(3) NULL,\n    [n] bigint NULL\n)\n"
         "WITH (DISTRIBUTION = REPLICATE, CLUSTERED INDEX ([id]))")


def make_pool(**options: Any) -> PoolStandIn:
    return PoolStandIn("http://127.0.0.1:1/devstoreaccount1", **options)


@pytest.fixture
def pool() -> Iterator[PoolStandIn]:
    pool = make_pool()
    conn = pool.connect()
    run(conn, "CREATE SCHEMA [zoom]")
    run(conn, USERS)
    yield pool
    pool.db.close()


@pytest.fixture
def conn(pool: PoolStandIn) -> Connection:
    return pool.connect()


def run(conn: Connection, sql: str) -> list[tuple[Any, ...]]:
    cursor = conn.cursor()
    cursor.execute(sql)
    return cursor.fetchall()


def refused(conn: Connection, sql: str, number: int | None, text: str = "",
            sqlstate: str | None = None) -> PoolError:
    with pytest.raises(PoolError) as caught:
        run(conn, sql)
    error = caught.value
    assert error.number == number, str(error)
    assert text in str(error)
    if sqlstate:
        assert error.sqlstate == sqlstate
    assert str(error).startswith(f"[{error.sqlstate}] ")
    if number is not None:
        assert str(error).endswith(f"({number})")
    return error


# -- 1. transactions (R1, R4) ---------------------------------------------------------------
IN_TX = [
    "CREATE TABLE [zoom].[t] ([a] int NULL) WITH (DISTRIBUTION = ROUND_ROBIN, HEAP)",
    "CREATE SCHEMA [other]",
    "DROP TABLE [zoom].[users]",
    "DROP SCHEMA [zoom]",
    "ALTER TABLE [zoom].[users] ADD [x] int NULL",
    "ALTER TABLE [zoom].[users] ALTER COLUMN [name] ADD MASKED WITH (FUNCTION = 'default()')",
    "TRUNCATE TABLE [zoom].[users]",
    "SELECT * INTO [zoom].[copy] FROM [zoom].[users]",
    "CREATE TABLE [zoom].[c] WITH (DISTRIBUTION = ROUND_ROBIN) AS SELECT 1 AS a",
    "COPY INTO [zoom].[users] FROM 'https://acct.blob.core.windows.net/c/x.parquet' "
    "WITH (FILE_TYPE = 'PARQUET', CREDENTIAL = (IDENTITY = 'Shared Access Signature', "
    "SECRET = 'sv=1'))",
    "IF OBJECT_ID('[zoom].[users]', 'U') IS NOT NULL DROP TABLE [zoom].[users]",
]


@pytest.mark.parametrize("sql", IN_TX)
def test_no_ddl_truncate_select_into_ctas_or_copy_inside_a_transaction(conn: Connection,
                                                                       sql: str) -> None:
    run(conn, "BEGIN TRANSACTION")
    refused(conn, sql, 574, "not allowed within multi-statement transaction", "25000")
    run(conn, "ROLLBACK TRANSACTION")


def test_ddl_outside_a_transaction_is_accepted(conn: Connection, pool: PoolStandIn) -> None:
    run(conn, IN_TX[0])
    run(conn, "ALTER TABLE [zoom].[t] ADD [b] nvarchar(10) NULL")
    run(conn, "IF OBJECT_ID('[zoom].[t]', 'U') IS NOT NULL DROP TABLE [zoom].[t]")
    assert pool.rows("SELECT count(*) FROM tsql_sys.tables WHERE name = 't'") == [(0,)]


@pytest.mark.parametrize(("sql", "feature"), [
    ("SAVE TRANSACTION s1", "SAVE TRANSACTION"),
    ("BEGIN TRANSACTION load1", "Named transactions"),
    ("BEGIN TRANSACTION m WITH MARK 'x'", "Marked transactions"),
    ("BEGIN DISTRIBUTED TRANSACTION", "Distributed transactions"),
])
def test_savepoints_named_marked_and_distributed_transactions_are_refused(
        conn: Connection, sql: str, feature: str) -> None:
    if sql.startswith("SAVE"):
        run(conn, "BEGIN TRANSACTION")
    refused(conn, sql, 40517, feature)


def test_nested_begin_is_refused_and_dooms_the_transaction(conn: Connection) -> None:
    run(conn, "BEGIN TRANSACTION")
    refused(conn, "BEGIN TRANSACTION", 40517, "Nested transactions")
    refused(conn, "SELECT 1", 111233)
    run(conn, "ROLLBACK TRANSACTION")
    assert run(conn, "SELECT @@TRANCOUNT") == [(0,)]


def test_after_an_error_only_rollback_is_accepted(conn: Connection, pool: PoolStandIn) -> None:
    run(conn, "BEGIN TRANSACTION")
    run(conn, "INSERT INTO [zoom].[users] ([id], [name]) VALUES (N'a', N'x')")
    refused(conn, "INSERT INTO [zoom].[nope] ([id]) VALUES (N'b')", 208, "Invalid object name")
    for sql in ("SELECT 1", "INSERT INTO [zoom].[users] ([id]) VALUES (N'c')",
                "COMMIT TRANSACTION"):
        refused(conn, sql, 111233, "rollback-only state", "25000")
    run(conn, "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION")
    assert run(conn, "SELECT count(*) FROM [zoom].[users]") == [(0,)]
    run(conn, "BEGIN TRANSACTION")
    assert run(conn, "SELECT @@TRANCOUNT") == [(1,)]
    run(conn, "INSERT INTO [zoom].[users] ([id]) VALUES (N'd')")
    run(conn, "COMMIT TRANSACTION")
    assert pool.rows("SELECT id FROM zoom.users") == [("d",)]
    refused(conn, "COMMIT TRANSACTION", 111214, "No corresponding transaction")


# -- 2. statements Synapse does not have ----------------------------------------------------
NOT_IN_SYNAPSE = [
    ("MERGE INTO [zoom].[users] AS t USING [zoom].[users] AS s ON t.[id] = s.[id] "
     "WHEN MATCHED THEN DELETE;", 40517, "MERGE"),
    ("DROP TABLE IF EXISTS [zoom].[users]", 103010, "near 'IF'"),
    ("DROP SCHEMA IF EXISTS [zoom]", 103010, "near 'IF'"),
    ("INSERT INTO [zoom].[users] ([id]) VALUES (N'a'), (N'b')", 103010, "near ','"),
    ("SELECT * FROM (VALUES (1), (2)) AS v(a)", 103010, "near ','"),
    ("SELECT [id] FROM [zoom].[users] ORDER BY [id] OFFSET 1 ROWS FETCH NEXT 1 ROWS ONLY",
     103010, "OFFSET"),
    ("INSERT INTO [zoom].[users] ([id]) OUTPUT inserted.[id] VALUES (N'a')", 103010, "OUTPUT"),
    ("DELETE FROM [zoom].[users] OUTPUT deleted.[id] WHERE [id] = N'a'", 103010, "OUTPUT"),
    ("DECLARE @t TABLE (a int)", 103010, "TABLE"),
    ("SELECT * FROM ##global", 40517, "Global temporary"),
    ("CREATE TABLE ##g ([a] int NULL) WITH (HEAP)", 40517, "Global temporary"),
    ("UPDATE t SET [name] = N'x' FROM [zoom].[users] AS t JOIN [zoom].[users] AS u "
     "ON u.[id] = t.[id]", 40517, "ANSI joins"),
    ("DELETE t FROM [zoom].[users] AS t JOIN [zoom].[users] AS u ON u.[id] = t.[id]",
     103010, ""),
    ("DELETE FROM [zoom].[users] AS t WHERE t.[id] = N'a'", 103010, "near 'AS'"),
    ("CREATE TABLE IF NOT EXISTS [zoom].[x] ([a] int NULL)", 103010, "near 'IF'"),
]


@pytest.mark.parametrize(("sql", "number", "text"), NOT_IN_SYNAPSE)
def test_t_sql_dedicated_pools_do_not_have_is_refused(conn: Connection, sql: str, number: int,
                                                      text: str) -> None:
    refused(conn, sql, number, text)


@pytest.mark.parametrize("sql", [
    "INSERT INTO [zoom].[users] ([id], [name]) VALUES (N'a', N'x')",  # one row (R18)
    "INSERT INTO [zoom].[users] ([id]) SELECT N'b' UNION ALL SELECT N'c'",
    "UPDATE [zoom].[users] SET [n] = 1 WHERE [id] = N'a'",
    "DELETE FROM [zoom].[users] WHERE EXISTS (SELECT 1 FROM [zoom].[users] AS s "
    "WHERE s.[id] = [zoom].[users].[id] AND s.[n] = 5)",  # R5b example N/O forms
    "DELETE [zoom].[users] WHERE [id] = N'zz'",
    "IF OBJECT_ID('[zoom].[gone]', 'U') IS NOT NULL DROP TABLE [zoom].[gone]",  # R17
])
def test_the_synapse_forms_nearby_are_accepted(conn: Connection, sql: str) -> None:
    run(conn, sql)


# -- 3. table layout (R10, R11, R12, R14) ---------------------------------------------------
def create(columns: str, options: str | None = "DISTRIBUTION = ROUND_ROBIN, HEAP") -> str:
    tail = f"\nWITH ({options})" if options is not None else ""
    return f"CREATE TABLE [zoom].[t] (\n{columns}\n){tail}"


KEYS17 = ",\n".join(f"    [k{i}] int NOT NULL" for i in range(17))
LAYOUT_REFUSED = [
    (create("[a] int NULL", "DISTRIBUTION = ROUND_ROBIN, DISTRIBUTION = REPLICATE, HEAP"),
     103010, "WITH"),
    (create("[a] int NULL", "DISTRIBUTION = ROUND_ROBIN, HEAP, CLUSTERED COLUMNSTORE INDEX"),
     103010, "WITH"),
    (create("[a] int NULL", "DISTRIBUTION = HASH([b]), HEAP"), 207, "'b'"),
    (create("[a] nvarchar(max) NULL", "DISTRIBUTION = HASH([a]), HEAP"), 1919,
     "distribution column"),
    (create("[a] int NOT NULL DEFAULT 0", "DISTRIBUTION = HASH([a]), HEAP"), 104410,
     "DEFAULT"),
    (create(KEYS17, "DISTRIBUTION = ROUND_ROBIN, CLUSTERED INDEX (" +
            ", ".join(f"[k{i}]" for i in range(17)) + ")"), 1904, "maximum limit"),
    (create("[a] nvarchar(400) NOT NULL, [b] nvarchar(100) NOT NULL",
            "DISTRIBUTION = ROUND_ROBIN, CLUSTERED INDEX ([a], [b])"), 1944, "1000 bytes"),
    (create("[a] nvarchar(max) NULL", "DISTRIBUTION = ROUND_ROBIN, CLUSTERED INDEX ([a])"),
     1919, "key column"),
    (create("[a] nvarchar(max) NULL", None), 35343, "columnstore"),  # default index: CCI
    (create("[a] varbinary(max) NULL", "DISTRIBUTION = ROUND_ROBIN, CLUSTERED COLUMNSTORE INDEX"),
     35343, "columnstore"),
    (create("[a] int NOT NULL PRIMARY KEY"), 104467, "Enforced unique constraints"),
    (create("[a] int NOT NULL, PRIMARY KEY CLUSTERED ([a]) NOT ENFORCED"), 104467,
     "NONCLUSTERED"),
    (create("[a] int NOT NULL UNIQUE"), 104467, "Enforced unique"),
    (create("[a] int NULL", "DISTRIBUTION = SPREAD, HEAP"), 103010, "SPREAD"),
]


@pytest.mark.parametrize(("sql", "number", "text"), LAYOUT_REFUSED)
def test_a_layout_synapse_refuses_is_refused_at_create(conn: Connection, sql: str, number: int,
                                                       text: str) -> None:
    refused(conn, sql, number, text)


def test_layouts_synapse_accepts_are_recorded_in_the_catalog(conn: Connection,
                                                             pool: PoolStandIn) -> None:
    run(conn, create("[a] nvarchar(max) NULL, [b] bigint NOT NULL", "DISTRIBUTION = HASH([b]), "
                     "HEAP"))
    run(conn, "CREATE TABLE [zoom].[c] ([a] nvarchar(4000) NULL)")  # CCI, ROUND_ROBIN default
    run(conn, "CREATE TABLE [zoom].[k] ([a] int NOT NULL PRIMARY KEY NONCLUSTERED NOT ENFORCED,"
              " [b] int NULL UNIQUE NOT ENFORCED) WITH (DISTRIBUTION = REPLICATE, "
              "CLUSTERED INDEX ([a]))")
    rows = run(conn, "SELECT t.[name], i.[type_desc] FROM sys.tables AS t JOIN sys.indexes AS i "
                     "ON i.[object_id] = t.[object_id] WHERE SCHEMA_NAME(t.[schema_id]) = N'zoom' "
                     "AND i.[index_id] < 2 ORDER BY t.[name]")
    assert rows == [("c", "CLUSTERED COLUMNSTORE"), ("k", "CLUSTERED"), ("t", "HEAP"),
                    ("users", "CLUSTERED")]
    assert pool.layouts["[zoom].[t]"] == "WITH (DISTRIBUTION = HASH([b]), HEAP)"


def test_alter_add_is_checked_against_the_layout(conn: Connection) -> None:
    run(conn, "CREATE TABLE [zoom].[c] ([a] nvarchar(4000) NULL)")  # columnstore
    refused(conn, "ALTER TABLE [zoom].[c] ADD [b] nvarchar(max) NULL", 35343, "columnstore")
    run(conn, "ALTER TABLE [zoom].[c] ADD [b] nvarchar(4000) NULL")
    refused(conn, "ALTER TABLE [zoom].[c] ADD [B] int NULL", 2705, "more than once")
    run(conn, "INSERT INTO [zoom].[c] ([a]) VALUES (N'x')")
    refused(conn, "ALTER TABLE [zoom].[c] ADD [d] int NOT NULL", 4901, "non-empty")


# -- 4. types and limits (R9, R12, R13, R15) -------------------------------------------------
TYPES_REFUSED = [
    ("[a] nvarchar(4001) NULL", 131, "(4000)"),
    ("[a] varchar(8001) NULL", 131, "(8000)"),
    ("[a] varbinary(8001) NULL", 131, "(8000)"),
    ("[a] char(8001) NULL", 131, "(8000)"),
    ("[a] nvarchar(0) NULL", 1001, "specification 0"),
    ("[a] char(max) NULL", 103010, "max"),
    ("[a] datetime2(8) NULL", 1002, "scale 8"),
    ("[a] decimal(39, 2) NULL", 2750, "precision of 38"),
    ("[a] decimal(5, 6) NULL", 183, "scale (6)"),
    ("[a] text NULL", 40517, "'text'"),
    ("[a] ntext NULL", 40517, "'ntext'"),
    ("[a] image NULL", 40517, "'image'"),
    ("[a] xml NULL", 40517, "'xml'"),
    ("[a] geography NULL", 40517, "'geography'"),
    ("[a] sql_variant NULL", 40517, "'sql_variant'"),
    ("[a] bigint(5) NULL", 2716, "column width"),
    ("[a] made_up NULL", 2715, "Cannot find data type"),
    (f"[{'c' * 129}] int NULL", 103, "too long"),
    ("[a] nvarchar(10) COLLATE Latin1_General_CI_XX NULL", 448, "Invalid collation"),
    ("[a] nvarchar(10) COLLATE Klingon_100_CI_AS NULL", 448, "Invalid collation"),
    ("[a] nvarchar(10) COLLATE Latin1_General_140_CI_AS_SC NULL", 448, "Invalid collation"),
    ("[a] bigint COLLATE Latin1_General_100_BIN2 NULL", 447, "COLLATE"),
    ("[a] int NULL, [a] int NULL", 2705, "more than once"),
]


@pytest.mark.parametrize(("column", "number", "text"), TYPES_REFUSED)
def test_types_and_limits_synapse_refuses(conn: Connection, column: str, number: int,
                                          text: str) -> None:
    refused(conn, create(column), number, text)


def test_types_and_collations_synapse_accepts(conn: Connection) -> None:
    run(conn, create(",\n".join([
        "[a] nvarchar(4000) COLLATE Latin1_General_100_BIN2 NULL",
        "[b] varchar(8000) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NULL",
        "[c] nvarchar(max) COLLATE SQL_Latin1_General_CP1_CI_AS NULL",
        "[d] datetime2(7) NULL", "[e] decimal(38, 38) NULL", "[f] varbinary(max) NULL",
        "[g] bit NULL", "[h] float NULL", "[i] date NULL", "[j] uniqueidentifier NULL",
        "[k] datetimeoffset(3) NULL", "[l] nchar(10) COLLATE Japanese_XJIS_140_CI_AS NULL",
        f"[{'c' * 128}] int NULL"])))
    rows = run(conn, "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, COLLATION_NAME "
                     "FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = N't' "
                     "AND COLUMN_NAME IN (N'a', N'c', N'd', N'g') ORDER BY ORDINAL_POSITION")
    assert rows == [("a", "nvarchar", 4000, "Latin1_General_100_BIN2"),
                    ("c", "nvarchar", -1, "SQL_Latin1_General_CP1_CI_AS"),
                    ("d", "datetime2", None, None), ("g", "bit", None, None)]


def test_identifiers_are_1_to_128_characters(conn: Connection) -> None:
    refused(conn, f"CREATE SCHEMA [{'s' * 129}]", 103, "too long")
    refused(conn, f"CREATE TABLE [zoom].[{'t' * 129}] ([a] int NULL) WITH (HEAP)", 103)
    run(conn, f"CREATE SCHEMA [{'s' * 128}]")


def test_at_most_1024_columns_at_create_and_after_add(conn: Connection) -> None:
    columns = ",\n".join(f"[c{i}] int NULL" for i in range(1025))
    refused(conn, create(columns), 1702, "maximum of 1024 columns")
    run(conn, create(",\n".join(f"[c{i}] int NULL" for i in range(1023))))
    refused(conn, "ALTER TABLE [zoom].[t] ADD [x] int NULL, [y] int NULL", 1702,
            "ALTER TABLE failed")
    run(conn, "ALTER TABLE [zoom].[t] ADD [x] int NULL")


def test_the_database_collation_must_be_a_real_one() -> None:
    with pytest.raises(PoolError, match=r"Invalid collation 'Made_Up_CS_AS'. \(448\)"):
        make_pool(collation="Made_Up_CS_AS")


# -- 5. declared lengths and NOT NULL --------------------------------------------------------
def test_a_value_longer_than_its_column_is_refused_and_nothing_is_inserted(
        conn: Connection, pool: PoolStandIn) -> None:
    refused(conn, "INSERT INTO [zoom].[users] ([id], [name]) VALUES (N'a', N'abcd')", 2628,
            "String or binary data would be truncated in table 'zoompool.zoom.users', "
            "column 'name'", "22001")
    refused(conn, "INSERT INTO [zoom].[users] ([id], [name]) SELECT N'b', N'ok' UNION ALL "
                  "SELECT N'c', N'long'", 2628, "column 'name'")
    # nvarchar counts UTF-16 code units: two emoji are four
    refused(conn, "INSERT INTO [zoom].[users] ([id], [name]) VALUES (N'd', N'😀😀')", 2628)
    run(conn, "INSERT INTO [zoom].[users] ([id], [name]) VALUES (N'e', N'😀a')")
    run(conn, "INSERT INTO [zoom].[users] ([id], [name]) VALUES (N'f', N'abc')")
    refused(conn, "UPDATE [zoom].[users] SET [name] = N'abcd' WHERE [id] = N'f'", 2628)
    assert sorted(pool.rows("SELECT id, name FROM zoom.users")) == [("e", "😀a"), ("f", "abc")]


def test_null_into_a_not_null_column_is_refused(conn: Connection) -> None:
    refused(conn, "INSERT INTO [zoom].[users] ([id], [name]) VALUES (NULL, N'x')", 515,
            "Cannot insert the value NULL into column 'id'", "23000")


# -- 6. COPY INTO (R7, R7b, R8, R12, R12b) against Azurite ------------------------------------
@pytest.fixture
def storage() -> Iterator[dict[str, Any]]:
    from azure.storage.blob import (
        BlobServiceClient,
        ContainerSasPermissions,
        generate_container_sas,
    )

    connection = service(AZURITE_CONNECTION_STRING, "Azurite")
    client = BlobServiceClient.from_connection_string(connection)
    name = f"rules-{secrets.token_hex(4)}"
    container = client.create_container(name)
    sas = generate_container_sas(client.account_name, name,  # type: ignore[arg-type]
                                 account_key=client.credential.account_key,
                                 permission=ContainerSasPermissions(read=True, list=True),
                                 expiry=datetime.now(UTC) + timedelta(hours=1))
    yield {"container": container, "name": name, "sas": sas, "account": client.account_name,
           "blob_url": service(AZURITE_BLOB_URL, "Azurite"), "connection": connection}
    container.delete_container()


def upload(storage: dict[str, Any], path: str, table: pa.Table) -> None:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    storage["container"].upload_blob(path, buffer.getvalue(), overwrite=True)


def copy_sql(storage: dict[str, Any], path: str, *, target: str = "[zoom].[users]",
             endpoint: str = "blob", credential: str | None = "sas", extra: str = "") -> str:
    url = f"https://{storage['account']}.{endpoint}.core.windows.net/{storage['name']}/{path}"
    options = ["FILE_TYPE = 'PARQUET'"]
    if credential == "sas":
        options.append(f"CREDENTIAL = (IDENTITY = 'Shared Access Signature', "
                       f"SECRET = '{storage['sas']}')")
    elif credential:
        options.append(f"CREDENTIAL = ({credential})")
    if extra:
        options.append(extra)
    return f"COPY INTO {target}\nFROM '{url}'\nWITH ({', '.join(options)})"


@pytest.fixture
def loading(storage: dict[str, Any]) -> Iterator[tuple[PoolStandIn, Connection]]:
    pool = PoolStandIn(storage["blob_url"])
    conn = pool.connect()
    run(conn, "CREATE SCHEMA [zoom]")
    run(conn, USERS)
    yield pool, conn
    pool.db.close()


def users(ids: list[str], names: list[str | None], ns: list[int] | None = None) -> pa.Table:
    return pa.table({"id": ids, "name": pa.array(names, pa.string()),
                     "n": ns if ns is not None else list(range(len(ids)))})


def test_copy_loads_all_files_of_a_folder_and_skips_underscore_and_dot_files(
        storage: dict[str, Any], loading: tuple[PoolStandIn, Connection]) -> None:
    pool, conn = loading
    upload(storage, "load/a.parquet", users(["a"], ["x"]))
    upload(storage, "load/sub/b.parquet", users(["b"], ["y"]))
    upload(storage, "load/_SUCCESS.parquet", users(["bad"], ["toolong"]))
    upload(storage, "load/.hidden.parquet", users(["bad"], ["toolong"]))
    upload(storage, "load/_tmp/c.parquet", users(["bad"], ["toolong"]))
    run(conn, copy_sql(storage, "load/*.parquet"))
    assert sorted(pool.rows("SELECT id FROM zoom.users")) == [("a",), ("b",)]
    assert pool.copies == [("[zoom].[users]", 2)]


def test_copy_of_an_over_long_value_fails_whole_with_no_rows(
        storage: dict[str, Any], loading: tuple[PoolStandIn, Connection]) -> None:
    pool, conn = loading
    upload(storage, "long/a.parquet", users(["a", "b"], ["ok", "four"]))
    upload(storage, "long/b.parquet", users(["c"], ["ok"]))
    refused(conn, copy_sql(storage, "long/*.parquet"), 107090,
            "maximum reject threshold (0 rows)")
    assert pool.rows("SELECT count(*) FROM zoom.users") == [(0,)]


def test_copy_of_a_null_into_not_null_fails(storage: dict[str, Any],
                                            loading: tuple[PoolStandIn, Connection]) -> None:
    _, conn = loading
    upload(storage, "null.parquet", pa.table({"id": pa.array([None], pa.string()),
                                              "name": ["a"], "n": [1]}))
    refused(conn, copy_sql(storage, "null.parquet"), 107090, "NOT NULL")


def test_copy_of_a_row_over_1_mb_fails(storage: dict[str, Any],
                                       loading: tuple[PoolStandIn, Connection]) -> None:
    pool, conn = loading
    run(conn, "CREATE TABLE [zoom].[wide] ([id] nvarchar(64) NOT NULL, [body] nvarchar(max) "
              "NULL) WITH (DISTRIBUTION = ROUND_ROBIN, HEAP)")
    upload(storage, "wide.parquet", pa.table({"id": ["a"], "body": ["x" * 500_001]}))
    refused(conn, copy_sql(storage, "wide.parquet", target="[zoom].[wide]"), 107090,
            "exceeds the maximum allowed row size of 1000000 bytes for Polybase")
    upload(storage, "fits.parquet", pa.table({"id": ["a"], "body": ["x" * 499_000]}))
    run(conn, copy_sql(storage, "fits.parquet", target="[zoom].[wide]"))
    assert pool.rows("SELECT count(*) FROM zoom.wide") == [(1,)]


def test_copy_maps_by_ordinality_and_a_different_column_count_fails(
        storage: dict[str, Any], loading: tuple[PoolStandIn, Connection]) -> None:
    _, conn = loading
    upload(storage, "two.parquet", pa.table({"id": ["a"], "name": ["x"]}))
    refused(conn, copy_sql(storage, "two.parquet"), 105200, "number of columns")


def test_copy_of_an_incompatible_parquet_type_fails(
        storage: dict[str, Any], loading: tuple[PoolStandIn, Connection]) -> None:
    _, conn = loading
    upload(storage, "types.parquet", pa.table({"id": ["a"], "name": ["x"], "n": ["12"]}))
    refused(conn, copy_sql(storage, "types.parquet"), 106000, "ClassCastException")
    upload(storage, "micros.parquet", pa.table({
        "id": ["a"], "name": ["x"], "n": pa.array([datetime(2026, 1, 1)], pa.timestamp("us"))}))
    refused(conn, copy_sql(storage, "micros.parquet"), 106000, "MICROS and NANOS")


@pytest.mark.parametrize(("extra", "number", "text"), [
    ("MAXROWS = 5", 103010, "near 'MAXROWS'"),
    ("FIELDTERMINATOR = ','", 105208, "only valid for FILE_TYPE = 'CSV'"),
    ("ERRORFILE = '/errors'", 105208, "only valid for FILE_TYPE = 'CSV'"),
    ("FIRSTROW = 2", 105208, "only valid for FILE_TYPE = 'CSV'"),
    ("COMPRESSION = 'DefaultCodec'", 105208, "Parquet supports GZIP and Snappy"),
    ("FILE_TYPE = 'PARQUET'", 105208, "more than once"),
])
def test_copy_options_are_checked(storage: dict[str, Any],
                                  loading: tuple[PoolStandIn, Connection], extra: str,
                                  number: int, text: str) -> None:
    _, conn = loading
    upload(storage, "ok.parquet", users(["a"], ["x"]))
    refused(conn, copy_sql(storage, "ok.parquet", extra=extra), number, text)
    run(conn, copy_sql(storage, "ok.parquet", extra="COMPRESSION = 'Snappy', MAXERRORS = 0"))


def test_auto_create_table_rules(conn: Connection) -> None:
    base = ("COPY INTO [zoom].[users] {cols}FROM 'https://a1b.blob.core.windows.net/c/x' WITH "
            "(FILE_TYPE = '{ft}', CREDENTIAL = (IDENTITY = 'Shared Access Signature', "
            "SECRET = 's'), AUTO_CREATE_TABLE = 'ON')")
    refused(conn, base.format(cols="", ft="CSV"), 105208, "only available for Parquet")
    refused(conn, base.format(cols="([id]) ", ft="PARQUET"), 105208, "column list")
    refused(conn, "COPY INTO users FROM 'https://a1b.blob.core.windows.net/c/x' WITH "
                  "(FILE_TYPE = 'PARQUET')", 105208, "schema-qualified")
    refused(conn, "COPY INTO [zoom].[users] FROM 'https://a1b.blob.core.windows.net/c/x', "
                  "'https://a1b.blob.core.windows.net/d/y' WITH (FILE_TYPE = 'PARQUET', "
                  "CREDENTIAL = (IDENTITY = 'Storage Account Key', SECRET = 'k'))", 105208,
            "same storage account and container")


def test_copy_without_credential_needs_an_entra_session(storage: dict[str, Any]) -> None:
    pool = PoolStandIn(storage["blob_url"], hierarchical_namespace=True)
    try:
        sql_login, entra = pool.connect(), pool.connect(auth="service-principal")
        run(sql_login, "CREATE SCHEMA [zoom]")
        run(sql_login, USERS)
        upload(storage, "pass.parquet", users(["a"], ["x"]))
        refused(sql_login, copy_sql(storage, "pass.parquet", credential=None), 105019,
                "SQL login")
        run(entra, copy_sql(storage, "pass.parquet", credential=None))
        assert pool.rows("SELECT id FROM zoom.users") == [("a",)]
    finally:
        pool.db.close()


def test_the_parquet_authentication_matrix(storage: dict[str, Any],
                                           loading: tuple[PoolStandIn, Connection]) -> None:
    pool, conn = loading  # a plain Blob account (hierarchical_namespace=False)
    upload(storage, "m.parquet", users(["a"], ["x"]))
    mi = "IDENTITY = 'Managed Identity'"
    sp = ("IDENTITY = '00000000-0000-0000-0000-000000000000@https://login.microsoftonline.com/"
          "tenant/oauth2/token', SECRET = 's'")
    refused(conn, copy_sql(storage, "m.parquet", credential=mi), 105208,
            "Managed Identity is not supported for Parquet files on Azure Blob Storage")
    refused(conn, copy_sql(storage, "m.parquet", credential=sp), 105208, "Service principal")
    refused(conn, copy_sql(storage, "m.parquet", endpoint="dfs"), 105208, ".blob endpoint")
    run(conn, copy_sql(storage, "m.parquet", credential="IDENTITY = 'Storage Account Key', "
                                                        "SECRET = 'key'"))
    hns = PoolStandIn(storage["blob_url"], hierarchical_namespace=True)
    try:
        c = hns.connect()
        run(c, "CREATE SCHEMA [zoom]")
        run(c, USERS)
        refused(c, copy_sql(storage, "m.parquet", credential=mi), 105208, ".dfs endpoint")
        run(c, copy_sql(storage, "m.parquet", credential=mi, endpoint="dfs"))
        run(c, copy_sql(storage, "m.parquet", credential=sp))
        refused(c, copy_sql(storage, "m.parquet", credential="IDENTITY = 'someone@else'"),
                105208, "IDENTITY 'someone@else'")
        assert hns.rows("SELECT count(*) FROM zoom.users") == [(2,)]
    finally:
        hns.db.close()
    assert pool.rows("SELECT count(*) FROM zoom.users") == [(1,)]


def test_a_wrong_sas_fails_the_copy(storage: dict[str, Any],
                                    loading: tuple[PoolStandIn, Connection]) -> None:
    _, conn = loading
    upload(storage, "s.parquet", users(["a"], ["x"]))
    storage["sas"] = "sv=2024-11-04&sp=rl&sig=Zm9yZ2Vk"
    refused(conn, copy_sql(storage, "s.parquet"), 105019, "(403)")


# -- 7. catalog -------------------------------------------------------------------------------
def test_the_catalog_answers_zoomsyncs_queries(conn: Connection) -> None:
    assert run(conn, "SELECT [collation_name], [is_read_committed_snapshot_on] FROM "
                     "sys.databases WHERE [name] = DB_NAME()") == [
        ("SQL_Latin1_General_CP1_CS_AS", True)]
    assert run(conn, "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH FROM "
                     "INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = N'zoom' "
                     "ORDER BY TABLE_NAME, ORDINAL_POSITION") == [
        ("users", "id", "nvarchar", 64), ("users", "name", "nvarchar", 3),
        ("users", "n", "bigint", None)]
    assert run(conn, "SELECT 1 FROM sys.schemas WHERE name = N'zoom'") == [(1,)]
    assert run(conn, "SELECT SCHEMA_NAME(SCHEMA_ID(N'zoom')), DB_NAME()") == [
        ("zoom", "zoompool")]
    assert run(conn, "SELECT CASE WHEN OBJECT_ID('[zoom].[users]', 'U') IS NULL THEN 0 ELSE 1 "
                     "END, OBJECT_ID('zoom.none')") == [(1, None)]
    run(conn, "ALTER TABLE [zoom].[users] ALTER COLUMN [name] ADD MASKED WITH "
              "(FUNCTION = 'partial(1,\"xxxx\",0)')")
    assert run(conn, "SELECT t.name, c.name FROM sys.masked_columns AS c JOIN sys.tables AS t "
                     "ON c.object_id = t.object_id WHERE SCHEMA_NAME(t.schema_id) = 'zoom'") == [
        ("users", "name")]
    assert run(conn, "SELECT c.[name], c.[max_length], c.[is_nullable] FROM sys.columns AS c "
                     "WHERE c.[object_id] = OBJECT_ID('zoom.users') ORDER BY c.[column_id]") == [
        ("id", 128, False), ("name", 6, True), ("n", 8, True)]
    refused(conn, "ALTER TABLE [zoom].[users] ALTER COLUMN [name] ADD MASKED WITH "
                  "(FUNCTION = 'nonsense()')", 16003, "masking function")


def test_sys_masked_columns_can_be_absent_as_on_synapse() -> None:
    pool = make_pool(masked_columns_view=False)
    conn = pool.connect()
    refused(conn, "SELECT t.name, c.name FROM sys.masked_columns AS c JOIN sys.tables AS t "
                  "ON c.object_id = t.object_id", 208, "Invalid object name 'sys.masked_columns'",
            "42S02")
    assert run(conn, "SELECT count(*) FROM sys.tables") == [(0,)]


def test_a_case_sensitive_collation_makes_catalog_names_case_sensitive(
        conn: Connection) -> None:
    refused(conn, "SELECT table_name FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = N'zoom'",
            207, "Invalid column name 'table_name'", "42S22")
    refused(conn, "SELECT TABLE_NAME FROM information_schema.COLUMNS", 208)
    refused(conn, "SELECT [NAME] FROM sys.tables", 207, "'NAME'")
    refused(conn, "SELECT [id] FROM [zoom].[USERS]", 208, "zoom.USERS")
    refused(conn, "SELECT [ID] FROM [zoom].[users]", 207, "'ID'")
    assert run(conn, "SELECT [id] AS [Key] FROM [zoom].[users]") == []


def test_a_case_insensitive_collation_accepts_any_case() -> None:
    pool = make_pool(collation="SQL_Latin1_General_CP1_CI_AS")
    conn = pool.connect()
    run(conn, "CREATE SCHEMA [zoom]")
    run(conn, USERS)
    run(conn, "INSERT INTO [ZOOM].[Users] ([ID]) VALUES (N'a')")
    assert run(conn, "SELECT table_name, column_name FROM INFORMATION_SCHEMA.COLUMNS "
                     "WHERE table_schema = N'zoom' AND column_name = N'id'") == [("users", "id")]
    assert run(conn, "SELECT [Id] FROM zoom.USERS") == [("a",)]
    refused(conn, "CREATE TABLE [ZOOM].[USERS] ([a] int NULL) WITH (HEAP)", 2714,
            "There is already an object named")


# -- 8. isolation (R2) --------------------------------------------------------------------------
@pytest.mark.parametrize("snapshot", [True, False])
def test_readers_see_uncommitted_rows_only_without_read_committed_snapshot(
        snapshot: bool) -> None:
    pool = make_pool(read_committed_snapshot=snapshot)
    writer, reader = pool.connect(), pool.connect()
    run(writer, "CREATE SCHEMA [zoom]")
    run(writer, USERS)
    run(writer, "BEGIN TRANSACTION")
    run(writer, "INSERT INTO [zoom].[users] ([id]) VALUES (N'a')")
    seen = run(reader, "SELECT count(*) FROM [zoom].[users]")
    assert seen == [(0,)] if snapshot else [(1,)]
    assert run(reader, "SELECT [is_read_committed_snapshot_on] FROM sys.databases") == [
        (snapshot,)]
    run(writer, "ROLLBACK TRANSACTION")
    assert run(reader, "SELECT count(*) FROM [zoom].[users]") == [(0,)]


def test_a_dropped_transaction_is_rolled_back_after_the_next_statement_of_another_session(
) -> None:
    pool = make_pool(read_committed_snapshot=False)
    writer, reader = pool.connect(), pool.connect()
    run(writer, "CREATE SCHEMA [zoom]")
    run(writer, USERS)
    pool.fail_after = lambda sql: sql.startswith("INSERT")
    run(writer, "BEGIN TRANSACTION")
    refused(writer, "INSERT INTO [zoom].[users] ([id]) VALUES (N'a')", None,
            "Communication link failure", "08S01")
    pool.fail_after = None
    assert run(reader, "SELECT count(*) FROM [zoom].[users]") == [(1,)]  # dirty, then gone
    assert run(reader, "SELECT count(*) FROM [zoom].[users]") == [(0,)]
    refused(writer, "SELECT 1", None, "Communication link failure", "08S01")


# -- 9. faults before and after a statement -------------------------------------------------
def test_fail_after_commit_keeps_the_commit_and_kills_the_connection(conn: Connection,
                                                                     pool: PoolStandIn) -> None:
    run(conn, "BEGIN TRANSACTION")
    run(conn, "INSERT INTO [zoom].[users] ([id]) VALUES (N'a')")
    pool.fail_after = lambda sql: sql == "COMMIT TRANSACTION"
    refused(conn, "COMMIT TRANSACTION", None, "Communication link failure", "08S01")
    pool.fail_after = None
    assert pool.rows("SELECT id FROM zoom.users") == [("a",)]
    refused(conn, "SELECT 1", None, "Communication link failure")
    assert run(pool.connect(), "SELECT count(*) FROM [zoom].[users]") == [(1,)]


def test_fail_before_commit_rolls_the_transaction_back(conn: Connection,
                                                       pool: PoolStandIn) -> None:
    run(conn, "BEGIN TRANSACTION")
    run(conn, "INSERT INTO [zoom].[users] ([id]) VALUES (N'a')")
    pool.fail_before = lambda sql: sql == "COMMIT TRANSACTION"
    refused(conn, "COMMIT TRANSACTION", None, "Communication link failure", "08S01")
    pool.fail_before = None
    assert pool.rows("SELECT count(*) FROM zoom.users") == [(0,)]
    refused(conn, "SELECT 1", None, "Communication link failure")


@pytest.mark.parametrize("hook", ["fail_after", "fail_before"])
def test_a_copy_dropped_after_or_before_it_ran(storage: dict[str, Any],
                                                loading: tuple[PoolStandIn, Connection],
                                                hook: str) -> None:
    pool, conn = loading
    upload(storage, "drop.parquet", users(["a", "b"], ["x", "y"]))
    setattr(pool, hook, lambda sql: sql.startswith("COPY INTO"))
    refused(conn, copy_sql(storage, "drop.parquet"), None, "Communication link failure")
    setattr(pool, hook, None)
    expected = 2 if hook == "fail_after" else 0
    assert pool.rows("SELECT count(*) FROM zoom.users") == [(expected,)]
    refused(conn, "SELECT 1", None, "Communication link failure")


@pytest.mark.parametrize("sql", [
    "CREATE TABLE [zoom].[x] ([a] int NULL) WITH (HEAP)",
    "INSERT INTO [zoom].[users] ([id]) VALUES (N'a')",
])
def test_fail_after_ddl_and_dml_keeps_their_effect(pool: PoolStandIn, conn: Connection,
                                                   sql: str) -> None:
    pool.fail_after = lambda s: s == sql
    refused(conn, sql, None, "Communication link failure")
    pool.fail_after = None
    other = pool.connect()
    assert run(other, "SELECT count(*) FROM sys.tables WHERE [name] = N'x'") + run(
        other, "SELECT count(*) FROM [zoom].[users]") in ([(1,), (0,)], [(0,), (1,)])
    assert pool.log[-3] == sql
