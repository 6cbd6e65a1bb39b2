"""The go and rfc6724-update flavours, the Java/Node runtime layers and RFC 8305 order.

Oracles: Go 1.19's own test tables (src/net/addrselect_test.go: TestSortByRFC6724 with
its reversed runs, TestRFC6724PolicyTableClassify, TestRFC6724ClassifyScope,
TestRFC6724CommonPrefixLength), the draft's table as published
(draft-ietf-6man-rfc6724-update-21 section 3.1), and RFC 8305 section 4's text.  The
real runtimes are compared in tests/runtimes/.
"""

from __future__ import annotations

import pytest

from v6core import PolicyTable, explain, sort_destinations
from v6core._core import sortkey
from v6core.errors import PolicyError, RuntimeSpecError
from v6core.runtime import happy_eyeballs, parse_runtime
from v6core.select import default_policy

# Go's TestSortByRFC6724 table: (in, srcs, want, reverse)
GO_SORT_CASES = [
    (["2001:db8:1::1", "198.51.100.121"], ["2001:db8:1::2", "169.254.13.78"],
     ["2001:db8:1::1", "198.51.100.121"], True),
    (["2001:db8:1::1", "198.51.100.121"], ["fe80::1", "198.51.100.117"],
     ["198.51.100.121", "2001:db8:1::1"], True),
    (["2001:db8:1::1", "10.1.2.3"], ["2001:db8:1::2", "10.1.2.4"],
     ["2001:db8:1::1", "10.1.2.3"], True),
    (["2001:db8:1::1", "fe80::1"], ["2001:db8:1::2", "fe80::2"],
     ["fe80::1", "2001:db8:1::1"], True),
    # issue 13283: a 10/8 source does not make 23/8 destinations preferable
    (["54.83.193.112", "184.72.238.214", "23.23.172.185", "75.101.148.21", "23.23.134.56",
      "23.21.50.150"], ["10.2.3.4"] * 6,
     ["54.83.193.112", "184.72.238.214", "23.23.172.185", "75.101.148.21", "23.23.134.56",
      "23.21.50.150"], False),
]


@pytest.mark.parametrize("case", range(len(GO_SORT_CASES)))
def test_go_sort_by_rfc6724_table(case):
    dests, srcs, want, reverse = GO_SORT_CASES[case]
    assert sort_destinations(dests, srcs, flavor="go") == want
    if reverse:
        assert sort_destinations(dests[::-1], srcs[::-1], flavor="go") == want


@pytest.mark.parametrize("ip,prec,label", [
    ("127.0.0.1", 35, 4), ("2601:645:8002:a500:986f:1db8:c836:bd65", 40, 1),
    ("::1", 50, 0), ("2002::ab12", 30, 2)])
def test_go_policy_classify(ip, prec, label):
    assert default_policy("go").classify(ip) == (prec, label)


@pytest.mark.parametrize("ip,scope", [
    ("127.0.0.1", 2), ("::1", 2), ("169.254.1.2", 2), ("fec0::1", 5), ("8.8.8.8", 14),
    ("ff02::", 2), ("ff05::", 5), ("ff04::", 4), ("ff0e::", 14), ("224.0.0.0", 14),
    ("224.2.2.2", 14)])
def test_go_classify_scope(ip, scope):
    assert default_policy("go").compiled("go").scope(ip, "go") == scope


@pytest.mark.parametrize("a,b,want", [
    ("fe80::1", "fe80::2", 64), ("fe81::1", "fe80::2", 15),
    ("1.2.3.4", "1.2.3.4", 32), ("1.2.255.255", "1.2.0.0", 16), ("1.2.127.255", "1.2.0.0", 17),
    ("1.2.63.255", "1.2.0.0", 18), ("1.2.31.255", "1.2.0.0", 19), ("1.2.15.255", "1.2.0.0", 20),
    ("1.2.7.255", "1.2.0.0", 21), ("1.2.3.255", "1.2.0.0", 22), ("1.2.1.255", "1.2.0.0", 23),
    ("1.2.0.255", "1.2.0.0", 24)])
def test_go_common_prefix_len(a, b, want):
    assert sortkey.common_prefix_len(a, b, sortkey.GO) == want


def test_go_ignores_flags_and_caps_rule9_at_64():
    from v6core import SourceAddress
    # rule 3 would put the deprecated source last; Go does not implement it
    dests = ["2001:db8:1::1", "2001:db8:2::1"]
    srcs = [SourceAddress("2001:db8:1::2", deprecated=True), SourceAddress("2001:db8:2::2")]
    assert sort_destinations(dests, srcs, flavor="rfc6724") == dests[::-1]
    assert sort_destinations(dests, srcs, flavor="go") == dests
    # 64 vs 120 common bits: equal for Go, so input order stays
    dests = ["2001:db8::1:0:0:1", "2001:db8::ff"]
    srcs = ["2001:db8::1", "2001:db8::1"]
    assert sort_destinations(dests, srcs, flavor="go") == dests
    assert sort_destinations(dests[::-1], srcs, flavor="go") == dests[::-1]


def test_go_two_unusable_are_equal_even_across_precedence():
    # rule 6 would put the IPv6 destination first; Go stops at rule 1 ("equal")
    dests = ["192.0.2.1", "2001:db8::1"]
    assert sort_destinations(dests, [None, None], flavor="rfc6724") == dests[::-1]
    assert sort_destinations(dests, [None, None], flavor="go") == dests


def _go_stable_python(items, less):
    """Go 1.19 sort.Stable, transcribed independently for the long-input check."""
    data = list(items)

    def swap(i, j):
        data[i], data[j] = data[j], data[i]

    def L(i, j):
        return less(data[i], data[j])

    def ins(a, b):
        for i in range(a + 1, b):
            j = i
            while j > a and L(j, j - 1):
                swap(j, j - 1)
                j -= 1

    def symmerge(a, m, b):
        if m - a == 1:
            i, j = m, b
            while i < j:
                h = (i + j) // 2
                if L(h, a):
                    i = h + 1
                else:
                    j = h
            for k in range(a, i - 1):
                swap(k, k + 1)
            return
        if b - m == 1:
            i, j = a, m
            while i < j:
                h = (i + j) // 2
                if not L(m, h):
                    i = h + 1
                else:
                    j = h
            for k in range(m, i, -1):
                swap(k, k - 1)
            return
        mid = (a + b) // 2
        n = mid + m
        if m > mid:
            start, r = n - b, mid
        else:
            start, r = a, m
        p = n - 1
        while start < r:
            c = (start + r) // 2
            if not L(p - c, c):
                start = c + 1
            else:
                r = c
        end = n - start
        if start < m < end:
            data[start:end] = data[m:end] + data[start:m]
        if a < start < mid:
            symmerge(a, start, mid)
        if mid < end < b:
            symmerge(mid, end, b)

    n = len(data)
    bs = 20
    a, b = 0, bs
    while b <= n:
        ins(a, b)
        a, b = b, b + bs
    ins(a, n)
    while bs < n:
        a, b = 0, 2 * bs
        while b <= n:
            symmerge(a, a + bs, b)
            a, b = b, b + 2 * bs
        if a + bs < n:
            symmerge(a, a + bs, n)
        bs *= 2
    return data


def test_go_sort_long_non_transitive_inputs_match_sort_stable():
    """More than 20 answers with IPv4/IPv6 ties exercise SymMerge; the comparator here is
    Go's Less written from addrselect.go over ipaddress (independent of sortkey)."""
    import ipaddress
    import random
    rnd = random.Random(11)

    def attrs(d, s):
        da = ipaddress.ip_address(d)
        v4 = da.version == 4
        return {"d": d, "v4": v4, "src": s, "prec": 35 if v4 else 40,
                "cpl": None if s is None or v4 else min(64, 128 - (
                    int(da) ^ int(ipaddress.ip_address(s))).bit_length())}

    def less(a, b):
        if a["src"] is None and b["src"] is None:
            return False
        if b["src"] is None:
            return True
        if a["src"] is None:
            return False
        if a["prec"] != b["prec"]:
            return a["prec"] > b["prec"]
        if not a["v4"] and not b["v4"] and a["cpl"] != b["cpl"]:
            return a["cpl"] > b["cpl"]
        return False

    for _ in range(200):
        n = rnd.randrange(2, 70)
        dests, srcs = [], []
        for _k in range(n):
            if rnd.random() < 0.5:
                dests.append(f"2001:db8:{rnd.randrange(4):x}::{rnd.randrange(1, 9999):x}")
                srcs.append(rnd.choice(["2001:db8::1", "2001:db8:1::1", None]))
            else:
                dests.append(f"198.51.100.{rnd.randrange(1, 255)}")
                srcs.append(rnd.choice(["192.0.2.5", None]))
        want = [x["d"] for x in _go_stable_python(
            [attrs(d, s) for d, s in zip(dests, srcs, strict=True)], less)]
        assert sort_destinations(dests, srcs, flavor="go") == want


# ---------------------------------------------------------------- rfc6724-update

def test_update_table_is_the_drafts():
    t = PolicyTable.rfc6724_update()
    want = {"::1": (50, 0), "2001:db8::1": (40, 1), "192.0.2.1": (20, 4), "2002::1": (5, 2),
            "2001::1": (5, 5), "fd00::1": (30, 13), "fc00::1": (30, 13), "::1.2.3.4": (1, 3),
            "fec0::1": (1, 11), "3ffe::1": (1, 12)}
    for a, pl in want.items():
        assert t.classify(a) == pl, a


def test_known_local_rows_from_sources_and_argument():
    dests = ["fd12:3456:789a:1::1", "192.0.2.1", "fd99::1"]
    srcs = ["fd12:3456:789a::2", "192.0.2.5", "fd12:3456:789a::2"]
    ex = explain(dests, srcs, flavor="rfc6724-update")
    assert ex.policy.known_local == ("fd12:3456:789a::/48",)
    assert ex.rows[0]["precedence"] == 45 and ex.rows[0]["label"] == 14
    assert any("fd12:3456:789a::/48" in n for n in ex.notes)
    # fd99::1 is not known-local: label 13 against the source's 14, so IPv4 wins (rule 5)
    assert ex.order == ["fd12:3456:789a:1::1", "192.0.2.1", "fd99::1"]
    # insertion off: every ULA is 30/13, both beat IPv4 (20)
    off = sort_destinations(dests, srcs, flavor="rfc6724-update", learn_known_local=False)
    assert off.index("192.0.2.1") == 2
    extra = explain(dests, srcs, flavor="rfc6724-update", known_local=["fd99::/48"])
    assert set(extra.policy.known_local) == {"fd12:3456:789a::/48", "fd99::/48"}
    assert extra.order[-1] == "192.0.2.1"


@pytest.mark.parametrize("bad", ["fc00::1", "2001:db8::/48", "fd00::/40", "10.0.0.1", "x"])
def test_known_local_outside_fd00_is_an_error(bad):
    with pytest.raises(PolicyError, match="known-local prefix 0"):
        PolicyTable.rfc6724_update([bad])


# ---------------------------------------------------------------- runtimes

def test_runtime_specs_and_errors():
    assert str(parse_runtime("java")) == "java:false"
    assert str(parse_runtime("node")) == "node:verbatim"
    assert parse_runtime("go").flavor == "go"
    for bad, what in (("python", "valid: go"), ("java:maybe", "false|true|system"),
                      ("node:first", "verbatim|ipv4first|ipv6first"), (3, "valid")):
        with pytest.raises(RuntimeSpecError, match=what):
            parse_runtime(bad)


def test_java_and_node_steps():
    dests = ["2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.1"]
    srcs = ["2001:db8::9", "192.0.2.5", "2001:db8::9", "192.0.2.5"]
    base = sort_destinations(dests, srcs, flavor="glibc")
    assert base == ["2001:db8::1", "2001:db8::2", "192.0.2.1", "192.0.2.1"]
    assert sort_destinations(dests, srcs, flavor="glibc", runtime="java") == \
        ["192.0.2.1", "2001:db8::1", "2001:db8::2"]
    assert sort_destinations(dests, srcs, flavor="glibc", runtime="java:true") == \
        ["2001:db8::1", "2001:db8::2", "192.0.2.1"]
    assert sort_destinations(dests, srcs, flavor="glibc", runtime="node") == base
    assert sort_destinations(dests, srcs, flavor="glibc", runtime="node:ipv4first") == \
        ["192.0.2.1", "192.0.2.1", "2001:db8::1", "2001:db8::2"]
    ex = explain(dests, srcs, flavor="glibc", runtime="java")
    assert ex.runtime_steps[0].by == "java:false"
    assert "java:false" in str(ex)


def test_happy_eyeballs_interleaves_from_the_first_family():
    def v4(d):
        return "." in d
    # RFC 8305 section 4: one of the first family, then alternate
    assert happy_eyeballs(["a::1", "a::2", "a::3", "1.1.1.1", "2.2.2.2"], v4) == \
        ["a::1", "1.1.1.1", "a::2", "2.2.2.2", "a::3"]
    assert happy_eyeballs(["1.1.1.1", "a::1", "2.2.2.2"], v4) == ["1.1.1.1", "a::1", "2.2.2.2"]
    assert happy_eyeballs(["a::1", "a::2", "1.1.1.1"], v4, 2) == ["a::1", "a::2", "1.1.1.1"]
    assert happy_eyeballs([], v4) == []
    with pytest.raises(ValueError):
        happy_eyeballs(["a::1"], v4, 0)
    ex = explain(["2001:db8::1", "2001:db8::2", "192.0.2.1"],
                 ["2001:db8::9", "2001:db8::9", "192.0.2.5"], happy_eyeballs=True)
    assert ex.attempts == ["2001:db8::1", "192.0.2.1", "2001:db8::2"]


def test_bulk_go_reproduces_gos_own_table():
    # Go's TestSortByRFC6724 cases (with its reversed runs) through the bulk kernel, one
    # group each: the oracle is Go's expected order, not the per-call path
    import numpy as np

    from v6core._core import addr, bulk
    groups = []
    for dests, srcs, want, reverse in GO_SORT_CASES:
        groups.append((dests, srcs, want))
        if reverse:
            groups.append((dests[::-1], srcs[::-1], want))
    dst = addr.pack_many([d for g in groups for d in g[0]])
    src = addr.pack_many([s for g in groups for s in g[1]])
    offsets = np.cumsum([0] + [len(g[0]) for g in groups])
    res = bulk.order_groups(dst, src, offsets=offsets, flavor="go")
    for g, (dests, _, want) in enumerate(groups):
        got = [dests[int(r) - offsets[g]] for r in res.order[offsets[g]:offsets[g + 1]]]
        assert got == want, g
    with pytest.raises(ValueError, match="unknown flavor"):
        bulk.sort_keys(dst, src, offsets=offsets, flavor="java")


def test_source_rule_5_5_next_hop_prefixes():
    from v6core import SourceAddress, select_source
    cands = [SourceAddress("2001:db8:a::5"), SourceAddress("2001:db8:b::5")]
    # without next-hop information rule 8 decides (longer common prefix with 2001:db8:b::1)
    assert select_source("2001:db8:b::1", cands).address == "2001:db8:b::5"
    # the next hop advertised 2001:db8:a::/64: rule 5.5 comes before rule 8
    got = select_source("2001:db8:b::1", cands, next_hop_prefixes=["2001:db8:a::/64"])
    assert got.address == "2001:db8:a::5"
    with pytest.raises(ValueError, match="next-hop prefix 0"):
        select_source("2001:db8:b::1", cands, next_hop_prefixes=["zzz"])
