"""A STRICT dedicated-SQL-pool stand-in: the DB-API connection the Synapse destination gets in
tests, refusing what a real dedicated SQL pool refuses.

Every statement arrives as T-SQL text and runs on one DuckDB database, after the rules of a
dedicated pool were checked (the rule ids R1..R23 are those of
docs/destinations/synapse-rules.md; each check cites its Microsoft page):
- transactions (R1, R4): no DDL, TRUNCATE, SELECT INTO, CTAS or COPY inside one; no savepoints,
  named, nested or marked transactions; after any error only ROLLBACK (else Msg 111233);
- T-SQL Synapse does not have (R5, R5b, R6, R17, R18): MERGE, DROP ... IF EXISTS, multi-row
  VALUES, OFFSET/FETCH, OUTPUT, table variables, ## tables, UPDATE ... FROM ... JOIN, aliased
  DELETE targets, CREATE TABLE IF NOT EXISTS;
- tables (pool/rules.py: R9-R14): layout, types, limits, collations, checked at CREATE and
  at every ALTER TABLE ADD; declared lengths and NOT NULL enforced on every INSERT/UPDATE;
- COPY INTO (pool/copy.py: R7, R7b, R8, R12, R12b), reading Azurite;
- the catalog (pool/catalog.py: sys.* and INFORMATION_SCHEMA as real DuckDB tables), with
  case-sensitive identifiers under a _CS_ database collation (R15);
- isolation (R2): READ COMMITTED SNAPSHOT (DuckDB's MVCC) or READ UNCOMMITTED (a reader runs
  on the open transaction's own DuckDB connection, so it sees its uncommitted rows);
- dropped connections before (`fail_before`) or after (`fail_after`) a statement.

What only a real pool proves: T-SQL acceptance by Synapse itself beyond these rules, collation
semantics of comparisons (DuckDB compares strings binary), distributions, concurrency between
sessions (one transaction at a time here), COPY of CSV/ORC, driver behaviour.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from tests.destinations.synapse.pool import copy as copying
from tests.destinations.synapse.pool.catalog import (
    INFO_COLUMNS,
    INFO_SCHEMA,
    SYS_COLUMNS,
    SYS_SCHEMA,
    Catalog,
)
from tests.destinations.synapse.pool.rules import (
    PoolError,
    Table,
    Tokens,
    case_sensitive,
    check_collation,
    check_identifier,
    check_table,
    column_def,
    exists,
    invalid_column,
    invalid_object,
    parse_create,
    split_commas,
    syntax,
    tokens,
    unsupported,
)

__all__ = ["PoolError", "PoolStandIn"]

_BEGIN = re.compile(r"^BEGIN\s+(?:DISTRIBUTED\s+)?TRAN(?:SACTION)?\b\s*(.*)$", re.I | re.S)
_COMMIT = re.compile(r"^COMMIT(?:\s+(?:TRAN(?:SACTION)?|WORK))?\b\s*(.*)$", re.I | re.S)
_ROLLBACK = re.compile(r"^ROLLBACK(?:\s+(?:TRAN(?:SACTION)?|WORK))?\b\s*(.*)$", re.I | re.S)
_IF_ROLLBACK = re.compile(r"^IF\s+@@TRANCOUNT\s*>\s*0\s+ROLLBACK(?:\s+TRAN(?:SACTION)?)?\s*;?$",
                          re.I)
_IF_OBJECT = re.compile(r"^IF\s+OBJECT_ID\s*\(\s*N?'((?:[^']|'')*)'\s*(?:,\s*N?'(\w+)'\s*)?\)"
                        r"\s+IS\s+(NOT\s+)?NULL\s+(.*)$", re.I | re.S)
_MASK = re.compile(r"^ALTER\s+TABLE\s+(.+?)\s+ALTER\s+COLUMN\s+(\[(?:[^\]]|\]\])+\]|\w+)\s+"
                   r"(ADD\s+MASKED\s+WITH\s*\(\s*FUNCTION\s*=\s*'((?:[^']|'')*)'\s*\)|DROP\s+MASKED)"
                   r"\s*;?$", re.I | re.S)
_MASK_FUNCTION = re.compile(r'^(?:default\(\)|email\(\)|random\(\s*-?[\d.]+\s*,\s*-?[\d.]+\s*\)'
                            r'|partial\(\s*\d+\s*,\s*"[^"]*"\s*,\s*\d+\s*\))$')
_WITH_CLAUSE = re.compile(r"\)\s*(WITH\s*\(.*\))\s*(?:AS\s+SELECT\b.*)?;?\s*$", re.I | re.S)
_STRING = re.compile(r"N?'(?:[^']|'')*'")


def link_failure() -> PoolError:
    # The connection drops, as when the pool restarts or the network breaks: SQLSTATE 08S01.
    return PoolError("08S01", "Communication link failure", None)


def doomed() -> PoolError:
    # R4: "If an error occurs inside a SQL pool transaction, it will automatically enter the
    # -2 state and you will not be able to make any further select statements until the
    # statement has been rolled back" (TX_PAGE); Msg 111233.
    return PoolError("25000", "The current transaction has aborted, and any pending changes have "
                              "been rolled back. Cause: A transaction in a rollback-only state "
                              "was not explicitly rolled back before a DDL, DML or SELECT "
                              "statement.", 111233)


def in_transaction(what: str) -> PoolError:
    # R1: "No support for DDL such as CREATE TABLE inside a user-defined transaction" (TX_PAGE);
    # dlt adds TRUNCATE and SELECT INTO. Synapse's number is not documented; Msg 574 is SQL
    # Server's "statement not allowed within multi-statement transaction".
    return PoolError("25000", f"{what} statement not allowed within multi-statement "
                              "transaction.", 574)


def no_transaction() -> PoolError:
    # What dedicated pools answer to COMMIT/ROLLBACK without BEGIN (dlt ignores "(111214)").
    return PoolError("25000", "An attempt to complete a transaction has failed. No "
                              "corresponding transaction found.", 111214)


class PoolStandIn:
    """One database; `connect()` gives DB-API connections to it (one per dlt job client)."""

    def __init__(self, blob_url: str, path: str = ":memory:", *,
                 read_committed_snapshot: bool = True, masked_columns_view: bool = True,
                 collation: str = "SQL_Latin1_General_CP1_CS_AS",
                 hierarchical_namespace: bool = False, database: str = "zoompool",
                 storage_connection_string: str | None = None) -> None:
        import os

        check_collation(collation)
        self.blob_url = blob_url.rstrip("/")  # Azurite: http://127.0.0.1:PORT/devstoreaccount1
        self.read_committed_snapshot = read_committed_snapshot
        self.hierarchical_namespace = hierarchical_namespace
        self.collation = collation
        self.storage_connection_string = storage_connection_string or os.environ.get(
            "ZOOMSYNC_TEST_AZURITE_CONNECTION_STRING")
        self.db = duckdb.connect(path)
        self.catalog = Catalog(self.db, database=database, collation=collation,
                               case_sensitive=case_sensitive(collation),
                               rcsi=read_committed_snapshot,
                               masked_columns_view=masked_columns_view)
        self.lock = threading.RLock()  # one transaction (or statement) at a time, like a load
        self.log: list[str] = []
        self.layouts: dict[str, str] = {}
        self.masks: list[str] = []
        self.copies: list[tuple[str, int]] = []
        self.fail_before: Callable[[str], bool] | None = None
        self.fail_after: Callable[[str], bool] | None = None
        self.active: Connection | None = None  # the connection with an open transaction
        self.orphan: Connection | None = None  # dropped mid-transaction, not yet rolled back

    def connect(self, auth: str = "sql") -> Connection:
        """`auth`: "sql" for a SQL login, anything else for Microsoft Entra ID."""
        return Connection(self, auth)

    def connector(self, config: Any) -> Connection:
        """A `zoomsync.destinations.synapse.target.CONNECTORS` entry: a connection in the
        authentication the settings chose (ZOOMSYNC_SYNAPSE_AUTH)."""
        return self.connect(getattr(config, "auth", "sql"))

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.db.cursor().execute(sql).fetchall()

    # -- statements ------------------------------------------------------------------------
    def execute(self, conn: Connection, sql: str) -> Any:
        self.log.append(sql)
        if conn.dead:  # like a dead socket
            raise link_failure()
        if self.fail_before and self.fail_before(sql):
            self.drop(conn)
            raise link_failure()
        try:
            result = self._statement(conn, sql.strip())
        except (PoolError, duckdb.Error) as exc:
            if conn.in_tx:
                conn.doomed = True
            if isinstance(exc, duckdb.Error):
                raise translate(exc) from None
            raise
        finally:
            self._end_orphan(conn)
        if self.fail_after and self.fail_after(sql):
            self.drop(conn)  # the statement took effect (a COMMIT committed); then the drop
            raise link_failure()
        return result

    def drop(self, conn: Connection) -> None:
        """The connection is gone. R2: under READ UNCOMMITTED its transaction is rolled back
        only after another session's next statement (which may still read its rows)."""
        conn.dead = True
        if conn.in_tx:
            conn.in_tx = False
            if self.read_committed_snapshot:
                self._rollback(conn)
            else:
                self.orphan = conn
                self.lock.release()

    def _end_orphan(self, conn: Connection) -> None:
        orphan = self.orphan
        if orphan is not None and orphan is not conn:
            self.orphan = None
            if self.active is orphan:
                self.active = None
            with contextlib.suppress(duckdb.Error):
                orphan.db.execute("ROLLBACK")

    def _begin(self, conn: Connection) -> None:
        self.lock.acquire()  # held until COMMIT / ROLLBACK / drop
        try:
            conn.db.execute("BEGIN TRANSACTION")
        except BaseException:
            self.lock.release()
            raise
        conn.in_tx, conn.doomed, self.active = True, False, conn

    def _end(self, conn: Connection, verb: str) -> None:
        try:
            conn.db.execute(verb)
        finally:
            conn.in_tx = conn.doomed = False
            if self.active is conn:
                self.active = None
            self.lock.release()

    def _rollback(self, conn: Connection) -> None:
        try:
            conn.db.execute("ROLLBACK")
        except duckdb.Error:
            pass
        finally:
            conn.in_tx = conn.doomed = False
            if self.active is conn:
                self.active = None
            self.lock.release()

    def _statement(self, conn: Connection, sql: str) -> Any:
        head = " ".join(sql[:60].split()).upper()
        # Transaction control (R1, R4; TX_PAGE).
        if _IF_ROLLBACK.match(sql):
            if conn.in_tx:
                self._rollback(conn)
            return None
        if match := _ROLLBACK.match(sql):
            if match.group(1).strip(" ;"):
                raise unsupported("Named transactions")  # R1: "No named transactions"
            if not conn.in_tx:
                raise no_transaction()
            self._rollback(conn)
            return None
        if conn.doomed:
            raise doomed()
        if head.startswith(("SAVE TRAN", "SAVE TRANSACTION")):
            raise unsupported("SAVE TRANSACTION")  # R1: "No save points allowed"
        if match := _BEGIN.match(sql):
            rest = match.group(1).strip(" ;")
            if head.startswith("BEGIN DISTRIBUTED"):
                raise unsupported("Distributed transactions")  # R1
            if "WITH MARK" in rest.upper():
                raise unsupported("Marked transactions")  # R1: "No marked transactions"
            if rest:
                raise unsupported("Named transactions")  # R1: "No named transactions"
            if conn.in_tx:
                raise unsupported("Nested transactions")  # R1: "No nested transactions"
            self._begin(conn)
            return None
        if match := _COMMIT.match(sql):
            if match.group(1).strip(" ;"):
                raise unsupported("Named transactions")
            if not conn.in_tx:
                raise no_transaction()
            self._end(conn, "COMMIT")
            return None
        if match := _IF_OBJECT.match(sql):
            found = self._object_id(match.group(1).replace("''", "'")) is not None
            if found == bool(match.group(3)):
                return self._statement(conn, match.group(4).strip())
            return None
        if head.startswith("COPY "):
            self._no_tx(conn, "COPY")
            return self._copy(conn, sql)
        if head.startswith("CREATE TABLE"):
            self._no_tx(conn, "CREATE TABLE")
            return self._create_table(conn, sql)
        if head.startswith("CREATE SCHEMA"):
            self._no_tx(conn, "CREATE SCHEMA")
            return self._create_schema(conn, sql)
        if head.startswith(("DROP TABLE", "DROP SCHEMA")):
            self._no_tx(conn, " ".join(head.split()[:2]))
            return self._drop(conn, sql)
        if head.startswith("ALTER "):
            self._no_tx(conn, "ALTER TABLE")
            return self._alter(conn, sql)
        if head.startswith("TRUNCATE"):
            self._no_tx(conn, "TRUNCATE TABLE")  # R1 (dlt: TRUNCATE keeps out of transactions)
        if head.startswith("MERGE"):
            # R6: MERGE has restrictions (HASH target for NOT MATCHED BY TARGET, wrong
            # distributions on older builds, no columnstore targets) the stand-in cannot
            # emulate: it refuses MERGE altogether.
            # https://learn.microsoft.com/sql/t-sql/statements/merge-transact-sql?view=azure-sqldw-latest
            raise unsupported("MERGE")
        bare = _STRING.sub("''", sql)
        if re.search(r"\bDECLARE\s+@\w+\s+(?:AS\s+)?TABLE\b", bare, re.I):
            # R18 / overview-features: "Table variables: No".
            raise syntax("TABLE")
        if re.search(r"\bOUTPUT\s+(?:INSERTED|DELETED)\b", bare, re.I):
            raise syntax("OUTPUT")  # R5b: no OUTPUT clause
        if "##" in bare:
            # R11: "Global temporary tables that begin with ## aren't supported".
            raise unsupported("Global temporary tables")
        return self._dml(conn, sql)

    def _no_tx(self, conn: Connection, what: str) -> None:
        if conn.in_tx:
            raise in_transaction(what)  # R1

    # -- DDL -------------------------------------------------------------------------------
    def _object_id(self, name: str) -> int | None:
        parts = [p for p in (unq(p) for p in re.findall(r"\[(?:[^\]]|\]\])+\]|\"[^\"]+\"|[^.]+",
                                                          name))]
        schema, table = (parts[-2] if len(parts) > 1 else "dbo"), parts[-1]
        found = self.catalog.table(schema, table)
        return found.object_id if found else None

    def _create_schema(self, conn: Connection, sql: str) -> None:
        t = Tokens(tokens(sql))
        t.expect("CREATE")
        t.expect("SCHEMA")
        name = t.name()
        if len(name) != 1:
            raise syntax(".")
        if t.accept("AUTHORIZATION"):
            t.next()
        if not t.at_end():
            raise syntax(t.peek())
        check_identifier(name[0])
        if self.catalog.schema(name[0]) is not None:
            raise exists(name[0])
        conn.db.execute(f"CREATE SCHEMA {qi(name[0])}")
        self.catalog.add_schema(conn.db, name[0])

    def _create_table(self, conn: Connection, sql: str) -> None:
        create = parse_create(sql)
        if create.ctas is not None:
            raise NotImplementedError("the stand-in does not emulate CREATE TABLE AS SELECT")
        schema = self.catalog.schema(create.schema)
        if schema is None:
            raise PoolError("42000", f"The specified schema name \"{create.schema}\" either does "
                                     "not exist or you do not have permission to use it.", 2760)
        if self.catalog.table(schema, create.name) is not None:
            raise exists(f"{schema}.{create.name}")
        table = create.table
        table.schema = schema
        check_table(table)
        columns = ", ".join(f"{qi(c.name)} {c.duck()}{'' if c.nullable else ' NOT NULL'}"
                            for c in table.columns)
        conn.db.execute(f"CREATE TABLE {qi(schema)}.{qi(table.name)} ({columns})")
        self.catalog.put_table(conn.db, table)
        ref = sql.split(None, 3)[2]
        clause = _WITH_CLAUSE.search(sql)
        self.layouts[ref] = clause.group(1) if clause else ""

    def _table(self, parts: list[str]) -> Table:
        schema, name = (parts[-2] if len(parts) > 1 else "dbo"), parts[-1]
        table = self.catalog.table(schema, name)
        if table is None:
            raise invalid_object(".".join(parts))
        return table

    def _drop(self, conn: Connection, sql: str) -> None:
        t = Tokens(tokens(sql))
        t.expect("DROP")
        kind = t.next().upper()
        if t.peek().upper() == "IF":
            # R17: DROP TABLE for Azure Synapse Analytics has no IF EXISTS.
            # https://learn.microsoft.com/sql/t-sql/statements/drop-table-transact-sql
            raise syntax("IF")
        parts = t.name()
        if not t.at_end():
            raise syntax(t.peek())  # one table per DROP (R17)
        if kind == "SCHEMA":
            schema = self.catalog.schema(parts[0])
            if schema is None:
                raise PoolError("42000", f"Cannot drop the schema '{parts[0]}', because it does "
                                         "not exist or you do not have permission.", 15151)
            inside = [n for (s, n) in self.catalog.tables if s == schema]
            if inside:
                raise PoolError("42000", f"Cannot drop schema '{schema}' because it is being "
                                         f"referenced by object '{inside[0]}'.", 3729)
            conn.db.execute(f"DROP SCHEMA {qi(schema)}")
            self.catalog.drop_schema(conn.db, schema)
            return
        schema, name = (parts[-2] if len(parts) > 1 else "dbo"), parts[-1]
        table = self.catalog.table(schema, name)
        if table is None:
            raise PoolError("42S02", f"Cannot drop the table '{'.'.join(parts)}', because it "
                                     "does not exist or you do not have permission.", 3701)
        conn.db.execute(f"DROP TABLE {qi(table.schema)}.{qi(table.name)}")
        self.catalog.drop_table(conn.db, table)

    def _alter(self, conn: Connection, sql: str) -> None:
        if match := _MASK.match(sql):
            # R16: ADD MASKED WITH (FUNCTION = 'email()' | 'partial(p,"x",s)' | 'default()' |
            # 'random(a,b)'); https://learn.microsoft.com/sql/relational-databases/security/dynamic-data-masking
            table = self._table(Tokens(tokens(match.group(1))).name())
            column = unq(match.group(2))
            col = next((c for c in table.columns if self.catalog.same(c.name, column)), None)
            if col is None:
                raise PoolError("42000", f"ALTER TABLE ALTER COLUMN failed because column "
                                         f"'{column}' does not exist in table '{table.name}'.",
                                4924)
            function = match.group(4)
            if function is None:
                table.masks.pop(col.name, None)
            else:
                function = function.replace("''", "'")
                if not _MASK_FUNCTION.match(function):
                    raise PoolError("42000", f"Invalid masking function '{function}'.", 16003)
                table.masks[col.name] = function
                self.masks.append(sql)
            self.catalog.put_table(conn.db, table)
            return
        t = Tokens(tokens(sql))
        t.expect("ALTER")
        t.expect("TABLE")
        table = self._table(t.name())
        if not t.accept("ADD"):
            raise NotImplementedError(f"the stand-in does not emulate: {sql[:80]}")
        added = [column_def(item, []) for item in split_commas(t.items[t.pos:])
                 if item != [";"]]
        for col in added:
            if not col.nullable and col.default is None:
                rows = conn.db.execute(f"SELECT count(*) FROM {qi(table.schema)}."
                                       f"{qi(table.name)}").fetchone()
                if rows and rows[0]:
                    raise PoolError("42000", "ALTER TABLE only allows columns to be added that "
                                             "can contain nulls, or have a DEFAULT definition "
                                             f"specified. Column '{col.name}' cannot be added "
                                             f"to non-empty table '{table.name}'.", 4901)
        changed = table.with_columns([*table.columns, *added])
        check_table(changed, altering=True)  # R10, R12 again, with the new columns
        for col in added:
            conn.db.execute(f"ALTER TABLE {qi(table.schema)}.{qi(table.name)} ADD COLUMN "
                            f"{qi(col.name)} {col.duck()}")
        self.catalog.put_table(conn.db, changed)

    # -- COPY ------------------------------------------------------------------------------
    def _copy(self, conn: Connection, sql: str) -> None:
        statement = copying.parse_copy(sql)
        kind = copying.check_copy(statement, auth=conn.auth,
                                  hierarchical_namespace=self.hierarchical_namespace)
        table = self._table(statement.target)
        if statement.options.get("FILE_TYPE", "CSV").upper() != "PARQUET":
            raise NotImplementedError("the stand-in's COPY reads Parquet only")
        reader = copying.Reader(self.blob_url, statement.secret if kind == "sas" else None,
                                self.storage_connection_string)
        ref = f"{qi(table.schema)}.{qi(table.name)}"

        def insert(files: list[str], columns: list[str] | None) -> int:
            listing = ", ".join(f"'{f}'" for f in files)
            target = ref + (f" ({', '.join(qi(c) for c in columns)})" if columns else "")
            before = conn.db.execute(f"SELECT count(*) FROM {ref}").fetchone()
            conn.db.execute(f"INSERT INTO {target} SELECT * FROM read_parquet([{listing}])")
            after = conn.db.execute(f"SELECT count(*) FROM {ref}").fetchone()
            return int(after[0] if after else 0) - int(before[0] if before else 0)

        rows = copying.run_copy(statement, table, reader, insert)
        self.copies.append((sql.split(None, 3)[2], rows))

    # -- DML and queries -------------------------------------------------------------------
    def _dml(self, conn: Connection, sql: str) -> Any:
        try:
            tree = sqlglot.parse_one(sql, read="tsql")
        except sqlglot.errors.ParseError as exc:
            near = exc.errors[0].get("highlight") if exc.errors else None
            raise syntax(str(near or "?")) from None
        check_statement(tree, conn.in_tx)
        duck = self._to_duckdb(tree, 1 if conn.in_tx else 0)
        target = tree.this if isinstance(tree, exp.Insert | exp.Update | exp.Delete) else None
        if isinstance(target, exp.Schema):
            target = target.this
        table = None
        if isinstance(target, exp.Table) and target.db:
            table = self._table([target.db, target.name])
        db = conn.db
        reading = isinstance(tree, exp.Select | exp.Union)
        if (reading and not conn.in_tx and not self.read_committed_snapshot
                and self.active is not None and self.active is not conn):
            db = self.active.db  # R2: READ UNCOMMITTED sees the open transaction's rows
        checks = length_checks(table) if table is not None else ""
        if db is not conn.db:  # read now: the other session's ROLLBACK may follow at once
            result = db.execute(duck)
            return _Rows(result.fetchall(), result.description)
        if not checks:
            return db.execute(duck)
        own = not conn.in_tx  # autocommit: undo the statement if a value is too long
        if own:
            db.execute("BEGIN TRANSACTION")
        try:
            result = db.execute(duck)
            count = result.fetchall()
            assert table is not None
            bad = db.execute(f"SELECT {checks} FROM {qi(table.schema)}.{qi(table.name)}"
                             ).fetchone()
            for flag, col in zip(bad or (), [c for c in table.columns if bounded(c)],
                                 strict=False):
                if flag:
                    # Rule 5: Msg 2628 "String or binary data would be truncated in table
                    # '%.*ls', column '%.*ls'" (SQL Server 2019+ / Azure wording).
                    raise PoolError("22001", "String or binary data would be truncated in "
                                             f"table '{self.catalog.database}.{table.schema}."
                                             f"{table.name}', column '{col.name}'.", 2628)
        except BaseException:
            if own:
                db.execute("ROLLBACK")
            raise
        if own:
            db.execute("COMMIT")
        return _Rows(count)

    def _to_duckdb(self, tree: exp.Expression, trancount: int) -> str:
        cs = self.catalog.cs
        known: set[str] = set()
        for table in tree.find_all(exp.Table):
            db = table.db
            if not db:
                continue
            if (db == "sys" if cs else db.lower() == "sys"):
                views = SYS_COLUMNS
                name = table.name if cs else table.name.lower()
                if name not in views or (name == "masked_columns"
                                         and not self.catalog.masked_view):
                    raise invalid_object(f"sys.{table.name}")
                known.update(views[name])
            elif (db == "INFORMATION_SCHEMA" if cs else db.upper() == "INFORMATION_SCHEMA"):
                name = table.name if cs else table.name.upper()
                if name not in INFO_COLUMNS:
                    raise invalid_object(f"INFORMATION_SCHEMA.{table.name}")
                known.update(INFO_COLUMNS[name])
            else:
                found = self.catalog.table(db, table.name)
                if found is None:
                    raise invalid_object(f"{db}.{table.name}")
                known.update(c.name for c in found.columns)
        if cs:
            # R15: under a case-sensitive database collation, identifiers must match the
            # catalog's case (a column named table_name is not TABLE_NAME).
            known.update(a.alias for a in tree.find_all(exp.Alias))
            known.update(a.alias for a in tree.find_all(exp.TableAlias) if a.alias)
            for alias in tree.find_all(exp.TableAlias):
                known.update(c.name for c in alias.columns)
            lower = {k.lower() for k in known}
            for column in tree.find_all(exp.Column):
                name = column.name
                if name and name not in known and name.lower() in lower:
                    raise invalid_column(name)

        if isinstance(tree, exp.Delete) and not tree.this and len(tree.args.get("tables") or
                                                                 []) == 1:
            tree.set("this", tree.args["tables"][0])  # DELETE [s].[t] WHERE ... (R5b form O)
            tree.set("tables", None)

        def fix(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Table) and node.db:
                if node.db.lower() == "sys":
                    node.set("db", exp.to_identifier(SYS_SCHEMA))
                    node.set("this", exp.to_identifier(node.name.lower()))
                elif node.db.upper() == "INFORMATION_SCHEMA":
                    node.set("db", exp.to_identifier(INFO_SCHEMA))
                    node.set("this", exp.to_identifier(node.name.upper(), quoted=True))
                else:
                    found = self.catalog.table(node.db, node.name)
                    if found is not None:  # the catalog's spelling (CI databases)
                        node.set("db", exp.to_identifier(found.schema, quoted=True))
                        node.set("this", exp.to_identifier(found.name, quoted=True))
                return node
            if isinstance(node, exp.CurrentSchema) and node.this is not None:
                return exp.Anonymous(this="tsql_schema_name", expressions=[node.this])
            if isinstance(node, exp.ObjectId):
                args = [node.this] + ([node.expression] if node.expression else [])
                return exp.Anonymous(this="tsql_object_id", expressions=args)
            if isinstance(node, exp.Anonymous) and str(node.this).upper() in (
                    "DB_NAME", "SCHEMA_ID"):
                return exp.Anonymous(this=f"tsql_{str(node.this).lower()}",
                                     expressions=node.expressions)
            if (isinstance(node, exp.Parameter) and isinstance(node.this, exp.Parameter)
                    and node.this.name.upper() == "TRANCOUNT"):
                return exp.Literal.number(trancount)  # R21: @@TRANCOUNT
            return node

        # Twice: a function replaced by a macro call is not visited again
        # (SCHEMA_NAME(SCHEMA_ID(x))).
        return tree.transform(fix).transform(fix).sql("duckdb")


def check_statement(tree: exp.Expression, in_tx: bool) -> None:
    """T-SQL that dedicated pools do not have, found on the parsed statement."""
    if isinstance(tree, exp.Merge):
        raise unsupported("MERGE")  # see _statement
    if isinstance(tree, exp.Create):
        raise syntax("IF" if tree.args.get("exists") else "CREATE")
    if isinstance(tree, exp.Drop):
        raise syntax("IF") if tree.args.get("exists") else syntax("DROP")
    if isinstance(tree, exp.Select) and tree.args.get("into"):
        if in_tx:
            raise in_transaction("SELECT INTO")  # R1 (dlt's note: SELECT INTO)
        raise NotImplementedError("the stand-in does not emulate SELECT INTO")
    for values in tree.find_all(exp.Values):
        # R18: the table value constructor is not in Synapse; INSERT ... VALUES takes one row.
        # https://learn.microsoft.com/sql/t-sql/queries/table-value-constructor-transact-sql
        if not (isinstance(tree, exp.Insert) and values.parent is tree
                and len(values.expressions) == 1):
            raise syntax(",")
    if any(True for _ in tree.find_all(exp.Fetch, exp.Offset)):
        raise syntax("OFFSET")  # R18: "OFFSET/FETCH are not supported"
    if isinstance(tree, exp.Insert | exp.Update | exp.Delete) and tree.args.get("returning"):
        raise syntax("OUTPUT")  # R5b: no OUTPUT clause
    if isinstance(tree, exp.Update):
        source = tree.args.get("from_") or tree.args.get("from")
        if (source is not None and any(True for _ in source.find_all(exp.Join))) or \
                tree.args.get("joins"):
            # R5: "Synapse SQL doesn't support ANSI joins in the FROM clause of an UPDATE
            # statement" (https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/
            # sql-data-warehouse-develop-ctas).
            raise unsupported("ANSI joins in the FROM clause of an UPDATE statement")
    if isinstance(tree, exp.Delete):
        target = tree.this
        if isinstance(target, exp.Table) and target.alias:
            # R5b: the DELETE target takes no alias
            # (https://learn.microsoft.com/sql/t-sql/statements/delete-transact-sql?view=azure-sqldw-latest).
            raise syntax("AS")
        for named in tree.args.get("tables") or []:
            if isinstance(named, exp.Table) and not named.db and any(
                    t.alias == named.name for t in tree.find_all(exp.Table)):
                raise syntax(named.name)


def bounded(col: Any) -> bool:
    return col.type in ("nvarchar", "nchar", "varchar", "char", "varbinary", "binary") and \
        not col.is_max


def length_checks(table: Table) -> str:
    """One SELECT list: per bounded column, whether any value is longer than declared."""
    out = []
    for col in table.columns:
        if not bounded(col):
            continue
        name = qi(col.name)
        if col.type in ("nvarchar", "nchar"):
            measure = f"tsql_utf16_len({name})"  # UTF-16 code units
        elif col.type in ("varbinary", "binary"):
            measure = f"octet_length({name})"
        elif (col.collation or "").upper().endswith("UTF8"):
            measure = f"strlen({name})"  # UTF-8 bytes
        else:
            measure = f"length({name})"
        out.append(f"coalesce(max({measure}) > {col.length}, false)")
    return ", ".join(out)


def translate(exc: duckdb.Error) -> PoolError:
    text = str(exc)
    if isinstance(exc, duckdb.ConstraintException) and "NOT NULL" in text:
        column = text.rsplit(":", 1)[-1].strip()
        table, _, name = column.rpartition(".")
        return PoolError("23000", f"Cannot insert the value NULL into column '{name}', table "
                                  f"'{table}'; column does not allow nulls. INSERT fails.", 515)
    if isinstance(exc, duckdb.CatalogException) and "does not exist" in text:
        found = re.search(r"with name (\S+) does not exist", text)
        return invalid_object(found.group(1) if found else text)
    if isinstance(exc, duckdb.BinderException) and "not found" in text:
        found = re.search(r'column "?([^"\s]+)"? not found', text, re.I)
        return invalid_column(found.group(1) if found else text)
    if isinstance(exc, duckdb.ParserException):
        return syntax(text[:60])
    # Anything else DuckDB refuses: the number is not emulated.
    return PoolError("42000", f"{type(exc).__name__}: {text.splitlines()[0]}", None)


def qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def unq(token: str) -> str:
    token = token.strip()
    if token.startswith("["):
        return token[1:-1].replace("]]", "]")
    if token.startswith('"'):
        return token[1:-1].replace('""', '"')
    return token


class _Rows:
    """A result read at once (a DML statement with its length checks, a dirty read)."""

    def __init__(self, rows: list[tuple[Any, ...]], description: Any = None) -> None:
        self.rows, self.description = rows, description

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self.rows = self.rows, []
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows.pop(0) if self.rows else None

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        rows, self.rows = self.rows[:size], self.rows[size:]
        return rows


class Connection:
    def __init__(self, pool: PoolStandIn, auth: str = "sql") -> None:
        self.pool, self.auth = pool, auth
        self.db = pool.db.cursor()
        self.in_tx = self.doomed = self.dead = False

    def cursor(self) -> Cursor:
        return Cursor(self)

    def close(self) -> None:
        pool = self.pool
        with pool.lock:
            if self.in_tx:  # a closed connection rolls its transaction back
                pool._rollback(self)
            if pool.orphan is self:
                return  # rolled back after another session's next statement (R2)
            self.dead = True
            self.db.close()


class Cursor:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.description: Any = None
        self._result: Any = None
        self.rowcount = -1

    def execute(self, sql: str) -> None:
        pool = self.connection.pool
        with pool.lock:
            self._result = pool.execute(self.connection, sql)
        self.description = getattr(self._result, "description", None)

    def fetchall(self) -> list[tuple[Any, ...]]:
        if self._result is None or self.description is None:
            return []
        return self._result.fetchall()

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._result is None or self.description is None:
            return None
        return self._result.fetchone()

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        if self._result is None or self.description is None:
            return []
        return self._result.fetchmany(size)

    def close(self) -> None:
        self._result = None


