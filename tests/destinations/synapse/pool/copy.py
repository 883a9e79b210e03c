"""COPY INTO as a dedicated pool runs it, for Parquet (R7, R7b, R8, R12, R12b).
https://learn.microsoft.com/sql/t-sql/statements/copy-into-transact-sql

The statement is parsed and checked (options, FILE_TYPE rules, credential forms, the
authentication matrix, locations); the files are listed and read from Azurite — with the
statement's SAS when it gives one (a wrong SAS fails as on Synapse), else with the pool's own
access (the connection string: what a managed identity or Entra passthrough would grant) —
and checked (Parquet types, column count, type compatibility, declared lengths, NOT NULL,
row size) before any row is inserted: MAXERRORS defaults to 0, so one bad row fails the
whole COPY and COPY, a single autocommit statement, inserts all rows or none.
"""

from __future__ import annotations

import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.destinations.synapse.pool.rules import (
    PoolError,
    Table,
    Tokens,
    is_ident,
    syntax,
    tokens,
    unquote,
)

COPY_PAGE = "https://learn.microsoft.com/sql/t-sql/statements/copy-into-transact-sql"
LOADING_PAGE = ("https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/"
                "design-elt-data-loading")
# R7: the documented WITH options of COPY INTO.
OPTIONS = {"FILE_TYPE", "FILE_FORMAT", "CREDENTIAL", "ERRORFILE", "ERRORFILE_CREDENTIAL",
           "MAXERRORS", "COMPRESSION", "FIELDQUOTE", "FIELDTERMINATOR", "ROWTERMINATOR",
           "FIRSTROW", "DATEFORMAT", "ENCODING", "IDENTITY_INSERT", "AUTO_CREATE_TABLE"}
CSV_ONLY = {"FIELDQUOTE", "FIELDTERMINATOR", "ROWTERMINATOR", "FIRSTROW", "DATEFORMAT",
            "ENCODING", "ERRORFILE", "ERRORFILE_CREDENTIAL"}
HOST = re.compile(r"^https://([a-z0-9]{3,24})\.(blob|dfs)\.core\.windows\.net/([^/]+)/(.*)$")
SERVICE_PRINCIPAL = re.compile(r"^[0-9a-fA-F-]{36}@https://login\.microsoftonline\.com/"
                               r"[^/]+/oauth2/token$")
MAX_ROW_BYTES = 1_000_000  # R12 "MB per row 1"; R12b "maximum allowed row size of 1000000"


def option_error(option: str, reason: str) -> PoolError:
    # Synapse words COPY's option checks "COPY statement failed with the following error when
    # validating value of option '<option>': '<reason>'" — Msg 105208 in the pools we have
    # seen; the number is not on Microsoft's reference page.
    return PoolError("42000", f"COPY statement failed with the following error when "
                              f"validating value of option '{option}': '{reason}'.", 105208)


def rejected(reason: str, rows: int) -> PoolError:
    # MAXERRORS defaults to 0 (R7): the first rejected row aborts the load. PolyBase/COPY's
    # reject-threshold error is Msg 107090 (number seen in pool output, not documented).
    return PoolError("42000", "Query aborted-- the maximum reject threshold (0 rows) was "
                              f"reached while reading from an external source: 1 rows rejected "
                              f"out of total {rows} rows processed. {reason}", 107090)


def access_error(status: int | str, reason: str = "") -> PoolError:
    # The text Synapse gives for a location it cannot list or read (learn.microsoft.com Q&A
    # and MicrosoftDocs/azure-docs#79775); the number is not documented (105019 is the one of
    # "External file access failed" seen in dbt-external-tables' CI log).
    return PoolError("42000", "Not able to validate external location because The remote "
                              f"server returned an error: ({status}) {reason}".rstrip() + ".",
                     105019)


@dataclass
class Copy:
    target: list[str]
    column_list: list[str] | None
    locations: list[str]
    options: dict[str, str] = field(default_factory=dict)
    identity: str | None = None
    secret: str | None = None


def parse_copy(sql: str) -> Copy:
    t = Tokens(tokens(sql))
    t.expect("COPY")
    t.expect("INTO")
    target = t.name()
    columns = None
    if t.peek() == "(":
        columns = [unquote(c) for c in t.group() if is_ident(c)]
    t.expect("FROM")
    locations = []
    while True:
        token = t.next()
        if not token.startswith("'"):
            raise syntax(token)
        locations.append(token[1:-1].replace("''", "'"))
        if not t.accept(","):
            break
    copy = Copy(target, columns, locations)
    if t.accept("WITH"):
        for item in _split(t.group()):
            sub = Tokens(item)
            name = sub.next().upper()
            if name not in OPTIONS:
                raise syntax(name)  # R7: only the documented options
            if name in copy.options:
                raise option_error(name, "the option is specified more than once")
            sub.expect("=")
            if name in ("CREDENTIAL", "ERRORFILE_CREDENTIAL"):
                inner = _credential(sub.group())
                if name == "CREDENTIAL":
                    copy.identity, copy.secret = inner
                copy.options[name] = inner[0]
            else:
                value = sub.next()
                copy.options[name] = value[1:-1].replace("''", "'") if value.startswith(
                    ("'", "N'")) else value
                if value.startswith("N'"):
                    copy.options[name] = value[2:-1].replace("''", "'")
            if not sub.at_end():
                raise syntax(sub.peek())
    if not t.at_end():
        raise syntax(t.peek())
    return copy


def _split(items: list[str]) -> list[list[str]]:
    from tests.destinations.synapse.pool.rules import split_commas

    return split_commas(items)


def _credential(items: list[str]) -> tuple[str, str | None]:
    values: dict[str, str] = {}
    for part in _split(items):
        sub = Tokens(part)
        key = sub.next().upper()
        sub.expect("=")
        value = sub.next()
        if key not in ("IDENTITY", "SECRET") or not value.startswith(("'", "N'")):
            raise syntax(key)
        values[key] = value[value.index("'") + 1:-1].replace("''", "'")
    if "IDENTITY" not in values:
        raise option_error("CREDENTIAL", "IDENTITY is required")
    return values["IDENTITY"], values.get("SECRET")


def check_copy(copy: Copy, *, auth: str, hierarchical_namespace: bool) -> str:
    """Every rule of the statement itself; returns the credential kind."""
    if len(copy.target) < 2:
        # R7: "If schema is not specified, and the default schema ... is different ..., COPY
        # will be canceled" — the stand-in's loader has no default schema of its own.
        raise PoolError("42000", "COPY statement was canceled: the target table must be "
                                 "schema-qualified.", 105208)
    file_type = copy.options.get("FILE_TYPE", "CSV").upper()
    if file_type not in ("CSV", "PARQUET", "ORC"):
        raise option_error("FILE_TYPE", f"{file_type} is not a valid file type")
    for option in copy.options:
        if option in CSV_ONLY and file_type != "CSV":
            # R7: FIELDTERMINATOR, ROWTERMINATOR, ERRORFILE ... "only applies to CSV".
            raise option_error(option, f"the option is only valid for FILE_TYPE = 'CSV', "
                                       f"not '{file_type}'")
    compression = copy.options.get("COMPRESSION")
    if compression is not None and file_type == "PARQUET" and compression.upper() not in (
            "SNAPPY", "GZIP"):
        raise option_error("COMPRESSION", "Parquet supports GZIP and Snappy")  # R7
    auto = copy.options.get("AUTO_CREATE_TABLE", "OFF").upper()
    if auto not in ("ON", "OFF"):
        raise option_error("AUTO_CREATE_TABLE", f"{auto} is not ON or OFF")
    if auto == "ON":
        if file_type != "PARQUET":  # R7: "available only for parquet files"
            raise option_error("AUTO_CREATE_TABLE", "only available for Parquet files")
        if copy.column_list is not None:  # R7: "Do not specify a column_list"
            raise option_error("AUTO_CREATE_TABLE", "a column list cannot be specified")
        if "MAXERRORS" in copy.options:
            raise option_error("MAXERRORS", "cannot be used with AUTO_CREATE_TABLE")
    hosts = [HOST.match(u) for u in copy.locations]
    if not all(hosts):
        raise option_error("FROM", "the location is not an Azure Storage URL")
    if len({(m.group(1), m.group(3)) for m in hosts if m}) > 1:
        # R7: "Multiple file locations can only be specified from the same storage account
        # and container".
        raise option_error("FROM", "all locations must be in the same storage account and "
                                   "container")
    endpoints = {m.group(2) for m in hosts if m}
    kind = _credential_kind(copy)
    if kind == "none" and auth == "sql":
        # R7 / R7b: without CREDENTIAL, COPY passes the caller's Entra identity through to
        # storage; a SQL login has none. Synapse reports it as an external access failure
        # (number not documented).
        raise PoolError("42000", "External file access failed: COPY without a CREDENTIAL uses "
                                 "the caller's Microsoft Entra identity, and this session "
                                 "authenticated with a SQL login.", 105019)
    if file_type == "PARQUET":
        # R7b, the authentication matrix: Parquet on Blob storage: SAS/KEY only; on ADLS Gen2:
        # SAS (.blob), MSI (.dfs), service principal, key, Entra passthrough.
        if not hierarchical_namespace and kind not in ("sas", "key"):
            raise option_error("CREDENTIAL", f"{_NAMES[kind]} is not supported for Parquet "
                                             "files on Azure Blob Storage (use a Shared Access "
                                             "Signature or the Storage Account Key)")
        if kind == "sas" and endpoints != {"blob"}:
            raise option_error("CREDENTIAL", "a Shared Access Signature requires the .blob "
                                             "endpoint for Parquet files")
        if kind == "msi" and endpoints != {"dfs"}:
            raise option_error("CREDENTIAL", "Managed Identity requires the .dfs endpoint for "
                                             "Parquet files")
    return kind


_NAMES = {"sas": "Shared Access Signature", "key": "Storage Account Key",
          "msi": "Managed Identity", "sp": "Service principal", "none": "Entra passthrough"}


def _credential_kind(copy: Copy) -> str:
    identity = copy.identity
    if identity is None:
        return "none"
    if identity == "Shared Access Signature":
        if not copy.secret:
            raise option_error("CREDENTIAL", "SECRET is required for a Shared Access Signature")
        return "sas"
    if identity == "Storage Account Key":
        if not copy.secret:
            raise option_error("CREDENTIAL", "SECRET is required for a Storage Account Key")
        return "key"
    if identity == "Managed Identity":
        if copy.secret is not None:
            raise option_error("CREDENTIAL", "SECRET is not allowed with Managed Identity")
        return "msi"
    if SERVICE_PRINCIPAL.match(identity):  # <client id>@<OAuth 2.0 v1 token endpoint>
        if not copy.secret:
            raise option_error("CREDENTIAL", "SECRET is required for a service principal")
        return "sp"
    raise option_error("CREDENTIAL", f"IDENTITY '{identity}' is not supported")


# -- reading ---------------------------------------------------------------------------------
class Reader:
    """Lists and downloads blobs of an Azure URL from Azurite."""

    def __init__(self, blob_url: str, sas: str | None, connection_string: str | None) -> None:
        self.blob_url, self.sas, self.connection = blob_url.rstrip("/"), sas, connection_string

    def _http(self, http: httpx.Client, url: str) -> bytes:
        response = http.get(url)
        if response.status_code != 200:
            raise access_error(response.status_code, _reason(response.content))
        return response.content

    def names(self, http: httpx.Client, container: str, prefix: str) -> list[str]:
        if self.sas is not None:
            body = self._http(http, f"{self.blob_url}/{container}?restype=container&comp=list"
                                    f"&prefix={quote(prefix)}&{self.sas}")
            return [e.text or "" for e in ET.fromstring(body).iter("Name")]
        return [b.name for b in self._container(container).list_blobs(name_starts_with=prefix)]

    def get(self, http: httpx.Client, container: str, name: str) -> bytes:
        if self.sas is not None:
            return self._http(http, f"{self.blob_url}/{container}/{quote(name)}?{self.sas}")
        client = self._container(container)
        try:
            return client.download_blob(name).readall()
        except Exception as exc:  # ResourceNotFoundError and friends
            raise access_error(404, type(exc).__name__) from None

    def _container(self, container: str):  # type: ignore[no-untyped-def]
        from azure.storage.blob import BlobServiceClient

        assert self.connection, "the stand-in needs storage_connection_string for this COPY"
        return BlobServiceClient.from_connection_string(self.connection).get_container_client(
            container)


def _reason(body: bytes) -> str:
    found = re.search(rb"<Message>([^<.]*)", body)
    return found.group(1).decode() if found else ""


def expand(reader: Reader, http: httpx.Client, url: str) -> list[tuple[str, str]]:
    """(container, blob) for one location. Wildcards and folders are listed; R7: "COPY ignores
    hidden folders and doesn't return files that begin with an underline (_) or a period (.)".
    Wildcards match case-sensitively."""
    match = HOST.match(url)
    assert match
    container, path = match.group(3), match.group(4)
    if "*" not in path and not path.endswith("/") and path:
        return [(container, path)]
    head = path.split("*", 1)[0]
    prefix = head[:head.rfind("/") + 1] if "/" in head else ""
    pattern = re.compile("^" + ".*".join(re.escape(p) for p in path.split("*")) +
                         ("" if "*" in path else ".*") + "$")
    out = []
    for name in reader.names(http, container, prefix):
        rest = name[len(prefix):]
        if any(part.startswith(("_", ".")) for part in rest.split("/")):
            continue
        if pattern.match(name):
            out.append((container, name))
    return out


def load_files(copy: Copy, reader: Reader, tmp: str,
               check: Callable[[str, str], None]) -> list[str]:
    files: list[str] = []
    with httpx.Client() as http:
        for url in copy.locations:
            for container, name in expand(reader, http, url):
                path = Path(tmp) / f"{len(files)}.parquet"
                path.write_bytes(reader.get(http, container, name))
                check(str(path), f"{container}/{name}")
                files.append(str(path))
    if not files:
        # Number not documented; Synapse refuses a COPY whose location matches no file.
        raise PoolError("42000", "COPY statement failed because no files were found at the "
                                 "location(s) given.", 105200)
    return files


# -- checking the rows -----------------------------------------------------------------------
def _compatible(arrow_type: object, sql_type: str) -> bool:
    """R8's Parquet -> SQL mapping, loosened only where COPY converts (integers widen)."""
    import pyarrow as pa  # type: ignore[import-untyped]

    t = arrow_type
    ints = ("tinyint", "smallint", "int", "bigint", "decimal", "numeric", "float", "real",
            "bit")
    if pa.types.is_null(t):  # type: ignore[arg-type]
        return True
    if pa.types.is_boolean(t):  # type: ignore[arg-type]
        return sql_type in ("bit",)
    if pa.types.is_integer(t):  # type: ignore[arg-type]
        return sql_type in ints
    if pa.types.is_floating(t):  # type: ignore[arg-type]
        return sql_type in ("float", "real", "decimal", "numeric")
    if pa.types.is_decimal(t):  # type: ignore[arg-type]
        return sql_type in ("decimal", "numeric", "float", "real", "money", "smallmoney")
    if pa.types.is_string(t) or pa.types.is_large_string(t):  # type: ignore[arg-type]
        return sql_type in ("nvarchar", "varchar", "nchar", "char", "uniqueidentifier")
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):  # type: ignore[arg-type]
        return sql_type in ("varbinary", "binary")
    if pa.types.is_date(t):  # type: ignore[arg-type]
        return sql_type in ("date", "datetime2", "datetime", "smalldatetime")
    if pa.types.is_timestamp(t):  # type: ignore[arg-type]
        return sql_type in ("datetime2", "datetime", "smalldatetime", "datetimeoffset", "date")
    return False


def check_file(path: str, blob: str, table: Table, columns: list[str] | None) -> int:
    """Every rule a file's rows must meet; returns its row count."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.compute as pc  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    schema = pq.read_schema(path)
    for f in schema:
        if pa.types.is_timestamp(f.type) and f.type.unit != "ms":
            # R8: "SQL dedicated pools do not currently support Parquet data types with MICROS
            # and NANOS precision" (LOADING_PAGE).
            raise PoolError("42000", f"COPY statement failed: {blob}: column {f.name} is a "
                                     f"Parquet TIMESTAMP in {f.type.unit}; MICROS and NANOS "
                                     "precision are not supported.", 106000)
        if pa.types.is_time(f.type):
            raise PoolError("42000", f"COPY statement failed: {blob}: column {f.name} is a "
                                     "Parquet TIME, which dedicated pools cannot load.", 106000)
    targets = [table.column(c) for c in columns] if columns else list(table.columns)
    if any(c is None for c in targets):
        raise PoolError("42S22", "Invalid column name in the COPY column list.", 207)
    if len(schema) != len(targets):
        # R7: without a column list COPY maps columns by ordinality; a different count fails.
        # Number not documented.
        raise PoolError("42000", f"COPY statement failed: the number of columns in {blob} "
                                 f"({len(schema)}) does not match the number of target "
                                 f"columns ({len(targets)}).", 105200)
    data = pq.read_table(path)
    rows = data.num_rows
    sizes = pa.array([0] * rows, pa.int64())
    for f, col in zip(schema, targets, strict=True):
        assert col is not None
        if not _compatible(f.type, col.type):
            # R8: "ClassCastException if types are mismatched between Parquet and SQL".
            raise PoolError("42000", "HdfsBridge::recordReaderFillBuffer - Unexpected error "
                                     "encountered filling record reader buffer: "
                                     f"ClassCastException: {blob}: column {f.name} ({f.type}) "
                                     f"cannot be read as {col.sql_type()}.", 106000)
        values = data.column(f.name)
        if not col.nullable and values.null_count:
            raise rejected(f"({blob}) Column ordinal: {targets.index(col) + 1}, NULL into a "
                           "NOT NULL column.", rows)
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            units = pc.add(pc.utf8_length(values),
                           pc.count_substring_regex(values, "[\\x{10000}-\\x{10FFFF}]"))
            units = pc.fill_null(units, 0)
            width = pc.multiply(units, 2) if col.type in ("nvarchar", "nchar") else \
                pc.fill_null(pc.binary_length(values), 0)
            count = units if col.type in ("nvarchar", "nchar") else width
        elif pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type) or \
                pa.types.is_fixed_size_binary(f.type):
            width = count = pc.fill_null(pc.binary_length(values), 0)
        else:
            width = pc.if_else(pc.is_null(values), 0, col.max_bytes())
            count = None
        if count is not None and col.length not in (None, -1):
            longest = pc.max(count).as_py() or 0
            if longest > col.length:
                # Rule 5 / R7: a value longer than the column is a rejected row; MAXERRORS 0.
                raise rejected(f"({blob}) Column ordinal: {targets.index(col) + 1}, Expected "
                               f"data type: {col.sql_type().upper()}: a value of {longest} "
                               "would be truncated.", rows)
        sizes = pc.add(sizes, pc.cast(width, pa.int64()))
    biggest = pc.max(sizes).as_py() if rows else 0
    if biggest and biggest > MAX_ROW_BYTES:
        # R12 "MB per row 1"; R12b: "It exceeds the maximum allowed row size of 1000000 bytes
        # for Polybase" (the Q&A thread's wording; number as for rejected rows).
        raise PoolError("42000", "HdfsBridge::recordReaderFillBuffer - Unexpected error "
                                 "encountered filling record reader buffer: "
                                 f"HadoopExecutionException: {blob}: a row of {biggest} bytes. "
                                 "It exceeds the maximum allowed row size of 1000000 bytes for "
                                 "Polybase.", 107090)
    return rows


def run_copy(copy: Copy, table: Table, reader: Reader,
             insert: Callable[[list[str], list[str] | None], int]) -> int:
    """Check every file, then insert them all in one statement; returns the rows inserted."""
    with tempfile.TemporaryDirectory(prefix="standin-copy-") as tmp:
        def check(path: str, blob: str) -> None:
            check_file(path, blob, table, copy.column_list)

        files = load_files(copy, reader, tmp, check)
        return insert(files, copy.column_list)
