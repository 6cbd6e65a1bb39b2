"""Differential tests: v6core's go flavour and Java/Node runtime layers against the real
runtimes (Debian's golang-go 1.19 built with CGO_ENABLED=0, openjdk 17, nodejs).

Each world (tests/libc/world.py, reused) is a fresh mount + network namespace with its
own veth addresses, routes, /etc/hosts (several addresses per name), nsswitch
``hosts: files`` and host.conf ``multi on``.  Go's pure resolver sorts hosts-file
answers with its own sortByRFC6724; Java and Node take glibc's getaddrinfo order and
apply their own step.  The runtimes are the oracle: no expected order here is computed
by v6core.  A runtime that is not installed skips with the reason.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.libc.world import World, missing_tools, run_world
from tests.runtimes.build import LOOKUP_JS, build_go, build_java, node

pytestmark = [pytest.mark.libc, pytest.mark.netns]

HERE = Path(__file__).resolve().parent
_SKIP = missing_tools()


@pytest.fixture(scope="module")
def runtimes(tmp_path_factory):
    if _SKIP:
        pytest.skip(_SKIP)
    out = tmp_path_factory.mktemp("runtimes")
    rt: dict[str, str] = {}
    reasons: dict[str, str] = {}
    go, why = build_go(out)
    if go:
        rt["go"] = go
    else:
        reasons["go"] = why or ""
    java, why = build_java(out)
    if java:
        rt["java"], rt["java_cp"] = java, str(out)
    else:
        reasons["java"] = why or ""
    node_exe = node()
    if node_exe:
        rt["node"], rt["node_js"] = node_exe, str(LOOKUP_JS)
    else:
        reasons["node"] = "node not installed (apt-get install nodejs)"
    for k, v in reasons.items():
        print(f"runtime {k} skipped: {v}")
    return rt, reasons


# ---------------------------------------------------------------- worlds

WORLDS: dict[str, World] = {}


def _world(w: World) -> World:
    WORLDS[w.name] = w
    return w


_world(World(
    "ula", v4=["192.0.2.2/24"], v6=["fd00:1::2/64"], gai_conf="",
    names={"ula-vs-v4": ["2001:db8:5::1", "198.51.100.1"],
           "ula-dest-vs-v4": ["198.51.100.1", "fd00:2::1"],
           "ula-same-48": ["198.51.100.1", "fd00:1:0:5::1", "2001:db8:5::1"],
           "v4-first": ["198.51.100.1", "198.51.100.2", "2001:db8:5::1", "2001:db8:5::2"]}))
_world(World(
    "private-v4", v4=["10.1.2.4/24"], v6=["2001:db8:1::2/64"], gai_conf="",
    names={"allv4-private": ["198.51.100.1", "10.1.2.3", "10.200.0.1"],
           "allv4-private-rev": ["10.200.0.1", "10.1.2.3", "198.51.100.1"],
           "v6-cpl": ["2001:db8:5::1", "2001:db8:1::9", "10.1.2.3"],
           "v6-cpl-past-64": ["2001:db8:1::1:0:0:9", "2001:db8:1::3", "10.1.2.3"]}))
_world(World(
    "unreachable-v6", v4=["192.0.2.2/24"], v6=["2001:db8:1::2/64"], default6=False,
    gai_conf="",
    names={"one-unreachable": ["2001:db8:2::1", "2001:db8:1::1", "198.51.100.1"],
           "all-v6-unreachable": ["2001:db8:2::1", "2002:c633:6401::1", "198.51.100.1"]}))
_world(World(
    "unreachable-v4", v4=["192.0.2.2/24"], v6=["2001:db8:1::2/64"], default4=False,
    gai_conf="",
    names={"v4-unreachable": ["198.51.100.1", "2001:db8:5::1", "192.0.2.9"],
           "both-unusable-v4": ["198.51.100.1", "203.0.113.1", "2001:db8:5::1"]}))
_world(World(
    "link-local", v4=["192.0.2.2/24"], v6=[], gai_conf="",
    names={"ll-source-vs-v4": ["2001:db8:5::1", "198.51.100.1"],
           "ll-two": ["2001:db8:5::1", "2001:db8:6::1", "198.51.100.1", "198.51.100.2"]}))
_world(World(
    "ula-fix", v4=["192.0.2.2/24"], v6=["fd00:1::2/64"], gai_conf="label fd00::/8 1\n",
    names={"ula-vs-v4": ["198.51.100.1", "2001:db8:5::1"]}))

_POOL6 = ["2001:db8:1::{:x}", "2001:db8:1:0:8000::{:x}", "2001:db8:7::{:x}", "fd00:1::{:x}",
          "fd00:9::{:x}", "2002:c633:6401::{:x}", "2001:0:5ef5:79fd::{:x}", "fec0::{:x}"]
_POOL4 = ["192.0.2.{}", "198.51.100.{}", "10.1.2.{}", "10.9.{}.1", "169.254.3.{}"]
_CONFIGS = [
    dict(v4=["192.0.2.2/24"], v6=["2001:db8:1::2/64"]),
    dict(v4=["10.1.2.4/24"], v6=["fd00:1::2/64"]),
    dict(v4=["192.0.2.2/24", "169.254.7.7/16"], v6=["fd00:1::2/64", "2001:db8:1::2/64"]),
    dict(v4=["10.1.2.4/24"], v6=["2001:db8:1::2/64"], default6=False),
    dict(v4=["192.0.2.2/24"], v6=[]),
]


def _generated(seed: int) -> World:
    rnd = random.Random(seed)
    cfg = dict(_CONFIGS[seed % len(_CONFIGS)])
    names: dict[str, list[str]] = {}
    for k in range(8):
        n = rnd.randrange(2, 6)
        addrs: list[str] = []
        while len(addrs) < n:
            if rnd.random() < 0.55:
                a = rnd.choice(_POOL6).format(rnd.randrange(1, 0xffff))
            else:
                a = rnd.choice(_POOL4).format(rnd.randrange(1, 255))
            if a not in addrs:
                addrs.append(a)
        names[f"gen{seed}-{k}"] = addrs
    return World(f"gen{seed}", gai_conf="", names=names, **cfg)


for _seed in range(5):
    _world(_generated(_seed))


@pytest.fixture(scope="module")
def results(runtimes, tmp_path_factory):
    rt, _ = runtimes
    if not rt:
        pytest.skip("no runtime installed")
    out = {}
    for name, w in WORLDS.items():
        out[name] = run_world(w, {}, tmp_path_factory.mktemp(name), timeout=240,
                              inner=HERE / "inner.py", extra={"runtimes": rt})
    return out


KEYS = ["go", "java:false", "java:true", "java:system", "node:verbatim", "node:ipv4first",
        "node:ipv6first"]


@pytest.mark.parametrize("world", list(WORLDS))
@pytest.mark.parametrize("key", KEYS)
def test_runtime_order_matches(results, runtimes, world, key):
    _, reasons = runtimes
    base = key.split(":")[0]
    if base in reasons:
        pytest.skip(f"{base}: {reasons[base]}")
    bad = []
    for name, r in results[world].items():
        real = r.get(key)
        if isinstance(real, str):
            bad.append(f"{name}: {key} failed: {real}")
        elif real != r["v6core_" + key]:
            bad.append(f"{name}: hosts {r['hosts']} sources {r['sources']}\n"
                       f"  real   {real}\n  v6core {r['v6core_' + key]}")
    assert not bad, "\n".join(bad)


def test_go_differs_from_glibc_somewhere(results, runtimes):
    """The worlds are not all trivial: Go's order differs from Java:system's (glibc's)
    for some name, so a go flavour equal to glibc would fail above."""
    rt, _ = runtimes
    if "go" not in rt or "java" not in rt:
        pytest.skip("needs go and java")
    diffs = [n for w in results.values() for n, r in w.items()
             if isinstance(r["go"], list) and r["go"] != r["java:system"]]
    assert diffs
