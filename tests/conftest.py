"""Shared test fixtures.

Tests that need root and network namespaces carry the ``netns`` marker; where they
cannot run they are skipped with the reason in the summary (``-ra``), never passed.
"""

from __future__ import annotations

import pytest

from tests import nsutil as _netns


def pytest_collection_modifyitems(config, items):
    reason = _netns.unavailable_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"needs network namespaces: {reason}")
    for item in items:
        if "netns" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def make_netns():
    """Factory: ``make_netns("rtr")`` gives a fresh, uniquely named namespace; all are
    deleted (with their veths) when the test ends."""
    created: list[_netns.NetNS] = []

    def factory(role: str) -> _netns.NetNS:
        ns = _netns.NetNS.create(role)
        created.append(ns)
        return ns

    yield factory
    for ns in reversed(created):
        ns.delete()
