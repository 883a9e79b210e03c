"""Parquet files and Delta tables in a bucket or a local folder (target.py)."""

from zoomsync.destinations.files.target import (
    bucket_url,
    delta_target,
    filesystem_destination,
    filesystem_target,
)

__all__ = ["bucket_url", "delta_target", "filesystem_destination", "filesystem_target"]
