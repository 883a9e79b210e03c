"""Which Synapse failures are worth retrying.

Retrying is always safe for correctness (the ledger makes a family's load exactly once, see
plan.py); this list decides whether it is *useful*, so permanent errors stop the run with one
clear line instead of being retried until a timeout.

Transient: Microsoft.Data.SqlClient's baseline transient list, plus 64 (from Microsoft's
mssql-django retry page) and 42109 ("The SQL pool is warming up. Please try again.").
https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconfigurableretryfactory.baselinetransienterrors
https://learn.microsoft.com/sql/connect/python/mssql-django/retry-logic
https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-42109-database-engine-error
and the SQLSTATEs that mssql-python documents as retryable (it does not expose the server's
error number, only SQLSTATE and the message):
https://learn.microsoft.com/sql/connect/python/mssql-python/retry-logic

Permanent, with a hint: 42108 (the pool is paused: resume it; retrying will not), 18456
(login failed), 229/230/262/300 (permission denied), 111233 (statement after a doomed
transaction: a bug in the caller), 2628/8152 (string too long for its column). Anything not
listed is permanent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TRANSIENT_NUMBERS = frozenset({
    1204,   # cannot obtain a LOCK resource
    1205,   # deadlock victim
    1222,   # lock request time-out
    49918, 49919, 49920,  # not enough resources / too many operations in progress
    4060,   # cannot open database (in transition, or resuming)
    4221,   # login to read-secondary failed (HADR transition)
    40143, 40197, 40540,  # the service encountered an error processing the request
    40501,  # the service is busy
    40613,  # database not currently available
    10928, 10929,  # resource limits reached / server too busy
    10053, 10054, 10060,  # transport-level errors
    997,    # connection opened but overlapped I/O failed during login
    233,    # connection initialisation error before login
    64,     # network name no longer available during login (mssql-django's list)
    42109,  # the SQL pool is warming up
})
TRANSIENT_SQLSTATES = frozenset({
    "HYT00",  # timeout expired
    "HYT01",  # connection timeout expired
    "08001",  # client unable to establish connection
    "08S01",  # communication link failure
    "08007",  # connection failure during transaction
    "40001",  # serialization failure (deadlock)
    "40003",  # statement completion unknown: the ledger will tell
})
HINTS = {
    42108: "the SQL pool is paused: resume it, then run again",
    18456: "login failed: check the user, password or Entra identity",
    229: "permission denied: see docs/destinations/synapse.md for the grants a loader needs",
    230: "permission denied: see docs/destinations/synapse.md for the grants a loader needs",
    262: "permission denied: see docs/destinations/synapse.md for the grants a loader needs",
    300: "permission denied: see docs/destinations/synapse.md for the grants a loader needs",
    111233: "a statement ran after a failed one in the same transaction: report this bug",
    2628: "a value is longer than its column: give the column a longer 'lengths' setting",
    8152: "a value is longer than its column: give the column a longer 'lengths' setting",
}

# mssql-python's `driver_error` texts for those SQLSTATEs (same Microsoft page).
DRIVER_TEXTS = {
    "Timeout expired": "HYT00",
    "Connection timeout expired": "HYT01",
    "Client unable to establish connection": "08001",
    "Communication link failure": "08S01",
    "Connection failure during transaction": "08007",
    "Serialization failure": "40001",
    "Statement completion unknown": "40003",
}

# ODBC messages end with "(40613) (SQLExecDirectW)"; SSMS-style text says "Msg 40613".
_NUMBER = re.compile(r"\((\d{1,6})\)|\bMsg (\d{1,6})\b|\bError (?:number|code):? ?(\d{1,6})\b")
_SQLSTATE = re.compile(r"^[0-9A-Z]{5}$|\[([0-9A-Z]{5})\]")


@dataclass(frozen=True)
class Classification:
    transient: bool
    number: int | None = None
    sqlstate: str | None = None
    hint: str = ""


def classify(number: int | None = None, sqlstate: str | None = None) -> Classification:
    """Transient if the error number or the SQLSTATE is on Microsoft's retry lists."""
    transient = (number in TRANSIENT_NUMBERS) or (sqlstate or "").upper() in TRANSIENT_SQLSTATES
    hint = "" if transient else HINTS.get(number or -1, "")
    return Classification(transient, number, sqlstate, hint)


def classify_exception(exc: BaseException) -> Classification:
    """Classify a driver exception: pyodbc's args = (sqlstate, message), mssql-python's
    `driver_error` text and `ddbc_error` message. Error numbers are read from messages."""
    texts = [str(a) for a in exc.args] + [str(getattr(exc, n, "") or "")
                                          for n in ("driver_error", "ddbc_error", "sqlstate")]
    sqlstate = next((DRIVER_TEXTS[t] for t in texts if t in DRIVER_TEXTS), None)
    for text in texts:
        if sqlstate is None and (match := _SQLSTATE.search(text)):
            sqlstate = match.group(1) or match.group(0)
    numbers = [int(next(g for g in m.groups() if g)) for t in texts for m in _NUMBER.finditer(t)]
    for number in numbers:
        result = classify(number, sqlstate)
        if result.transient or result.hint:
            return result
    return classify(numbers[0] if numbers else None, sqlstate)
