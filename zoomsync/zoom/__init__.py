"""Zoom's REST API as zoomsync needs it: Server-to-Server OAuth, pacing, retries, pages.

Knows nothing of warehouses or dlt.
"""

from zoomsync.zoom.auth import ZoomCredentials
from zoomsync.zoom.client import ZoomClient, path_for
from zoomsync.zoom.pacing import Pacer

__all__ = ["Pacer", "ZoomClient", "ZoomCredentials", "path_for"]
