"""The getaddrinfo layer: kernel source probes, address flags, the wrapper.

The namespace tests run Python inside ``unshare -n`` with veth addresses; the oracles
are the kernel's other interfaces (``ip route get``, /proc/net/if_inet6) and
``socket.getaddrinfo`` itself.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import textwrap

import pytest

import v6core
from tests.support import V6CORE_PATH as SRC
from v6core import PolicyTable
from v6core.resolve import getaddrinfo, kernel_sources, system_policy

SETUP = """
sysctl -qw net.ipv6.conf.all.accept_dad=0
sysctl -qw net.ipv6.conf.default.accept_dad=0
ip link set lo up
ip link add v0 type veth peer name v1
ip link set v0 up
ip link set v1 up
ip addr add 192.0.2.2/24 dev v0
ip addr add 10.7.0.2/16 dev v0
ip -6 addr add 2001:db8:1::2/64 dev v0 nodad preferred_lft 0 valid_lft forever
ip -6 addr add fd00:1::2/64 dev v0 nodad
ip -6 addr add 2001:db8:9::2/64 dev v0 nodad home
ip route add default dev v0
ip -6 route add 2001:db8::/32 dev v0
ip -6 route add 2001:db8:55::/64 dev v0 src 2001:db8:1::2
"""


def _in_netns(code: str, env: dict | None = None) -> dict:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare")
    script = SETUP + f'exec {sys.executable} -c {shlex.quote(textwrap.dedent(code))}\n'
    e = dict(os.environ, PYTHONPATH=str(SRC))
    e.pop("V6CORE_GAI_CONF", None)
    e.update(env or {})
    proc = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True,
                          text=True, timeout=30, env=e)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.netns
def test_kernel_sources_and_flags():
    r = _in_netns("""
        import json, subprocess
        from v6core.resolve import kernel_sources
        dests = ["2001:db8:55::1", "2001:db8:1::1", "2001:db8:9::7", "2001:db8:77::1", "fd00:1::1",
                 "192.0.2.9", "10.7.3.3", "198.51.100.1", "2002::1", "fe80::1",
                 "fe80::1%v0", "::1", "127.0.0.1"]
        srcs = kernel_sources(dests)
        ipget = {}
        for d in dests:
            p = subprocess.run(["ip", "-j", "route", "get", d.split("%")[0]]
                               + (["oif", "v0"] if "%" in d else []),
                               capture_output=True, text=True)
            ipget[d] = json.loads(p.stdout)[0].get("prefsrc") if p.returncode == 0 else None
        print(json.dumps({"srcs": [None if s is None else [s.address, s.prefixlen,
                          s.deprecated, s.home, s.ifindex] for s in srcs],
                          "ipget": ipget, "dests": dests}))
    """)
    srcs = dict(zip(r["dests"], r["srcs"], strict=False))
    # the kernel's own answer (ip route get) is the oracle for Source(D)
    for d in r["dests"]:
        if d == "fe80::1":
            assert srcs[d] is None           # no zone: connect() fails, as in the libcs
            continue
        if r["ipget"][d] is None:
            assert srcs[d] is None, d
        else:
            assert srcs[d][0] == r["ipget"][d], d
    assert srcs["2002::1"] is None           # no route
    dep = srcs["2001:db8:77::1"]
    assert dep is not None and dep[0] in ("2001:db8:1::2", "2001:db8:9::2", "fd00:1::2")
    # a route's preferred source makes the kernel use the deprecated (preferred_lft 0) one
    assert srcs["2001:db8:55::1"][:3] == ["2001:db8:1::2", 64, True]
    # otherwise the kernel's own rule 3 avoids it
    assert srcs["2001:db8:1::1"][2] is False
    assert srcs["2001:db8:9::7"][:4] == ["2001:db8:9::2", 64, False, True]
    assert srcs["10.7.3.3"][:2] == ["10.7.0.2", 16]
    assert srcs["fe80::1%v0"][0].startswith("fe80::")


@pytest.mark.netns
def test_netlink_agrees_with_proc():
    r = _in_netns("""
        import json
        from v6core.resolve import _netlink_addresses, _proc_addresses
        nl = sorted((a.packed.hex(), a.prefixlen, a.ifindex, a.flags & 0xff)
                    for a in _netlink_addresses() if not a.packed.startswith(bytes(10) + b"\\xff\\xff"))
        pr = sorted((a.packed.hex(), a.prefixlen, a.ifindex, a.flags & 0xff)
                    for a in _proc_addresses())
        print(json.dumps({"nl": nl, "proc": pr}))
    """)
    assert r["nl"] == r["proc"]
    assert len(r["nl"]) >= 5


def test_getaddrinfo_reorders_by_policy(tmp_path, monkeypatch):
    """The wrapper keeps every entry, keeps an address's socket types together, and
    orders addresses by the flavour and the gai.conf named by argument or environment."""
    fake = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80)),
        (socket.AF_INET, socket.SOCK_DGRAM, 17, "", ("127.0.0.1", 80)),
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 80, 0, 0)),
        (socket.AF_INET6, socket.SOCK_DGRAM, 17, "", ("::1", 80, 0, 0)),
    ]
    monkeypatch.setattr("v6core.resolve.socket.getaddrinfo", lambda *a, **k: list(fake))
    conf = tmp_path / "prefer-v4.conf"
    conf.write_text("precedence ::ffff:0:0/96 100\n")
    monkeypatch.delenv("V6CORE_GAI_CONF", raising=False)
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    # glibc's built-in table: ::1 precedence 50 beats 127.0.0.1's 10
    out = getaddrinfo("x", 80, gai_conf=empty)
    assert out == fake[2:] + fake[:2]
    # ::ffff:0:0/96 100, and ::1's own row dropped (40)
    assert getaddrinfo("x", 80, gai_conf=conf) == fake
    monkeypatch.setenv("V6CORE_GAI_CONF", str(conf))
    assert getaddrinfo("x", 80) == fake
    # the administrator's policy applies to every flavour (a musl program honours it)
    assert getaddrinfo("x", 80, flavor="musl") == fake
    assert getaddrinfo("x", 80, flavor="musl", policy=PolicyTable.musl()) == fake[2:] + fake[:2]
    assert getaddrinfo("x", 80, policy=PolicyTable.rfc6724()) == fake[2:] + fake[:2]


def test_getaddrinfo_accepts_a_result_with_a_zone(monkeypatch):
    """nss-mdns returns "fe80::1%eth0" for .local names: the wrapper orders it by the
    address without its zone, and probes its source with the sockaddr's scope id."""
    lo = socket.if_nametoindex("lo")
    fake = [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:db8::1", 80, 0, 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", 80)),
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1%lo", 80, 0, lo)),
    ]
    probed = []

    def fake_sources(dests, **kw):
        probed.extend(dests)
        by_addr = {"2001:db8::1": v6core.SourceAddress("2001:db8::5"), "192.0.2.1": None,
                   "fe80::1%lo": v6core.SourceAddress("fe80::2")}
        return [by_addr[d[0]] for d in dests]

    monkeypatch.setattr("v6core.resolve.socket.getaddrinfo", lambda *a, **k: list(fake))
    monkeypatch.setattr("v6core.resolve.kernel_sources", fake_sources)
    # RFC 6724 section 6: 192.0.2.1 has no source (rule 1); fe80::1 and 2001:db8::1 tie on
    # rules 2-7 (both ::/0: precedence 40, label 1) and link-local is the smaller scope (rule 8)
    out = getaddrinfo("printer.local", 80, policy=PolicyTable.rfc6724(), flavor="rfc6724")
    assert out == [fake[2], fake[0], fake[1]]
    assert ("fe80::1%lo", 80, 0, lo) in probed


def test_kernel_sources_zone_from_the_sockaddr():
    # the sockaddr's scope id is used; its zone text need not name a local interface
    src = kernel_sources([("fe80::1%no-such-if0", 80, 0, socket.if_nametoindex("lo"))],
                         flags=False)
    assert len(src) == 1


def test_getaddrinfo_same_entries_as_socket():
    plain = socket.getaddrinfo("localhost", 80)
    ours = getaddrinfo("localhost", 80)
    assert sorted(plain) == sorted(ours)
    assert getaddrinfo("127.0.0.1", "80", type=socket.SOCK_DGRAM) == socket.getaddrinfo(
        "127.0.0.1", "80", type=socket.SOCK_DGRAM)
    with pytest.raises(socket.gaierror):
        getaddrinfo("name.invalid.", 80, flags=socket.AI_NUMERICHOST)


def test_system_policy(tmp_path, monkeypatch):
    p = tmp_path / "g.conf"
    p.write_text("label ::/0 9\n")
    t1 = system_policy(p)
    assert t1.label("::5") == 9
    assert system_policy(p) is t1                      # cached by stat
    p.write_text("label ::/0 8\nlabel ::1/128 0\n")
    os.utime(p, ns=(1, 1))
    assert system_policy(p).label("::5") == 8          # reloaded on change
    monkeypatch.setenv("V6CORE_GAI_CONF", str(p))
    assert system_policy().label("::5") == 8
    monkeypatch.setenv("V6CORE_GAI_CONF", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError):
        system_policy()
    monkeypatch.delenv("V6CORE_GAI_CONF")
    assert isinstance(system_policy(), PolicyTable)


def test_kernel_sources_without_flags():
    srcs = kernel_sources(["127.0.0.1", "::1"], flags=False)
    assert [s.address if s else None for s in srcs][0] == "127.0.0.1"
    assert v6core.SourceAddress("::1").prefixlen is None
