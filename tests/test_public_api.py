"""The public surface is what `__all__` says, and every name in it resolves."""

import zoomsync


def test_all_names_resolve_and_are_sorted() -> None:
    assert zoomsync.__all__ == sorted(zoomsync.__all__)
    for name in zoomsync.__all__:
        assert getattr(zoomsync, name) is not None
    assert zoomsync.zoom_source.__module__ == "zoomsync.sync.source"
    assert issubclass(zoomsync.ScopeError, zoomsync.AuthError)
