"""Whole-host ``doctor --containers`` scan with 50 namespaces (aim: under 5 s)."""

from __future__ import annotations

import pytest
from tests.netns.fleet import fleet
from tests.nsutil import unavailable_reason

from v6core.doctor.host import scan


def test_scan_fifty_namespaces(benchmark):
    why = unavailable_reason()
    if why:
        pytest.skip(why)
    with fleet(50) as made:
        report = benchmark.pedantic(scan, rounds=3, iterations=1)
        names = {n.ns.name for n in report.namespaces}
        assert {ns.name for ns, _p in made} <= names
        benchmark.extra_info["namespaces"] = len(report.namespaces)
        if benchmark.stats is not None:
            assert benchmark.stats.stats.max < 5.0
