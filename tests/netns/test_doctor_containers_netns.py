"""``v6core doctor --containers`` against namespaces running real resolvers (root only).

Each namespace gets its own /etc/hosts through ``ip netns exec`` (/etc/netns/NAME/), a
name with one global IPv6 and one global IPv4 address (the doctor's standard pair), and
long-running processes.  The glibc and musl processes print the order their real
getaddrinfo returned before they wait: the doctor's ``first_family`` for that resolver in
that namespace must match it.  The doctor's own namespace must be unchanged afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.nsutil import NetNS, unavailable_reason
from tests.runtimes.build import LOOKUP_JS, build_go, build_java, node
from tests.support import subprocess_env

pytestmark = pytest.mark.netns

HERE = Path(__file__).resolve().parent
V6, V4 = "2001:db8:ffff::1", "198.51.100.1"        # selection.DESTINATIONS' global pair
ENV = subprocess_env()


def _need_root() -> None:
    why = unavailable_reason()
    if why:
        pytest.skip(why)


def own_netns() -> tuple[int, str]:
    out = subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True).stdout
    return os.stat("/proc/self/ns/net").st_ino, json.dumps(
        sorted((a["ifname"], i["local"]) for a in json.loads(out) for i in a["addr_info"]))


@pytest.fixture(scope="module")
def binaries(tmp_path_factory):
    if shutil.which("gcc") is None or shutil.which("musl-gcc") is None:
        pytest.skip("needs gcc and musl-gcc (musl-tools)")
    d = tmp_path_factory.mktemp("hold")
    out = {}
    for lib, cc, extra in (("glibc", "gcc", []), ("musl", "musl-gcc", ["-static"])):
        out[lib] = d / f"hold-{lib}"
        subprocess.run([cc, "-O2", *extra, "-o", str(out[lib]), str(HERE / "hold.c")],
                       check=True, timeout=120)
    return out


def world(role: str, v6: str) -> NetNS:
    ns = NetNS.create(role)
    peer = NetNS.create(role + "p")
    ns.veth(peer, "eth0", "eth0")
    ns.ip("-6", "addr", "add", v6, "dev", "eth0", "nodad")
    ns.ip("addr", "add", "192.0.2.2/24", "dev", "eth0")
    ns.ip("-6", "route", "add", "default", "dev", "eth0")
    ns.ip("route", "add", "default", "dev", "eth0")
    etc = Path("/etc/netns") / ns.name
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "hosts").write_text(f"127.0.0.1 localhost\n{V4} dual\n{V6} dual\n")
    (etc / "host.conf").write_text("multi on\n")
    (etc / "nsswitch.conf").write_text("hosts: files\n")
    ns.peer = peer  # type: ignore[attr-defined]
    return ns


def cleanup(ns: NetNS) -> None:
    ns.peer.delete()  # type: ignore[attr-defined]
    ns.delete()
    shutil.rmtree(Path("/etc/netns") / ns.name, ignore_errors=True)


def start(ns: NetNS, *argv: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    p = subprocess.Popen(["ip", "netns", "exec", ns.name, *argv], stdout=subprocess.PIPE,
                         text=True, env=env)
    line = p.stdout.readline().strip() if p.stdout else ""
    return p, line


def doctor() -> dict:
    r = subprocess.run([sys.executable, "-m", "v6core", "doctor", "--containers", "--json"],
                       capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode in (0, 1), r.stderr
    d = json.loads(r.stdout)
    assert r.returncode == (1 if d["status"] == "fail" else 0)
    return d


def findings(d: dict, name: str) -> list[dict]:
    got = [n for n in d["namespaces"] if n["name"] == name]
    assert len(got) == 1, [n["name"] for n in d["namespaces"]]
    return got[0]["findings"]


@pytest.mark.parametrize("v6", ["fd00::2/64", "2001:db8:1::2/64"])
def test_libc_findings_match_the_real_getaddrinfo(binaries, v6):
    _need_root()
    before = own_netns()
    ns = world("ctr", v6)
    procs = []
    try:
        real = {}
        for lib, exe in binaries.items():
            p, line = start(ns, str(exe), "dual")
            procs.append(p)
            words = line.split()
            assert words[0] == "dual" and len(words) == 3, line
            real[lib] = "IPv6" if ":" in words[1] else "IPv4"
        d = doctor()
        got = {f["detail"]["exe"]: f for f in findings(d, ns.name)}
        for lib, exe in binaries.items():
            f = got[str(exe)]
            assert f["detail"]["kind"] == lib, f
            assert f["first_family"] == real[lib], (lib, v6, f)
            assert f["status"] == ("ok" if real[lib] == "IPv6" else "fail")
            if f["status"] == "fail":
                assert f["fix"]
        nsd = next(n for n in d["namespaces"] if n["name"] == ns.name)
        assert nsd["sources"][V6] == v6.split("/")[0]
        pids = subprocess.run(["ip", "netns", "pids", ns.name], capture_output=True,
                              text=True).stdout.split()
        assert sorted(nsd["pids"]) == sorted(int(p) for p in pids)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        cleanup(ns)
    assert own_netns() == before


@pytest.fixture(scope="module")
def runtimes(tmp_path_factory):
    """The real runtimes' lookup programs (tests/runtimes/build.py): {name: argv prefix}."""
    out = tmp_path_factory.mktemp("rt")
    progs: dict[str, list[str]] = {}
    go, why_go = build_go(out)
    if go:
        progs["go"] = [go]
    java, why_java = build_java(out)
    if java:
        for opt in ("false", "system"):
            progs[f"java:{opt}"] = [java, f"-Djava.net.preferIPv6Addresses={opt}", "-cp",
                                    str(out), "Lookup"]
    nd = node()
    if nd:
        progs["node:verbatim"] = [nd, str(LOOKUP_JS)]
        progs["node:ipv4first"] = [nd, str(LOOKUP_JS)]   # the option via NODE_OPTIONS
    for name, why in (("go", why_go), ("java", why_java),
                      ("node", None if nd else "node not installed (apt-get install nodejs)")):
        if why:
            print(f"SKIP {name}: {why}")
    if not progs:
        pytest.skip("none of go, java (openjdk-17-jdk-headless), node is installed")
    return progs


@pytest.mark.parametrize("v6", ["fd00::2/64", "2001:db8:1::2/64"])
def test_runtime_findings_match_the_real_runtimes(runtimes, v6):
    """A static pure-Go binary, JVMs and node processes resolve the dual-stack name with
    their real runtime, print the order and wait; each finding's first family must be
    the one the runtime really put first, and its runtime must be detected from the
    running process (command line, NODE_OPTIONS)."""
    _need_root()
    before = own_netns()
    ns = world("rt", v6)
    procs = []
    try:
        real: dict[str, str] = {}
        for key, argv in runtimes.items():
            env = dict(os.environ, LOOKUP_HOLD="1")
            if key == "node:ipv4first":
                env["NODE_OPTIONS"] = "--dns-result-order=ipv4first"
            p = subprocess.Popen(["ip", "netns", "exec", ns.name, *argv, "dual"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 env=env)
            procs.append(p)
            line = p.stdout.readline().split() if p.stdout else []
            assert line[:1] == ["dual"] and len(line) == 3, (key, line)
            real[key] = "IPv6" if ":" in line[1] else "IPv4"
        d = doctor()
        got: dict[str, dict] = {}
        for f in findings(d, ns.name):
            det = f["detail"]
            key = "go" if det["kind"] == "go" else det["runtime"]
            got[key] = f
        for key in runtimes:
            f = got.get(key)
            assert f is not None, (key, list(got))
            assert f["first_family"] == real[key], (key, v6, f)
            assert f["status"] == ("ok" if real[key] == "IPv6" else "fail"), f
            if f["status"] == "fail":
                words = {"go": "GODEBUG=netdns=cgo", "java": "preferIPv6Addresses=true",
                         "node": "--dns-result-order=ipv6first"}[key.split(":")[0]]
                assert any(words in ln for ln in f["fix"]), f
                if "fd00" in v6 and key != "go":     # the C library's part of the fix
                    assert "label fd00::/8 1" in [ln.strip() for ln in f["fix"]], f
                    assert f"/etc/netns/{ns.name}/gai.conf" in "".join(f["fix"]), f
            if key == "go":
                assert f["detail"]["flavor"] == "go" and f["detail"]["cgo_built"] is False
            if key in ("java:false", "node:ipv4first"):
                assert f["rule"].startswith(key.split(":")[0]), f   # the runtime's step
    finally:
        for p in procs:
            p.kill()
            p.wait()
        cleanup(ns)
    assert own_netns() == before
