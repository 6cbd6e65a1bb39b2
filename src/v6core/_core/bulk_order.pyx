# cython: language_level=3
"""Bulk grouping: order every lookup's candidate group as the flavour's resolver would.

Each group is ordered by its bulk keys (``bulk_keys``).  A single key cannot express
every pairwise decision: rule 9 compares two destinations only when they are of the
same family, so when an IPv4 and an IPv6 destination tie on rules 1-8, rule 10 (input
order) decides between them while rule 9 may decide between each of them and a third
destination of the other family; the pairwise relation is then not transitive and the
result depends on the sorting algorithm.  Such groups take an exact path:
``sortkey.sk_sort``, the pairwise comparator under glibc 2.36's merge sort, which is
what ``sort_destinations`` does.  The same path serves rfc6724's rule 4 (home-only beats
care-of-only, and neither beats nor loses to a plain address), glibc's rule 7 (which
compares encapsulation only between different interfaces; bulk rows carry none) and
groups larger than the key's position field.  The ``exact`` output says which groups
went that way and why (``EXACT_*`` bits).

Every sort here is O(n log n): a huge group costs a merge sort, never a quadratic
insertion sort with the GIL released.
"""

cimport cython
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, free

cimport numpy as cnp
import numpy as np
from collections import namedtuple

from v6core._core.types cimport addr_is_v4mapped, load_be64
from v6core._core.sortkey cimport (
    CompiledPolicy, sk_fill_row, sk_decide, sk_sort, sk_home_rank_exact, SK_RFC6724,
    SK_GLIBC, SK_MUSL, SK_GO, SK_F_USABLE, SK_F_ENCAP, SK_K_USABLE, SK_K_SCOPE_MATCH,
    SK_K_NOT_DEPRECATED, SK_K_HOME, SK_K_LABEL_MATCH, SK_K_PREC, SK_K_NATIVE, SK_K_SCOPE,
    MUSL_MAXADDRS,
)
from v6core._core.bulk_common cimport (
    bulk_kl_t, bulk_kl_fill, bulk_load_row, bulk_nrows, bulk_rows_arg, bulk_u8_arg,
)
from v6core._core.bulk_keys cimport (
    bulk_musl_key_fast, bulk_wide_key, bulk_filled_key, bulk_fill_group, bulk_fast_ok,
    bulk_fast_row_key, bulk_kl_group, bulk_kl_dst, bulk_flag_bits, bulk_cpl_caps,
    bulk_row_bytes, bulk_bytes_t, BULK_K_CPL, BULK_POS_LIMIT,
)
from v6core._core.bulk_keys import bulk_wide_table
from v6core._core.bulk_common import check_offsets, pool_map, \
    resolve_policy, split_groups, threads_for

cnp.import_array()

EXACT_RULE9 = BULK_EXACT_RULE9
EXACT_RULE4 = BULK_EXACT_RULE4
EXACT_RULE7 = BULK_EXACT_RULE7
EXACT_SIZE = BULK_EXACT_SIZE

GroupOrder = namedtuple("GroupOrder", "order first rule exact")
GroupOrder.__doc__ = """Result of :func:`order_groups`.

order : (N,) int64 or None
    Row indices, group by group, in the resolver's order (None unless asked for).
first : (G,) int64
    The row each group tries first (-1 for an empty group).
rule : (G,) uint8
    The RFC 6724 section 6 rule (1-10) that put ``first`` ahead of the runner-up; 0 when
    nothing was decided (one candidate, or an all-IPv4 musl answer musl leaves unsorted).
exact : (G,) uint8
    ``EXACT_*`` bits: why a group took the exact pairwise path (0: the key decided).
"""

cdef enum:
    _INSERTION_MAX = 16      # groups up to this size: insertion sort; larger: merge sort


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _sort_keys_desc(const uint64_t *keys, uint32_t *order, Py_ssize_t n,
                          uint32_t *tmp) noexcept nogil:
    """Sort ``order[0:n]`` by ``keys[order[i]]`` descending, stably: insertion sort for
    small groups, a bottom-up merge sort (O(n log n), ``tmp`` holds n) otherwise."""
    cdef Py_ssize_t i, j, w, lo, mid, hi, a, b, k
    cdef uint32_t t
    cdef uint64_t kt
    cdef uint32_t *src = order
    cdef uint32_t *dst = tmp
    cdef uint32_t *sw
    if n <= _INSERTION_MAX:
        for i in range(1, n):
            t = order[i]
            kt = keys[t]
            j = i - 1
            while j >= 0 and keys[order[j]] < kt:
                order[j + 1] = order[j]
                j -= 1
            order[j + 1] = t
        return
    w = 1
    while w < n:
        lo = 0
        while lo < n:
            mid = lo + w if lo + w < n else n
            hi = lo + 2 * w if lo + 2 * w < n else n
            a = lo
            b = mid
            k = lo
            while a < mid and b < hi:
                if keys[src[a]] >= keys[src[b]]:      # left wins ties: stable
                    dst[k] = src[a]
                    a += 1
                else:
                    dst[k] = src[b]
                    b += 1
                k += 1
            while a < mid:
                dst[k] = src[a]
                a += 1
                k += 1
            while b < hi:
                dst[k] = src[b]
                b += 1
                k += 1
            lo = hi
        sw = src
        src = dst
        dst = sw
        w *= 2
    if src != order:
        for i in range(n):
            order[i] = src[i]


cdef inline int _wide_rule(uint64_t x) noexcept nogil:
    """The rule of the highest field in which two bulk keys differ (``x`` = a ^ b != 0).
    Equal to ``sk_decide``'s rule wherever the key path is exact."""
    if x >> SK_K_USABLE:
        return 1
    if x >> SK_K_SCOPE_MATCH:
        return 2
    if x >> SK_K_NOT_DEPRECATED:
        return 3
    if x >> SK_K_HOME:
        return 4
    if x >> SK_K_LABEL_MATCH:
        return 5
    if x >> SK_K_PREC:
        return 6
    if x >> SK_K_NATIVE:
        return 7
    if x >> SK_K_SCOPE:
        return 8
    if x >> BULK_K_CPL:
        return 9
    return 10


@cython.boundscheck(False)
@cython.wraparound(False)
cdef int bulk_order_group(int flavor, const sk_policy_t *pol, bint musl_fast,
                          const uint16_t *wide, const bulk_kl_t *kl, const uint8_t *dst,
                          const uint8_t *src, const uint8_t *flags, const uint8_t *plen,
                          Py_ssize_t lo, Py_ssize_t n, sk_row_t *rows, uint64_t *keys,
                          uint32_t *order, uint32_t *tmp, uint64_t *klbuf) noexcept nogil:
    """Order one group (rows ``lo .. lo + n - 1``) into ``order[0:n]`` (group positions).

    Returns ``rule | exact << 8``: the rule (1-10) that put ``order[0]`` ahead of
    ``order[1]`` (0 when nothing was decided: one candidate, or an all-IPv4 musl answer,
    which musl leaves unsorted) and the ``BULK_EXACT_*`` reasons for the exact path.
    Scratch: ``rows``, ``keys``, ``order`` and ``tmp`` hold ``n`` entries each, ``klbuf``
    ``kl.nexplicit + n`` (rfc6724-update's known-local /48s, ``kl.on``).

    ``wide`` (rfc6724, go, rfc6724-update; NULL: none): the policy's
    ``bulk_keys.bulk_wide_table``, whose keys need no filled row.  Without it, go and
    rfc6724-update fill every row first (``bulk_fill_group``): Go masks the source
    flags and holds unusable rows equal, the update inserts the lookup's known-local
    rows.  The exact path sorts filled rows with the flavour's own sort (Go:
    ``sort.Stable`` over the input order, as per call).
    """
    cdef Py_ssize_t i
    cdef uint64_t top
    cdef int exact = 0, rule
    cdef bint v4seen, v6seen, all_v4 = True
    cdef uint32_t f, home_mix = 0, n_usable = 0, n_encap = 0
    cdef bint kl_on = kl != NULL and kl.on
    cdef const uint64_t *fbits = bulk_flag_bits(flavor)
    cdef const uint8_t *caps = bulk_cpl_caps(flavor)
    cdef bint fast = bulk_fast_ok(wide, kl, n)
    cdef bulk_bytes_t b = bulk_row_bytes(flags, plen)
    cdef bint learn = fast and kl_on
    cdef uint64_t group = bulk_kl_group(src, b.flags, b.fmask, lo, n) if learn else 0
    cdef bint filled = not fast and (flavor == SK_GO or kl_on)
    if filled:
        for i in range(n):
            bulk_load_row(&rows[i], dst, src, flags, plen, lo + i, <uint32_t>i)
        bulk_fill_group(flavor, pol, kl, rows, n, klbuf)
    for i in range(n):
        order[i] = <uint32_t>i
        if not filled:
            bulk_load_row(&rows[i], dst, src, flags, plen, lo + i, <uint32_t>i)
        if flavor == SK_MUSL:
            if musl_fast:
                keys[i] = bulk_musl_key_fast(dst + 16 * (lo + i), src + 16 * (lo + i),
                                             rows[i].flags, <unsigned>i)
                rows[i].key = keys[i]
            else:
                sk_fill_row(SK_MUSL, pol, &rows[i])
                keys[i] = rows[i].key
            if not addr_is_v4mapped(rows[i].dst):
                all_v4 = False
        else:
            if fast:
                keys[i] = bulk_fast_row_key(
                    flavor, wide, fbits, caps, dst, src, b.flags, b.fmask, b.plen, b.pmask,
                    lo, lo + i, learn,
                    bulk_kl_dst(group, load_be64(dst + 16 * (lo + i)), src, b.flags,
                                b.fmask, lo, n) if learn else 0)
            elif filled:
                keys[i] = bulk_filled_key(flavor, &rows[i])
            else:
                keys[i] = bulk_wide_key(flavor, pol, &rows[i])
            f = rows[i].flags
            if f & SK_F_USABLE:
                if not sk_home_rank_exact(flavor, f):
                    home_mix = 1
                n_usable += 1
                if f & SK_F_ENCAP:
                    n_encap += 1
    if n < 2 or (flavor == SK_MUSL and all_v4):
        return 0
    # by key, descending; keys are distinct below BULK_POS_LIMIT rows (the position is in them)
    _sort_keys_desc(keys, order, n, tmp)
    if flavor != SK_MUSL:
        if n > BULK_POS_LIMIT:
            exact |= BULK_EXACT_SIZE
        if flavor == SK_RFC6724 and home_mix:
            exact |= BULK_EXACT_RULE4
        if flavor == SK_GLIBC and 0 < n_encap < n_usable:
            exact |= BULK_EXACT_RULE7
        # rule 9: a rules 1-8 tie class (contiguous after the sort) holding both families
        i = 0
        while i < n:
            top = keys[order[i]] >> SK_K_SCOPE
            v4seen = False
            v6seen = False
            while i < n and (keys[order[i]] >> SK_K_SCOPE) == top:
                if addr_is_v4mapped(rows[order[i]].dst):
                    v4seen = True
                else:
                    v6seen = True
                i += 1
            # (Go's unusable rows, key 0 above the position, are all equal: no rule 9)
            if v4seen and v6seen and (flavor != SK_GO or top != 0):
                exact |= BULK_EXACT_RULE9
                break
        if not exact:
            rule = _wide_rule(keys[order[0]] ^ keys[order[1]])
            if flavor == SK_GO and rule == 10:
                rule = 0        # Go has no rule 10: its stable sort left them as they were
            return rule
        if not filled:
            bulk_fill_group(flavor, pol, kl, rows, n, klbuf)
        sk_sort(flavor, rows, n, order, tmp)
    rule = sk_decide(flavor, &rows[order[0]], &rows[order[1]])
    if rule < 0:
        rule = -rule
    return rule | (exact << 8)


cdef struct _scratch_t:
    sk_row_t *rows
    uint64_t *keys
    uint32_t *order
    uint32_t *tmp
    uint64_t *klbuf


cdef int _scratch_alloc(_scratch_t *s, Py_ssize_t n, Py_ssize_t nexplicit) except -1:
    n = max(n, 2)
    s.rows = <sk_row_t *>malloc(n * sizeof(sk_row_t))
    s.keys = <uint64_t *>malloc(n * sizeof(uint64_t))
    s.order = <uint32_t *>malloc(n * sizeof(uint32_t))
    s.tmp = <uint32_t *>malloc(n * sizeof(uint32_t))
    s.klbuf = <uint64_t *>malloc((n + nexplicit) * sizeof(uint64_t))
    if s.rows == NULL or s.keys == NULL or s.order == NULL or s.tmp == NULL \
            or s.klbuf == NULL:
        _scratch_free(s)
        raise MemoryError()
    return 0


cdef void _scratch_free(_scratch_t *s) noexcept:
    free(s.rows)
    free(s.keys)
    free(s.order)
    free(s.tmp)
    free(s.klbuf)
    s.klbuf = NULL
    s.rows = NULL
    s.keys = NULL
    s.order = NULL
    s.tmp = NULL


@cython.boundscheck(False)
@cython.wraparound(False)
cdef Py_ssize_t _order_range(int flavor, const sk_policy_t *pol, bint musl_fast,
                             const uint16_t *wide, const bulk_kl_t *kl,
                             const uint8_t *dst, const uint8_t *src, const uint8_t *flags,
                             const uint8_t *plen, const int64_t *offsets,
                             const uint8_t *sel, Py_ssize_t g0, Py_ssize_t g1,
                             int64_t *order_out,
                             int64_t *first, uint8_t *rule, uint8_t *exact,
                             _scratch_t *s) noexcept nogil:
    cdef Py_ssize_t g, i, lo, n, nexact = 0
    cdef int res
    for g in range(g0, g1):
        lo = offsets[g]
        n = offsets[g + 1] - lo
        if n == 0 or (sel != NULL and not sel[g]):
            # empty, or not selected: nothing ordered (order keeps the input order)
            first[g] = -1
            rule[g] = 0
            if exact != NULL:
                exact[g] = 0
            if order_out != NULL:
                for i in range(n):
                    order_out[lo + i] = lo + i
            continue
        res = bulk_order_group(flavor, pol, musl_fast, wide, kl, dst, src, flags, plen, lo,
                               n, s.rows, s.keys, s.order, s.tmp, s.klbuf)
        rule[g] = <uint8_t>(res & 0xff)
        if exact != NULL:
            exact[g] = <uint8_t>(res >> 8)
        if res >> 8:
            nexact += 1
        first[g] = lo + s.order[0]
        if order_out != NULL:
            for i in range(n):
                order_out[lo + i] = lo + s.order[i]
    return nexact


def order_groups(dst, src, flags=None, plen=None, *, offsets, str flavor="rfc6724",
                 policy=None, bint want_order=True, threads=None, known_local=None,
                 bint learn_known_local=True, groups=None):
    """Order every group as the flavour's resolver would, and report the first choice.

    Parameters are those of ``sort_keys`` (flavours rfc6724, glibc, musl, go and
    rfc6724-update; ``known_local`` and ``learn_known_local`` for the update).  Each
    group is ordered by its bulk keys,
    or by the exact pairwise path (``sortkey.sk_sort``) where a key cannot express the
    order (see the module docstring).  musl groups are limited to 48 rows.

    groups : (G,) uint8 or bool ndarray, optional
        Order only the groups where it is nonzero (a subset of lookups, without copying
        their rows).  The others are checked like every group but not ordered: ``first``
        -1, ``rule`` and ``exact`` 0, and their rows in input order in ``order`` (tell
        them from empty groups by the mask).

    Returns
    -------
    GroupOrder(order, first, rule, exact); ``order`` is None unless ``want_order``.
    """
    cdef Py_ssize_t n = bulk_nrows(dst)
    cdef const uint8_t *d = bulk_rows_arg(dst, "dst", n)
    cdef const uint8_t *s = bulk_rows_arg(src, "src", n)
    cdef const uint8_t *f = bulk_u8_arg(flags, "flags", n)
    cdef const uint8_t *pl = bulk_u8_arg(plen, "plen", n)
    cdef cnp.ndarray offs = check_offsets(offsets, n)
    cdef const int64_t *op = <const int64_t *>cnp.PyArray_DATA(offs)
    cdef Py_ssize_t G = offs.shape[0] - 1
    if isinstance(groups, np.ndarray) and groups.dtype == np.bool_:
        groups = groups.view(np.uint8)          # kept alive by this name for the call
    cdef const uint8_t *sel = bulk_u8_arg(groups, "groups", G)
    code, cp, fast = resolve_policy(flavor, policy)
    cdef CompiledPolicy cpol = cp
    cdef int fl = code
    cdef bint musl_fast = fast
    cdef bulk_kl_t kl
    # kl points into these arrays: they live as long as this call
    _kl_arrays = bulk_kl_fill(&kl, flavor, cp, known_local, learn_known_local)
    wide_t = bulk_wide_table(cpol, fl)
    cdef const uint16_t[::1] wide_v = wide_t
    cdef const uint16_t *wide = &wide_v[0] if wide_t is not None else NULL
    nthreads = threads_for(threads, n)
    order = np.empty(n, dtype=np.int64) if want_order else None
    first = np.empty(G, dtype=np.int64)
    rule = np.empty(G, dtype=np.uint8)
    exact = np.empty(G, dtype=np.uint8)
    if G == 0:
        return GroupOrder(order, first, rule, exact)
    sizes = np.diff(offs)
    cdef Py_ssize_t maxg = int(sizes.max())
    if fl == SK_MUSL and maxg > MUSL_MAXADDRS:
        g = int(np.argmax(sizes > MUSL_MAXADDRS))
        raise ValueError(f"offsets: group {g} has {int(sizes[g])} rows; musl returns at "
                         f"most {MUSL_MAXADDRS} addresses")
    if maxg > 0xffffffff:
        g = int(np.argmax(sizes > 0xffffffff))
        raise ValueError(f"offsets: group {g} has {int(sizes[g])} rows; at most 2**32 - 1")
    cdef int64_t *orp = <int64_t *>cnp.PyArray_DATA(order) if want_order and n else NULL
    cdef int64_t *fp = <int64_t *>cnp.PyArray_DATA(first)
    cdef uint8_t *rp = <uint8_t *>cnp.PyArray_DATA(rule)
    cdef uint8_t *ep = <uint8_t *>cnp.PyArray_DATA(exact)

    def run(Py_ssize_t g0, Py_ssize_t g1):
        cdef _scratch_t sc
        _scratch_alloc(&sc, maxg, kl.nexplicit)
        try:
            with nogil:
                _order_range(fl, &cpol.pol, musl_fast, wide, &kl, d, s, f, pl, op, sel, g0,
                             g1, orp, fp, rp, ep, &sc)
        finally:
            _scratch_free(&sc)
    pool_map(run, split_groups(offs, nthreads))
    return GroupOrder(order, first, rule, exact)
