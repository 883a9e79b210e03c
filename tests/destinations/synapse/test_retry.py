"""Transient vs permanent Synapse errors."""

from __future__ import annotations

import pytest

from zoomsync.destinations.synapse.retry import classify, classify_exception


@pytest.mark.parametrize("number", [40613, 40501, 40197, 1205, 42109, 10054, 49918])
def test_transient_numbers(number: int) -> None:
    assert classify(number).transient


@pytest.mark.parametrize("state", ["08S01", "HYT00", "40001", "40003", "08001"])
def test_transient_sqlstates(state: str) -> None:
    assert classify(sqlstate=state).transient


def test_a_paused_pool_is_permanent_with_a_hint() -> None:
    result = classify(42108)
    assert not result.transient and "resume" in result.hint


def test_unknown_errors_are_permanent() -> None:
    assert not classify(102).transient  # syntax error
    assert not classify().transient


class OdbcError(Exception):
    """pyodbc's shape: args = (sqlstate, message)."""


class MssqlPythonError(Exception):
    def __init__(self, driver_error: str, ddbc_error: str) -> None:
        super().__init__(driver_error)
        self.driver_error = driver_error
        self.ddbc_error = ddbc_error


def test_reads_numbers_and_states_out_of_driver_exceptions() -> None:
    busy = OdbcError("42000", "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]The service "
                     "is currently busy. (40501) (SQLExecDirectW)")
    assert classify_exception(busy).transient and classify_exception(busy).number == 40501
    paused = OdbcError("HY000", "[SQL Server]Can not connect to the SQL pool since it is paused. "
                       "(42108) (SQLDriverConnect)")
    assert not classify_exception(paused).transient
    assert "resume" in classify_exception(paused).hint
    link = MssqlPythonError("Communication link failure", "[08S01] TCP Provider: error 0x2746")
    assert classify_exception(link).transient
    assert classify_exception(OdbcError("08S01", "link failure")).sqlstate == "08S01"
    syntax = OdbcError("42000", "Incorrect syntax near 'x'. (102) (SQLExecDirectW)")
    assert not classify_exception(syntax).transient
