"""Fixtures of the responder's namespace lab (tests/netns/respond_lab.py), shared by the
AF_PACKET, XDP and learn/docker lab tests."""

from __future__ import annotations

import pytest
from respond_lab import Lab, RouterPort


@pytest.fixture
def lab(make_netns, tmp_path):
    """The router/host/container lab; the responder it started (if any) is killed after."""
    lab = Lab(make_netns, tmp_path)
    yield lab
    if lab.proc is not None:
        lab.proc.kill()
        lab.proc.wait(5)


@pytest.fixture
def rport(lab):
    """A packet socket on the router's side of the uplink."""
    p = RouterPort(lab)
    yield p
    p.close()
