"""``v6core doctor --containers`` names a real Docker container (root, docker.io).

dockerd runs in its own network namespace with its own roots (tests/dockerlab.py); the
container runs an image made by ``docker import`` from busybox-static, on an IPv6 network
with a ULA /112.  The doctor, given dockerd's socket, must name the container's namespace
by its Docker name, with the container's main process (``docker inspect``'s State.Pid),
its address from inside (``docker inspect``'s GlobalIPv6Address) and busybox as its
resolver.  Docker, not v6core, is the oracle for every expected value.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from tests.dockerlab import Dockerd, docker_unavailable
from tests.nsutil import NetNS, unavailable_reason
from tests.support import subprocess_env

pytestmark = pytest.mark.netns

V6 = "2001:db8:ffff::1"                 # selection.DESTINATIONS' global IPv6
SUBNET = "fd00:d0c:6::/112"


@pytest.fixture
def dockerd(tmp_path):
    why = unavailable_reason() or docker_unavailable()
    if why:
        print(f"SKIP: {why}")
        pytest.skip(why)
    ns = NetNS.create("dock")
    d = Dockerd(ns, tmp_path)
    try:
        try:
            d.start()
        except (RuntimeError, TimeoutError) as e:
            print(f"SKIP: dockerd does not start here: {e}")
            pytest.skip(f"dockerd does not start here: {e}")
        yield d
    finally:
        d.docker("rm", "-f", "v6t-web", check=False)
        d.cleanup()
        ns.delete()


def test_docker_container_is_named_and_read_from_inside(dockerd):
    before = os.stat("/proc/self/ns/net").st_ino
    image = dockerd.import_busybox()
    dockerd.docker("network", "create", "--ipv6", "--subnet", SUBNET, "v6t-net")
    dockerd.docker("run", "-d", "--name", "v6t-web", "--network", "v6t-net", image,
                   "sleep", "600")
    info = json.loads(dockerd.docker("inspect", "v6t-web").stdout)[0]
    pid = int(info["State"]["Pid"])
    addr6 = info["NetworkSettings"]["Networks"]["v6t-net"]["GlobalIPv6Address"]
    assert pid > 0 and addr6
    r = subprocess.run([sys.executable, "-m", "v6core", "doctor", "--containers", "--json",
                        "--engine-socket", dockerd.sock],
                       capture_output=True, text=True, env=subprocess_env(), timeout=120)
    assert r.returncode in (0, 1), r.stderr
    d = json.loads(r.stdout)
    got = [n for n in d["namespaces"] if n["name"] == "v6t-web"]
    assert len(got) == 1, [(n["name"], n["kind"]) for n in d["namespaces"]]
    n = got[0]
    assert n["kind"] == "docker" and pid in n["pids"], n
    assert any(a.startswith(f"{addr6}/") for a in n["addresses"]), n["addresses"]
    assert n["sources"][V6] == addr6, n["sources"]         # probed inside the container
    assert n["gai_conf"] is None or n["gai_conf"].startswith(f"/proc/{pid}/root/")
    kinds = {f["detail"]["kind"] for f in n["findings"]}
    assert kinds == {"busybox"}, n["findings"]
    f = n["findings"][0]
    assert f["name"] == "v6t-web" and pid in f["pids"]
    assert f["first_family"] in ("IPv4", "IPv6") and f["rule"]
    table = subprocess.run([sys.executable, "-m", "v6core", "doctor", "--containers",
                            "--engine-socket", dockerd.sock, "--color", "never"],
                           capture_output=True, text=True, env=subprocess_env(), timeout=120)
    assert any(ln.startswith("v6t-web ") and "busybox" in ln
               for ln in table.stdout.splitlines()), table.stdout
    assert os.stat("/proc/self/ns/net").st_ino == before
