"""DuckDB: our dlt destination class (factory.py, also `zoomsync.duckdb`) and the settings
that choose the file (target.py)."""

from zoomsync.destinations.duckdb.target import duckdb_destination, duckdb_target, is_duckdb_file

__all__ = ["duckdb_destination", "duckdb_target", "is_duckdb_file"]
