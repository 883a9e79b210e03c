"""zoomsync's own Azure Synapse (dedicated SQL pool) destination.

Load design (research/synapse-loading.md §0): Parquet files staged in Blob Storage or ADLS
Gen2 -> COPY INTO a per-load staging table -> one transaction per table family that deletes
the replaced keys, inserts the newest row per key and writes a ledger row -> drop staging.

    ddl.py, stage.py, merge.py, masking.py, retry.py
                           the T-SQL text (no driver, no server: golden files pin it)
    plan.py                a table family's statements, in run order
    limits.py              what a value and a row may hold, checked before upload
    storage.py, upload.py  staged files: auth, SAS, Parquet rewrite for COPY, cleanup
    driver.py              mssql-python / pyodbc connections, transient-error retries
    sql_client.py          dlt's SqlClient over those connections (what may be retried)
    pool.py                what the loader reads from the pool: settings, indexes, widths
    client.py, factory.py  the dlt job client and destination
    compat.py              `zoomsync check`'s report on the pool and the staging account
    target.py              Settings -> the destination (`--destination synapse`)
"""
