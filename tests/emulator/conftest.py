"""Fixtures the emulator's tests share: the dataset behind a module's emulator (`ds`), the
spec validator (`spec`) and a local webhook receiver (`receiver`).

Each module says which emulator it drives by defining `api`, usually
`AsgiApi(asgi.config())`: the name `api` is already the session's HTTP client to a served
emulator (`tests/conftest.py`), which some modules use instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulator.asgi import AsgiApi
from tests.emulator.webhook_receiver import Receiver, serving
from tests.spec_validator import SpecValidator, default_validator, spec_dir
from zoomsync.emulator.dataset import Dataset


@pytest.fixture(scope="module")
def ds(api: AsgiApi) -> Dataset:
    """The dataset of the module's in-process emulator (its `api` fixture)."""
    return api.emulator.dataset


@pytest.fixture(scope="module")
def spec() -> SpecValidator:
    if not spec_dir().is_dir():
        pytest.skip(f"no Zoom specs at {spec_dir()}")
    return default_validator()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as receiver:
        yield receiver
