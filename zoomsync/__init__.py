"""zoomsync: keep a company's Zoom data in its analytics warehouse."""

from zoomsync.errors import ConfigError, ZoomSyncError

__all__ = ["ConfigError", "ZoomSyncError"]
__version__ = "0.1.0"
