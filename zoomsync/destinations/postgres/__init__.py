"""PostgreSQL: our dlt destination class (factory.py, also `zoomsync.postgres`) and the
settings that choose the server (target.py)."""

from zoomsync.destinations.postgres.target import postgres_target

__all__ = ["postgres_target"]
