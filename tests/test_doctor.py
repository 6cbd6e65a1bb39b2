"""``v6core doctor`` without root: parsers against the kernel and real binaries, and every
check on fabricated system views (FakeSystem)."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from tests.support import subprocess_env
from v6core.doctor import Options, Status, facts, run
from v6core.doctor.system import FakeSystem, LiveSystem

ENV = subprocess_env()


# ---------------------------------------------------------------- fabricated hosts

def proc_word_hex(addr: str) -> str:
    """/proc/net/tcp6 address text written by hand from the kernel's format: four
    32-bit words, each printed as a host-order (little-endian on x86) hex number."""
    raw = ipaddress.ip_address(addr).packed
    if sys.byteorder != "little":
        pytest.skip("fabricated /proc text assumes a little-endian host")
    return "".join(f"{int.from_bytes(raw[i:i + 4], 'little'):08X}" for i in range(0, len(raw), 4))


def proc_line(n: int, addr: str, port: int, state: int, inode: int, uid: int = 0) -> str:
    rem = "0" * (8 if ":" not in addr else 32)
    return (f"{n:4}: {proc_word_hex(addr)}:{port:04X} {rem}:0000 {state:02X} 00000000:00000000 "
            f"00:00000000 00000000 {uid:5} 0 {inode} 1 0000000000000000 100 0 0 10 0")


HDR = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"


def if_inet6_line(addr: str, ifindex: int, plen: int, scope: int, flags: int, name: str) -> str:
    return (f"{ipaddress.IPv6Address(addr).packed.hex()} {ifindex:02x} {plen:02x} {scope:02x} "
            f"{flags:02x} {name:>8}")


def route_line(dst: str, dev: str, gw: str = "::", flags: int = 0x1, metric: int = 256) -> str:
    net = ipaddress.IPv6Network(dst)
    return (f"{net.network_address.packed.hex()} {net.prefixlen:02x} {'0' * 32} 00 "
            f"{ipaddress.IPv6Address(gw).packed.hex()} {metric:08x} 00000001 00000000 "
            f"{flags:08x} {dev:>8}")


class Host:
    """Builds a FakeSystem: interfaces with sysctls, addresses, routes, sockets."""

    def __init__(self) -> None:
        self.files: dict[str, str | bytes] = {}
        self.links: dict[str, str] = {}
        self.commands: dict[tuple[str, ...], str] = {}
        self.sources: dict[str, str | None] = {}
        self.v6only: dict[int, bool] | None = {}
        self.ifaces: dict[str, dict] = {}
        self.addrs: list[dict] = []
        self.routes: list[str] = []
        self.tables = {"tcp": [], "tcp6": [], "udp": [], "udp6": []}
        self.proxy: list[str] | None = []
        self.iface("lo")

    def iface(self, name: str, **sysctl: int) -> Host:
        conf = {"forwarding": 0, "accept_ra": 1, "proxy_ndp": 0, "disable_ipv6": 0,
                "autoconf": 1, "use_tempaddr": 0}
        conf.update(sysctl)
        self.ifaces[name] = conf
        return self

    def addr(self, name: str, cidr: str, **info) -> Host:
        ip = ipaddress.ip_interface(cidr)
        d = {"family": "inet6" if ip.version == 6 else "inet", "local": str(ip.ip),
             "prefixlen": ip.network.prefixlen,
             "scope": "link" if ip.ip.is_link_local else ("host" if ip.ip.is_loopback
                                                          else "global"),
             "valid_life_time": 4294967295, "preferred_life_time": 4294967295}
        d.update(info)
        self.addrs.append({"ifname": name, **d})
        return self

    def listen(self, table: str, addr: str, port: int, inode: int, v6only: bool | None = None,
               state: int | None = None) -> Host:
        st = state if state is not None else (0x0A if table.startswith("tcp") else 0x07)
        self.tables[table].append(proc_line(len(self.tables[table]), addr, port, st, inode))
        if v6only is not None:
            self.v6only[inode] = v6only
        return self

    def view(self) -> FakeSystem:
        files = dict(self.files)
        for name, conf in self.ifaces.items():
            for k, v in conf.items():
                files[f"/proc/sys/net/ipv6/conf/{name}/{k}"] = f"{v}\n"
        for k in ("forwarding", "proxy_ndp", "accept_ra"):
            files[f"/proc/sys/net/ipv6/conf/all/{k}"] = "0\n"
        by_if: dict[str, list] = {}
        for a in self.addrs:
            by_if.setdefault(a["ifname"], []).append({k: v for k, v in a.items() if k != "ifname"})
        ipj = [{"ifindex": i + 1, "ifname": n, "addr_info": by_if.get(n, [])}
               for i, n in enumerate(self.ifaces)]
        commands = dict(self.commands)
        commands[("ip", "-j", "addr", "show")] = json.dumps(ipj)
        if self.proxy is not None:
            commands[("ip", "-6", "neigh", "show", "proxy")] = "".join(
                p + "\n" for p in self.proxy)
        for t, lines in self.tables.items():
            files[f"/proc/net/{t}"] = HDR + "\n" + "".join(ln + "\n" for ln in lines)
        files["/proc/net/ipv6_route"] = "".join(r + "\n" for r in self.routes)
        files["/proc/sys/net/ipv4/ip_local_port_range"] = "32768\t60999\n"
        files["/proc/sys/net/ipv6/bindv6only"] = "0\n"
        return FakeSystem(files, links=self.links, commands=commands, sources=self.sources,
                          v6only=self.v6only)


def findings(host: Host, check: str, options: Options | None = None):
    return run(host.view(), options, [check]).findings


def ids(fs) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in fs:
        out.setdefault(f.id, []).append(f)
    return out


def v6host() -> Host:
    return (Host().iface("eth0").addr("eth0", "2001:db8:1::10/64")
            .addr("eth0", "192.0.2.10/24"))


# ---------------------------------------------------------------- parsers vs the kernel

def _inode(s: socket.socket) -> int:
    return os.fstat(s.fileno()).st_ino


def test_proc_net_parser_finds_real_sockets_with_their_inodes():
    """Oracle: the kernel's own tables for sockets this test opens (no root needed)."""
    socks = []
    try:
        a = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        a.bind(("127.0.0.1", 0))
        a.listen()
        b = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        b.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        b.bind(("::1", 0))
        b.listen()
        c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        c.bind(("::", 0))
        socks = [a, b, c]
        got, missing = facts.sockets(LiveSystem())
        assert missing == []
        table = {s.inode: s for s in got}
        for sock, proto, fam, addr in ((a, "tcp", 4, "127.0.0.1"), (b, "tcp", 6, "::1"),
                                       (c, "udp", 6, "::")):
            s = table[_inode(sock)]
            assert (s.proto, s.family, s.address, s.port) == (proto, fam, addr,
                                                              sock.getsockname()[1])
            assert s.listening
            assert s.uid == os.geteuid()
    finally:
        for s in socks:
            s.close()


def test_v6only_from_inet_diag_matches_the_socket_option():
    socks = []
    try:
        for flag in (0, 1):
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, flag)
            s.bind(("::", 0))
            s.listen()
            socks.append(s)
        got = LiveSystem().v6only_sockets()
        if got is None:
            pytest.skip("inet_diag unavailable here")
        assert got[_inode(socks[0])] is False
        assert got[_inode(socks[1])] is True
        # the ss fallback reads the same kernel facts another way
        ss = LiveSystem()._v6only_from_ss()
        if ss is not None:
            assert ss[_inode(socks[0])] is False and ss[_inode(socks[1])] is True
    finally:
        for s in socks:
            s.close()


def test_proc_text_written_by_hand_parses():
    text = HDR + "\n" + proc_line(0, "2001:db8::1", 443, 0x0A, 77) + "\n" + \
        "   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 " \
        "88 1 0 100 0 0 10 0\n"
    got = facts.parse_proc_net(text, "tcp", 6)
    assert [(s.address, s.port, s.inode) for s in got][0] == ("2001:db8::1", 443, 77)
    # an IPv4 table line: 0100007F is 127.0.0.1 in little-endian hex, 1F90 is 8080
    v4 = facts.parse_proc_net(HDR + "\n" + text.splitlines()[2], "tcp", 4)
    assert (v4[0].address, v4[0].port, v4[0].uid) == ("127.0.0.1", 8080, 1000)
    assert facts.parse_proc_net(HDR + "\ngarbage line\n   0: zz:zz\n", "tcp", 4) == []


def test_if_inet6_agrees_with_iproute2():
    """Oracle: iproute2's JSON for the same kernel address list."""
    live = LiveSystem()
    text = live.read("/proc/net/if_inet6")
    j = live.run(["ip", "-j", "addr", "show"])
    if text is None or j is None:
        pytest.skip("no /proc/net/if_inet6 or no ip -j")
    a = {(x.ifname, x.address, x.prefixlen, x.scope, x.deprecated, x.temporary)
         for x in facts.parse_if_inet6(text)}
    b = {(x.ifname, x.address, x.prefixlen, x.scope, x.deprecated, x.temporary)
         for x in facts.parse_ip_json(j) if x.family == 6}
    assert a == b


def test_if_inet6_flags():
    text = "\n".join([
        if_inet6_line("2001:db8::10", 3, 64, 0x00, 0xA2, "va"),   # permanent nodad deprecated
        if_inet6_line("2001:db8::11", 3, 64, 0x00, 0x01, "va"),   # temporary, dynamic
        if_inet6_line("fe80::1", 3, 64, 0x20, 0xC0, "va"),        # tentative link-local
    ])
    a, b, c = facts.parse_if_inet6(text)
    assert a.deprecated and not a.temporary and not a.dynamic
    assert b.temporary and b.dynamic and not b.deprecated
    assert c.scope == "link" and c.tentative


def test_routes_from_proc():
    text = "\n".join([
        route_line("::/0", "eth0", gw="fe80::1", flags=0x00450003),
        route_line("2001:db8:1::/64", "eth0"),
        route_line("2001:db8:1::10/128", "eth0", flags=0x80200001),
        route_line("::/0", "lo", flags=0x00200200),
    ])
    r = facts.routes6(FakeSystem({"/proc/net/ipv6_route": text}))
    assert [str(x.dst) for x in r] == ["::/0", "2001:db8:1::/64", "2001:db8:1::10/128", "::/0"]
    assert r[0].gateway == "fe80::1" and r[0].from_ra and not r[0].local
    assert r[2].local and r[3].reject and r[1].gateway is None


# ---------------------------------------------------------------- ELF and libc

def test_elf_interpreter_of_bin_sh_matches_readelf():
    if shutil.which("readelf") is None:
        pytest.skip("readelf not installed")
    out = subprocess.run(["readelf", "-l", "/bin/sh"], capture_output=True, text=True).stdout
    want = out.split("program interpreter: ", 1)[1].split("]", 1)[0]
    with open("/bin/sh", "rb") as f:
        assert facts.elf_interpreter(f.read(65536)) == want


def test_elf_interpreter_rejects_junk():
    assert facts.elf_interpreter(b"") is None
    assert facts.elf_interpreter(b"#!/bin/sh\n" + b"x" * 100) is None
    with open("/bin/sh", "rb") as f:
        head = f.read(65536)
    assert facts.elf_interpreter(head[:80]) is None        # header beyond the bytes given


@pytest.fixture(scope="module")
def musl_binary(tmp_path_factory) -> bytes:
    if shutil.which("musl-gcc") is None:
        pytest.skip("musl-gcc (musl-tools) not installed")
    d = tmp_path_factory.mktemp("musl")
    (d / "h.c").write_text("int main(void){return 0;}\n")
    subprocess.run(["musl-gcc", "-o", str(d / "h"), str(d / "h.c")], check=True)
    return (d / "h").read_bytes()


def test_libc_musl_via_busybox_symlink(musl_binary):
    view = FakeSystem({"/bin/busybox": musl_binary, "/lib/ld-musl-x86_64.so.1": b"\x7fELF"},
                      links={"/bin/sh": "busybox"})
    lc = facts.libc(view)
    assert lc.name == "musl" and lc.interpreter == "/lib/ld-musl-x86_64.so.1"
    assert "/bin/sh -> /bin/busybox" in lc.evidence[0]


def test_libc_glibc_from_real_sh():
    with open("/bin/sh", "rb") as f:
        sh = f.read(65536)
    interp = facts.elf_interpreter(sh)
    if interp is None or "ld-linux" not in interp:
        pytest.skip("this host's /bin/sh is not glibc-linked")
    view = FakeSystem({"/usr/bin/dash": sh}, links={"/bin": "usr/bin", "/usr/bin/sh": "dash"},
                      commands={("ldd", "--version"): "ldd (Debian GLIBC 2.36-9) 2.36\n"})
    lc = facts.libc(view)
    assert (lc.name, lc.version) == ("glibc", "2.36")


def test_libc_static_sh_falls_back_to_musl_loader():
    view = FakeSystem({"/bin/sh": b"\x7fELF\x02\x01" + b"\0" * 200,
                       "/lib/ld-musl-aarch64.so.1": b""})
    lc = facts.libc(view)
    assert lc.name == "musl" and "/lib/ld-musl-aarch64.so.1 is present" in lc.evidence[-1]
    assert facts.libc(FakeSystem({})).name is None


# ---------------------------------------------------------------- sockets check

def test_ipv4_only_listener_fails_on_an_ipv6_host():
    h = v6host().listen("tcp", "0.0.0.0", 80, 11)
    f = ids(findings(h, "sockets"))
    (x,) = f["ipv4-only-listener"]
    assert x.status == Status.FAIL and x.subject == "tcp/80"
    assert any("[::]:80" in line for line in x.fix)


def test_ipv4_only_listener_is_info_without_ipv6():
    h = Host().iface("eth0").addr("eth0", "192.0.2.10/24").addr("eth0", "fe80::1/64")
    h.listen("tcp", "0.0.0.0", 80, 11)
    (x,) = ids(findings(h, "sockets"))["ipv4-only-listener"]
    assert x.status == Status.INFO


def test_dual_stack_socket_and_socket_pairs_pass():
    h = v6host()
    h.listen("tcp6", "::", 80, 11, v6only=False)                  # one dual-stack socket
    h.listen("tcp", "0.0.0.0", 443, 12).listen("tcp6", "::", 443, 13, v6only=True)
    f = ids(findings(h, "sockets"))
    assert sorted(x.subject for x in f["dual-stack-listener"]) == ["tcp/443", "tcp/80"]
    assert "ipv4-only-listener" not in f


def test_v6only_wildcard_alone_is_ipv6_only():
    h = v6host().listen("tcp6", "::", 80, 11, v6only=True)
    (x,) = ids(findings(h, "sockets"))["ipv6-only-listener"]
    assert x.status == Status.INFO and "IPV6_V6ONLY=1" in x.evidence[0]


def test_unknown_v6only_follows_bindv6only_and_says_so():
    h = v6host().listen("tcp6", "::", 80, 11)
    h.v6only = None
    fs = findings(h, "sockets")
    assert fs[0].id == "dual-stack-listener"
    assert "bindv6only=0" in fs[0].evidence[0]


def test_loopback_ipv4_only_warns_and_ephemeral_udp_ignored():
    h = v6host().listen("tcp", "127.0.0.1", 8080, 11).listen("udp", "0.0.0.0", 40000, 12)
    h.listen("tcp", "0.0.0.0", 9999, 13, state=0x01)              # established, not listening
    f = ids(findings(h, "sockets"))
    (x,) = f["loopback-ipv4-only-listener"]
    assert x.status == Status.WARN and any("[::1]:8080" in line for line in x.fix)
    assert len([y for ys in f.values() for y in ys]) == 1


def test_owner_names_program_hint():
    h = v6host().listen("tcp", "0.0.0.0", 80, 4242)
    h.links["/proc/123/fd/5"] = "socket:[4242]"
    h.files["/proc/123/comm"] = "nginx\n"
    (x,) = ids(findings(h, "sockets"))["ipv4-only-listener"]
    assert x.subject == "tcp/80 (nginx)" and any("listen [::]:80;" in line for line in x.fix)


# ---------------------------------------------------------------- neighbor discovery

def test_forwarding_with_accept_ra_1_fails_and_2_passes():
    h = Host().iface("eth0", forwarding=1, accept_ra=1).iface("eth1", forwarding=1, accept_ra=2)
    h.iface("eth2", forwarding=1, accept_ra=0)
    h.routes.append(route_line("::/0", "eth0", gw="fe80::1", flags=0x00450003))
    f = {x.subject: x for x in findings(h, "ndp") if x.subject and x.subject.startswith("eth")}
    assert f["eth0"].id == "forwarding-ignores-ra" and f["eth0"].status == Status.FAIL
    assert "sysctl -w net.ipv6.conf.eth0.accept_ra=2" in f["eth0"].fix
    assert any("learnt from an RA" in e for e in f["eth0"].evidence)
    assert f["eth1"].status == Status.OK
    assert f["eth2"].id == "forwarding-no-ra" and f["eth2"].status == Status.INFO


def test_bridge_port_accepting_ra_warns():
    h = Host().iface("br0").iface("veth1", accept_ra=1).iface("veth2", accept_ra=0)
    h.iface("veth3", disable_ipv6=1)
    for p in ("veth1", "veth2", "veth3"):
        h.files[f"/sys/class/net/{p}/brport/state"] = "3\n"
        h.links[f"/sys/class/net/{p}/master"] = "../br0"
    h.files["/sys/class/net/br0/bridge/stp_state"] = "0\n"
    (x,) = ids(findings(h, "ndp"))["bridge-port-accepts-ra"]
    assert x.status == Status.WARN and x.subject == "br0"
    assert x.data["ports_accepting_ra"] == ["veth1"]
    assert x.fix[0] == "sysctl -w net.ipv6.conf.veth1.accept_ra=0 net.ipv6.conf.veth1.autoconf=0"
    # ports are not judged as uplinks
    assert not [y for y in findings(h, "ndp") if y.subject == "veth1"]


def test_proxy_entries_need_forwarding_and_proxy_ndp():
    h = Host().iface("eth0", forwarding=0, proxy_ndp=1)
    h.proxy = ["2001:db8::99 dev eth0 proxy"]
    (x,) = ids(findings(h, "ndp"))["proxy-entries-inactive"]
    assert x.status == Status.FAIL and x.fix == ["sysctl -w net.ipv6.conf.eth0.forwarding=1"]
    h.ifaces["eth0"]["forwarding"] = 1
    assert ids(findings(h, "ndp"))["proxy-entries"][0].status == Status.OK


def lab_host() -> Host:
    h = Host().iface("uplink", forwarding=1, accept_ra=2).iface("br0", forwarding=1)
    h.routes += [route_line("::/0", "uplink", gw="fe80::1", flags=0x3),
                 route_line("2001:db8:f440:2::/64", "uplink"),
                 route_line("2001:db8:f440:2:646f:636b:6572:0/112", "br0"),
                 route_line("fe80::/64", "br0")]
    return h


def test_container_range_inside_onlink_prefix_unanswered_fails():
    (x,) = ids(findings(lab_host(), "ndp"))["range-unanswered"]
    assert x.status == Status.FAIL
    assert x.subject == "2001:db8:f440:2:646f:636b:6572:0/112"
    assert "v6core respond -i uplink -p 2001:db8:f440:2:646f:636b:6572:0/112" in x.fix[0]


def test_container_range_covered_by_running_ndppd():
    h = lab_host()
    h.files["/etc/ndppd.conf"] = ("# ndppd\nroute-ttl 30000\nproxy uplink {\n  router no\n"
                                  "  rule 2001:db8:f440:2::/64 { iface br0 }\n}\n")
    h.files["/proc/77/cmdline"] = "/usr/sbin/ndppd\0-d\0"
    f = ids(findings(h, "ndp"))
    assert f["range-covered"][0].status == Status.OK
    del h.files["/proc/77/cmdline"]                     # configured but not running
    (x,) = ids(findings(h, "ndp"))["range-unanswered"]
    assert x.fix[0].startswith("start the configured responder")


def test_container_range_covered_by_v6core_respond_cmdline_and_toml():
    h = lab_host()
    h.files["/proc/9/cmdline"] = ("/usr/bin/python3\0/usr/local/bin/v6core\0respond\0-i\0"
                                  "uplink\0-p\0002001:db8:f440:2:646f:636b:6572::/112\0")
    assert ids(findings(h, "ndp"))["range-covered"]
    h = lab_host()
    h.files["/etc/v6core/respond.toml"] = ('[[interface]]\nname = "uplink"\n'
                                           '[[interface.rule]]\nprefix = "2001:db8:f440:2::/64"\n')
    (x,) = ids(findings(h, "ndp"))["range-unanswered"]      # configured, not running
    assert any("v6core respond (/etc/v6core/respond.toml)" in e for e in x.evidence)


# ---------------------------------------------------------------- source address

def test_only_deprecated_addresses_warn_then_pass_when_preferred():
    h = Host().iface("eth0").addr("eth0", "2001:db8:1::10/64", deprecated=True,
                                  preferred_life_time=0)
    h.routes.append(route_line("::/0", "eth0", gw="fe80::1", flags=0x3))
    h.sources["2001:db8:ffff::1"] = "2001:db8:1::10"
    (x,) = ids(findings(h, "source"))["only-deprecated"]
    assert x.status == Status.WARN
    assert x.fix[0] == "ip addr change 2001:db8:1::10/64 dev eth0 preferred_lft forever"
    h.addr("eth0", "2001:db8:1::20/64")
    h.sources["2001:db8:ffff::1"] = "2001:db8:1::20"
    (y,) = findings(h, "source")
    assert y.id == "source-pinned" and y.status == Status.OK
    assert "2001:db8:1::20" in y.summary and "2001:db8:1::10 is deprecated" in y.summary


def test_several_sources_give_pin_commands_and_persistence():
    h = Host().iface("eth0").addr("eth0", "2001:db8:1::10/64").addr("eth0", "2001:db8:1::20/64")
    h.routes.append(route_line("::/0", "eth0", gw="fe80::1", flags=0x3))
    h.sources["2001:db8:ffff::1"] = "2001:db8:1::10"
    (x,) = findings(h, "source")
    assert x.id == "several-sources" and x.data["source"] == "2001:db8:1::10"
    assert x.data["pin"]["2001:db8:1::20"] == [
        "ip addr change 2001:db8:1::10/64 dev eth0 preferred_lft 0"]
    text = "\n".join(x.fix)
    assert "PreferredLifetime=0" in text and "ifupdown" in text and "NetworkManager" in text


def test_temporary_source_and_dadfailed():
    h = Host().iface("eth0").addr("eth0", "2001:db8:1::10/64")
    h.addr("eth0", "2001:db8:1:0:1234:5678:9abc:def0/64", temporary=True, dynamic=True,
           preferred_life_time=3000, valid_life_time=80000)
    h.addr("eth0", "2001:db8:1::30/64", dadfailed=True, tentative=True)
    h.routes.append(route_line("::/0", "eth0", gw="fe80::1", flags=0x3))
    h.sources["2001:db8:ffff::1"] = "2001:db8:1:0:1234:5678:9abc:def0"
    f = ids(findings(h, "source"))
    assert f["temporary-source"][0].status == Status.INFO
    assert f["dad-failed"][0].status == Status.FAIL


# ---------------------------------------------------------------- libc check, report, CLI

def test_gai_conf_on_musl_is_ignored(musl_binary):
    view = Host()
    view.files.update({"/bin/sh": musl_binary, "/etc/gai.conf": "label fd00::/8 1\n"})
    f = ids(findings(view, "libc"))
    assert f["libc"][0].data["libc"] == "musl"
    assert f["gai-conf-ignored"][0].status == Status.WARN


def test_report_json_exit_and_colour():
    h = v6host().listen("tcp", "127.0.0.1", 8080, 11)
    rep = run(h.view(), None, ["sockets"])
    assert rep.status == Status.WARN and rep.exit_code() == 0
    assert rep.exit_code(Status.WARN) == 1
    d = json.loads(rep.to_json())
    assert d["status"] == "warn" and d["counts"]["warn"] == 1
    assert d["findings"][0]["id"] == "loopback-ipv4-only-listener"
    assert "\x1b[" not in rep.render() and "\x1b[" in rep.render(colour=True)


def test_unknown_check_is_refused():
    with pytest.raises(ValueError, match="unknown check"):
        run(FakeSystem({}), None, ["nope"])


def test_empty_host_skips_rather_than_crashes():
    rep = run(FakeSystem({}))
    assert rep.findings and all(isinstance(f.status, Status) for f in rep.findings)
    json.loads(rep.to_json())


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "v6core", "doctor", *args], capture_output=True,
                          text=True, env=ENV, timeout=60)


def test_cli_json_on_this_host_and_exit_status():
    r = _cli("--json")
    d = json.loads(r.stdout)
    assert r.returncode == (1 if d["counts"]["fail"] else 0)
    assert {f["check"] for f in d["findings"]} >= {"libc", "ndp", "sockets"}
    r = _cli("--check", "sockets")
    assert "\x1b[" not in r.stdout and "Listening sockets" in r.stdout   # not a terminal


def test_cli_bad_arguments_are_one_line_errors():
    r = _cli("--check", "bogus")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "bogus" in r.stderr
    r = _cli("--root", "/nonexistent/dir")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "/nonexistent/dir" in r.stderr


def test_netlink_addresses_agree_with_iproute2():
    """Oracle: iproute2's JSON; the rtnetlink path is what busybox systems get."""
    live = LiveSystem()
    nl, j = live.netlink_addresses(), live.run(["ip", "-j", "addr", "show"])
    if nl is None or j is None:
        pytest.skip("pyroute2 or ip -j unavailable")

    def key(a):
        return (a.ifname, a.address, a.prefixlen, a.family, a.scope, a.deprecated, a.temporary,
                a.tentative, a.dynamic, a.valid_lft == facts.INFINITY_LFT)
    assert {key(a) for a in facts.parse_ip_json(nl)} == {key(a) for a in facts.parse_ip_json(j)}


# ---------------------------------------------------------------- address selection

# glibc 2.36 sysdeps/posix/getaddrinfo.c, default_labels[] (the independent oracle for
# "the exact full label table"): prefix -> label
GLIBC_236_LABELS = {"::1/128": 0, "2002::/16": 2, "::/96": 3, "::ffff:0:0/96": 4,
                    "fec0::/10": 5, "fc00::/7": 6, "2001::/32": 7, "::/0": 1}

DESTS = {"global IPv6": "2001:db8:ffff::1", "ULA": "fd00:ffff::1",
         "NAT64": "64:ff9b::c633:6401", "global IPv4": "198.51.100.1",
         "private IPv4": "10.255.255.1"}


def selection_host(v6src: str | None, libc_bytes: bytes | None = None) -> Host:
    h = Host().iface("eth0").addr("eth0", "10.0.0.2/24")
    if v6src:
        h.addr("eth0", f"{v6src}/64")
    for d in DESTS.values():
        h.sources[d] = v6src if ":" in d else "10.0.0.2"
    if libc_bytes is not None:
        h.files["/bin/sh"] = libc_bytes
    else:
        with open("/bin/sh", "rb") as f:
            h.files["/bin/sh"] = f.read(65536)
    return h


def _glibc_host() -> None:
    with open("/bin/sh", "rb") as f:
        if "ld-linux" not in (facts.elf_interpreter(f.read(65536)) or ""):
            pytest.skip("this host's /bin/sh is not glibc-linked")


def test_ula_only_glibc_prefers_ipv4_and_prints_full_label_table():
    _glibc_host()
    (f,) = findings(selection_host("fd00::2"), "selection")
    assert f.id == "prefers-ipv4" and f.status == Status.FAIL
    cell = f.data["matrix"]["glibc"]["global IPv6 vs global IPv4"]
    assert (cell["first"], cell["rule"]) == ("IPv4", 5)
    lines = f.data["gai_conf_fix"]
    assert lines[-1] == "label fd00::/8 1"
    got = {}
    for ln in lines[:-1]:
        kw, pfx, val = ln.split()
        assert kw == "label"
        got[str(ipaddress.IPv6Network(pfx))] = int(val)
    want = {str(ipaddress.IPv6Network(p)): v for p, v in GLIBC_236_LABELS.items()}
    assert got == want
    assert all(("  " + ln) in f.fix for ln in lines)


def test_label_fix_in_gai_conf_makes_glibc_pass():
    _glibc_host()
    h = selection_host("fd00::2")
    h.files["/etc/gai.conf"] = "".join(
        f"label {p} {v}\n" for p, v in GLIBC_236_LABELS.items()) + "label fd00::/8 1\n"
    (f,) = findings(h, "selection")
    assert f.id == "prefers-ipv6" and f.status == Status.OK
    assert f.data["matrix"]["glibc"]["global IPv6 vs global IPv4"]["first"] == "IPv6"
    # musl is not configurable: its column still says IPv4
    assert f.data["matrix"]["musl"]["global IPv6 vs global IPv4"]["first"] == "IPv4"


def test_ula_only_musl_gets_no_gai_conf_fix(musl_binary):
    h = selection_host("fd00::2", musl_binary)
    h.files["/etc/gai.conf"] = "label fd00::/8 1\n"
    (f,) = findings(h, "selection")
    assert f.id == "prefers-ipv4" and f.summary.startswith("musl tries IPv4")
    assert "gai_conf_fix" not in f.data
    assert any("musl: cannot be configured" in x and "v6core.getaddrinfo" in x for x in f.fix)
    # RFC 6724 (and musl) put even a ULA destination behind IPv4 from a ULA source: the
    # fd00::/8 ULA label 13 matches, but precedence 3 loses to IPv4's 35 (rule 6)
    cell = f.data["matrix"]["musl"]["ULA vs global IPv4"]
    assert (cell["first"], cell["rule"]) == ("IPv4", 6)


def test_global_source_prefers_ipv6_and_no_route_is_info():
    (f,) = findings(selection_host("2001:db8:1::10"), "selection")
    assert f.id == "prefers-ipv6" and f.status == Status.OK
    (g,) = findings(selection_host(None), "selection")
    assert g.id == "no-ipv6-route" and g.status == Status.INFO


def test_deprecated_flag_reaches_the_resolver():
    """A deprecated IPv6 source loses to IPv4 by rule 3 in glibc (flag from the address
    list, not from the kernel probe)."""
    _glibc_host()
    h = selection_host(None)
    h.addr("eth0", "2001:db8:1::10/64", deprecated=True, preferred_life_time=0)
    for d in DESTS.values():
        if ":" in d:
            h.sources[d] = "2001:db8:1::10"
    (f,) = findings(h, "selection")
    cell = f.data["matrix"]["glibc"]["global IPv6 vs global IPv4"]
    assert (f.status, cell["first"], cell["rule"]) == (Status.FAIL, "IPv4", 3)


def test_source_check_reports_rfc6724_choice():
    # rule 7 (prefer temporary) decides between two otherwise equal addresses
    h = Host().iface("eth0").addr("eth0", "2001:db8:1::10/64")
    h.addr("eth0", "2001:db8:1::abcd/64", temporary=True)
    (f,) = findings(h, "source")
    assert f.data["rfc6724_source"] == "2001:db8:1::abcd"


def test_gai_conf_lint_reports_dropped_rows():
    _glibc_host()
    h = selection_host("fd00::2")
    h.files["/etc/gai.conf"] = "precedence ::ffff:0:0/96 100\n"
    f = ids(findings(h, "libc"))["gai-conf"][0]
    assert f.status == Status.WARN
    assert any("::1/128 50" in p for p in f.data["problems"])


def test_responder_in_another_network_namespace_does_not_count():
    h = lab_host()
    h.files["/proc/9/cmdline"] = ("v6core\0respond\0-i\0uplink\0-p\0"
                                  "2001:db8:f440:2:646f:636b:6572::/112\0")
    h.links["/proc/self/ns/net"] = "net:[4026531840]"
    h.links["/proc/9/ns/net"] = "net:[4026532999]"
    assert ids(findings(h, "ndp"))["range-unanswered"]
    h.links["/proc/9/ns/net"] = "net:[4026531840]"
    assert ids(findings(h, "ndp"))["range-covered"]


def test_cli_root_reads_a_container_filesystem(musl_binary, tmp_path):
    """--root: an Alpine-like tree whose /bin/sh is an absolute link to /bin/busybox must
    resolve inside the tree, not on this host."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "lib").mkdir()
    (tmp_path / "etc").mkdir()
    (tmp_path / "bin" / "busybox").write_bytes(musl_binary)
    os.symlink("/bin/busybox", tmp_path / "bin" / "sh")
    (tmp_path / "lib" / "ld-musl-x86_64.so.1").write_bytes(b"")
    (tmp_path / "etc" / "gai.conf").write_text("label fd00::/8 1\n")
    r = _cli("--root", str(tmp_path), "--check", "libc", "--json")
    d = json.loads(r.stdout)
    f = {x["id"]: x for x in d["findings"]}
    assert f["libc"]["data"]["libc"] == "musl"
    assert "/bin/sh -> /bin/busybox" in f["libc"]["evidence"][0]
    assert f["gai-conf-ignored"]["status"] == "warn"
    assert r.returncode == 0


def test_forwarding_on_a_downstream_bridge_is_not_a_failure():
    """docker0-like: a bridge with forwarding on, the default route (static) via eth0."""
    h = Host().iface("eth0", forwarding=1, accept_ra=1).iface("docker0", forwarding=1)
    h.addr("eth0", "2001:db8:1::10/64")
    h.files["/sys/class/net/docker0/bridge/stp_state"] = "0\n"
    h.routes.append(route_line("::/0", "eth0", gw="2001:db8:1::1", flags=0x3))
    f = {x.subject: x for x in findings(h, "ndp") if x.subject in ("eth0", "docker0")}
    assert f["docker0"].id == "forwarding-downstream" and f["docker0"].status == Status.INFO
    # eth0 holds the default route: RAs there would matter, so it is still a failure
    assert f["eth0"].id == "forwarding-ignores-ra"


# ---------------------------------------------------------------- garbage in, no traceback

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from v6core.doctor import ndp as _ndp  # noqa: E402

_lines = st.lists(st.text(alphabet="0123456789abcdefABCDEF :x\t{}#/.-proxyrule", max_size=80),
                  max_size=8).map("\n".join)


@settings(max_examples=150, deadline=None)
@given(_lines)
def test_text_parsers_never_raise(text):
    facts.parse_proc_net("hdr\n" + text, "tcp", 6)
    facts.parse_if_inet6(text)
    facts.routes6(FakeSystem({"/proc/net/ipv6_route": text}))
    _ndp._ndppd_rules(text)
    v = FakeSystem({}, commands={("ip", "-6", "neigh", "show", "proxy"): text,
                                 ("ip", "-j", "addr", "show"): text})
    facts.proxy_neighbours(v)
    facts.addresses(v)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_elf_parser_never_raises(data):
    head = b"\x7fELF\x02\x01" + data
    assert facts.elf_interpreter(head) is None or isinstance(facts.elf_interpreter(head), str)
    facts.elf_interpreter(b"\x7fELF\x01\x02" + data)


@pytest.mark.parametrize("text", ["[1]", '{"a": 1}', '[{"addr_info": [1]}]',
                                  '[{"addr_info": [{"family": "inet6", "local": "zz"}]}]',
                                  '[{"addr_info": [{"family": "inet", "local": "1.2.3.4", '
                                  '"prefixlen": "x"}]}]'])
def test_malformed_ip_json_falls_back_to_if_inet6(text):
    v = FakeSystem({"/proc/net/if_inet6": if_inet6_line("2001:db8::1", 2, 64, 0, 0x80, "eth0")},
                   commands={("ip", "-j", "addr", "show"): text})
    addrs, how = facts.addresses(v)
    assert how == "/proc/net/if_inet6" and [a.address for a in addrs] == ["2001:db8::1"]


def test_prefer_ipv4_precedence_line_is_named():
    _glibc_host()
    h = selection_host("2001:db8:1::10")
    h.files["/etc/gai.conf"] = "precedence ::ffff:0:0/96 100\n"
    (f,) = findings(h, "selection")
    cell = f.data["matrix"]["glibc"]["global IPv6 vs global IPv4"]
    assert (f.status, cell["first"], cell["rule"]) == (Status.FAIL, "IPv4", 6)
    assert any("remove that precedence line" in x for x in f.fix)
    assert f.data["matrix"]["musl"]["global IPv6 vs global IPv4"]["first"] == "IPv6"
