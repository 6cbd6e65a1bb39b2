"""Resolver detection and namespace discovery on fabricated /proc trees and real files.

Oracles: ``readelf`` for PT_INTERP and DT_NEEDED, ``go version -m`` for Go build info,
and the compilers that built the static binaries (gcc -static, musl-gcc -static).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from v6core.doctor import containers, elf, exe
from v6core.doctor.system import FakeSystem

HERE = Path(__file__).resolve().parent
PROBE = HERE / "libc" / "probe.c"


def readelf(path: str) -> tuple[str | None, list[str]]:
    out = subprocess.run(["readelf", "-ld", path], capture_output=True, text=True).stdout
    interp = None
    needed = []
    for line in out.splitlines():
        if "Requesting program interpreter:" in line:
            interp = line.split(":", 1)[1].strip(" ]")
        if "(NEEDED)" in line:
            needed.append(line.split("[", 1)[1].rstrip("]"))
    return interp, needed


@pytest.mark.parametrize("path", ["/bin/sh", "/usr/bin/python3", "/usr/bin/node",
                                  "/usr/sbin/dockerd", "/usr/bin/busybox"])
def test_elf_headers_match_readelf(path):
    if shutil.which("readelf") is None or not Path(path).exists():
        pytest.skip(f"needs readelf and {path}")
    real = str(Path(path).resolve())
    info = elf.parse(Path(real).read_bytes(), real)
    assert (info.interpreter, info.needed) == readelf(real)


def test_go_buildinfo_matches_go_version_m():
    paths = [p for p in ("/usr/bin/docker", "/usr/sbin/dockerd", "/usr/local/bin/docker")
             if Path(p).exists()]
    if shutil.which("go") is None or not paths:
        pytest.skip("needs go (golang-go) and a Go binary (docker.io)")
    for path in paths:
        out = subprocess.run(["go", "version", "-m", path], capture_output=True,
                             text=True).stdout
        version = out.split()[1]
        settings = dict(ln.split("\t")[2].split("=", 1) for ln in out.splitlines()
                        if ln.startswith("\tbuild\t") and "=" in ln.split("\t")[2])
        info = elf.parse(Path(path).read_bytes(), path).go
        assert info is not None and info.version == version
        assert info.settings == settings


@pytest.mark.parametrize("cc,libc", [("gcc", "glibc"), ("musl-gcc", "musl")])
def test_static_libc_signature(tmp_path, cc, libc):
    if shutil.which(cc) is None:
        pytest.skip(f"needs {cc}")
    out = tmp_path / "p"
    r = subprocess.run([cc, "-O2", "-static", "-o", str(out), str(PROBE)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"{cc} -static failed: {r.stderr[-200:]!r}")
    info = elf.parse(out.read_bytes(), str(out))
    assert info.static and info.libc == libc and info.go is None


@pytest.mark.parametrize("data", [b"", b"\x7fELF", b"\x7fELF\x02\x01" + b"\0" * 60,
                                  b"\x7fELF\x02\x01" + b"\xff" * 200, b"\x7fELF\x07\x09" + b"\0" * 80])
def test_malformed_elf_is_reported_not_raised(data):
    r = exe.detect(data, "/x", exe.ProcessInfo(1))
    assert r.kind == "unknown" and r.state in ("not-elf", "ok"), r


def _proc(pid, exe_target, data=None, comm="app", ns=4026532001, argv=(), env=None):
    files = {f"/proc/{pid}/comm": comm + "\n",
             f"/proc/{pid}/cmdline": b"\0".join(a.encode() for a in argv) + b"\0",
             f"/proc/{pid}/environ": b"\0".join(f"{k}={v}".encode()
                                               for k, v in (env or {}).items())}
    links = {f"/proc/{pid}/ns/net": f"net:[{ns}]"}
    if exe_target is not None:
        links[f"/proc/{pid}/exe"] = exe_target
        if data is not None:
            files[exe_target] = data          # /proc/PID/exe opens even a deleted file
    return files, links


def fake(*procs, extra=None, **kw):
    files, links = dict(extra or {}), {}
    for f, ln in procs:
        files.update(f)
        links.update(ln)
    return FakeSystem(files, links=links, **kw)


def test_scripts_deleted_not_elf_and_exited():
    glibc = Path("/bin/true").resolve().read_bytes()
    view = fake(_proc(10, "/srv/run.sh", b"#!/bin/sh -e\necho\n"),
                _proc(11, "/srv/blob", b"MZ\x90\0garbage"),
                _proc(12, "/usr/bin/true (deleted)", glibc))
    got = {}
    for pid in (10, 11, 12, 13):
        got[pid] = exe.resolver_of(view, exe.process_info(view, pid))
    assert got[10].state == "script" and "/bin/sh -e" in got[10].detail
    assert got[11].state == "not-elf"
    assert got[12].state == "deleted" and got[12].kind == "glibc" and got[12].flavor == "glibc"
    assert got[13].state == "exited"


def test_runtime_options_from_cmdline_and_env():
    java = Path("/usr/lib/jvm").glob("*/bin/java")
    jpath = next(iter(sorted(java)), None)
    node = Path("/usr/bin/node")
    if jpath is None or not node.exists():
        pytest.skip("needs openjdk and nodejs")
    jdata, ndata = jpath.read_bytes(), node.read_bytes()
    view = fake(_proc(20, str(jpath), jdata, argv=["java", "-Djava.net.preferIPv6Addresses=true",
                                                   "-jar", "x.jar"]),
                _proc(21, str(jpath), jdata, argv=["java", "Main"],
                      env={"JAVA_TOOL_OPTIONS": "-Djava.net.preferIPv6Addresses=system"}),
                _proc(22, str(jpath), jdata, argv=["java", "Main"]),
                _proc(23, "/usr/bin/node", ndata, argv=["node", "app.js"],
                      env={"NODE_OPTIONS": "--dns-result-order=ipv4first"}),
                _proc(24, "/usr/bin/node", ndata, argv=["node", "--dns-result-order",
                                                        "ipv6first", "app.js",
                                                        "--dns-result-order=ipv4first"],
                      env={"NODE_OPTIONS": "--dns-result-order=ipv4first"}))
    cache: dict = {}
    rt = {pid: exe.resolver_of(view, exe.process_info(view, pid), cache=cache).runtime
          for pid in (20, 21, 22, 23, 24)}
    assert rt == {20: "java:true", 21: "java:system", 22: "java:false",
                  23: "node:ipv4first", 24: "node:ipv6first"}


def test_go_godebug_and_nsswitch_choose_the_resolver():
    info = elf.ElfInfo(64, interpreter="/lib64/ld-linux-x86-64.so.2", libc="glibc",
                       go=elf.GoInfo("go1.21.0", {"CGO_ENABLED": "1"}))
    p = exe.ProcessInfo(1)
    assert exe.classify(info, "/app", p).flavor == "go"
    assert exe.classify(info, "/app", exe.ProcessInfo(1, env={"GODEBUG": "netdns=cgo"})).flavor \
        == "glibc"
    assert exe.classify(info, "/app", p, "hosts: files mdns4_minimal dns\n").flavor == "glibc"
    info.go.settings["CGO_ENABLED"] = "0"
    assert exe.classify(info, "/app", exe.ProcessInfo(1, env={"GODEBUG": "netdns=cgo"})).flavor \
        == "go"


def test_discover_names_namespaces():
    did = "a" * 64
    view = fake(_proc(100, None, ns=1, comm="init"),
                _proc(200, None, ns=2, comm="nginx"), _proc(201, None, ns=2),
                _proc(300, None, ns=3, comm="systemd"), _proc(400, None, ns=4, comm="sleep"),
                _proc(500, None, ns=5, comm="sshd"),
                extra={"/run/netns/lab": "", "/run/netns/empty": "", "/proc/600/comm": "gone"},
                inodes={"/run/netns/lab": 4, "/run/netns/empty": 9})
    view.files["/proc/200/cgroup"] = f"0::/system.slice/docker-{did}.scope\n"
    view.files["/proc/300/cgroup"] = "0::/lxc.payload.web1/init.scope\n"
    view.files["/proc/500/cgroup"] = "0::/machine.slice/systemd-nspawn@deb.service/payload\n"
    scan = containers.discover(view, (), own_link="net:[1]")
    names = {n.inode: (n.kind, n.name, n.pids) for n in scan.namespaces}
    assert names[1] == ("host", "host", [100])
    assert names[2] == ("docker", "aaaaaaaaaaaa", [200, 201])
    assert names[3] == ("lxd", "web1", [300])
    assert names[4] == ("netns", "lab", [400])
    assert names[5] == ("nspawn", "deb", [500])
    assert names[9] == ("netns", "empty", [])
    assert scan.unreadable == [600]


def test_named_namespace_without_processes_reads_its_etc_netns_gai_conf():
    """``ip netns exec NAME`` bind-mounts /etc/netns/NAME/gai.conf over /etc/gai.conf, so
    that file (not the host's) is the one programs started there would read."""
    from v6core.doctor.host import scan
    view = fake(_proc(1, None, ns=1, comm="init"),
                extra={"/run/netns/lab": "", "/run/netns/bare": "",
                       "/etc/gai.conf": "precedence ::ffff:0:0/96 100\n",
                       "/etc/netns/lab/gai.conf": "label fd00::/8 1\n"},
                inodes={"/run/netns/lab": 7, "/run/netns/bare": 8})
    view.links["/proc/self/ns/net"] = "net:[1]"
    report = scan(view, (), probe=lambda paths, dests: {})
    got = {n.ns.name: n for n in report.namespaces}
    assert got["lab"].gai_path == "/etc/netns/lab/gai.conf"
    assert got["lab"].gai_note == "/etc/netns/lab/gai.conf read"
    assert got["bare"].gai_path == "/etc/gai.conf"     # no /etc/netns/bare: the host's
    assert got["bare"].gai_note == "/etc/gai.conf read"
    assert got["host"].gai_path == "/etc/gai.conf"     # the doctor's own /etc, not pid 1's
    del view.files["/etc/netns/lab/gai.conf"]          # gone: the host's file again
    lab = {n.ns.name: n for n in scan(view, (), probe=lambda p, d: {}).namespaces}["lab"]
    assert lab.gai_path == "/etc/gai.conf"


def test_verdict_names_the_runtime_step_and_the_fix_that_fits():
    """ULA source: every resolver here puts IPv4 first by rule 5 except where a runtime
    option decides; each fix names the knob of that resolver (the orders themselves are
    checked against the real runtimes in tests/netns/test_doctor_containers_netns.py)."""
    from v6core.doctor import selection
    from v6core.doctor.report import Status
    from v6core.doctor.verdict import judge
    d = selection.DESTINATIONS
    ula = {d[k]: ("fd00::2" if ":" in d[k] else "192.0.2.2") for k in d}
    static_go = exe.Resolver("go", flavor="go", cgo_built=False)
    cgo_go = exe.Resolver("go", flavor="go", libc="glibc", cgo_built=True)
    v = judge(static_go, ula, [])
    assert (v.status, v.first_family, v.rule) == (Status.FAIL, "IPv4", "rule 5")
    assert any("has no effect in this binary" in ln for ln in v.fix)
    v = judge(cgo_go, ula, [])
    assert any("GODEBUG=netdns=cgo and fix the C library" in ln for ln in v.fix)
    assert "label fd00::/8 1" in [ln.strip() for ln in v.fix]
    v = judge(exe.Resolver("java", flavor="glibc", runtime="java:false"), ula, [])
    assert v.rule == "java preferIPv6Addresses=false" and v.first_family == "IPv4"
    v = judge(exe.Resolver("java", flavor="glibc", runtime="java:true"), ula, [])
    assert (v.status, v.first_family) == (Status.OK, "IPv6")
    no_v6 = {k: (None if ":" in k else s) for k, s in ula.items()}
    v = judge(exe.Resolver("java", flavor="glibc", runtime="java:true"), no_v6, [])
    assert (v.status, v.first_family) == (Status.WARN, "IPv6")   # forced, without a route
    v = judge(exe.Resolver("node", flavor="musl", runtime="node:ipv4first"), no_v6, [])
    assert (v.status, v.first_family, v.fix) == (Status.INFO, "IPv4", [])
