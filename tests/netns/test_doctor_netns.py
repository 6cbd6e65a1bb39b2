"""``v6core doctor`` in network namespaces built to reproduce each situation (root only).

Each test runs the real CLI inside the namespace, asserts the finding, applies the fix
the doctor printed, and asserts that the check then passes; where there is an
independent witness (the kernel taking a router advertisement, a client connecting over
IPv6, ``ip route get``, the real glibc and musl getaddrinfo) it is asked too.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time

import pytest
from tests.support import subprocess_env

pytestmark = pytest.mark.netns


ENV = subprocess_env()


def doctor(ns, *args: str) -> dict:
    r = subprocess.run(["ip", "netns", "exec", ns.name, sys.executable, "-m", "v6core",
                        "doctor", "--json", *args], capture_output=True, text=True, env=ENV,
                       timeout=60)
    assert r.returncode in (0, 1), r.stderr
    d = json.loads(r.stdout)
    assert r.returncode == (1 if d["counts"]["fail"] else 0)
    return d


def find(d: dict, id: str, subject: str | None = None) -> dict:
    got = [f for f in d["findings"] if f["id"] == id and (subject is None or
                                                         f["subject"] == subject)]
    assert len(got) == 1, [(f["id"], f["subject"], f["status"]) for f in d["findings"]]
    return got[0]


def by_subject(d: dict, subject: str) -> list[dict]:
    return [f for f in d["findings"] if f["subject"] == subject]


def apply(ns, line: str) -> None:
    """Run one printed fix line (a shell command, comments allowed) in ``ns``."""
    cmd = line.split("#", 1)[0].strip()
    assert cmd.split()[0] in ("sysctl", "ip"), f"not a command line: {line!r}"
    ns.run(*shlex.split(cmd))


def wait_for(pred, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def link_local(ns, dev: str) -> str:
    out = json.loads(ns.ip("-j", "-6", "addr", "show", "dev", dev, "scope", "link").stdout)
    return out[0]["addr_info"][0]["local"]


# ------------------------------------------------------------- forwarding without accept_ra=2

SEND_RA = """
import sys
from scapy.layers.l2 import Ether
from scapy.layers.inet6 import IPv6, ICMPv6ND_RA, ICMPv6NDOptPrefixInfo
from scapy.sendrecv import sendp
src, dev = sys.argv[1], sys.argv[2]
ra = (Ether(dst="33:33:00:00:00:01") / IPv6(src=src, dst="ff02::1", hlim=255)
      / ICMPv6ND_RA(routerlifetime=1800)
      / ICMPv6NDOptPrefixInfo(prefix="2001:db8:1::", prefixlen=64, L=1, A=1,
                              validlifetime=3600, preferredlifetime=1800))
sendp(ra, iface=dev, verbose=0)
"""


def test_forwarding_without_accept_ra_2(make_netns):
    rtr, host = make_netns("rtr"), make_netns("fwd")
    rtr.veth(host, "rtr0", "uplink")
    host.sysctl("net.ipv6.conf.uplink.forwarding", "1")
    host.sysctl("net.ipv6.conf.uplink.accept_ra", "1")
    f = find(doctor(host, "--check", "ndp"), "forwarding-ignores-ra", "uplink")
    assert f["status"] == "fail"

    def send_ra():
        rtr.run(sys.executable, "-c", SEND_RA, link_local(rtr, "rtr0"), "rtr0", timeout=60)

    def has_default():
        return "default" in host.ip("-6", "route", "show", "default").stdout

    send_ra()                      # witness: the kernel ignores it while forwarding
    assert not wait_for(has_default, 1.0)
    apply(host, f["fix"][0])
    assert f["fix"][0] == "sysctl -w net.ipv6.conf.uplink.accept_ra=2"
    d = doctor(host, "--check", "ndp")
    assert find(d, "forwarding-accepts-ra", "uplink")["status"] == "ok"
    send_ra()                      # and takes it now
    assert wait_for(has_default, 5.0)


# ------------------------------------------------------------- bridge port accepting RAs

def test_bridge_port_accepting_ra(make_netns):
    host, ctr = make_netns("br"), make_netns("ctr")
    host.ip("link", "add", "br0", "type", "bridge")
    host.ip("link", "set", "br0", "up")
    host.veth(ctr, "vport", "eth0")
    host.ip("link", "set", "vport", "master", "br0")
    host.sysctl("net.ipv6.conf.vport.accept_ra", "1")
    f = find(doctor(host, "--check", "ndp"), "bridge-port-accepts-ra", "br0")
    assert f["status"] == "warn" and f["data"]["ports_accepting_ra"] == ["vport"]
    apply(host, f["fix"][0])
    assert find(doctor(host, "--check", "ndp"), "bridge-ports-ok", "br0")["status"] == "ok"
    assert host.run("cat", "/proc/sys/net/ipv6/conf/vport/accept_ra").stdout.strip() == "0"


# ------------------------------------------------------------- IPv4-only listener

LISTEN = """
import socket, sys, time
fam = sys.argv[1]
if fam == "4":
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 8080))
else:
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", 8080))
s.listen()
print("ready", flush=True)
time.sleep(60)
"""

CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], 8080), timeout=2).close()
    print("connected")
except OSError as e:
    print("refused", e)
"""


def test_ipv4_only_listener(make_netns):
    ns, peer = make_netns("lsn"), make_netns("peer")
    ns.veth(peer, "eth0", "eth0")
    ns.ip("addr", "add", "2001:db8:2::1/64", "dev", "eth0")
    ns.ip("addr", "add", "10.9.0.1/24", "dev", "eth0")

    def serve(fam: str) -> subprocess.Popen:
        p = ns.popen(sys.executable, "-c", LISTEN, fam, stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        return p

    def connect(addr: str) -> str:
        return ns.run(sys.executable, "-c", CONNECT, addr).stdout

    p = serve("4")
    try:
        f = find(doctor(ns, "--check", "sockets"), "ipv4-only-listener")
        assert f["status"] == "fail" and f["subject"].startswith("tcp/8080")
        assert any(o.startswith("python") for o in f["data"]["owners"])
        assert "refused" in connect("2001:db8:2::1")         # the witness: IPv6 clients fail
        assert "[::]:8080" in f["fix"][0] and "IPV6_V6ONLY=0" in f["fix"][0]
    finally:
        p.kill()
        p.wait()
    p = serve("6")                 # the fix: one AF_INET6 socket on :: with IPV6_V6ONLY=0
    try:
        f = find(doctor(ns, "--check", "sockets"), "dual-stack-listener")
        assert f["status"] == "ok" and f["data"]["dual_stack"] == ["::"]
        assert "connected" in connect("2001:db8:2::1")
        assert "connected" in connect("10.9.0.1")
    finally:
        p.kill()
        p.wait()


# ------------------------------------------------------------- deprecated address, pinning

def _source_lab(make_netns):
    ns, rtr = make_netns("src"), make_netns("gw")
    ns.veth(rtr, "eth0", "eth0")
    rtr.ip("addr", "add", "2001:db8:1::1/64", "dev", "eth0")
    return ns


def route_src(ns) -> str:
    out = ns.ip("-6", "route", "get", "2001:db8:ffff::1").stdout.split()
    return out[out.index("src") + 1]


def test_deprecated_address(make_netns):
    ns = _source_lab(make_netns)
    ns.ip("addr", "add", "2001:db8:1::10/64", "dev", "eth0", "preferred_lft", "0")
    ns.ip("-6", "route", "add", "default", "via", "2001:db8:1::1", "dev", "eth0")
    f = find(doctor(ns, "--check", "source"), "only-deprecated", "eth0")
    assert f["status"] == "warn"
    assert f["data"]["addresses"][0]["preferred_lft"] == 0
    apply(ns, f["fix"][0])
    f = find(doctor(ns, "--check", "source"), "single-source", "eth0")
    assert f["status"] == "ok" and f["data"]["source"] == "2001:db8:1::10"


NETLINK_VS_IP = """
import json
from v6core.doctor import facts
from v6core.doctor.system import LiveSystem
live = LiveSystem()
def key(a):
    return [a.ifname, a.address, a.prefixlen, a.deprecated, a.temporary, a.dynamic,
            a.preferred_lft == 0, a.valid_lft == facts.INFINITY_LFT]
print(json.dumps([sorted(map(key, facts.parse_ip_json(t)))
                  for t in (live.netlink_addresses(), live.run(["ip", "-j", "addr", "show"]))]))
"""


def test_address_flags_over_netlink_match_iproute2(make_netns):
    ns = _source_lab(make_netns)
    ns.ip("addr", "add", "2001:db8:1::10/64", "dev", "eth0", "preferred_lft", "0")
    ns.ip("addr", "add", "2001:db8:1::11/64", "dev", "eth0", "valid_lft", "300",
          "preferred_lft", "100")
    r = subprocess.run(["ip", "netns", "exec", ns.name, sys.executable, "-c", NETLINK_VS_IP],
                       capture_output=True, text=True, env=ENV, timeout=60, check=True)
    nl, ipj = json.loads(r.stdout)
    assert nl == ipj
    flags = {k[1]: k for k in nl}
    assert flags["2001:db8:1::10"][3] is True and flags["2001:db8:1::10"][6] is True
    assert flags["2001:db8:1::11"][5] is True and flags["2001:db8:1::11"][7] is False


def test_pinning_a_source_with_the_printed_commands(make_netns):
    ns = _source_lab(make_netns)
    ns.ip("addr", "add", "2001:db8:1::10/64", "dev", "eth0")
    ns.ip("addr", "add", "2001:db8:1::20/64", "dev", "eth0")
    ns.ip("-6", "route", "add", "default", "via", "2001:db8:1::1", "dev", "eth0")
    f = find(doctor(ns, "--check", "source"), "several-sources", "eth0")
    before = f["data"]["source"]
    assert before == route_src(ns)                       # the kernel's own answer
    other = "2001:db8:1::20" if before == "2001:db8:1::10" else "2001:db8:1::10"
    for line in f["data"]["pin"][other]:
        apply(ns, line)
    assert route_src(ns) == other
    f = find(doctor(ns, "--check", "source"), "source-pinned", "eth0")
    assert f["status"] == "ok" and f["data"]["source"] == other


# ------------------------------------------------------------- ULA-only container

PROBE_C = r"""
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    struct addrinfo hints, *res, *p;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int e = getaddrinfo(argv[1], NULL, &hints, &res);
    if (e) { fprintf(stderr, "%s\n", gai_strerror(e)); return 1; }
    for (p = res; p; p = p->ai_next) {
        char buf[64];
        void *a = p->ai_family == AF_INET6
            ? (void *)&((struct sockaddr_in6 *)p->ai_addr)->sin6_addr
            : (void *)&((struct sockaddr_in *)p->ai_addr)->sin_addr;
        inet_ntop(p->ai_family, a, buf, sizeof buf);
        puts(buf);
    }
    freeaddrinfo(res);
    return 0;
}
"""


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    d = tmp_path_factory.mktemp("probe")
    (d / "probe.c").write_text(PROBE_C)
    subprocess.run(["gcc", "-O1", "-o", str(d / "probe-glibc"), str(d / "probe.c")], check=True)
    out = {"glibc": str(d / "probe-glibc")}
    if shutil.which("musl-gcc"):
        subprocess.run(["musl-gcc", "-static", "-O1", "-o", str(d / "probe-musl"),
                        str(d / "probe.c")], check=True)
        out["musl"] = str(d / "probe-musl")
    return out


def getaddrinfo_order(ns, probe: str, tmp, gai_conf_text: str) -> list[str]:
    """The order a real C library returns for a dual-stack name, in ``ns`` with its own
    /etc/hosts, host.conf (multi on), nsswitch.conf and gai.conf (bind mounts in a
    private mount namespace)."""
    files = {"hosts": "2001:db8:ffff::1 dual.test\n198.51.100.1 dual.test\n",
             "host.conf": "multi on\n", "nsswitch.conf": "hosts: files\n",
             "gai.conf": gai_conf_text}
    script = []
    for name, text in files.items():
        (tmp / name).write_text(text)
        script.append(f"mount --bind {tmp / name} /etc/{name}")
    script.append(f"exec {probe} dual.test")
    r = ns.run("unshare", "-m", "sh", "-c", " && ".join(script))
    return r.stdout.split()


def test_ula_only_container(make_netns, probes, tmp_path):
    ctr, gw = make_netns("ula"), make_netns("gw")
    ctr.veth(gw, "eth0", "eth0")
    ctr.ip("addr", "add", "fd00::2/64", "dev", "eth0")
    ctr.ip("addr", "add", "10.0.0.2/24", "dev", "eth0")
    gw.ip("addr", "add", "fd00::1/64", "dev", "eth0")
    gw.ip("addr", "add", "10.0.0.1/24", "dev", "eth0")
    ctr.ip("-6", "route", "add", "default", "via", "fd00::1")
    ctr.ip("route", "add", "default", "via", "10.0.0.1")
    empty = tmp_path / "gai-empty.conf"
    empty.write_text("")
    d = doctor(ctr, "--check", "selection", "--check", "libc", "--gai-conf", str(empty))
    if find(d, "libc")["data"]["libc"] != "glibc":
        pytest.skip("the namespace's /bin/sh is not glibc-linked")
    sel = [f for f in d["findings"] if f["check"] == "selection"]
    if sel and sel[0]["id"] == "no-resolver-api":
        pytest.skip("resolver-ordering API (issue 3) not in this build")
    f = find(d, "prefers-ipv4")
    assert f["status"] == "fail" and "fd00::2" in f["summary"]
    assert f["data"]["sources"]["global IPv6"] == "fd00::2"
    assert f["data"]["matrix"]["glibc"]["global IPv6 vs global IPv4"]["first"] == "IPv4"
    assert f["data"]["matrix"]["musl"]["global IPv6 vs global IPv4"]["first"] == "IPv4"
    # the witness: real glibc agrees before the fix
    (tmp_path / "w1").mkdir()
    assert getaddrinfo_order(ctr, probes["glibc"], tmp_path / "w1", "") == [
        "198.51.100.1", "2001:db8:ffff::1"]
    lines = f["data"]["gai_conf_fix"]
    assert lines[-1] == "label fd00::/8 1"
    assert any("fix" in x or "label" in x for x in f["fix"])
    fixed = tmp_path / "gai-fixed.conf"
    fixed.write_text("".join(ln + "\n" for ln in lines))
    # the fix works in the real glibc ...
    (tmp_path / "w2").mkdir()
    assert getaddrinfo_order(ctr, probes["glibc"], tmp_path / "w2", fixed.read_text()) == [
        "2001:db8:ffff::1", "198.51.100.1"]
    # ... and the doctor now passes for glibc with that file
    d = doctor(ctr, "--check", "selection", "--gai-conf", str(fixed))
    assert find(d, "prefers-ipv6")["status"] == "ok"
    # musl ignores gai.conf: still IPv4 first, as the finding said
    if "musl" in probes:
        (tmp_path / "w3").mkdir()
        assert getaddrinfo_order(ctr, probes["musl"], tmp_path / "w3", fixed.read_text()) == [
            "198.51.100.1", "2001:db8:ffff::1"]


# ------------------------------------------------------------- responder coverage

@pytest.mark.parametrize("responder", ["v6core", "ndppd"])
def test_container_range_needs_a_responder(make_netns, tmp_path, responder):
    if responder == "ndppd" and shutil.which("ndppd") is None:
        pytest.skip("ndppd not installed")
    rtr, host, ctr = make_netns("rtr"), make_netns("hst"), make_netns("ctr")
    rtr.veth(host, "rtr0", "uplink")
    host.veth(ctr, "vc", "eth0")
    rtr.ip("addr", "add", "2001:db8:f440:2::1/64", "dev", "rtr0")
    host.ip("addr", "add", "2001:db8:f440:2::10/64", "dev", "uplink")
    host.ip("-6", "route", "add", "default", "via", "2001:db8:f440:2::1", "dev", "uplink")
    rng = "2001:db8:f440:2:646f:636b:6572:0/112"
    host.ip("-6", "route", "add", rng, "dev", "vc")
    host.sysctl("net.ipv6.conf.all.forwarding", "1")
    host.sysctl("net.ipv6.conf.uplink.accept_ra", "2")
    target = "2001:db8:f440:2:646f:636b:6572:5"
    ctr.ip("addr", "add", target + "/112", "dev", "eth0")
    ctr.ip("-6", "route", "add", "default", "via", link_local(host, "vc"), "dev", "eth0")

    server = ctr.popen(sys.executable, "-c", LISTEN, "6", stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "ready"

    def reach() -> bool:           # TCP from the router to the container (no ping binary here)
        return "connected" in rtr.run(sys.executable, "-c", CONNECT, target).stdout

    try:
        _responder_case(host, rtr, rng, reach, tmp_path, responder)
    finally:
        server.kill()
        server.wait()


def _responder_case(host, rtr, rng, reach, tmp_path, responder) -> None:
    conf = tmp_path / "ndppd.conf"
    f = find(doctor(host, "--check", "ndp", "--ndppd-conf", str(conf)), "range-unanswered", rng)
    assert f["status"] == "fail"
    assert not reach()             # witness: the router cannot resolve the container
    if responder == "ndppd":
        snippet = next(x for x in f["fix"] if "ndppd" in x).split(": ", 1)[1]
        conf.write_text(snippet + "\n")
        cmd = ["ndppd", "-c", str(conf)]
    else:
        cmd = shlex.split(f["fix"][0].split("#", 1)[0])
        assert cmd[:2] == ["v6core", "respond"]
        cmd = [sys.executable, "-m", "v6core", *cmd[1:]]
    p = subprocess.Popen(["ip", "netns", "exec", host.name, *cmd], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=ENV)
    try:
        assert wait_for(lambda: [x for x in doctor(host, "--check", "ndp", "--ndppd-conf",
                                                   str(conf))["findings"]
                                 if x["id"] == "range-covered" and x["subject"] == rng], 5.0)
        rtr.ip("-6", "neigh", "flush", "dev", "rtr0")
        assert wait_for(reach, 10.0)
    finally:
        p.terminate()
        p.wait(timeout=5)
