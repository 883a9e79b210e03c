"""zoomsync's own Azure Synapse (dedicated SQL pool) destination.

Load design (research/synapse-loading.md §0): Parquet files staged in Blob Storage or ADLS
Gen2 -> COPY INTO a per-load staging table -> one transaction per table family that deletes
the replaced keys, inserts the newest row per key and writes a ledger row -> drop staging.
This package holds the SQL and the order it runs in (`sql`, `plan`); the driver, the
uploader and the dlt destination plug in around `plan.run_family`.
"""
