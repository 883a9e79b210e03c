"""The strict dedicated-SQL-pool stand-in, split by concern: rules.py (errors, types,
collations, CREATE TABLE), catalog.py (sys.* and INFORMATION_SCHEMA kept in DuckDB),
copy.py (COPY INTO). standin.py puts them together behind PoolStandIn."""
