"""The local services scripts/services.sh starts for the suite, as its variables name them.

    url = service("ZOOMSYNC_TEST_POSTGRES_URL", "PostgreSQL")

Bare `pytest` has no services: their tests skip, saying how to get them. Under
./scripts/test (ZOOMSYNC_TEST_SERVICES=required) a missing one fails the test instead, so
a service that did not start cannot pass as a skip.
"""

from __future__ import annotations

import os

import pytest

POSTGRES_URL = "ZOOMSYNC_TEST_POSTGRES_URL"
S3_ENDPOINT = "ZOOMSYNC_TEST_S3_ENDPOINT"
AZURITE_BLOB_URL = "ZOOMSYNC_TEST_AZURITE_BLOB_URL"
AZURITE_CONNECTION_STRING = "ZOOMSYNC_TEST_AZURITE_CONNECTION_STRING"
# moto accepts any key pair; these only have to look like AWS's.
S3_KEY, S3_SECRET, S3_REGION = "testing-key-id", "testing-secret", "us-east-1"


def service(variable: str, what: str) -> str:
    value = os.environ.get(variable)
    if value:
        return value
    message = (f"{what} is not running: {variable} is not set (./scripts/test starts it; "
               "scripts/services.sh)")
    if os.environ.get("ZOOMSYNC_TEST_SERVICES") == "required":
        pytest.fail(message)
    pytest.skip(message)
