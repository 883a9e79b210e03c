"""Warehouses we configure through dlt's own destinations and test live only: Snowflake,
BigQuery (target.py), Amazon Redshift and Panoply (redshift.py)."""

from zoomsync.destinations.cloud.redshift import panoply_target, redshift_target
from zoomsync.destinations.cloud.target import bigquery_target, snowflake_target

__all__ = ["bigquery_target", "panoply_target", "redshift_target", "snowflake_target"]
