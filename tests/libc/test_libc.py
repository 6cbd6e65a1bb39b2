"""Differential tests: v6core's glibc and musl flavours against the real C libraries.

Each world (tests/libc/world.py) is one fresh mount + network namespace with its own
veth addresses, routes, /etc/gai.conf and /etc/hosts; the C probe (probe.c) is built
with gcc (Debian's glibc 2.36) and musl-gcc (musl 1.2.3) and asked for every name.
The real libraries are the oracle: no expected order below is computed by v6core.

The worlds are built once per module (a few hundred ms each); all names of a world are
resolved by one probe process per libc.
"""

from __future__ import annotations

import ipaddress
import random

import pytest

from tests.libc.world import World, build_probes, missing_tools, run_world

pytestmark = [pytest.mark.libc, pytest.mark.netns]

_SKIP = missing_tools()

# ---------------------------------------------------------------- hand-written worlds

FULL_LABELS_PLUS_ULA_FIX = """\
# glibc's built-in label table written out, plus the usual fix for ULA-only hosts
label ::1/128       0
label ::/0          1
label 2002::/16     2
label ::/96         3
label ::ffff:0:0/96 4
label fec0::/10     5
label fc00::/7      6
label 2001:0::/32   7
label fd00::/8      1
"""

WORLDS: dict[str, World] = {}


def _world(w: World) -> World:
    WORLDS[w.name] = w
    return w


_world(World(
    "ula", v4=["192.0.2.2/24"], v6=["fd00:1::2/64"], gai_conf="",
    names={
        "ula-vs-v4": ["2001:db8:5::1", "198.51.100.1"],
        "ula-vs-ula": ["198.51.100.1", "fd00:2::1"],
        "ula-three": ["2001:db8:5::1", "fd00:2::1", "198.51.100.1"],
        "allv4-subnet": ["10.0.0.1", "192.0.2.77"],
        "v4-cpl-mixed": ["10.0.0.1", "192.0.2.77", "2001:db8::1"],
    }))
_world(World(
    "ula-fix-one-line", v4=["192.0.2.2/24"], v6=["fd00:1::2/64"],
    gai_conf="label fd00::/8 1\n",
    names={"ula-vs-v4": ["198.51.100.1", "2001:db8:5::1"],
           "ula-vs-ula": ["198.51.100.1", "fd00:2::1"]}))
_world(World(
    "ula-fix-full", v4=["192.0.2.2/24"], v6=["fd00:1::2/64"],
    gai_conf=FULL_LABELS_PLUS_ULA_FIX,
    names={"ula-vs-v4": ["198.51.100.1", "2001:db8:5::1"],
           "ula-three": ["198.51.100.1", "fd00:2::1", "2001:db8:5::1"]}))
_world(World(
    "prec-v4-100", v4=["192.0.2.2/24"], v6=["2001:db8:1::2/64", "2002:c633:6401::2/48"],
    gai_conf="precedence ::ffff:0:0/96 100\n",
    names={"v4-preferred": ["2001:db8:5::1", "198.51.100.1"],
           "dropped-6to4-row": ["2001:db8:5::1", "2002:c633:6401::1"]}))
_world(World(
    "deprecated", v4=["192.0.2.2/24"], v6=["2001:db8:1::2/64 deprecated"], gai_conf=None,
    names={"dep-vs-v4": ["2001:db8:5::1", "198.51.100.1"],
           "dep-vs-v4-rev": ["198.51.100.1", "2001:db8:5::1"]}))
_world(World(
    "v4-subnets", v4=["10.1.2.4/24", "10.9.0.4/16"], v6=["2001:db8:1::2/64"], gai_conf="",
    names={"in-subnet": ["10.1.3.3", "10.1.2.3", "2001:db8:5::1"],
           "outside-subnets": ["198.51.100.1", "10.200.0.1", "2001:db8:5::1"],
           "second-subnet": ["10.1.9.9", "10.9.200.1", "2001:db8:5::1"],
           "allv4-in-subnet": ["198.51.100.1", "10.1.2.3"],
           "allv4-three": ["10.200.0.1", "10.9.1.1", "10.1.2.200"]}))
_world(World(
    "link-local", v4=["192.0.2.2/24"], v6=[], gai_conf="",
    names={"ll-source-vs-v4": ["2001:db8:5::1", "198.51.100.1"],
           "ll-dest-no-zone": ["fe80::1", "2001:db8:5::1", "198.51.100.1"],
           "loopbacks": ["2001:db8:5::1", "127.0.0.1", "::1"]}))
_world(World(
    "unreachable", v4=["192.0.2.2/24"], v6=["2001:db8:1::2/64"], default6=False,
    gai_conf="",
    names={"one-unreachable": ["2001:db8:2::1", "2001:db8:1::1", "198.51.100.1"],
           "both-unreachable": ["2001:db8:2::1", "2002:c633:6401::1", "fec0::1"]}))
_world(World(
    "partial-tables", v4=["192.0.2.2/24", "169.254.7.7/16"], v6=["2001:db8:1::2/64"],
    gai_conf="scopev4 ::ffff:198.51.100.0/120 5\nlabel 2001:db8:5::/48 9\n"
             "precedence 2001:db8:5::/48 45\nbogus line here\nlabel 3ffe::/16\n",
    names={"scopev4-site": ["2001:db8:5::1", "198.51.100.1", "169.254.1.1"],
           "label-48": ["2001:db8:6::1", "2001:db8:5::1"]}))

# glibc's strtoul-based parsing: a prefix without /length, and an empty value
_world(World(
    "gai-no-length", v4=["192.0.2.2/24"], v6=["2001:db8:1::2/64"],
    gai_conf="precedence ::ffff:0:0 100\n",
    names={"v4-first-in-input": ["198.51.100.1", "2001:db8:5::1"]}))
_world(World(
    "gai-empty-value", v4=["192.0.2.2/24"], v6=["2001:db8:1::2/64"],
    gai_conf="precedence ::/0\n",
    names={"v4-first-in-input": ["198.51.100.1", "2001:db8:5::1"]}))

_world(World(
    "gai-scopev4-no-length", v4=["192.0.2.2/24"], v6=[], gai_conf="scopev4 ::ffff:198.51.100.1 5\n",
    names={"ll-v6-vs-v4": ["2001:db8:5::1", "198.51.100.1"]}))
_world(World(
    "gai-scopev4-v4-no-length", v4=["192.0.2.2/24"], v6=[], gai_conf="scopev4 198.51.100.1 5\n",
    names={"ll-v6-vs-v4": ["2001:db8:5::1", "198.51.100.1"]}))
_world(World(
    "gai-scopev4-host", v4=["192.0.2.2/24"], v6=[], gai_conf="scopev4 198.51.100.1/32 5\n",
    names={"ll-v6-vs-v4": ["2001:db8:5::1", "198.51.100.1"]}))

# no IPv6 but loopback: glibc's __check_pf then returns no address details at all, so
# IPv4 sources have prefix length 0 (rule 9: only D == S counts)
_world(World(
    "no-ipv6", v4=["10.1.2.4/24", "192.0.2.2/24"], v6=[], ipv6=False, gai_conf="",
    names={"allv4-subnet": ["198.51.100.1", "10.1.2.3"],
           "with-loopback6": ["198.51.100.1", "10.1.2.3", "::1"],
           "self": ["10.1.2.3", "10.1.2.4"]}))

# IPv4 and IPv6 tie on rules 1-8 (same precedence, matching labels and scopes), so rule 9's
# same-family condition makes glibc's comparison non-transitive: the order then depends on
# glibc's merge sort, which v6core reproduces
_world(World(
    "nontransitive", v4=["192.0.2.2/24"], v6=["2001:db8:1::2/64"],
    gai_conf="precedence ::ffff:0:0/96 40\nprecedence ::1/128 50\n",
    names={"cycle-3": ["2001:db8:77::1", "198.51.100.1", "2001:db8:1::5"],
           "cycle-3b": ["198.51.100.1", "2001:db8:77::1", "2001:db8:1::5"],
           "cycle-4": ["2001:db8:77::1", "192.0.2.9", "2001:db8:1::5", "198.51.100.1"],
           "cycle-5": ["2001:db8:ff::1", "198.51.100.1", "2001:db8:1::5", "192.0.2.9",
                       "2001:db8:1:0:8000::1"]}))

# worlds whose gai.conf makes the real glibc crash: not part of the differential cases
CRASHING = {"gai-scopev4-no-length", "gai-scopev4-v4-no-length"}
HAND = {(w, n) for w, world in WORLDS.items() for n in world.names if w not in CRASHING}

# ---------------------------------------------------------------- generated names

POOL = [
    "2001:db8:1::1", "2001:db8:1::99", "2001:db8:2::1", "2001:db8:ffff::1", "2001:db8:5::7",
    "fd00:1::1", "fd00:2::1", "fd00:1::2", "2002:c633:6401::1", "2002:c000:201::1",
    "2001:0:1::1", "2001:0:53::5", "::1", "fe80::1", "fec0::1", "3ffe::1", "64:ff9b::c000:201",
    "198.51.100.1", "198.51.100.77", "192.0.2.1", "192.0.2.200", "10.1.2.3", "10.1.3.3",
    "10.9.1.1", "172.16.0.1", "192.168.1.1", "127.0.0.1", "127.0.0.2", "169.254.1.1",
    "203.0.113.5",
]
V4POOL = [a for a in POOL if "." in a]
GENERATED_PER_WORLD = 9
_rng = random.Random(6724)
for wname in ("ula", "prec-v4-100", "deprecated", "v4-subnets", "link-local", "unreachable",
              "partial-tables", "no-ipv6", "nontransitive"):
    for k in range(GENERATED_PER_WORLD):
        n = _rng.choice([2, 3, 3, 4, 4, 5, 6, 8])
        pool = V4POOL if k == 0 else POOL     # one all-IPv4 name per world
        WORLDS[wname].names[f"gen{k}"] = _rng.sample(pool, min(n, len(pool)))

CASES = sorted((w, n) for w, world in WORLDS.items() for n in world.names
               if w not in CRASHING)
GENERATED = [c for c in CASES if c not in HAND]


# ---------------------------------------------------------------- running the worlds

@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    if _SKIP:
        pytest.skip(_SKIP)
    base = tmp_path_factory.mktemp("libc")
    probes = build_probes(base)
    cache: dict[str, dict] = {}

    def get(name: str) -> dict:
        if name not in cache:
            cache[name] = run_world(WORLDS[name], probes, base / name)
        return cache[name]

    return get


def _norm(addrs):
    if isinstance(addrs, str):
        return addrs
    return [ipaddress.ip_address(a) for a in addrs]


def test_enough_generated_scenarios():
    assert len(GENERATED) >= 50
    assert len({(w, tuple(WORLDS[w].names[n])) for w, n in CASES}) == len(CASES)


@pytest.mark.parametrize("world,name", CASES, ids=[f"{w}-{n}" for w, n in CASES])
def test_glibc_flavor_matches_glibc(worlds, world, name):
    r = worlds(world)[name]
    assert not isinstance(r["glibc"], str), r["glibc"]
    assert _norm(r["v6core_glibc"]) == _norm(r["glibc"]), r


@pytest.mark.parametrize("world,name", CASES, ids=[f"{w}-{n}" for w, n in CASES])
def test_musl_flavor_matches_musl(worlds, world, name):
    r = worlds(world)[name]
    assert not isinstance(r["musl"], str), r["musl"]
    assert _norm(r["v6core_musl"]) == _norm(r["musl"]), r


@pytest.mark.parametrize("world,name", CASES, ids=[f"{w}-{n}" for w, n in CASES])
def test_musl_order_is_the_key_order(worlds, world, name):
    """The real musl's order is the hosts order sorted by musl_sort_key, descending,
    unless musl skips sorting (fewer than two results, or all IPv4)."""
    r = worlds(world)[name]
    hosts = r["hosts"]
    all_v4 = all(ipaddress.ip_address(a).version == 4 for a in hosts)
    if len(hosts) < 2 or all_v4:
        expected = hosts
    else:
        keys = dict(zip(hosts, r["musl_keys"], strict=False))
        assert len(set(r["musl_keys"])) == len(hosts)
        expected = sorted(hosts, key=lambda a: -keys[a])
    assert _norm(expected) == _norm(r["musl"])


@pytest.mark.parametrize("world,name", sorted(HAND), ids=[f"{w}-{n}" for w, n in sorted(HAND)])
def test_getaddrinfo_wrapper_keeps_glibc_order(worlds, world, name):
    """v6core.getaddrinfo (glibc flavour, /etc/gai.conf) re-sorts glibc's answer to the
    same order glibc chose."""
    r = worlds(world)[name]
    assert _norm(r["wrapper_glibc"]) == _norm(r["glibc"])


# ---------------------------------------------------------------- what the scenarios show

def test_ula_source_loses_to_ipv4_on_both(worlds):
    r = worlds("ula")["ula-vs-v4"]
    assert r["glibc"][0] == "198.51.100.1"
    assert r["musl"][0] == "198.51.100.1"


@pytest.mark.parametrize("world", ["ula-fix-one-line", "ula-fix-full"])
def test_label_fix_works_in_glibc_not_musl(worlds, world):
    r = worlds(world)["ula-vs-v4"]
    assert r["glibc"][0] == "2001:db8:5::1"
    assert r["musl"][0] == "198.51.100.1"
    assert _norm(r["v6core_glibc"]) == _norm(r["glibc"])
    assert _norm(r["v6core_musl"]) == _norm(r["musl"])


def test_single_precedence_line_drops_builtin_rows(worlds):
    r = worlds("prec-v4-100")
    assert r["v4-preferred"]["glibc"][0] == "198.51.100.1"
    assert r["v4-preferred"]["musl"][0] == "2001:db8:5::1"
    # 2002::/16 lost its precedence 30: glibc now puts the 6to4 address first
    assert r["dropped-6to4-row"]["glibc"][0] == "2002:c633:6401::1"
    assert r["dropped-6to4-row"]["musl"][0] == "2001:db8:5::1"


def test_deprecated_source_rule3_glibc_only(worlds):
    for name in ("dep-vs-v4", "dep-vs-v4-rev"):
        r = worlds("deprecated")[name]
        assert r["glibc"][0] == "198.51.100.1"
        assert r["musl"][0] == "2001:db8:5::1"
        assert "deprecated=True" in r["sources"][r["hosts"].index("2001:db8:5::1")]


def test_all_ipv4_sorted_by_glibc_not_by_musl(worlds):
    r = worlds("v4-subnets")["allv4-in-subnet"]
    assert r["musl"] == r["hosts"]
    assert r["glibc"] == ["10.1.2.3", "198.51.100.1"]


def test_ipv4_rule9_only_inside_the_subnet_on_glibc(worlds):
    r = worlds("v4-subnets")["outside-subnets"]
    # glibc: neither IPv4 destination is on-link, rule 9 gives 0 to both: input order
    assert [a for a in r["glibc"] if "." in a] == ["198.51.100.1", "10.200.0.1"]
    # musl: 10.200.0.1 shares 8 more bits with 10.1.2.4
    assert [a for a in r["musl"] if "." in a] == ["10.200.0.1", "198.51.100.1"]


def test_prefix_without_length_is_ignored_by_glibc(worlds):
    """glibc reads an uninitialised end pointer for a label/precedence prefix without
    /length; glibc 2.36 on x86-64 ignores the line, and so does v6core (with an error)."""
    r = worlds("gai-no-length")["v4-first-in-input"]
    assert r["glibc"][0] == "2001:db8:5::1"      # built-in precedence still in force
    assert _norm(r["v6core_glibc"]) == _norm(r["glibc"])


@pytest.mark.parametrize("world", sorted(CRASHING))
def test_scopev4_without_length_crashes_glibc_and_lint_says_so(worlds, world):
    from v6core.policy import parse_gai_conf

    r = worlds(world)["ll-v6-vs-v4"]
    assert r["glibc"].startswith("CRASH"), r["glibc"]
    assert not isinstance(r["musl"], str)          # musl never reads gai.conf
    conf = parse_gai_conf(WORLDS[world].gai_conf, path="/etc/gai.conf")
    errors = [d for d in conf.diagnostics if d.severity == "error"]
    assert errors and errors[0].lineno == 1 and "crash" in errors[0].message


def test_nontransitive_corner_follows_glibc_merge_sort(worlds):
    r = worlds("nontransitive")["cycle-3"]
    # 2001:db8:1::5 beats 2001:db8:77::1 on rule 9, yet glibc's merge sort never compares
    # them: [a] merged with [v4, b] keeps a first (rule 10 against the IPv4 one)
    assert r["glibc"] == ["2001:db8:77::1", "198.51.100.1", "2001:db8:1::5"]
    assert _norm(r["v6core_glibc"]) == _norm(r["glibc"])
