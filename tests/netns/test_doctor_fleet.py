"""``doctor --containers`` over 50 namespaces: every one found, named and probed."""

from __future__ import annotations

import os

import pytest
from tests.netns.fleet import fleet

from v6core.doctor.host import scan

pytestmark = pytest.mark.netns


def test_fifty_namespaces():
    own = os.stat("/proc/self/ns/net").st_ino
    with fleet(50) as made:
        report = scan()
        by_name = {n.ns.name: n for n in report.namespaces}
        for i, (ns, p) in enumerate(made):
            n = by_name[ns.name]
            assert p.pid in n.ns.pids
            assert f"fd00:{i + 1:x}::2" in [a.address for a in n.facts.addresses]
            assert [r.kind for r, _pids, _v in n.resolvers] == ["glibc"]   # Debian's sleep
    assert os.stat("/proc/self/ns/net").st_ino == own
