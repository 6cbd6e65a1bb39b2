"""Bulk ordering kernels (v6core._core.bulk) against the per-call API (v6core.select).

The oracle is the independent per-destination API: ``musl_sort_key`` for every row,
``sort_destinations`` for every group, ``select_source`` for every source choice.
Rows mix families, scopes, ULA, Teredo (2001::/32), 6to4 (2002::/16), IPv4-mapped,
unreachable sources and every source flag.
"""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from v6core import (
    PolicyTable,
    SourceAddress,
    explain,
    musl_sort_key,
    select_source,
    sort_destinations,
)
from v6core._core import bulk
from v6core._core.addr import pack

# ---------------------------------------------------------------- address strategies

# (prefix text, prefix length): each address category the rules treat differently
CATEGORIES = [
    ("2001:db8::", 32),          # global unicast (documentation)
    ("2001:db8:1:2::", 64),      # global, a common /64 so rule 9 has something to compare
    ("2001::", 32),              # Teredo
    ("2002::", 16),              # 6to4
    ("fd00::", 8),               # ULA
    ("fd12:3456::", 32),
    ("fe80::", 64),              # link-local
    ("::1", 128),                # loopback
    ("fec0::", 10),              # site-local (deprecated)
    ("ff0e::", 16),              # multicast, global scope
    ("ff02::", 16),              # multicast, link scope
    ("::", 96),                  # IPv4-compatible
    ("3ffe::", 16),              # 6bone
    ("::ffff:192.0.2.0", 120),   # IPv4 public
    ("::ffff:10.0.0.0", 104),    # IPv4 private
    ("::ffff:127.0.0.0", 104),   # IPv4 loopback
    ("::ffff:169.254.0.0", 112), # IPv4 link-local
    ("::ffff:172.16.0.0", 108),
]
_CAT = [(int(ipaddress.IPv6Address(p)), n) for p, n in CATEGORIES]


@st.composite
def addresses(draw):
    base, plen = draw(st.sampled_from(_CAT))
    host_bits = 128 - plen
    host = draw(st.integers(0, (1 << host_bits) - 1)) if host_bits else 0
    return (base | host).to_bytes(16, "big")


@st.composite
def near(draw, dst: bytes):
    """An address sharing a random-length prefix with ``dst`` (exercises rule 9)."""
    d = int.from_bytes(dst, "big")
    keep = draw(st.integers(0, 128))
    rand = draw(st.integers(0, (1 << 128) - 1))
    mask = ((1 << 128) - 1) ^ ((1 << (128 - keep)) - 1)
    return ((d & mask) | (rand & ~mask & ((1 << 128) - 1))).to_bytes(16, "big")


def _is_v4(b: bytes) -> bool:
    return b[:12] == b"\0" * 10 + b"\xff\xff"


@st.composite
def rows(draw, max_group: int):
    """One group: [(dst16, src16 or None, flags, plen or None)]."""
    n = draw(st.integers(1, max_group))
    out = []
    for _ in range(n):
        d = draw(addresses())
        kind = draw(st.sampled_from(["near", "any", "none", "same-family"]))
        if kind == "none":
            s = None
        elif kind == "near":
            s = draw(near(d))
        elif kind == "same-family":
            s = draw(addresses().filter(lambda a, d=d: _is_v4(a) == _is_v4(d)))
        else:
            s = draw(addresses())
        flags = 0
        for bit, p in ((bulk.FLAG_DEPRECATED, 0.2), (bulk.FLAG_HOME, 0.1),
                       (bulk.FLAG_CARE_OF, 0.1), (bulk.FLAG_ENCAPSULATED, 0.15),
                       (bulk.FLAG_OPTIMISTIC, 0.1), (bulk.FLAG_TEMPORARY, 0.1)):
            if draw(st.floats(0, 1)) < p:
                flags |= bit
        plen = None
        if s is not None and draw(st.booleans()):
            plen = draw(st.integers(0, 32 if _is_v4(s) else 128))
        out.append((d, s, flags, plen))
    return out


# policies whose equal precedences make IPv4/IPv6 ties on rules 1-8 (the exact path)
EQUAL_PREC = PolicyTable([("::1/128", 50, 0), ("::/0", 40, 1), ("::ffff:0:0/96", 40, 1),
                          ("2002::/16", 40, 1), ("fc00::/7", 40, 1), ("2001::/32", 5, 5)])
ULA_FIX = PolicyTable([("::1/128", 50, 0), ("::/0", 40, 1), ("fd00::/8", 45, 1),
                       ("::ffff:0:0/96", 35, 4), ("2002::/16", 30, 2), ("2001::/32", 5, 5),
                       ("fc00::/7", 3, 13)])
POLICIES = [None, EQUAL_PREC, ULA_FIX]


def _arrays(groups):
    dst, src, flags, plen, offsets = [], [], [], [], [0]
    for g in groups:
        for d, s, f, p in g:
            dst.append(d)
            src.append(s if s is not None else bytes(16))
            flags.append(f | (bulk.FLAG_USABLE if s is not None else 0))
            plen.append(bulk.PLEN_UNKNOWN if p is None else p)
        offsets.append(len(dst))
    return (np.frombuffer(b"".join(dst), np.uint8).reshape(-1, 16).copy(),
            np.frombuffer(b"".join(src), np.uint8).reshape(-1, 16).copy(),
            np.array(flags, np.uint8), np.array(plen, np.uint8), np.array(offsets, np.int64))


def _source(s, f, p):
    if s is None:
        return None
    return SourceAddress(s, prefixlen=p, deprecated=bool(f & bulk.FLAG_DEPRECATED),
                         temporary=bool(f & bulk.FLAG_TEMPORARY), home=bool(f & bulk.FLAG_HOME),
                         care_of=bool(f & bulk.FLAG_CARE_OF),
                         encapsulated=bool(f & bulk.FLAG_ENCAPSULATED),
                         optimistic=bool(f & bulk.FLAG_OPTIMISTIC))


def _reference_order(group, flavor, policy):
    dests = [bytes(d) for d, _, _, _ in group]           # distinct objects: map back by id
    srcs = [_source(s, f, p) for _, s, f, p in group]
    ordered = sort_destinations(dests, srcs, flavor=flavor, policy=policy)
    where = {id(d): i for i, d in enumerate(dests)}
    return [where[id(d)] for d in ordered]


# ---------------------------------------------------------------- musl keys, every row

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows(6), min_size=1, max_size=20))
def test_musl_keys_equal_musl_sort_key_for_every_row(groups):
    dst, src, flags, _, offsets = _arrays(groups)
    keys = bulk.musl_keys(dst, src, flags, offsets=offsets)
    pos = bulk.positions(offsets)
    for r in range(dst.shape[0]):
        s = bytes(src[r]) if flags[r] & bulk.FLAG_USABLE else None
        assert int(keys[r]) == musl_sort_key(bytes(dst[r]), s, int(pos[r])), r
    # the same keys through sort_keys and with explicit positions
    assert np.array_equal(bulk.sort_keys(dst, src, flags, offsets=offsets, flavor="musl"), keys)
    assert np.array_equal(bulk.musl_keys(dst, src, flags, pos.astype(np.uint8)), keys)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows(4), min_size=1, max_size=10))
def test_musl_keys_with_a_custom_table_use_that_table(groups):
    dst, src, flags, _, offsets = _arrays(groups)
    keys = bulk.sort_keys(dst, src, flags, offsets=offsets, flavor="musl", policy=ULA_FIX)
    pos = bulk.positions(offsets)
    for r in range(dst.shape[0]):
        s = bytes(src[r]) if flags[r] & bulk.FLAG_USABLE else None
        assert int(keys[r]) == musl_sort_key(bytes(dst[r]), s, int(pos[r]), policy=ULA_FIX)


def test_musl_key_fields_by_hand():
    # musl's lookup_name.c: a global IPv6 destination reached from a ULA source, position 0.
    # usable (1 << 30), scopes both global (14 == 14: 1 << 29), labels 1 vs 13 differ,
    # precedence 40 << 20, (15 - 14) << 16, common prefix of 2001:db8::1 and fd00::1 is 0
    # bits, 48 - 0.
    dst = np.frombuffer(pack("2001:db8::1"), np.uint8).reshape(1, 16)
    src = np.frombuffer(pack("fd00::1"), np.uint8).reshape(1, 16)
    want = (1 << 30) | (1 << 29) | (40 << 20) | (1 << 16) | (0 << 8) | 48
    assert int(bulk.musl_keys(dst, src, np.array([1], np.uint8), np.array([0], np.uint8))[0]) == want
    # unreachable: only precedence, scope and position remain
    got = bulk.musl_keys(dst, src, np.array([0], np.uint8), np.array([3], np.uint8))[0]
    assert int(got) == (40 << 20) | (1 << 16) | 45


# ---------------------------------------------------------------- group orders, 3 flavours

@pytest.mark.parametrize("flavor", bulk.FLAVORS)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups=st.lists(rows(7), min_size=1, max_size=25), pi=st.integers(0, len(POLICIES) - 1))
def test_group_orders_equal_sort_destinations(flavor, groups, pi):
    policy = POLICIES[pi]
    dst, src, flags, plen, offsets = _arrays(groups)
    res = bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor=flavor,
                            policy=policy, threads=2)
    for g, group in enumerate(groups):
        lo = offsets[g]
        want = _reference_order(group, flavor, policy)
        got = [int(r) - lo for r in res.order[lo:offsets[g + 1]]]
        assert got == want, (g, flavor, res.exact[g])
        assert res.first[g] == lo + want[0]
        steps = explain([bytes(d) for d, _, _, _ in group],
                        [_source(s, f, p) for _, s, f, p in group],
                        flavor=flavor, policy=policy).steps
        assert res.rule[g] == ((steps[0].rule or 0) if steps else 0), (g, flavor)
    # first/rule without the full order are the same
    res2 = bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor=flavor,
                             policy=policy, want_order=False, threads=1)
    assert res2.order is None
    assert np.array_equal(res2.first, res.first) and np.array_equal(res2.rule, res.rule)


@pytest.mark.parametrize("flavor", bulk.FLAVORS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups=st.lists(rows(5), min_size=1, max_size=15), data=st.data())
def test_selected_groups_only(flavor, groups, data):
    # ``groups=``: the selected groups ordered as sort_destinations orders them, the
    # others untouched (first -1, input order), with a bool or a uint8 mask
    dst, src, flags, plen, offsets = _arrays(groups)
    sel = np.array(data.draw(st.lists(st.booleans(), min_size=len(groups),
                                      max_size=len(groups))))
    mask = sel if data.draw(st.booleans()) else sel.astype(np.uint8)
    res = bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor=flavor,
                            groups=mask, threads=2)
    for g, group in enumerate(groups):
        lo, hi = offsets[g], offsets[g + 1]
        if sel[g]:
            want = _reference_order(group, flavor, None)
            assert [int(r) - lo for r in res.order[lo:hi]] == want
            assert res.first[g] == lo + want[0]
        else:
            assert res.first[g] == -1 and res.rule[g] == 0 and res.exact[g] == 0
            assert list(res.order[lo:hi]) == list(range(lo, hi))
    with pytest.raises(ValueError, match="groups: expected a C-contiguous uint8 array"):
        bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor=flavor,
                          groups=np.ones(len(sel) + 1, np.uint8))


def test_exact_path_non_transitive_rule9_matches_sort_destinations():
    # Equal precedence for IPv4 and IPv6: A (IPv6, long match), B (IPv4), C (IPv6, short
    # match) tie on rules 1-8.  Pairwise: A > C by rule 9, B and C by rule 10 input order,
    # A and B by rule 10.  Input order C, B, A makes a cycle (C > B > A > C).
    group = [(pack("2001:db8:ffff::1"), pack("2001:db9::1"), 0, None),   # C
             (pack("192.0.2.1"), pack("192.0.2.9"), 0, None),            # B
             (pack("2001:db8::1"), pack("2001:db8::2"), 0, None)]        # A
    dst, src, flags, plen, offsets = _arrays([group])
    for flavor in ("rfc6724", "glibc"):
        res = bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor=flavor,
                                policy=EQUAL_PREC)
        assert res.exact[0] & bulk.EXACT_RULE9
        assert list(res.order) == _reference_order(group, flavor, EQUAL_PREC)
        # a plain sort by the key would not give this order
        keys = bulk.sort_keys(dst, src, flags, plen, offsets=offsets, flavor=flavor,
                              policy=EQUAL_PREC)
        assert list(np.argsort(-keys.astype(np.float64), kind="stable")) != list(res.order)


def test_rule_reported_is_the_deciding_rule():
    # ULA source (label 13) against IPv4 (label 4 matches): rule 5 puts IPv4 first (rfc6724)
    group = [(pack("2001:db8::1"), pack("fd00::1"), 0, 64),
             (pack("192.0.2.1"), pack("10.0.0.2"), 0, 24)]
    dst, src, flags, plen, offsets = _arrays([group])
    for flavor in bulk.FLAVORS:
        res = bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor=flavor)
        ex = explain([bytes(d) for d in dst], [_source(s, f, p) for _, s, f, p in group],
                     flavor=flavor)
        assert int(res.rule[0]) == ex.steps[0].rule


def test_musl_all_ipv4_and_single_candidates_are_left_unsorted():
    groups = [[(pack("192.0.2.1"), None, 0, None), (pack("192.0.2.2"), pack("10.0.0.1"), 0, None)],
              [(pack("2001:db8::1"), pack("2001:db8::2"), 0, None)]]
    dst, src, flags, plen, offsets = _arrays(groups)
    res = bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor="musl")
    assert list(res.order) == [0, 1, 2]          # musl skips the sort: unreachable stays first
    assert list(res.rule) == [0, 0]
    res = bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor="glibc")
    assert list(res.order) == [1, 0, 2] and res.rule[0] == 1


# ---------------------------------------------------------------- source selection

@st.composite
def hosts(draw):
    n = draw(st.integers(0, 5))
    out = []
    for _ in range(n):
        a = draw(addresses())
        f = 0
        for bit in (bulk.FLAG_DEPRECATED, bulk.FLAG_HOME, bulk.FLAG_CARE_OF,
                    bulk.FLAG_TEMPORARY):
            if draw(st.floats(0, 1)) < 0.2:
                f |= bit
        p = draw(st.one_of(st.none(), st.integers(0, 32 if _is_v4(a) else 128)))
        out.append((a, f, p))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hs=st.lists(hosts(), min_size=1, max_size=6), data=st.data(),
       prefer_temp=st.booleans())
def test_select_sources_equal_select_source(hs, data, prefer_temp):
    cand, cflags, cplen, hoff = [], [], [], [0]
    for h in hs:
        for a, f, p in h:
            cand.append(a)
            cflags.append(f)
            cplen.append(bulk.PLEN_UNKNOWN if p is None else p)
        hoff.append(len(cand))
    n = data.draw(st.integers(1, 30))
    host = [data.draw(st.integers(0, len(hs) - 1)) for _ in range(n)]
    dsts = []
    for h in host:
        if hs[h] and data.draw(st.booleans()):
            dsts.append(data.draw(near(hs[h][data.draw(st.integers(0, len(hs[h]) - 1))][0])))
        else:
            dsts.append(data.draw(addresses()))
    dst = np.frombuffer(b"".join(dsts), np.uint8).reshape(-1, 16).copy()
    candidates = (np.frombuffer(b"".join(cand), np.uint8).reshape(-1, 16).copy() if cand
                  else np.zeros((0, 16), np.uint8))
    res = bulk.select_sources(dst, np.array(host), np.array(hoff),
                              candidates, np.array(cflags, np.uint8), np.array(cplen, np.uint8),
                              prefer_temporary=prefer_temp)
    for r in range(n):
        objs = [_source(a, f, p) for a, f, p in hs[host[r]]]
        chosen = select_source(dsts[r], objs, prefer_temporary=prefer_temp)
        if chosen is None:
            assert res.choice[r] == -1 and not res.flags[r] & bulk.FLAG_USABLE
        else:
            k = next(i for i, o in enumerate(objs) if o is chosen)
            assert res.choice[r] == hoff[host[r]] + k
            assert bytes(res.src[r]) == chosen.packed
            assert res.flags[r] & bulk.FLAG_USABLE


# ---------------------------------------------------------------- inputs and errors

def test_helpers_offsets_positions_chunks():
    offsets, ids = bulk.offsets_from_groups(np.array([7, 7, 3, 3, 3, 9]))
    assert list(offsets) == [0, 2, 5, 6] and list(ids) == [7, 3, 9]
    assert list(bulk.positions(offsets)) == [0, 1, 0, 1, 2, 0]
    with pytest.raises(ValueError, match="group 7"):
        bulk.offsets_from_groups(np.array([7, 3, 7]))
    assert list(bulk.iter_chunks(np.array([0, 2, 5, 6, 10]), 5)) == [(0, 2), (2, 4)]
    assert list(bulk.iter_chunks(np.array([0, 7, 8]), 3)) == [(0, 1), (1, 2)]
    rows16 = bulk.as_rows(["2001:db8::1", "192.0.2.1"])
    assert rows16.shape == (2, 16) and bytes(rows16[1]) == pack("192.0.2.1")
    v = np.frombuffer(rows16.tobytes(), dtype="V16")
    assert np.array_equal(bulk.as_rows(v), rows16)


@pytest.mark.parametrize("call, match", [
    (lambda d: bulk.musl_keys(d[:, :8].copy(), d, offsets=[0, 2]), "dst: expected"),
    (lambda d: bulk.musl_keys(d, d[:1].copy(), offsets=[0, 2]), "src: expected 2 rows"),
    (lambda d: bulk.musl_keys(d, d), "give pos"),
    (lambda d: bulk.musl_keys(d, d, pos=np.array([0, 48], np.uint8)), "row 1 has position 48"),
    (lambda d: bulk.order_groups(d, d, offsets=[0, 3]), "end at the row count 2"),
    (lambda d: bulk.order_groups(d, d, offsets=[0, 2, 1, 2]), "decreasing at group 1"),
    (lambda d: bulk.order_groups(d, d, offsets=[0, 2], flavor="bsd"), "unknown flavor"),
    (lambda d: bulk.order_groups(d, d, np.ones(3, np.uint8), offsets=[0, 2]), "flags: expected"),
    (lambda d: bulk.select_sources(d, [0, 5], [0, 2], d), "row 1 names host 5"),
])
def test_bad_input_is_a_clear_error(call, match):
    d = bulk.as_rows(["2001:db8::1", "192.0.2.1"])
    with pytest.raises(ValueError, match=match):
        call(d)


def test_musl_group_limit():
    d = np.zeros((49, 16), np.uint8)
    with pytest.raises(ValueError, match="at most 48"):
        bulk.order_groups(d, d, offsets=[0, 49], flavor="musl")


def test_threads_give_the_same_answer():
    rng = np.random.default_rng(7)
    n = 200_000
    dst = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    dst[::2, :12] = [0] * 10 + [255, 255]
    src = dst.copy()
    src[:, 14:] = rng.integers(0, 256, (n, 2), dtype=np.uint8)
    flags = (rng.random(n) < 0.9).astype(np.uint8)
    offsets = np.arange(0, n + 1, 4)
    for flavor in bulk.FLAVORS:
        one = bulk.order_groups(dst, src, flags, offsets=offsets, flavor=flavor, threads=1)
        two = bulk.order_groups(dst, src, flags, offsets=offsets, flavor=flavor, threads=2)
        assert np.array_equal(one.order, two.order) and np.array_equal(one.rule, two.rule)
    k1 = bulk.musl_keys(dst, src, flags, offsets=offsets, threads=1)
    assert np.array_equal(k1, bulk.musl_keys(dst, src, flags, offsets=offsets, threads=2))


def _every_first_16_bits(rng, special) -> np.ndarray:
    """(65536 + len(special), 16) addresses: one per first-16-bit value (the rest
    random), then the ``special`` ones (the addresses the fast kernels need more than 16
    bits for)."""
    dst = rng.integers(0, 256, (65536 + len(special), 16), dtype=np.uint8)
    dst[:65536, 0] = np.arange(65536) >> 8
    dst[:65536, 1] = np.arange(65536) & 0xFF
    for i, a in enumerate(special):
        dst[65536 + i] = np.frombuffer(pack(a), np.uint8)
    return dst


def test_musl_keys_every_first_16_bits():
    # The fast kernel classifies by the first 16 bits plus fix-ups: sweep all 65536 of them
    # (and the addresses needing more than 16 bits) against musl_sort_key.
    rng = np.random.default_rng(5)
    dst = _every_first_16_bits(rng, ("::1", "::", "::2", "::ffff:1.2.3.4", "::fffe:1.2.3.4",
                                     "::1:ffff:1.2.3.4", "2001::1", "2001:0:1::1", "2001:1::",
                                     "2002::1", "fe80::1", "febf::1", "fec0::1", "ff02::1",
                                     "ff0f::1", "fc00::1", "fdff::1", "fe00::1"))
    n = dst.shape[0]
    src = dst[rng.permutation(n)].copy()
    src[::7] = dst[::7]
    flags = (rng.random(n) < 0.8).astype(np.uint8)
    pos = rng.integers(0, 48, n).astype(np.uint8)
    keys = bulk.musl_keys(dst, src, flags, pos)
    for r in range(n):
        s = bytes(src[r]) if flags[r] else None
        assert int(keys[r]) == musl_sort_key(bytes(dst[r]), s, int(pos[r])), r


# RFC 6724 section 2.1 and draft-ietf-6man-rfc6724-update-21 section 3.1, transcribed
# here as the oracle of the table-driven kernel: (prefix, precedence, label)
_RFC_TABLE = [("::1/128", 50, 0), ("::/0", 40, 1), ("::ffff:0:0/96", 35, 4),
              ("2002::/16", 30, 2), ("2001::/32", 5, 5), ("fc00::/7", 3, 13),
              ("::/96", 1, 3), ("fec0::/10", 1, 11), ("3ffe::/16", 1, 12)]
_UPDATE_TABLE = [("::1/128", 50, 0), ("::/0", 40, 1), ("::ffff:0:0/96", 20, 4),
                 ("2002::/16", 5, 2), ("2001::/32", 5, 5), ("fc00::/7", 30, 13),
                 ("::/96", 1, 3), ("fec0::/10", 1, 11), ("3ffe::/16", 1, 12)]


def _oracle_attrs(table, a: int) -> tuple[int, int, int]:
    """(precedence, label, scope) of address ``a`` by longest match and RFC 6724 3.1-3.2."""
    best = None
    for net, prec, label in table:
        n = net.prefixlen
        if a >> (128 - n) == int(net.network_address) >> (128 - n) and (
                best is None or n > best[0]):
            best = (n, prec, label)
    ip = ipaddress.IPv6Address(a)
    v4 = ip.ipv4_mapped
    if ip.is_multicast:
        scope = (a >> 112) & 0xF
    elif ip.is_link_local or ip == ipaddress.IPv6Address("::1"):
        scope = 2
    elif ip.is_site_local:
        scope = 5
    elif v4 is not None and (v4.is_loopback or v4.is_link_local):
        scope = 2
    else:
        scope = 14
    assert best is not None
    return best[1], best[2], scope


_RANK = {0: 1, bulk.FLAG_HOME: 2, bulk.FLAG_CARE_OF: 0, bulk.FLAG_HOME | bulk.FLAG_CARE_OF: 3}


@pytest.mark.parametrize("flavor", ["rfc6724", "go", "rfc6724-update", "rfc6724-update:learn"])
def test_table_driven_keys_at_every_first_16_bits(flavor):
    # rfc6724, go and the update read precedence, label and scope from a table by the
    # first 16 bits plus classes (::1, IPv4 and its link-local scopes, ::/96, Teredo):
    # sweep all 65536 first-16-bit values and the addresses needing more, one row per
    # lookup, against the RFC's tables and scopes by ipaddress, RFC 6724 section 6's
    # rules 3, 4 and 7 by the flags, and (":learn") the draft's known-local /48 of a
    # lookup's one source
    flavor, _, learn = flavor.partition(":")
    rng = np.random.default_rng(11)
    dst = _every_first_16_bits(rng, (
        "::1", "::", "::2", "::ffff:1.2.3.4", "::ffff:127.0.0.1", "::ffff:169.254.9.9",
        "::ffff:169.255.0.1", "::fffe:1.2.3.4", "::1:ffff:1.2.3.4", "::1:0:0:1", "2001::1",
        "2001:0:1::1", "2001:1::", "2002::1", "fe80::1", "febf::1", "fec0::1", "ff02::1",
        "ff0f::1", "fc00::1", "fdff::1", "3ffe::1"))
    n = dst.shape[0]
    src = dst[rng.permutation(n)].copy()
    src[::5] = dst[::5]
    src[1::5, 8:] = dst[1::5, 8:]
    src[2::5, 6:] = dst[2::5, 6:]                      # the same /48
    flags = (rng.random(n) < 0.8).astype(np.uint8) | (
        rng.integers(0, 64, n).astype(np.uint8) & 0x3E)
    plen = np.where(rng.random(n) < 0.5, 255, rng.integers(0, 129, n)).astype(np.uint8)
    keys = bulk.sort_keys(dst, src, flags, plen, offsets=np.arange(n + 1),
                          flavor=flavor, learn_known_local=bool(learn))
    table = [(ipaddress.IPv6Network(t), p, lab) for t, p, lab in
             (_UPDATE_TABLE if flavor == "rfc6724-update" else _RFC_TABLE)]
    learned = 0
    for r in range(n):
        k = int(keys[r])
        d, s = int.from_bytes(bytes(dst[r]), "big"), int.from_bytes(bytes(src[r]), "big")
        dprec, dlabel, dscope = _oracle_attrs(table, d)
        f = int(flags[r])
        usable = bool(f & bulk.FLAG_USABLE)
        if learn and usable and s >> 120 == 0xFD and d >> 80 == s >> 80:
            dprec, dlabel = 45, 14                      # the draft's known-local row
            learned += 1
        assert k & 0xFFF == 4095, r
        if flavor == "go" and not usable:
            assert k == 4095, r                 # Go: unreachable rows are all equal
            continue
        assert (k >> 25) & 0xFFFFFFFF == dprec, (r, hex(d))
        assert 15 - ((k >> 20) & 15) == dscope, (r, hex(d))
        assert bool(k >> 62 & 1) == usable, r
        if not usable:
            assert k >> 57 & 0x3F == 0 and (k >> 12) & 0xFF == 0 and not k >> 24 & 1, r
            continue
        _, slabel, sscope = _oracle_attrs(table, s)
        if learn and s >> 120 == 0xFD:
            slabel = 14
        assert bool(k >> 61 & 1) == (dscope == sscope), (r, hex(d), hex(s))
        assert bool(k >> 57 & 1) == (dlabel == slabel), (r, hex(d), hex(s))
        go = flavor == "go"                      # Go reads no flags: rules 3, 4, 7 tie
        assert bool(k >> 60 & 1) == (go or not f & bulk.FLAG_DEPRECATED), r
        assert k >> 58 & 3 == (1 if go else _RANK[f & (bulk.FLAG_HOME | bulk.FLAG_CARE_OF)])
        assert bool(k >> 24 & 1) == (go or not f & bulk.FLAG_ENCAPSULATED), r
        if not _is_v4(bytes(dst[r])):
            common = 128 - (d ^ s).bit_length()
            cap = 64 if go or plen[r] == 255 else int(plen[r])
            assert (k >> 12) & 0xFF == min(common, cap), r
        elif go or not _is_v4(bytes(src[r])):
            assert (k >> 12) & 0xFF == 0, r      # Go: rule 9 between IPv6 only
        else:
            common = 32 - ((d ^ s) & 0xFFFFFFFF).bit_length()
            assert (k >> 12) & 0xFF == min(common, 32 if plen[r] == 255 else int(plen[r])), r
    assert not learn or learned > 20, learned           # the sweep met known-local rows


def test_which_policies_get_the_table_driven_kernel():
    # the built-in rfc6724, go and update tables must take the table (a None would make
    # the sweep above test the row scan instead); glibc's IPv4 scopes and rows the
    # encoding cannot place take the row scan
    from v6core._core import bulk_keys, sortkey, tables
    for flavor, rules in (("rfc6724", "rfc6724"), ("go", "go"), ("rfc6724-update", "rfc6724")):
        t = bulk_keys.bulk_wide_table(tables.default_compiled(flavor),
                                      sortkey.flavor_code(rules))
        assert t is not None and t.shape == (6 << 16,), flavor
    assert bulk_keys.bulk_wide_table(tables.default_compiled("glibc"),
                                     sortkey.flavor_code("glibc")) is None
    assert bulk_keys.bulk_wide_table(_OWN48.compiled("rfc6724-update"),
                                     sortkey.flavor_code("rfc6724")) is None
    assert bulk_keys.bulk_wide_table(ULA_FIX.compiled("rfc6724"),
                                     sortkey.flavor_code("rfc6724")) is not None
    # shared between calls, so read-only; the values of no row are part of what a
    # table is made from (same rows, other defaults: other tables)
    t = bulk_keys.bulk_wide_table(tables.default_compiled("go"), sortkey.flavor_code("go"))
    assert not t.flags.writeable
    rows = [(pack("2002::"), 16, 7)]
    a, b = (bulk_keys.bulk_wide_table(
        sortkey.CompiledPolicy(rows, rows, precedence_default=d, label_default=1),
        sortkey.flavor_code("rfc6724")) for d in (40, 9))
    assert a is not None and b is not None
    assert a[0x2001] >> 8 == 40 and b[0x2001] >> 8 == 9 and a[0x2002] >> 8 == 7
    with pytest.raises(TypeError):
        bulk_keys.bulk_wide_table(None, 0)


def _check_update_learning(groups):
    """order_groups and sort_keys under rfc6724-update (learning from the sources) against
    sort_destinations, group by group."""
    dst, src, flags, plen, offsets = _arrays(groups)
    res = bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor="rfc6724-update")
    keys = bulk.sort_keys(dst, src, flags, plen, offsets=offsets, flavor="rfc6724-update")
    for g, group in enumerate(groups):
        lo, hi = offsets[g], offsets[g + 1]
        want = _reference_order(group, "rfc6724-update", None)
        assert [int(r) - lo for r in res.order[lo:hi]] == want, g
        if not res.exact[g]:
            assert list(np.argsort(-keys[lo:hi].astype(np.float64), kind="stable")) == want


@pytest.mark.parametrize("n", [32, 33])
def test_update_learning_either_side_of_the_inline_limit(n):
    # lookups of up to 32 rows learn their known-local /48s inline (bulk_kl_group),
    # larger ones by filling rows (sk_known_local_collect); both against sort_destinations
    rng = np.random.default_rng(n)
    groups = []
    for _ in range(6):
        group = []
        for i in range(n):
            p48 = int(rng.choice(_KL48))
            d = ((p48 << 80) | int(rng.integers(0, 1 << 62))).to_bytes(16, "big")
            if i % 5 == 4:
                d = pack(f"192.0.2.{i + 1}")
                s = pack("10.0.0.5")
            else:
                s = ((int(rng.choice(_KL48)) << 80) | 5).to_bytes(16, "big")
            group.append((d, s if i % 7 else None, 0, None))
        groups.append(group)
    _check_update_learning(groups)


@pytest.mark.parametrize("sources", [
    [],                                               # no known-local /48
    ["fd00:0:1::5"],                                  # one
    ["fd00:0:1::5", "fd00:0:1::6"],                   # one, from two sources
    ["fd00:0:1::5", "fd12:3456:789b::5"],             # two: each destination scans
    ["fd00:0:1::5", "fd12:3456:789b::5", "fdff:ffff:ffff::1"],
])
def test_update_learning_with_none_one_or_several_known_local_48s(sources):
    # the inline learning keeps one /48 per lookup and scans the sources when there are
    # more; IPv4 rows and ::1 (whose first 48 bits are all zero, as an unusable row's
    # source is) must never count as inside one.  Every row order of a few such lookups,
    # against sort_destinations.
    others = [("192.0.2.1", "10.0.0.5"), ("::1", "::1"), ("2001:db8::1", None),
              ("fd12:3456:789a::1", "fd12:3456:789a::9"), ("192.0.2.9", None)]
    dests = ["fd00:0:1::1", "fd12:3456:789b::1", "fdff:ffff:ffff::7", "fd00:0:2::1"]
    rows = [(d, s) for d, s in others]
    rows += [(d, sources[i % len(sources)] if sources else None) for i, d in enumerate(dests)]
    rng = np.random.default_rng(len(sources))
    groups = []
    for _ in range(40):
        pick = rng.permutation(len(rows))[:int(rng.integers(2, len(rows) + 1))]
        groups.append([(pack(rows[i][0]), pack(rows[i][1]) if rows[i][1] else None, 0, None)
                       for i in pick])
    _check_update_learning(groups)


def test_group_larger_than_the_key_position_field():
    # 5000 candidates: positions beyond 4095 do not fit the key, so the group is sorted
    # by the exact path; the result still equals sort_destinations.
    rng = np.random.default_rng(0)
    n = 5000
    dst = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    dst[::2, :12] = [0] * 10 + [255, 255]
    src = dst.copy()
    src[:, 8:] = rng.integers(0, 256, (n, 8), dtype=np.uint8)
    flags = np.full(n, bulk.FLAG_USABLE, np.uint8)
    for flavor in ("rfc6724", "glibc"):
        r = bulk.order_groups(dst, src, flags, offsets=[0, n], flavor=flavor)
        assert r.exact[0] & bulk.EXACT_SIZE
        want = sort_destinations([bytes(x) for x in dst], [bytes(x) for x in src],
                                 flavor=flavor)
        assert [bytes(dst[i]) for i in r.order] == want


def test_one_huge_group_is_sorted_in_n_log_n():
    # offsets=[0, N] with the rows in the worst order for an insertion sort by key
    # descending (rule 9's common prefix rising with the position): N**2 / 2 = 8e10 moves
    # quadratically, a fraction of a second as a merge sort.  Oracle, by hand from RFC
    # 6724 section 6: every row ties on rules 1-8 (global IPv6 under ::/0, one usable
    # source), so rule 9 (longer CommonPrefixLen first) then rule 10 (input order) decide.
    import time

    n = 400_000
    src_int = int(ipaddress.IPv6Address("2001:db8::1"))
    cpl = (np.arange(n) * 128) // n                    # 0 .. 127, rising
    flips = [(src_int ^ (1 << (127 - c))).to_bytes(16, "big") for c in range(128)]
    table = np.frombuffer(b"".join(flips), np.uint8).reshape(128, 16)
    dst = np.ascontiguousarray(table[cpl])
    src = np.tile(np.frombuffer(src_int.to_bytes(16, "big"), np.uint8), (n, 1))
    want = np.lexsort((np.arange(n), -cpl))
    t0 = time.monotonic()
    r = bulk.order_groups(dst, src, offsets=[0, n], flavor="glibc")
    took = time.monotonic() - t0
    assert np.array_equal(r.order, want)
    assert r.first[0] == want[0] and r.rule[0] == 10 and r.exact[0] & bulk.EXACT_SIZE
    keys = bulk.sort_keys(dst, src, offsets=[0, n], flavor="glibc")
    assert np.array_equal(np.argsort(-keys[:4096].astype(np.int64), kind="stable"),
                          np.lexsort((np.arange(4096), -cpl[:4096])))
    assert took < 60, f"order_groups took {took:.1f} s for one group of {n} rows"


def test_large_group_key_path_matches_sort_destinations():
    # 3000 rows (below the position limit): the key path's merge sort, not the exact path
    rng = np.random.default_rng(3)
    n = 3000
    dst = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    dst[:, :4] = [0x20, 0x01, 0x0D, 0xB8]
    src = dst.copy()
    src[:, 4:] = rng.integers(0, 256, (n, 12), dtype=np.uint8)
    for flavor in ("rfc6724", "glibc"):
        r = bulk.order_groups(dst, src, offsets=[0, n], flavor=flavor)
        assert r.exact[0] == 0
        want = sort_destinations([bytes(x) for x in dst], [bytes(x) for x in src],
                                 flavor=flavor)
        assert [bytes(dst[i]) for i in r.order] == want


def test_builtin_tables_are_one_definition():
    # the bulk defaults (compiled in the core) are the tables v6core.select uses
    from v6core._core import tables
    from v6core.select import default_policy

    for flavor in bulk.FLAVORS:
        mine = tables.default_compiled(flavor)
        theirs = default_policy(flavor).compiled(flavor)
        assert (mine.precedence_rows, mine.label_rows, mine.scope4_rows) == \
            (theirs.precedence_rows, theirs.label_rows, theirs.scope4_rows)


# ---------------------------------------------------------------- hostile arguments

_D3 = bulk.as_rows(["2001:db8::1", "192.0.2.1", "fd00::1"])
_RO = _D3.copy()
_RO.setflags(write=False)


def _ro(a):
    a = a.copy()
    a.setflags(write=False)
    return a


# values for any integer-array argument (offsets, host, host_offsets): hostile and valid
int_arrays = st.one_of(
    st.lists(st.integers(-(2**70), 2**70), max_size=5),
    st.lists(st.integers(-3, 6), max_size=5),
    st.lists(st.integers(-3, 6), max_size=5).map(lambda v: np.array(v, np.int64)),
    st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=4).map(
        lambda v: np.array(v, np.uint64)),
    st.sampled_from([
        np.array([0.0, 3.0]), np.array([0, 1.5, 3]), np.array([True, False]),
        np.zeros((2, 2), np.int64), np.array([0, 3], np.int64)[::-1][::-1].repeat(2)[::2],
        np.array([0, 1, 2, 3], np.int32), np.array([0, 3], object), np.array(["0", "3"]),
        np.int64(3), None, "0,3", [[0, 3]], [0, None, 3], [0, 2**63, 3], [0, -2**63, 3],
    ]),
)
# values for row arrays (dst, src, candidates)
row_arrays = st.sampled_from([
    np.zeros((3, 15), np.uint8), np.zeros((3, 17), np.uint8), np.zeros((3, 16), np.int8),
    np.zeros((3, 16), np.uint16), np.zeros(48, np.uint8), np.zeros((6, 16), np.uint8)[::2],
    np.zeros((3, 32), np.uint8)[:, ::2], np.zeros((1, 3, 16), np.uint8),
    np.zeros((2, 16), np.uint8), np.zeros((4, 16), np.uint8), b"\0" * 48, None, [b"\0" * 16],
    "2001:db8::1", 7,
])
# values for uint8 per-row arrays (flags, plen, pos, cand_flags, cand_plen) and the
# per-group mask (groups)
u8_arrays = st.sampled_from([
    np.zeros(2, np.uint8), np.zeros(4, np.uint8), np.zeros(3, np.int8), np.zeros(3, np.uint16),
    np.zeros(6, np.uint8)[::2], np.zeros((3, 1), np.uint8), [1, 1, 1], b"\1\1\1",
    np.full(3, 255, np.uint8), np.full(3, 48, np.uint8), np.ones(2, bool), np.ones(3, bool),
    np.ones(4, bool)[::2],
])
# values for out arrays
outs = st.sampled_from([
    np.zeros(2, np.uint32), np.zeros(4, np.uint32), np.zeros(3, np.int32), np.zeros(3, np.float32),
    np.zeros(6, np.uint32)[::2], np.zeros((3, 1), np.uint32), _ro(np.zeros(3, np.uint32)),
    np.zeros(2, np.uint64), np.zeros(3, np.int64), _ro(np.zeros(3, np.uint64)),
    np.zeros(6, np.uint64)[::2], [0, 0, 0], b"\0" * 24,
])
threads_values = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([1.5, "2", None, 0]))

_VALID = dict(offsets=[0, 1, 3], host=[0, 0, 1], host_offsets=[0, 1, 3], dst=_D3, src=_D3,
              candidates=_D3)


def _call(fn, name, value):
    """Call ``fn`` with ``name`` replaced: it returns, or raises a ValueError whose message
    starts with the name of an argument (the bad one, or the one it disagrees with: a
    ``dst`` of 2 rows makes a 3-row ``src`` wrong); nothing else (no other exception, no
    crash)."""
    import inspect
    import re

    try:
        fn(**{name: value})
    except ValueError as e:
        m = re.match(r"(\w+)[:\[]", str(e))
        assert m and m.group(1) in inspect.signature(fn).parameters, (name, value, str(e))


KERNELS = {
    "musl_keys": lambda dst=_D3, src=_D3, flags=None, pos=None, offsets=(0, 1, 3), out=None,
    threads=None: bulk.musl_keys(dst, src, flags, pos, offsets=offsets, out=out,
                                 threads=threads),
    "sort_keys": lambda dst=_D3, src=_D3, flags=None, plen=None, offsets=(0, 1, 3), out=None,
    threads=None: bulk.sort_keys(dst, src, flags, plen, offsets=offsets, out=out,
                                 threads=threads),
    "order_groups": lambda dst=_D3, src=_D3, flags=None, plen=None, offsets=(0, 1, 3),
    threads=None, groups=None: bulk.order_groups(dst, src, flags, plen, offsets=offsets,
                                                 threads=threads, groups=groups),
    "order_groups_musl": lambda dst=_D3, src=_D3, flags=None, plen=None, offsets=(0, 1, 3),
    threads=None: bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor="musl",
                                    threads=threads),
    "select_sources": lambda dst=_D3, host=(0, 0, 1), host_offsets=(0, 1, 3),
    candidates=_D3, cand_flags=None, cand_plen=None, threads=None: bulk.select_sources(
        dst, host, host_offsets, candidates, cand_flags, cand_plen, threads=threads),
    "classify": lambda dst=_D3, threads=None: bulk.classify(dst, threads=threads),
}


@settings(max_examples=300, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_hostile_arguments_give_a_clean_value_error(kernel, data):
    import inspect

    fn = KERNELS[kernel]
    params = list(inspect.signature(fn).parameters)
    name = data.draw(st.sampled_from(params))
    if name in ("offsets", "host", "host_offsets"):
        value = data.draw(int_arrays)
    elif name in ("dst", "src", "candidates"):
        value = data.draw(row_arrays)
    elif name == "out":
        value = data.draw(outs)
    elif name == "threads":
        value = data.draw(threads_values)
    else:
        value = data.draw(u8_arrays)
    _call(fn, name, value)


@settings(max_examples=200, deadline=None)
@given(offsets=int_arrays, n=st.integers(0, 5), max_rows=threads_values)
def test_hostile_offsets_for_the_helpers(offsets, n, max_rows):
    for call, name in ((lambda: bulk.check_offsets(offsets, n), "offsets"),
                       (lambda: bulk.positions(offsets, n), "offsets"),
                       (lambda: list(bulk.iter_chunks(offsets, 2)), "offsets"),
                       (lambda: list(bulk.iter_chunks([0, 2, 3], max_rows)), "max_rows")):
        try:
            call()
        except ValueError as e:
            assert name in str(e)


def test_hostile_regressions():
    # values that used to pass the checks or escape as other exceptions
    with pytest.raises(ValueError, match="offsets"):
        bulk.order_groups(_D3, _D3, offsets=[0, 1.5, 3])           # silently truncated
    with pytest.raises(ValueError, match=r"offsets\[1\]"):
        bulk.order_groups(_D3, _D3, offsets=[0, 2**64, 3])         # OverflowError
    with pytest.raises(ValueError, match=r"offsets"):
        bulk.order_groups(_D3, _D3, offsets=np.array([0, 2**63 + 1, 3], np.uint64))
    with pytest.raises(ValueError, match="out: .*read-only"):
        bulk.sort_keys(_D3, _D3, offsets=[0, 3], out=_ro(np.zeros(3, np.uint64)))
    with pytest.raises(ValueError, match="host"):
        bulk.select_sources(_D3, [0.0, 0.0, 0.0], [0, 3], _D3)
    assert list(bulk.iter_chunks([0, 3], 2**80)) == [(0, 1)]        # was OverflowError
    with pytest.raises(ValueError, match="max_rows"):
        list(bulk.iter_chunks([0, 3], 0))
    with pytest.raises(ValueError, match="threads"):
        bulk.classify(_D3, threads="2")
    # read-only inputs are fine (the kernels only read them)
    assert bulk.classify(_RO).tolist() == [0, 5, 1]


# ---------------------------------------------------------------- go and rfc6724-update

# ULA /48s a lookup's sources and destinations share, so known-local rows decide often
_KL48 = [0xFD00_0000_0001, 0xFD12_3456_789A, 0xFD12_3456_789B, 0xFDFF_FFFF_FFFF]


@st.composite
def ula_rows(draw, max_group: int):
    """One group mixing ULAs in a few /48s (some of them the sources'), global IPv6 and
    IPv4, with unreachable rows: [(dst16, src16 or None, flags, plen or None)]."""
    n = draw(st.integers(1, max_group))
    out = []
    for _ in range(n):
        kind = draw(st.sampled_from(["ula", "ula", "global", "v4", "fc"]))
        if kind == "ula":
            d = ((draw(st.sampled_from(_KL48)) << 80)
                 | draw(st.integers(0, (1 << 80) - 1))).to_bytes(16, "big")
        elif kind == "fc":
            d = ((0xFC << 120) | draw(st.integers(0, (1 << 120) - 1))).to_bytes(16, "big")
        elif kind == "global":
            d = draw(addresses().filter(lambda a: not _is_v4(a)))
        else:
            d = pack(f"192.0.2.{draw(st.integers(1, 254))}")
        skind = draw(st.sampled_from(["ula", "same", "none", "global"]))
        if skind == "none":
            s = None
        elif _is_v4(d):
            s = pack("10.0.0.5")
        elif skind == "ula":
            s = ((draw(st.sampled_from(_KL48)) << 80) | 5).to_bytes(16, "big")
        elif skind == "same":
            s = draw(near(d))
        else:
            s = pack("2001:db8::5")
        out.append((d, s, 0, None))
    return out


# a table whose rows are in longest-first order with a /48 of its own and a /64 inside a
# known-local /48: those rows keep their own values (the draft's "matched before")
_OWN48 = PolicyTable([("::1/128", 50, 0), ("fd12:3456:789a:1::/64", 7, 7),
                      ("fd00:0:1::/48", 9, 9), ("::ffff:0:0/96", 35, 4),
                      ("2002::/16", 5, 2), ("fc00::/7", 30, 13), ("::/0", 40, 1)])


@pytest.mark.parametrize("flavor", ["go", "rfc6724-update"])
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups=st.lists(ula_rows(9), min_size=1, max_size=20), pi=st.integers(0, 1),
       kl=st.lists(st.sampled_from(["fd12:3456:789a::1", "fdff:ffff:ffff::9"]), max_size=2),
       learn=st.booleans())
def test_go_and_update_equal_sort_destinations_with_known_local(flavor, groups, pi, kl,
                                                                learn):
    policy = [None, _OWN48][pi]
    if flavor == "go":
        kl, learn = [], True
    dst, src, flags, plen, offsets = _arrays(groups)
    extra = {} if flavor == "go" else dict(known_local=kl or None, learn_known_local=learn)
    res = bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor=flavor,
                            policy=policy, threads=2, **extra)
    keys = bulk.sort_keys(dst, src, flags, plen, offsets=offsets, flavor=flavor,
                          policy=policy, **extra)
    for g, group in enumerate(groups):
        lo, hi = offsets[g], offsets[g + 1]
        dests = [bytes(d) for d, _, _, _ in group]
        srcs = [_source(s, f, p) for _, s, f, p in group]
        kw = {} if flavor == "go" else dict(known_local=kl, learn_known_local=learn)
        ordered = sort_destinations(dests, srcs, flavor=flavor, policy=policy, **kw)
        where = {id(d): i for i, d in enumerate(dests)}
        want = [where[id(d)] for d in ordered]
        assert [int(r) - lo for r in res.order[lo:hi]] == want, (g, res.exact[g])
        steps = explain(dests, srcs, flavor=flavor, policy=policy, **kw).steps
        assert res.rule[g] == ((steps[0].rule or 0) if steps else 0), g
        if not res.exact[g]:
            # the key alone gives the order where the kernel did not need the exact path
            assert list(np.argsort(-keys[lo:hi].astype(np.float64), kind="stable")) == want


def test_go_exact_path_is_gos_stable_sort():
    # IPv4 and IPv6 tie on rules 1-8 under this table; Go's rule 9 orders only the two
    # IPv6 rows and leaves IPv4 "equal" to both, so the order is whatever sort.Stable
    # makes of the input: the exact path must run Go's own insertion sort
    table = PolicyTable([("::1/128", 50, 0), ("::/0", 40, 1), ("::ffff:0:0/96", 40, 1)])
    group = [(pack("2001:db8:ffff::1"), pack("2001:db9::1"), 0, None),    # short match
             (pack("192.0.2.1"), pack("192.0.2.9"), 0, None),
             (pack("2001:db8::1"), pack("2001:db8::2"), 0, None)]         # long match
    dst, src, flags, plen, offsets = _arrays([group])
    res = bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor="go",
                            policy=table)
    assert res.exact[0] & bulk.EXACT_RULE9
    # by hand, Go's insertionSort: [C, B, A]: B<C? no; A<B? no (equal): unchanged
    assert list(res.order) == [0, 1, 2]
    assert list(res.order) == _reference_order(group, "go", table)


def test_go_unreachable_rows_keep_their_order_and_rule_0():
    group = [(pack("2001:db8::1"), None, 0, None), (pack("::1"), None, 0, None),
             (pack("192.0.2.1"), None, 0, None)]
    dst, src, flags, plen, offsets = _arrays([group])
    res = bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor="go")
    # rfc6724 would put ::1 (precedence 50) first; Go stops at rule 1 for such a pair
    assert list(res.order) == [0, 1, 2] and res.rule[0] == 0 and res.exact[0] == 0
    assert sort_destinations(["2001:db8::1", "::1", "192.0.2.1"], [None] * 3,
                             flavor="go") == ["2001:db8::1", "::1", "192.0.2.1"]


def test_update_known_local_row_by_hand():
    # draft-ietf-6man-rfc6724-update: a ULA destination in the source's /48 gets
    # precedence 45 > IPv6 global 40 > IPv4 20; the other ULA (label 13) has a source
    # of label 14 now, so IPv4's matching label wins rule 5 over it
    group = [(pack("192.0.2.1"), pack("10.0.0.5"), 0, None),
             (pack("2001:db8::1"), pack("2001:db8::5"), 0, None),
             (pack("fd12:3456:789b::1"), pack("fd12:3456:789a::5"), 0, None),
             (pack("fd12:3456:789a::1"), pack("fd12:3456:789a::5"), 0, None)]
    dst, src, flags, plen, offsets = _arrays([group])
    res = bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor="rfc6724-update")
    assert list(res.order) == [3, 1, 0, 2]
    off = bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor="rfc6724-update",
                            learn_known_local=False)
    assert list(off.order) == [1, 3, 2, 0]      # both ULAs 30/13, rule 9 between them
    with pytest.raises(ValueError, match=r"known_local\[0\].*fd00::/8"):
        bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor="rfc6724-update",
                          known_local=["fc00::1"])
    with pytest.raises(ValueError, match="only the rfc6724-update"):
        bulk.order_groups(dst, src, flags, plen, offsets=offsets, flavor="rfc6724",
                          known_local=["fd00::1"])
