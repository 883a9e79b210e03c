"""The documented rules of a dedicated SQL pool that do not need the database: errors worded
as the ODBC driver reports Synapse's, T-SQL types and limits, collation names, and CREATE
TABLE / ALTER TABLE ADD parsed into a table layout that is checked at every change.

Rule ids (R1..R23) refer to docs/destinations/synapse-rules.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

TX_PAGE = ("https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/"
           "sql-data-warehouse-develop-transactions")
CREATE_PAGE = "https://learn.microsoft.com/sql/t-sql/statements/create-table-azure-sql-data-warehouse"
TYPES_PAGE = ("https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/"
              "sql-data-warehouse-tables-data-types")
INDEX_PAGE = ("https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/"
              "sql-data-warehouse-tables-index")
CAPACITY_PAGE = ("https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/"
                 "sql-data-warehouse-service-capacity-limits")
CONSTRAINTS_PAGE = ("https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/"
                    "sql-data-warehouse-tables-overview")
IDENT_PAGE = "https://learn.microsoft.com/sql/relational-databases/databases/database-identifiers"
COLLATION_PAGE = "https://learn.microsoft.com/azure/synapse-analytics/sql/reference-collation-types"


class PoolError(Exception):
    """An error worded as the ODBC driver words Synapse's: "[SQLSTATE] message (number)"."""

    def __init__(self, sqlstate: str, message: str, number: int | None) -> None:
        self.sqlstate, self.number = sqlstate, number
        suffix = f" ({number})" if number is not None else ""
        super().__init__(f"[{sqlstate}] {message}{suffix}")


# Synapse's parser reports T-SQL it has no grammar for as Msg 103010 "Parse error at line: L,
# column: C: Incorrect syntax near 'X'." (the number is the one dedicated pools print; it is
# not on a Microsoft reference page).
def syntax(near: str) -> PoolError:
    return PoolError("42000", f"Parse error at line: 1, column: 1: Incorrect syntax near "
                              f"'{near}'.", 103010)


# Msg 40517 is what Azure's SQL engines say for a feature their edition lacks; Synapse's own
# numbers for the features of R1/R5/R6/R18 are not documented.
def unsupported(feature: str) -> PoolError:
    return PoolError("42000", f"{feature} is not supported in this version of SQL Server.",
                     40517)


def invalid_object(name: str) -> PoolError:
    return PoolError("42S02", f"Invalid object name '{name}'.", 208)


def invalid_column(name: str) -> PoolError:
    return PoolError("42S22", f"Invalid column name '{name}'.", 207)


def exists(name: str) -> PoolError:
    return PoolError("42S01", f"There is already an object named '{name}' in the database.",
                     2714)


# R13: identifiers are 1..128 characters. Msg 103 (SQL Server's number).
def check_identifier(name: str) -> None:
    if not 1 <= len(name) <= 128:
        raise PoolError("42000", f"The identifier that starts with '{name[:128]}' is too long. "
                                 "Maximum length is 128.", 103)


# ---------------------------------------------------------------------------------------
# Collations (R15; the grammar of Windows and SQL collation names:
# https://learn.microsoft.com/sql/t-sql/statements/windows-collation-name-transact-sql
# https://learn.microsoft.com/sql/t-sql/statements/sql-server-collation-name-transact-sql)
_LOCALES = (
    "Albanian", "Arabic", "Assamese", "Azeri_Cyrillic", "Azeri_Latin", "Bashkir", "Bengali",
    "Bosnian_Cyrillic", "Bosnian_Latin", "Breton", "Chinese_Hong_Kong_Stroke", "Chinese_PRC",
    "Chinese_PRC_Stroke", "Chinese_Simplified_Pinyin", "Chinese_Simplified_Stroke_Order",
    "Chinese_Taiwan_Bopomofo", "Chinese_Taiwan_Stroke", "Chinese_Traditional_Bopomofo",
    "Chinese_Traditional_Pinyin", "Chinese_Traditional_Stroke_Count",
    "Chinese_Traditional_Stroke_Order", "Corsican", "Croatian", "Cyrillic_General", "Czech",
    "Danish_Greenlandic", "Danish_Norwegian", "Dari", "Divehi", "Estonian", "Frisian",
    "Finnish_Swedish", "French", "Georgian_Modern_Sort", "German_PhoneBook", "Greek", "Hebrew",
    "Hindi", "Hungarian", "Hungarian_Technical", "Icelandic", "Indic_General", "Japanese",
    "Japanese_Bushu_Kakusu", "Japanese_Unicode", "Japanese_XJIS", "Kazakh", "Khmer", "Korean",
    "Korean_Wansung", "Lao", "Latin1_General", "Latvian", "Lithuanian", "Macedonian_FYROM",
    "Maltese", "Maori", "Mapudungan", "Modern_Spanish", "Mohawk", "Nepali", "Norwegian", "Pashto",
    "Persian", "Polish", "Romanian", "Romansh", "Sami_Norway", "Sami_Sweden_Finland",
    "Serbian_Cyrillic", "Serbian_Latin", "Slovak", "Slovenian", "Syriac", "Tamazight", "Tatar",
    "Thai", "Tibetan", "Traditional_Spanish", "Turkish", "Turkmen", "Uighur", "Ukrainian",
    "Upper_Sorbian", "Urdu", "Uzbek_Latin", "Vietnamese", "Welsh", "Yakut",
)
_WINDOWS = re.compile(
    r"^(?P<locale>" + "|".join(sorted(_LOCALES, key=len, reverse=True)) + r")"
    r"(?:_(?P<version>90|100|140))?"
    r"_(?:(?P<bin>BIN2?)|(?P<case>CI|CS)_(?P<accent>AI|AS)(?P<ks>_KS)?(?P<ws>_WS)?(?P<vss>_VSS)?"
    r"(?P<sc>_SC)?)(?P<utf8>_UTF8)?$")
_SQL = re.compile(r"^SQL_(?:Latin1_General_CP(?:1|437|850|1250|1251|1253|1254|1255|1256|1257)"
                  r"(?:_(?:CI|CS)_(?:AI|AS)|_BIN2?)|Latin1_General_Pref_CP(?:1|437|850)_CI_AS"
                  r"|Czech_CP1250_(?:CI|CS)_AS|Danish_Pref_CP1_CI_AS|Icelandic_Pref_CP1_CI_AS"
                  r"|Polish_CP1250_(?:CI|CS)_AS|Scandinavian_Pref_CP850_CI_AS"
                  r"|Ukrainian_Cp1251_(?:CI|CS)_AS)$")


def valid_collation(name: str) -> bool:
    if _SQL.match(name):
        return True
    match = _WINDOWS.match(name)
    if not match:
        return False
    version, sc, utf8 = match["version"], match["sc"], match["utf8"]
    if sc and version not in ("90", "100"):  # _SC: version 90/100 only (140 is always SC)
        return False
    if utf8 and (version not in ("100", "140") or (version == "100" and not (sc or match["bin"]))):
        return False  # UTF-8: version 100 with _SC (or BIN2), or 140
    return not (match["bin"] and (match["ks"] or match["ws"]))


def check_collation(name: str) -> None:
    if not valid_collation(name):
        # Msg 448 (SQL Server's number for an unknown collation name).
        raise PoolError("42000", f"Invalid collation '{name}'.", 448)


def case_sensitive(collation: str) -> bool:
    return "_CS_" in collation or collation.endswith(("_BIN", "_BIN2")) or "_BIN2_" in collation


# ---------------------------------------------------------------------------------------
# Types (R9: CREATE TABLE (Azure Synapse Analytics) and "Data types for tables";
# https://learn.microsoft.com/sql/t-sql/statements/create-table-azure-sql-data-warehouse
# https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-tables-data-types)
FIXED = {"bigint": 8, "int": 4, "smallint": 2, "tinyint": 1, "bit": 1, "float": 8, "real": 4,
         "date": 3, "datetime": 8, "smalldatetime": 4, "money": 8, "smallmoney": 4,
         "uniqueidentifier": 16}
SCALED = {"datetime2": 8, "datetimeoffset": 10, "time": 5}  # (n), n <= 7
NUMERIC = ("decimal", "numeric")
STRINGS = {"nvarchar": 4000, "nchar": 4000, "varchar": 8000, "char": 8000,
           "varbinary": 8000, "binary": 8000}
VARIABLE = ("nvarchar", "varchar", "varbinary")  # the ones that take (max)
UNSUPPORTED = ("geometry", "geography", "hierarchyid", "image", "text", "ntext", "sql_variant",
               "table", "timestamp", "rowversion", "xml", "json", "vector", "cursor")
DUCK = {"bigint": "BIGINT", "int": "INTEGER", "smallint": "SMALLINT", "tinyint": "UTINYINT",
        "bit": "BOOLEAN", "float": "DOUBLE", "real": "FLOAT", "date": "DATE",
        "datetime": "TIMESTAMP", "smalldatetime": "TIMESTAMP", "money": "DECIMAL(19,4)",
        "smallmoney": "DECIMAL(10,4)", "uniqueidentifier": "UUID", "datetime2": "TIMESTAMP",
        "datetimeoffset": "TIMESTAMPTZ", "time": "TIME", "nvarchar": "VARCHAR",
        "nchar": "VARCHAR", "varchar": "VARCHAR", "char": "VARCHAR", "varbinary": "BLOB",
        "binary": "BLOB"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # lower-case base type
    length: int | None = None  # strings: n, or -1 for (max)
    precision: int | None = None  # decimal p; datetime2/time/datetimeoffset n
    scale: int | None = None
    collation: str | None = None
    nullable: bool = True
    default: str | None = None
    identity: bool = False

    @property
    def is_max(self) -> bool:
        return self.length == -1

    def sql_type(self) -> str:
        if self.type in STRINGS:
            return f"{self.type}({'max' if self.is_max else self.length})"
        if self.type in NUMERIC:
            return f"{self.type}({self.precision},{self.scale})"
        if self.type in SCALED:
            return f"{self.type}({self.precision})"
        return self.type

    def duck(self) -> str:
        if self.type in NUMERIC:
            return f"DECIMAL({self.precision},{self.scale})"
        return DUCK[self.type]

    def max_bytes(self) -> int:
        """sys.columns.max_length: declared bytes (-1 for max)."""
        if self.type in STRINGS:
            if self.is_max:
                return -1
            return (self.length or 1) * (2 if self.type in ("nvarchar", "nchar") else 1)
        if self.type in NUMERIC:
            p = self.precision or 18
            return 5 if p <= 9 else 9 if p <= 19 else 13 if p <= 28 else 17
        if self.type in SCALED:
            n = self.precision if self.precision is not None else 7
            extra = 2 if self.type == "datetimeoffset" else 0
            base = 3 if n <= 2 else 4 if n <= 4 else 5
            return base + (3 if self.type != "time" else 0) + extra
        return FIXED[self.type]

    def chars(self) -> int | None:
        """INFORMATION_SCHEMA.CHARACTER_MAXIMUM_LENGTH: characters (bytes for binary), -1."""
        if self.type not in STRINGS:
            return None
        return -1 if self.is_max else self.length


def make_column(name: str, type_name: str, args: list[str], *, collation: str | None = None,
                nullable: bool = True, default: str | None = None,
                identity: bool = False) -> Column:
    """A column from its declaration, refused as Synapse refuses it (R9, R13, R15)."""
    check_identifier(name)
    base = type_name.lower()
    if base in UNSUPPORTED:
        # R9: "Unsupported types: geometry, geography, hierarchyid, image, text, ntext,
        # sql_variant, table, timestamp, xml" (TYPES_PAGE). Number not documented for Synapse;
        # 40517 is the engine's "not supported in this version".
        raise unsupported(f"The data type '{base}' (column '{name}')")
    if base not in FIXED and base not in SCALED and base not in NUMERIC and base not in STRINGS:
        raise PoolError("42000", f"Column, parameter, or variable #1: Cannot find data type "
                                 f"{type_name}.", 2715)
    if collation is not None:
        check_collation(collation)
        if base not in STRINGS or base in ("varbinary", "binary"):
            raise PoolError("42000", f"Expression type {base} is invalid for COLLATE clause.",
                            447)
    if base in FIXED:
        if args:
            raise PoolError("42000", f"Column, parameter, or variable #1: Cannot specify a "
                                     f"column width on data type {base}.", 2716)
        return Column(name, base, collation=collation, nullable=nullable, default=default,
                      identity=identity)
    if base in STRINGS:
        if len(args) > 1:
            raise syntax(",")
        if args and args[0].lower() == "max":
            if base not in VARIABLE:
                raise syntax("max")
            length = -1
        else:
            length = int(args[0]) if args else 1
            if length < 1:
                raise PoolError("42000", f"Line 1: Length or precision specification {length} "
                                         "is invalid.", 1001)
            if length > STRINGS[base]:
                # R9: nvarchar n 1..4000, varchar/varbinary/char/binary 1..8000.
                raise PoolError("42000", f"The size ({length}) given to the column '{name}' "
                                         "exceeds the maximum allowed for any data type "
                                         f"({STRINGS[base]}).", 131)
        return Column(name, base, length=length, collation=collation, nullable=nullable,
                      default=default, identity=identity)
    if base in SCALED:
        n = int(args[0]) if args else 7
        if not 0 <= n <= 7 or len(args) > 1:
            # R9: datetime2 [ ( n ) ] with n <= 7. Msg 1002 (SQL Server's number).
            raise PoolError("42000", f"Line 1: Specified scale {n} is invalid.", 1002)
        return Column(name, base, precision=n, collation=collation, nullable=nullable,
                      default=default, identity=identity)
    p = int(args[0]) if args else 18
    s = int(args[1]) if len(args) > 1 else 0
    if not 1 <= p <= 38:
        # R9: decimal precision 1..38.
        raise PoolError("42000", f"Column or parameter #1: Specified column precision {p} is "
                                 "greater than the maximum precision of 38.", 2750)
    if not 0 <= s <= p:
        raise PoolError("42000", f"The scale ({s}) for column '{name}' must be within the "
                                 f"range 0 to {p}.", 183)
    return Column(name, base, precision=p, scale=s, collation=collation, nullable=nullable,
                  default=default, identity=identity)


# ---------------------------------------------------------------------------------------
# Tables: layout (R10, R11, R12, R14)
@dataclass
class Table:
    schema: str
    name: str
    columns: list[Column]
    distribution: str = "ROUND_ROBIN"  # ROUND_ROBIN | REPLICATE | HASH
    hash_column: str | None = None
    index: str = "CLUSTERED COLUMNSTORE INDEX"  # | HEAP | CLUSTERED INDEX
    index_columns: tuple[str, ...] = ()
    object_id: int = 0
    with_clause: str = ""
    masks: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def with_columns(self, columns: list[Column]) -> Table:
        return replace(self, columns=columns, masks=dict(self.masks))


def check_table(table: Table, *, altering: bool = False) -> None:
    """Every rule a table's definition must satisfy, at CREATE and after each ALTER ADD."""
    ref = f"{table.schema}.{table.name}"
    check_identifier(table.name)
    if len(table.columns) > 1024:
        # R12 "Columns per table 1024" (CAPACITY_PAGE); Msg 1702 (SQL Server's number).
        verb = "ALTER TABLE" if altering else "CREATE TABLE"
        raise PoolError("42000", f"{verb} failed because column '{table.columns[1024].name}' "
                                 f"in table '{table.name}' exceeds the maximum of 1024 columns.",
                        1702)
    seen: set[str] = set()
    for each in table.columns:
        key = each.name.lower()  # column names are unique regardless of case in the catalog
        if key in seen:
            raise PoolError("42S21", f"Column names in each table must be unique. Column name "
                                     f"'{each.name}' in table '{table.name}' is specified more "
                                     "than once.", 2705)
        seen.add(key)
    if table.distribution == "HASH":
        col = table.column(table.hash_column or "")
        if col is None:
            raise invalid_column(table.hash_column or "")
        if col.is_max:
            # R11: a (max) column cannot be a distribution column (number not documented;
            # 1919 is SQL Server's "invalid for use as a key column").
            raise PoolError("42000", f"Column '{col.name}' in table '{ref}' is of a type that "
                                     "is invalid for use as a distribution column.", 1919)
        if col.default is not None:
            # R11: "You can't define a DEFAULT constraint on a distribution column"
            # (CREATE_PAGE). Number not documented.
            raise PoolError("42000", f"A DEFAULT constraint cannot be defined on the "
                                     f"distribution column '{col.name}'.", 104410)
    if table.index == "CLUSTERED INDEX":
        keys: list[Column] = []
        for name in table.index_columns:
            col = table.column(name)
            if col is None:
                raise invalid_column(name)
            if col.is_max:
                # R12 "Index key size 900 bytes"; (max) types cannot be index keys (Msg 1919).
                raise PoolError("42000", f"Column '{name}' in table '{ref}' is of a type that "
                                         "is invalid for use as a key column in an index.",
                                1919)
            keys.append(col)
        if len(keys) > 16:
            # R12 "Key columns per index 16" (CAPACITY_PAGE); Msg 1904.
            raise PoolError("42000", f"The index on table '{ref}' has {len(keys)} columns in "
                                     "the key list. The maximum limit for index key column "
                                     "list is 16.", 1904)
        width = sum(c.max_bytes() for c in keys)
        if width > 900:
            # R12 "Index key size 900 bytes" (CAPACITY_PAGE); Msg 1944.
            raise PoolError("42000", f"Index on table '{ref}' was not created. This index has a "
                                     f"key length of at least {width} bytes. The maximum "
                                     "permissible key length is 900 bytes.", 1944)
    if table.index == "CLUSTERED COLUMNSTORE INDEX":
        for each in table.columns:
            if each.is_max:
                # R10: "Columnstore tables don't support varchar(max), nvarchar(max), and
                # varbinary(max)" (INDEX_PAGE). Msg 35343 is SQL Server's text for it.
                raise PoolError("42000", f"The statement failed. Column '{each.name}' has a data "
                                         "type that cannot participate in a columnstore index.",
                                35343)


# ---------------------------------------------------------------------------------------
# A tokenizer for the DDL sqlglot cannot parse (Synapse's WITH options, ADD MASKED).
_TOKEN = re.compile(r"\s*(\[(?:[^\]]|\]\])*\]|\"(?:[^\"]|\"\")*\"|N?'(?:[^']|'')*'"
                    r"|[A-Za-z_@#][\w@#$]*|\d+(?:\.\d+)?|::|[(),=.;*+\-/<>!]|\S)", re.DOTALL)


def tokens(sql: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(sql):
        match = _TOKEN.match(sql, pos)
        if not match or not match.group(1):
            break
        out.append(match.group(1))
        pos = match.end()
    return out


def unquote(token: str) -> str:
    if token.startswith("["):
        return token[1:-1].replace("]]", "]")
    if token.startswith('"'):
        return token[1:-1].replace('""', '"')
    return token


def is_ident(token: str) -> bool:
    return bool(token) and (token[0] in '["' or token[0].isalpha() or token[0] in "_@#")


class Tokens:
    """A cursor over tokens with the few helpers a recursive-descent DDL reader needs."""

    def __init__(self, items: list[str]) -> None:
        self.items, self.pos = items, 0

    def peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.items[i] if i < len(self.items) else ""

    def next(self) -> str:
        token = self.peek()
        if not token:
            raise syntax("end of statement")
        self.pos += 1
        return token

    def accept(self, *words: str) -> bool:
        if all(self.peek(i).upper() == w for i, w in enumerate(words)):
            self.pos += len(words)
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            raise syntax(self.peek() or word)

    def name(self) -> list[str]:
        """A multi-part name: [a].[b] -> ["a", "b"]."""
        token = self.next()
        if not is_ident(token):
            raise syntax(token)
        parts = [unquote(token)]
        while self.accept("."):
            parts.append(unquote(self.next()))
        return parts

    def group(self) -> list[str]:
        """The tokens inside the parentheses that start here (consumed, without them)."""
        self.expect("(")
        depth, out = 1, list[str]()
        while True:
            token = self.next()
            if token == "(":
                depth += 1
            elif token == ")":
                depth -= 1
                if depth == 0:
                    return out
            out.append(token)

    def at_end(self) -> bool:
        return self.pos >= len(self.items) or self.peek() == ";"


def split_commas(items: list[str]) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    depth = 0
    for token in items:
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        if token == "," and depth == 0:
            parts.append([])
        else:
            parts[-1].append(token)
    return [p for p in parts if p]


def column_def(items: list[str], key_columns: list[str]) -> Column:
    """One column definition (CREATE TABLE or ALTER TABLE ADD)."""
    t = Tokens(items)
    name = unquote(t.next())
    type_token = t.next()
    if type_token.upper() == "AS":
        raise unsupported(f"Computed column '{name}'")  # R14: no computed columns
    args: list[str] = []
    if t.peek() == "(":
        args = [tok for tok in t.group() if tok != ","]
    collation: str | None = None
    nullable, default, identity = True, None, False
    while not t.at_end():
        if t.accept("COLLATE"):
            collation = t.next()
        elif t.accept("NOT", "NULL"):
            nullable = False
        elif t.accept("NULL"):
            nullable = True
        elif t.accept("IDENTITY"):
            identity = True
            if t.peek() == "(":
                t.group()
        elif t.accept("CONSTRAINT"):
            t.next()
        elif t.accept("DEFAULT"):
            value = t.next()
            if value == "(":
                t.pos -= 1
                value = " ".join(t.group())
            # R9: "Default values support literals and constants only".
            if re.match(r"^[A-Za-z_]\w*$", value) and value.upper() != "NULL":
                raise PoolError("42000", f"Default value '{value}' of column '{name}' is not a "
                                         "literal or a constant.", 104409)
            default = value
        elif t.peek().upper() in ("PRIMARY", "UNIQUE"):
            constraint(t, key_columns, [name])
        elif t.accept("FOREIGN") or t.accept("REFERENCES"):
            raise unsupported("FOREIGN KEY constraint")  # R14: no foreign keys
        else:
            raise syntax(t.peek())
    return make_column(name, type_token, args, collation=collation, nullable=nullable,
                       default=default, identity=identity)


def constraint(t: Tokens, key_columns: list[str], columns: list[str]) -> None:
    """PRIMARY KEY / UNIQUE: R14 "PRIMARY KEY is only supported when NONCLUSTERED and NOT
    ENFORCED are both used. UNIQUE constraint is only supported with NOT ENFORCED"
    (CONSTRAINTS_PAGE). Msg 104467 "Enforced unique constraints are not supported" is the
    error Synapse gives (reported in Airbyte's issue tracker; not on a reference page)."""
    primary = t.accept("PRIMARY", "KEY")
    if not primary:
        t.expect("UNIQUE")
    nonclustered = t.accept("NONCLUSTERED")
    if t.accept("CLUSTERED"):
        nonclustered = False
    if t.peek() == "(":
        columns = [unquote(c) for c in t.group() if c != "," and c.upper() not in ("ASC", "DESC")]
    enforced = not t.accept("NOT", "ENFORCED")
    if enforced:
        raise PoolError("42000", "Enforced unique constraints are not supported. To create an "
                                 "unenforced unique constraint you must include the NOT "
                                 "ENFORCED syntax as part of your statement.", 104467)
    if primary and not nonclustered:
        raise PoolError("42000", "PRIMARY KEY is only supported when NONCLUSTERED and NOT "
                                 "ENFORCED are both used.", 104467)
    key_columns.extend(columns)


@dataclass
class CreateTable:
    schema: str
    name: str
    columns: list[Column]
    table: Table
    ctas: str | None = None


def parse_create(sql: str, default_schema: str = "dbo") -> CreateTable:
    """CREATE TABLE name (columns) [WITH (options)] | CREATE TABLE name WITH (...) AS SELECT."""
    t = Tokens(tokens(sql))
    t.expect("CREATE")
    t.expect("TABLE")
    if t.peek().upper() == "IF":
        raise syntax("IF")  # no CREATE TABLE IF NOT EXISTS in Synapse (CREATE_PAGE)
    parts = t.name()
    if len(parts) > 3:
        raise syntax(".")
    schema, name = (parts[-2] if len(parts) > 1 else default_schema), parts[-1]
    if name.startswith("##"):
        # R11: "Global temporary tables that begin with ## aren't supported" (CREATE_PAGE).
        raise unsupported("Global temporary table")
    check_identifier(schema)
    check_identifier(name)
    columns: list[Column] = []
    keys: list[str] = []
    if t.peek() == "(":
        for item in split_commas(t.group()):
            head = item[0].upper()
            if head in ("PRIMARY", "UNIQUE", "CONSTRAINT"):
                sub = Tokens(item)
                if sub.accept("CONSTRAINT"):
                    sub.next()
                constraint(sub, keys, [])
            elif head == "FOREIGN":
                raise unsupported("FOREIGN KEY constraint")
            elif head == "INDEX":
                continue  # inline nonclustered index: allowed, not emulated
            else:
                columns.append(column_def(item, keys))
    table = Table(schema, name, columns)
    start = t.pos
    if t.accept("WITH"):
        options = t.group()
        table.with_clause = " ".join(t.items[start:t.pos])
        apply_options(table, options)
    ctas = None
    if t.accept("AS"):
        ctas = " ".join(t.items[t.pos:])
        t.pos = len(t.items)
    if not t.at_end():
        raise syntax(t.peek())
    if ctas is None and not columns:
        raise syntax(")")
    return CreateTable(schema, name, columns, table, ctas)


def apply_options(table: Table, options: list[str]) -> None:
    """R11: DISTRIBUTION = HASH(col) | ROUND_ROBIN | REPLICATE, and one of
    CLUSTERED COLUMNSTORE INDEX | HEAP | CLUSTERED INDEX (cols); R10: no index option means
    CLUSTERED COLUMNSTORE INDEX (INDEX_PAGE)."""
    distributions = indexes = 0
    for item in split_commas(options):
        t = Tokens(item)
        if t.accept("DISTRIBUTION"):
            distributions += 1
            t.expect("=")
            kind = t.next().upper()
            if kind == "HASH":
                cols = [unquote(c) for c in t.group() if c != ","]
                if len(cols) != 1:
                    raise syntax(",")  # multi-column HASH is a CTAS preview only
                table.distribution, table.hash_column = "HASH", cols[0]
            elif kind in ("ROUND_ROBIN", "REPLICATE"):
                table.distribution = kind
            else:
                raise syntax(kind)
        elif t.accept("HEAP"):
            indexes += 1
            table.index = "HEAP"
        elif t.accept("CLUSTERED", "COLUMNSTORE", "INDEX"):
            indexes += 1
            table.index = "CLUSTERED COLUMNSTORE INDEX"
            if t.accept("ORDER"):
                t.group()
        elif t.accept("CLUSTERED", "INDEX"):
            indexes += 1
            table.index = "CLUSTERED INDEX"
            table.index_columns = tuple(unquote(c) for c in t.group()
                                        if c != "," and c.upper() not in ("ASC", "DESC"))
        elif t.accept("PARTITION"):
            t.group()
        else:
            raise syntax(t.peek())
        if not t.at_end():
            raise syntax(t.peek())
    if distributions > 1 or indexes > 1:
        raise syntax("WITH")  # exactly one distribution and one index option (R11)
