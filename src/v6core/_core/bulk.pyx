# cython: language_level=3
"""Bulk RFC 6724 destination ordering: sort keys and grouped selection over numpy arrays.

Inputs are ``(N, 16)`` uint8 arrays of destinations and of the source each destination
would use (network byte order; IPv4 as IPv4-mapped ``::ffff:a.b.c.d``, RFC 4291 section
2.5.5.2), a uint8 array of source flags (``sortkey``'s ``SK_F_*`` bits, exported here as
``FLAG_*``; ``FLAG_USABLE`` clear marks an unreachable row, RFC 6724 rule 1), an optional
uint8 array of source prefix lengths (255 = unknown) and, for grouped work, an int64
``offsets`` array of length ``G + 1``: group ``g`` (one lookup's candidate list, in the
order the resolver received it) is rows ``offsets[g] .. offsets[g + 1] - 1``.

Keys
----
* ``musl``: musl 1.2.x's 31-bit key (``src/network/lookup_name.c``), bit for bit, the
  same as ``sortkey.musl_key``: usable 30, matching scope 29, matching label 28,
  precedence 20-27, ``15 - scope`` 16-19, common prefix length 8-15, ``48 - position``
  0-7; larger first.  musl's table cannot be configured, so with the built-in table the
  kernel uses a branch-free transcription of it (tests check it against ``musl_key``
  on every row); a custom table goes through ``sortkey.musl_key``.
* ``rfc6724`` and ``glibc``: 64 bits, larger first: ``sortkey.sk_wide_key`` (rules 1-8 in
  bits 20-62), the flavour's rule 9 CommonPrefixLen in bits 12-19 and ``4095 - position``
  (rule 10) in bits 0-11.

A single key cannot express every pairwise decision
----------------------------------------------------
Rule 9 compares two destinations only when they are of the same family.  When an IPv4
and an IPv6 destination tie on rules 1-8, rule 10 (input order) decides between them,
while rule 9 may decide between each of them and a third destination of the other family;
the pairwise relation is then not transitive (A > C by rule 9, C > B and B > A by rule
10) and the result depends on the sorting algorithm.  No key can reproduce that, so such
groups take an exact path: ``sortkey.sk_sort``, the pairwise comparator under glibc 2.36's
merge sort, which is what ``sort_destinations`` does.  The same path serves two smaller
cases where the pairwise rule is not a per-row order: rfc6724's rule 4 (home-only beats
care-of-only, and neither beats nor loses to a plain address) and glibc's rule 7 (which
compares encapsulation only between different interfaces; bulk rows carry none).  The
``exact`` output says which groups went that way and why (``EXACT_*`` bits).

All kernels release the GIL.  The Python wrappers split large inputs into ranges of whole
groups and run them on a thread pool (both cores), and :func:`iter_chunks` lets a caller
stream inputs larger than memory through them a chunk at a time.
"""

cimport cython
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t, int32_t
from libc.stdlib cimport malloc, free

cimport numpy as cnp
import numpy as np

from v6core._core.types cimport addr128_t, addr_load, addr_is_v4mapped, addr_eq
from v6core._core.sortkey cimport (
    sk_policy_t, sk_row_t, CompiledPolicy, sk_fill_row, sk_decide, sk_sort, sk_scope,
    sk_label, sk_cpl, sk_wide_key, SK_RFC6724, SK_GLIBC, SK_MUSL, SK_F_USABLE,
    SK_F_DEPRECATED, SK_F_HOME, SK_F_CAREOF, SK_F_TEMPORARY, SK_F_ENCAP, SK_F_OPTIMISTIC,
    SK_NO_IFINDEX, SK_K_USABLE, SK_K_SCOPE_MATCH, SK_K_NOT_DEPRECATED, SK_K_HOME,
    SK_K_LABEL_MATCH, SK_K_PREC, SK_K_NATIVE, SK_K_SCOPE, MUSL_MAXADDRS,
)

cnp.import_array()

FLAG_USABLE = SK_F_USABLE
FLAG_DEPRECATED = SK_F_DEPRECATED
FLAG_HOME = SK_F_HOME
FLAG_CARE_OF = SK_F_CAREOF
FLAG_TEMPORARY = SK_F_TEMPORARY
FLAG_ENCAPSULATED = SK_F_ENCAP
FLAG_OPTIMISTIC = SK_F_OPTIMISTIC
PLEN_UNKNOWN = BULK_PLEN_UNKNOWN
POS_LIMIT = BULK_POS_LIMIT
EXACT_RULE9 = BULK_EXACT_RULE9
EXACT_RULE4 = BULK_EXACT_RULE4
EXACT_RULE7 = BULK_EXACT_RULE7
EXACT_SIZE = BULK_EXACT_SIZE
FLAVORS = ("rfc6724", "glibc", "musl")
MAXADDRS = MUSL_MAXADDRS


# ------------------------------------------------------------------ musl, branch-free

cdef extern from *:
    """
    #include <stdint.h>
    /* musl 1.2.x lookup_name.c, one destination: its fixed policy table (RFC 6724 section
       2.1 without ::/96, fec0::/10 and 3ffe::/16), scopeof() (every IPv4 address global),
       prefixmatch() over all 128 bits, and the DAS_* bit fields.  Written without
       data-dependent branches: rows arrive in random order, and a mispredicted branch
       costs more than computing both sides; a 128 KiB table indexed by the first 16
       bits replaces most of the comparisons. */
    static inline __attribute__((always_inline))
    uint64_t v6b_be64(const uint8_t *p) {
        uint64_t v; __builtin_memcpy(&v, p, 8);
    #if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        v = __builtin_bswap64(v);
    #endif
        return v;
    }
    /* musl's table and scopeof() for an address, by its first 16 bits, when the rest is
       not special: prec << 8 | label << 4 | scope.  Built once by v6b_init() from
       musl's rows: 2002::/16 30/2, fc00::/7 3/13, ::/0 40/1; fe80::/10 scope 2,
       fec0::/10 scope 5, ff00::/8 the multicast scope field, else 14.  The rows that
       need more than 16 bits (::1/128 50/0 scope 2, ::ffff:0:0/96 35/4, 2001::/32 5/5)
       are fixed up per address below. */
    static uint16_t v6b_t16[65536];
    static void v6b_init(void) {
        unsigned t, prec, label, scope;
        for (t = 0; t < 65536; t++) {
            prec = 40; label = 1; scope = 14;
            if (t == 0x2002) { prec = 30; label = 2; }
            if ((t >> 9) == 0x7e) { prec = 3; label = 13; }
            if ((t >> 6) == 0x3fa) scope = 2;
            if ((t >> 6) == 0x3fb) scope = 5;
            if ((t >> 8) == 0xff) scope = t & 15;
            v6b_t16[t] = (uint16_t)(prec << 8 | label << 4 | scope);
        }
    }
    static inline __attribute__((always_inline))
    unsigned v6b_common_len(uint64_t x, uint64_t y) {
        /* leading equal bits of two addresses given their xor halves x, y (0..128) */
        unsigned a = (unsigned)__builtin_clzll(x | 1);
        unsigned b = 64u + (unsigned)__builtin_clzll(y | 1) + (y == 0);
        unsigned m = -(unsigned)(x != 0);
        return (a & m) | (b & ~m);
    }
    static inline __attribute__((always_inline)) uint32_t v6b_musl_key(
            const uint8_t *d, const uint8_t *s, unsigned flags, unsigned pos) {
        uint64_t dh = v6b_be64(d), dl = v6b_be64(d + 8);
        uint64_t sh = v6b_be64(s), sl = v6b_be64(s + 8);
        unsigned de = v6b_t16[dh >> 48], se = v6b_t16[sh >> 48];
        /* the fix-ups: ::1, ::ffff:0:0/96 and Teredo (mutually exclusive) */
        unsigned dz = dh == 0, sz = sh == 0;
        unsigned dlo1 = dz & (dl == 1), dmap = dz & ((dl >> 32) == 0xffffu);
        unsigned slo1 = sz & (sl == 1), smap = sz & ((sl >> 32) == 0xffffu);
        unsigned dter = (dh >> 32) == 0x20010000u, ster = (sh >> 32) == 0x20010000u;
        unsigned dprec = (de >> 8) + 10 * dlo1 - 5 * dmap - 35 * dter;
        unsigned dlabel = ((de >> 4) & 15) - dlo1 + 3 * dmap + 4 * dter;
        unsigned slabel = ((se >> 4) & 15) - slo1 + 3 * smap + 4 * ster;
        unsigned dscope = (de & 15) - 12 * dlo1, sscope = (se & 15) - 12 * slo1;
        uint32_t usable = (uint32_t)(flags & 1u) << 30;   /* SK_F_USABLE */
        uint32_t src_bits = (uint32_t)(dscope == sscope) << 29
                          | (uint32_t)(dlabel == slabel) << 28
                          | (uint32_t)v6b_common_len(dh ^ sh, dl ^ sl) << 8;
        src_bits &= -(uint32_t)(usable != 0);
        return usable | src_bits | (uint32_t)dprec << 20
             | (uint32_t)(15 - dscope) << 16 | (uint32_t)(48 - pos);
    }
    """
    uint32_t v6b_musl_key(const uint8_t *d, const uint8_t *s, unsigned flags,
                          unsigned pos) noexcept nogil
    void v6b_init() noexcept nogil


v6b_init()


cdef uint32_t bulk_musl_key_fast(const uint8_t *dst, const uint8_t *src, unsigned flags,
                                 unsigned pos) noexcept nogil:
    """musl's key for one row with musl's built-in table (``pos`` 0..47)."""
    return v6b_musl_key(dst, src, flags, pos)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _musl_keys_rows(const uint8_t *dst, const uint8_t *src, const uint8_t *flags,
                          const uint8_t *pos, uint32_t *out, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t r
    if flags == NULL:
        for r in range(n):
            out[r] = v6b_musl_key(dst + 16 * r, src + 16 * r, SK_F_USABLE, pos[r])
    else:
        for r in range(n):
            out[r] = v6b_musl_key(dst + 16 * r, src + 16 * r, flags[r], pos[r])


# ------------------------------------------------------------------ rows and keys

cdef inline void _load_row(sk_row_t *row, const uint8_t *dst, const uint8_t *src,
                           const uint8_t *flags, const uint8_t *plen, Py_ssize_t r,
                           uint32_t index) noexcept nogil:
    cdef uint8_t p
    row.dst = addr_load(dst + 16 * r)
    row.src = addr_load(src + 16 * r)
    row.flags = flags[r] if flags != NULL else SK_F_USABLE
    if not (row.flags & SK_F_USABLE):
        row.src.hi = 0
        row.src.lo = 0
    p = plen[r] if plen != NULL else BULK_PLEN_UNKNOWN
    row.src_plen = -1 if p == BULK_PLEN_UNKNOWN else p
    row.ifindex = SK_NO_IFINDEX
    row.index = index


cdef uint64_t bulk_wide_key(int flavor, const sk_policy_t *pol, sk_row_t *row) noexcept nogil:
    """The bulk key of a loaded ``row`` (rfc6724/glibc layout above): ``sk_wide_key`` and
    ``sk_cpl`` (0 when unusable, as ``sk_fill_row`` has it).  The other derived fields of
    ``row`` are left for ``sk_fill_row``, which only the exact path needs."""
    cdef uint64_t k = sk_wide_key(flavor, pol, row.dst, row.src, row.flags)
    cdef int32_t cpl = 0
    if row.flags & SK_F_USABLE:
        cpl = sk_cpl(flavor, row.src, row.dst, row.src_plen)
    k |= <uint64_t>(cpl & 0xff) << BULK_K_CPL
    if row.index < BULK_POS_LIMIT:
        k |= BULK_POS_LIMIT - 1 - row.index
    return k


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


cdef inline bint _is_v4(const sk_row_t *r) noexcept nogil:
    return addr_is_v4mapped(r.dst)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef int bulk_order_group(int flavor, const sk_policy_t *pol, bint musl_fast,
                          const uint8_t *dst, const uint8_t *src, const uint8_t *flags,
                          const uint8_t *plen, Py_ssize_t lo, Py_ssize_t n,
                          sk_row_t *rows, uint64_t *keys, uint32_t *order,
                          uint32_t *tmp) noexcept nogil:
    """Order one group (rows ``lo .. lo + n - 1``) into ``order[0:n]`` (group positions).

    Returns ``rule | exact << 8``: the rule (1-10) that put ``order[0]`` ahead of
    ``order[1]`` (0 when nothing was decided: one candidate, or an all-IPv4 musl answer,
    which musl leaves unsorted) and the ``BULK_EXACT_*`` reasons for the exact path.
    Scratch: ``rows``, ``keys`` and ``order`` hold ``n`` entries, ``tmp`` ``n``.
    """
    cdef Py_ssize_t i, j
    cdef uint32_t t
    cdef uint64_t kt, top
    cdef int exact = 0, rule
    cdef bint v4seen, v6seen, all_v4 = True
    cdef uint32_t f, home_mix = 0, n_usable = 0, n_encap = 0
    for i in range(n):
        order[i] = <uint32_t>i
        _load_row(&rows[i], dst, src, flags, plen, lo + i, <uint32_t>i)
        if flavor == SK_MUSL:
            if musl_fast:
                keys[i] = v6b_musl_key(dst + 16 * (lo + i), src + 16 * (lo + i),
                                       rows[i].flags, <unsigned>i)
                rows[i].key = keys[i]
            else:
                sk_fill_row(SK_MUSL, pol, &rows[i])
                keys[i] = rows[i].key
            if not _is_v4(&rows[i]):
                all_v4 = False
        else:
            keys[i] = bulk_wide_key(flavor, pol, &rows[i])
            f = rows[i].flags
            if f & SK_F_USABLE:
                if ((f & SK_F_HOME) != 0) != ((f & SK_F_CAREOF) != 0):
                    home_mix = 1
                n_usable += 1
                if f & SK_F_ENCAP:
                    n_encap += 1
    if n < 2 or (flavor == SK_MUSL and all_v4):
        return 0
    # insertion sort by key, descending; keys are distinct (the position is in them)
    for i in range(1, n):
        t = order[i]
        kt = keys[t]
        j = i - 1
        while j >= 0 and keys[order[j]] < kt:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = t
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
                if _is_v4(&rows[order[i]]):
                    v4seen = True
                else:
                    v6seen = True
                i += 1
            if v4seen and v6seen:
                exact |= BULK_EXACT_RULE9
                break
        if not exact:
            return _wide_rule(keys[order[0]] ^ keys[order[1]])
        for i in range(n):
            sk_fill_row(flavor, pol, &rows[i])
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


cdef int _scratch_alloc(_scratch_t *s, Py_ssize_t n) except -1:
    n = max(n, 2)
    s.rows = <sk_row_t *>malloc(n * sizeof(sk_row_t))
    s.keys = <uint64_t *>malloc(n * sizeof(uint64_t))
    s.order = <uint32_t *>malloc(n * sizeof(uint32_t))
    s.tmp = <uint32_t *>malloc(n * sizeof(uint32_t))
    if s.rows == NULL or s.keys == NULL or s.order == NULL or s.tmp == NULL:
        _scratch_free(s)
        raise MemoryError()
    return 0


cdef void _scratch_free(_scratch_t *s) noexcept:
    free(s.rows)
    free(s.keys)
    free(s.order)
    free(s.tmp)
    s.rows = NULL
    s.keys = NULL
    s.order = NULL
    s.tmp = NULL


@cython.boundscheck(False)
@cython.wraparound(False)
cdef Py_ssize_t _order_range(int flavor, const sk_policy_t *pol, bint musl_fast,
                             const uint8_t *dst, const uint8_t *src, const uint8_t *flags,
                             const uint8_t *plen, const int64_t *offsets,
                             Py_ssize_t g0, Py_ssize_t g1, int64_t *order_out,
                             int64_t *first, uint8_t *rule, uint8_t *exact,
                             _scratch_t *s) noexcept nogil:
    cdef Py_ssize_t g, i, lo, n, nexact = 0
    cdef int res
    for g in range(g0, g1):
        lo = offsets[g]
        n = offsets[g + 1] - lo
        if n == 0:
            first[g] = -1
            rule[g] = 0
            if exact != NULL:
                exact[g] = 0
            continue
        res = bulk_order_group(flavor, pol, musl_fast, dst, src, flags, plen, lo, n,
                               s.rows, s.keys, s.order, s.tmp)
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


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _keys_range(int flavor, const sk_policy_t *pol, bint musl_fast,
                      const uint8_t *dst, const uint8_t *src, const uint8_t *flags,
                      const uint8_t *plen, const int64_t *offsets, Py_ssize_t g0,
                      Py_ssize_t g1, uint64_t *out) noexcept nogil:
    cdef Py_ssize_t g, r, lo
    cdef sk_row_t row
    for g in range(g0, g1):
        lo = offsets[g]
        for r in range(lo, offsets[g + 1]):
            if flavor == SK_MUSL and musl_fast:
                out[r] = v6b_musl_key(dst + 16 * r, src + 16 * r,
                                      flags[r] if flags != NULL else SK_F_USABLE,
                                      <unsigned>(r - lo))
                continue
            _load_row(&row, dst, src, flags, plen, r, <uint32_t>(r - lo))
            if flavor == SK_MUSL:
                sk_fill_row(SK_MUSL, pol, &row)
                out[r] = row.key
            else:
                out[r] = bulk_wide_key(flavor, pol, &row)


# ------------------------------------------------------------------ source selection

cdef struct _cand_t:
    addr128_t a
    int32_t scope
    int32_t label
    uint32_t flags
    int32_t plen
    bint v4


cdef inline int _src_better(const _cand_t *a, int32_t ca, const _cand_t *b, int32_t cb,
                            addr128_t d, int32_t dscope, int32_t dlabel,
                            bint prefer_temp) noexcept nogil:
    """RFC 6724 section 5 rules 1-8 (rule 5 skipped: no interface): -1 if ``a`` wins,
    1 if ``b`` wins, 0 if no rule decides; ``ca``/``cb`` are CommonPrefixLen to ``d``.
    The same sequence as ``v6core.select.select_source``."""
    cdef bint ea = addr_eq(a.a, d), eb = addr_eq(b.a, d)
    cdef bint ha, hb
    if ea != eb:                                    # rule 1: same address
        return -1 if ea else 1
    if a.scope < b.scope:                           # rule 2: appropriate scope
        return 1 if a.scope < dscope else -1
    if b.scope < a.scope:
        return -1 if b.scope < dscope else 1
    ha = (a.flags & SK_F_DEPRECATED) != 0           # rule 3: avoid deprecated
    hb = (b.flags & SK_F_DEPRECATED) != 0
    if ha != hb:
        return 1 if ha else -1
    ha = (a.flags & SK_F_HOME) != 0 and (a.flags & SK_F_CAREOF) != 0   # rule 4: home
    hb = (b.flags & SK_F_HOME) != 0 and (b.flags & SK_F_CAREOF) != 0
    if ha != hb:
        return -1 if ha else 1
    if (a.flags & (SK_F_HOME | SK_F_CAREOF)) == SK_F_HOME and \
            (b.flags & (SK_F_HOME | SK_F_CAREOF)) == SK_F_CAREOF:
        return -1
    if (b.flags & (SK_F_HOME | SK_F_CAREOF)) == SK_F_HOME and \
            (a.flags & (SK_F_HOME | SK_F_CAREOF)) == SK_F_CAREOF:
        return 1
    ha = a.label == dlabel                          # rule 6: matching label
    hb = b.label == dlabel
    if ha != hb:
        return -1 if ha else 1
    ha = (a.flags & SK_F_TEMPORARY) != 0            # rule 7: temporary addresses
    hb = (b.flags & SK_F_TEMPORARY) != 0
    if ha != hb:
        return -1 if ha == prefer_temp else 1
    if ca != cb:                                    # rule 8: longest matching prefix
        return -1 if ca > cb else 1
    return 0


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _select_sources_range(const sk_policy_t *pol, const uint8_t *dst,
                                const int64_t *host, const int64_t *hoff,
                                const _cand_t *cands, bint prefer_temp,
                                Py_ssize_t r0, Py_ssize_t r1, uint8_t *src_out,
                                uint8_t *flags_out, uint8_t *plen_out,
                                int64_t *choice_out) noexcept nogil:
    cdef Py_ssize_t r, c, best
    cdef int64_t h
    cdef addr128_t d
    cdef bint dv4
    cdef int32_t dscope, dlabel, cbest, cc
    cdef const _cand_t *bc
    cdef bint attrs
    for r in range(r0, r1):
        d = addr_load(dst + 16 * r)
        dv4 = addr_is_v4mapped(d)
        h = host[r]
        best = -1
        cbest = 0
        attrs = False          # Scope(D), Label(D) and CommonPrefixLens, once needed
        for c in range(hoff[h], hoff[h + 1]):
            if cands[c].v4 != dv4:
                continue
            if best < 0:
                best = c
                continue
            if not attrs:
                dscope = sk_scope(SK_RFC6724, pol, d)
                dlabel = sk_label(pol, d)
                cbest = sk_cpl(SK_RFC6724, cands[best].a, d, cands[best].plen)
                attrs = True
            cc = sk_cpl(SK_RFC6724, cands[c].a, d, cands[c].plen)
            if _src_better(&cands[c], cc, &cands[best], cbest, d, dscope, dlabel,
                           prefer_temp) < 0:
                best = c
                cbest = cc
        choice_out[r] = best
        if best < 0:
            flags_out[r] = 0
            plen_out[r] = BULK_PLEN_UNKNOWN
            for c in range(16):
                src_out[16 * r + c] = 0
        else:
            bc = &cands[best]
            flags_out[r] = <uint8_t>(bc.flags | SK_F_USABLE)
            plen_out[r] = <uint8_t>(bc.plen if bc.plen >= 0 else BULK_PLEN_UNKNOWN)
            _store(src_out + 16 * r, bc.a)


cdef inline void _store(uint8_t *p, addr128_t a) noexcept nogil:
    cdef int i
    for i in range(8):
        p[i] = <uint8_t>(a.hi >> (56 - 8 * i))
        p[8 + i] = <uint8_t>(a.lo >> (56 - 8 * i))


# ------------------------------------------------------------------ Python API

from collections import namedtuple

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

Sources = namedtuple("Sources", "src flags plen choice")
Sources.__doc__ = """Result of :func:`select_sources`: ``src`` (N, 16) uint8, ``flags`` (N,)
uint8 (``FLAG_USABLE`` set where a source was found, plus its flags), ``plen`` (N,) uint8
(255 unknown) and ``choice`` (N,) int64, the chosen candidate row or -1."""


def _threads(threads, Py_ssize_t n):
    import os
    if threads is None:
        return len(os.sched_getaffinity(0)) if n >= 65536 else 1
    threads = int(threads)
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    return threads


_POOL = None


def _pool_map(fn, ranges):
    """Run ``fn(lo, hi)`` for each range; more than one range goes to a thread pool."""
    global _POOL
    if len(ranges) == 1:
        return [fn(*ranges[0])]
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor
        _POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="v6core-bulk")
    return list(_POOL.map(lambda r: fn(*r), ranges))


def _split_groups(offsets, int parts):
    """Split ``[0, G)`` into at most ``parts`` ranges of whole groups with similar row counts."""
    G = offsets.shape[0] - 1
    if parts <= 1 or G < 2 * parts:
        return [(0, G)]
    targets = np.linspace(offsets[0], offsets[G], parts + 1)[1:-1]
    cuts = np.searchsorted(offsets, targets).tolist()
    bounds = sorted({0, G, *[min(max(int(c), 0), G) for c in cuts]})
    return list(zip(bounds[:-1], bounds[1:]))


def iter_chunks(offsets, Py_ssize_t max_rows):
    """Yield ``(g0, g1)`` ranges of whole groups holding at most ``max_rows`` rows each.

    A single group larger than ``max_rows`` is yielded alone.  Use it to stream inputs
    larger than memory (e.g. ``np.load(..., mmap_mode="r")``) through the kernels.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows}")
    G = offsets.shape[0] - 1
    g0 = 0
    while g0 < G:
        g1 = int(np.searchsorted(offsets, offsets[g0] + max_rows, side="right")) - 1
        if g1 <= g0:
            g1 = g0 + 1
        g1 = min(g1, G)
        yield g0, g1
        g0 = g1


cdef const uint8_t *_rows_ptr(object arr, str name, Py_ssize_t n) except? NULL:
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 2 \
            or arr.shape[1] != 16 or not arr.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous (N, 16) uint8 array, got "
                         f"{getattr(arr, 'dtype', type(arr).__name__)} "
                         f"shape {getattr(arr, 'shape', '?')}")
    if n >= 0 and arr.shape[0] != n:
        raise ValueError(f"{name}: expected {n} rows, got {arr.shape[0]}")
    if arr.shape[0] == 0:
        return <const uint8_t *>1   # never read
    return <const uint8_t *>cnp.PyArray_DATA(arr)


cdef const uint8_t *_u8_ptr(object arr, str name, Py_ssize_t n) except? NULL:
    if arr is None:
        return NULL
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 1 \
            or not arr.flags.c_contiguous or arr.shape[0] != n:
        raise ValueError(f"{name}: expected a C-contiguous uint8 array of length {n}, got "
                         f"{getattr(arr, 'dtype', type(arr).__name__)} "
                         f"shape {getattr(arr, 'shape', '?')}")
    if n == 0:
        return NULL
    return <const uint8_t *>cnp.PyArray_DATA(arr)


cdef Py_ssize_t _nrows(object dst) except -1:
    if isinstance(dst, np.ndarray) and dst.ndim == 2:
        return dst.shape[0]
    _rows_ptr(dst, "dst", -1)
    return -1


def as_rows(a, str name="addresses"):
    """Coerce ``a`` to a C-contiguous ``(N, 16)`` uint8 array (no copy when it already is).

    Accepts ``(N, 16)`` uint8 arrays, 1-D arrays of a 16-byte dtype (``V16``, ``S16``), or
    a sequence of address text, bytes or ``ipaddress`` objects (packed by
    ``v6core._core.addr.pack_many``; IPv4 becomes IPv4-mapped).
    """
    if isinstance(a, np.ndarray):
        if a.ndim == 1 and a.dtype.itemsize == 16 and a.dtype.kind in "VS":
            a = np.ascontiguousarray(a).view(np.uint8).reshape(-1, 16)
        if a.dtype == np.uint8 and a.ndim == 2 and a.shape[1] == 16:
            return np.ascontiguousarray(a)
        raise ValueError(f"{name}: expected an (N, 16) uint8 array, got {a.dtype} "
                         f"shape {a.shape}")
    from v6core._core.addr import pack_many
    return pack_many(a)


def check_offsets(offsets, Py_ssize_t n):
    """Validate group offsets (int64, starts at 0, non-decreasing, ends at ``n``)."""
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    if offsets.ndim != 1 or offsets.shape[0] < 1:
        raise ValueError("offsets: expected a 1-D array of G + 1 group boundaries")
    if offsets[0] != 0 or offsets[-1] != n:
        raise ValueError(f"offsets: must start at 0 and end at the row count {n}, got "
                         f"{offsets[0]} .. {offsets[-1]}")
    if offsets.shape[0] > 1:
        bad = np.flatnonzero(offsets[1:] < offsets[:-1])
        if bad.shape[0]:
            raise ValueError(f"offsets: decreasing at group {int(bad[0])}")
    return offsets


def offsets_from_groups(groups):
    """Group offsets from a per-row group id array whose groups are contiguous runs.

    Returns ``(offsets, ids)``: int64 ``offsets`` (G + 1) and the id of each group.
    Raises ValueError naming the first group id that reappears after another group.
    """
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise ValueError("groups: expected a 1-D array")
    n = groups.shape[0]
    if n == 0:
        return np.zeros(1, dtype=np.int64), groups[:0]
    starts = np.flatnonzero(groups[1:] != groups[:-1]) + 1
    offsets = np.empty(starts.shape[0] + 2, dtype=np.int64)
    offsets[0] = 0
    offsets[1:-1] = starts
    offsets[-1] = n
    ids = groups[offsets[:-1]]
    uniq, counts = np.unique(ids, return_counts=True)
    if uniq.shape[0] != ids.shape[0]:
        dup = uniq[np.argmax(counts > 1)].item()
        raise ValueError(f"groups: the rows of group {dup!r} are not contiguous (sort rows by "
                         "group first, keeping each group's candidate order)")
    return offsets, ids


def positions(offsets):
    """Each row's position inside its group (uint32): rule 10's "order received"."""
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    n = int(offsets[-1])
    sizes = np.diff(offsets)
    return (np.arange(n, dtype=np.int64) - np.repeat(offsets[:-1], sizes)).astype(np.uint32)


cdef object _MUSL_DEFAULT_ROWS = None


def _resolve(flavor, policy):
    """``(code, CompiledPolicy, musl_fast)`` for a flavour name and optional PolicyTable."""
    global _MUSL_DEFAULT_ROWS
    from v6core._core import sortkey
    from v6core.select import default_policy
    code = sortkey.flavor_code(flavor)
    if code not in (SK_RFC6724, SK_GLIBC, SK_MUSL):
        raise ValueError(f"flavor {flavor!r} has no bulk kernel: expected one of "
                         f"{', '.join(FLAVORS)}")
    table = default_policy(flavor) if policy is None else policy
    compiled = getattr(table, "compiled", None)
    if compiled is None:
        raise TypeError(f"policy must be a PolicyTable, not {type(policy).__name__}")
    cp = compiled(flavor)
    fast = False
    if code == SK_MUSL:
        if _MUSL_DEFAULT_ROWS is None:
            d = default_policy("musl").compiled("musl")
            _MUSL_DEFAULT_ROWS = (d.precedence_rows, d.label_rows)
        fast = (cp.precedence_rows, cp.label_rows) == _MUSL_DEFAULT_ROWS
    return code, cp, fast


@cython.boundscheck(False)
def musl_keys(dst, src, flags=None, pos=None, *, offsets=None, out=None, threads=None):
    """musl 1.2.x sort keys (``lookup_name.c``) with musl's built-in table, one per row.

    Parameters
    ----------
    dst, src : (N, 16) uint8
        Destination and its source, network order; IPv4 as IPv4-mapped.  The source of an
        unusable row is ignored.
    flags : (N,) uint8, optional
        ``FLAG_USABLE`` set where connect() succeeded; other bits are ignored (musl has no
        rules 3, 4 or 7).  Default: every row usable.
    pos : (N,) uint8, optional
        Position of each row in its answer, 0 .. 47 (``MAXADDRS - pos`` is in the key).
    offsets : (G + 1,) int64, optional
        Group boundaries; positions are then counted inside each group.  Give ``pos`` or
        ``offsets``.
    out : (N,) uint32, optional
        Written in place and returned.
    threads : int, optional
        Worker threads (default: every available core for N >= 65536, else 1).

    Returns
    -------
    (N,) uint32 keys, equal to ``musl_sort_key(dst, src or None, pos)``; musl sorts
    descending.
    """
    cdef Py_ssize_t n = _nrows(dst)
    cdef const uint8_t *d = _rows_ptr(dst, "dst", n)
    cdef const uint8_t *s = _rows_ptr(src, "src", n)
    cdef const uint8_t *f = _u8_ptr(flags, "flags", n)
    cdef const uint8_t *p
    if out is None:
        out = np.empty(n, dtype=np.uint32)
    elif not (isinstance(out, np.ndarray) and out.dtype == np.uint32 and out.ndim == 1
              and out.shape[0] == n and out.flags.c_contiguous and out.flags.writeable):
        raise ValueError(f"out: expected a writable C-contiguous uint32 array of length {n}")
    if n == 0:
        return out
    cdef uint32_t *o = <uint32_t *>cnp.PyArray_DATA(out)
    nthreads = _threads(threads, n)
    if pos is None:
        if offsets is None:
            raise ValueError("give pos (each row's position in its answer) or offsets")
        offsets = check_offsets(offsets, n)
        sizes = np.diff(offsets)
        if sizes.shape[0] and int(sizes.max()) > MUSL_MAXADDRS:
            g = int(np.argmax(sizes > MUSL_MAXADDRS))
            raise ValueError(f"offsets: group {g} has {int(sizes[g])} rows; musl returns at "
                             f"most {MUSL_MAXADDRS} addresses")
        pos = positions(offsets).astype(np.uint8)
    p = _u8_ptr(pos, "pos", n)
    if int(pos.max()) >= MUSL_MAXADDRS:
        r = int(np.argmax(pos >= MUSL_MAXADDRS))
        raise ValueError(f"pos: row {r} has position {int(pos[r])}; musl returns at most "
                         f"{MUSL_MAXADDRS} addresses (positions 0 .. 47)")

    def run(Py_ssize_t lo, Py_ssize_t hi):
        with nogil:
            _musl_keys_rows(d + 16 * lo, s + 16 * lo, f + lo if f != NULL else NULL,
                            p + lo, o + lo, hi - lo)
    step = -(-n // nthreads)
    _pool_map(run, [(a, min(a + step, n)) for a in range(0, n, step)])
    return out


def sort_keys(dst, src, flags=None, plen=None, *, offsets, str flavor="rfc6724",
              policy=None, out=None, threads=None):
    """Bulk sort keys of every row, larger first within a group (see the module docstring).

    Parameters
    ----------
    dst, src : (N, 16) uint8
    flags : (N,) uint8, optional
        ``FLAG_*`` bits of each row's source; ``FLAG_USABLE`` clear = unreachable.
        Default: every row usable, no other flags.
    plen : (N,) uint8, optional
        Source prefix lengths (IPv4 as an IPv4 length); 255 or absent = unknown.
    offsets : (G + 1,) int64
        Group boundaries (positions are counted within each group).
    flavor : {"rfc6724", "glibc", "musl"}
    policy : PolicyTable, optional
        Replaces the flavour's built-in table.
    out : (N,) uint64, optional

    Returns
    -------
    (N,) uint64.  musl: the 31-bit key.  rfc6724/glibc: ``sk_wide_key | cpl << 12 |
    (4095 - position)``; ordering a group by it equals ``sort_destinations`` except in the
    cases :func:`order_groups` reports in ``exact``.  Positions from 4096 on are not in the
    key (such groups always take the exact path in :func:`order_groups`).
    """
    cdef Py_ssize_t n = _nrows(dst)
    cdef const uint8_t *d = _rows_ptr(dst, "dst", n)
    cdef const uint8_t *s = _rows_ptr(src, "src", n)
    cdef const uint8_t *f = _u8_ptr(flags, "flags", n)
    cdef const uint8_t *pl = _u8_ptr(plen, "plen", n)
    cdef cnp.ndarray offs = check_offsets(offsets, n)
    cdef const int64_t *op = <const int64_t *>cnp.PyArray_DATA(offs)
    code, cp, fast = _resolve(flavor, policy)
    cdef CompiledPolicy cpol = cp
    cdef int fl = code
    cdef bint musl_fast = fast
    if out is None:
        out = np.empty(n, dtype=np.uint64)
    elif not (isinstance(out, np.ndarray) and out.dtype == np.uint64 and out.ndim == 1
              and out.shape[0] == n and out.flags.c_contiguous and out.flags.writeable):
        raise ValueError(f"out: expected a writable C-contiguous uint64 array of length {n}")
    if n == 0:
        return out
    sizes = np.diff(offs)
    if fl == SK_MUSL and int(sizes.max()) > MUSL_MAXADDRS:
        g = int(np.argmax(sizes > MUSL_MAXADDRS))
        raise ValueError(f"offsets: group {g} has {int(sizes[g])} rows; musl returns at "
                         f"most {MUSL_MAXADDRS} addresses")
    cdef uint64_t *o = <uint64_t *>cnp.PyArray_DATA(out)

    def run(Py_ssize_t g0, Py_ssize_t g1):
        with nogil:
            _keys_range(fl, &cpol.pol, musl_fast, d, s, f, pl, op, g0, g1, o)
    _pool_map(run, _split_groups(offs, _threads(threads, n)))
    return out


def order_groups(dst, src, flags=None, plen=None, *, offsets, str flavor="rfc6724",
                 policy=None, bint want_order=True, threads=None):
    """Order every group as the flavour's resolver would, and report the first choice.

    Parameters are those of :func:`sort_keys`.  Each group is ordered by its bulk keys,
    or by the exact pairwise path (``sortkey.sk_sort``) where a key cannot express the
    order (see the module docstring).  musl groups are limited to 48 rows.

    Returns
    -------
    GroupOrder(order, first, rule, exact); ``order`` is None unless ``want_order``.
    """
    cdef Py_ssize_t n = _nrows(dst)
    cdef const uint8_t *d = _rows_ptr(dst, "dst", n)
    cdef const uint8_t *s = _rows_ptr(src, "src", n)
    cdef const uint8_t *f = _u8_ptr(flags, "flags", n)
    cdef const uint8_t *pl = _u8_ptr(plen, "plen", n)
    cdef cnp.ndarray offs = check_offsets(offsets, n)
    cdef const int64_t *op = <const int64_t *>cnp.PyArray_DATA(offs)
    cdef Py_ssize_t G = offs.shape[0] - 1
    code, cp, fast = _resolve(flavor, policy)
    cdef CompiledPolicy cpol = cp
    cdef int fl = code
    cdef bint musl_fast = fast
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
    cdef int64_t *orp = <int64_t *>cnp.PyArray_DATA(order) if want_order and n else NULL
    cdef int64_t *fp = <int64_t *>cnp.PyArray_DATA(first)
    cdef uint8_t *rp = <uint8_t *>cnp.PyArray_DATA(rule)
    cdef uint8_t *ep = <uint8_t *>cnp.PyArray_DATA(exact)

    def run(Py_ssize_t g0, Py_ssize_t g1):
        cdef _scratch_t sc
        _scratch_alloc(&sc, maxg)
        try:
            with nogil:
                _order_range(fl, &cpol.pol, musl_fast, d, s, f, pl, op, g0, g1, orp, fp, rp,
                             ep, &sc)
        finally:
            _scratch_free(&sc)
    _pool_map(run, _split_groups(offs, _threads(threads, n)))
    return GroupOrder(order, first, rule, exact)


def select_sources(dst, host, host_offsets, candidates, cand_flags=None, cand_plen=None, *,
                   policy=None, bint prefer_temporary=True, threads=None):
    """Choose Source(D) for every row from its host's candidates (RFC 6724 section 5).

    The rules and their order are ``v6core.select.select_source``'s (rules 1-8; rule 5,
    the outgoing interface, is skipped; ties keep the candidate order).  Only candidates
    of the destination's family count; a row with none is unreachable.

    Parameters
    ----------
    dst : (N, 16) uint8
    host : (N,) integer
        Host index of each row, 0 .. H - 1.
    host_offsets : (H + 1,) int64
        Host ``h``'s candidate sources are ``candidates[host_offsets[h]:host_offsets[h+1]]``.
    candidates : (M, 16) uint8
    cand_flags : (M,) uint8, optional
        ``FLAG_*`` bits (deprecated, temporary, home, care-of, ...) of each candidate.
    cand_plen : (M,) uint8, optional
        Candidate prefix lengths (255 unknown; IPv4 as an IPv4 length).
    policy : PolicyTable, optional
        Labels for rule 6 (default: the RFC 6724 table).
    prefer_temporary : bool
        Rule 7's direction (RFC 6724: temporary preferred).

    Returns
    -------
    Sources(src, flags, plen, choice), ready for :func:`order_groups`.
    """
    cdef Py_ssize_t n = _nrows(dst)
    cdef const uint8_t *d = _rows_ptr(dst, "dst", n)
    cdef Py_ssize_t m = _nrows(candidates)
    cdef const uint8_t *cands = _rows_ptr(candidates, "candidates", m)
    cdef const uint8_t *cf = _u8_ptr(cand_flags, "cand_flags", m)
    cdef const uint8_t *cpl = _u8_ptr(cand_plen, "cand_plen", m)
    hoffs = np.ascontiguousarray(host_offsets, dtype=np.int64)
    if hoffs.ndim != 1 or hoffs.shape[0] < 1 or hoffs[0] != 0 or hoffs[-1] != m:
        raise ValueError(f"host_offsets: expected H + 1 boundaries from 0 to {m}")
    if hoffs.shape[0] > 1 and bool((hoffs[1:] < hoffs[:-1]).any()):
        raise ValueError("host_offsets: must not decrease")
    H = hoffs.shape[0] - 1
    hosts = np.ascontiguousarray(host, dtype=np.int64)
    if hosts.shape != (n,):
        raise ValueError(f"host: expected {n} host indices, got shape {hosts.shape}")
    if n and (int(hosts.min()) < 0 or int(hosts.max()) >= H):
        r = int(np.argmax((hosts < 0) | (hosts >= H)))
        raise ValueError(f"host: row {r} names host {int(hosts[r])}, but there are {H} hosts")
    _, cp, _ = _resolve("rfc6724", policy)
    cdef CompiledPolicy cpol = cp
    # per-candidate attributes, computed once
    cdef cnp.ndarray cbuf = np.zeros(max(m, 1) * sizeof(_cand_t), dtype=np.uint8)
    cdef _cand_t *ca = <_cand_t *>cnp.PyArray_DATA(cbuf)
    cdef Py_ssize_t i
    cdef uint8_t pv
    for i in range(m):
        ca[i].a = addr_load(cands + 16 * i)
        ca[i].v4 = addr_is_v4mapped(ca[i].a)
        ca[i].scope = sk_scope(SK_RFC6724, &cpol.pol, ca[i].a)
        ca[i].label = sk_label(&cpol.pol, ca[i].a)
        ca[i].flags = (cf[i] & ~SK_F_USABLE) if cf != NULL else 0
        pv = cpl[i] if cpl != NULL else BULK_PLEN_UNKNOWN
        ca[i].plen = -1 if pv == BULK_PLEN_UNKNOWN else pv
    src_out = np.zeros((n, 16), dtype=np.uint8)
    flags_out = np.zeros(n, dtype=np.uint8)
    plen_out = np.empty(n, dtype=np.uint8)
    choice = np.empty(n, dtype=np.int64)
    if n == 0:
        return Sources(src_out, flags_out, plen_out, choice)
    cdef const int64_t *hp = <const int64_t *>cnp.PyArray_DATA(hosts)
    cdef const int64_t *hop = <const int64_t *>cnp.PyArray_DATA(hoffs)
    cdef uint8_t *so = <uint8_t *>cnp.PyArray_DATA(src_out)
    cdef uint8_t *fo = <uint8_t *>cnp.PyArray_DATA(flags_out)
    cdef uint8_t *po = <uint8_t *>cnp.PyArray_DATA(plen_out)
    cdef int64_t *co = <int64_t *>cnp.PyArray_DATA(choice)
    cdef bint pt = prefer_temporary

    def run(Py_ssize_t r0, Py_ssize_t r1):
        with nogil:
            _select_sources_range(&cpol.pol, d, hp, hop, ca, pt, r0, r1, so, fo, po, co)
    nthreads = _threads(threads, n)
    step = -(-n // nthreads)
    _pool_map(run, [(a, min(a + step, n)) for a in range(0, n, step)])
    return Sources(src_out, flags_out, plen_out, choice)


# ------------------------------------------------------------------ destination classes

@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _classify_range(const uint8_t *dst, Py_ssize_t r0, Py_ssize_t r1,
                          uint8_t *out) noexcept nogil:
    cdef Py_ssize_t r
    cdef addr128_t a
    cdef uint8_t c
    for r in range(r0, r1):
        a = addr_load(dst + 16 * r)
        if addr_is_v4mapped(a):
            c = 5
        elif (a.hi >> 57) == 0x7e:              # fc00::/7 ULA (RFC 4193)
            c = 1
        elif (a.hi >> 48) == 0x2002:            # 6to4 (RFC 3056)
            c = 2
        elif (a.hi >> 32) == 0x20010000:        # Teredo (RFC 4380)
            c = 3
        elif (a.hi >> 61) == 1:                 # 2000::/3 global unicast
            c = 0
        else:
            c = 4
        out[r] = c


def classify(dst, threads=None):
    """Destination class of each row (uint8): 0 global unicast (2000::/3), 1 ULA
    (fc00::/7), 2 6to4 (2002::/16), 3 Teredo (2001::/32), 4 other IPv6, 5 IPv4."""
    cdef Py_ssize_t n = _nrows(dst)
    cdef const uint8_t *d = _rows_ptr(dst, "dst", n)
    out = np.empty(n, dtype=np.uint8)
    if n == 0:
        return out
    cdef uint8_t *o = <uint8_t *>cnp.PyArray_DATA(out)

    def run(Py_ssize_t r0, Py_ssize_t r1):
        with nogil:
            _classify_range(d, r0, r1, o)
    nthreads = _threads(threads, n)
    step = -(-n // nthreads)
    _pool_map(run, [(a, min(a + step, n)) for a in range(0, n, step)])
    return out
