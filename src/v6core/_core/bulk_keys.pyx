# cython: language_level=3
"""Bulk sort keys over numpy arrays (row layout in ``bulk_common.pxd``).

* ``musl``: musl 1.2.x's 31-bit key (``src/network/lookup_name.c``), bit for bit, the
  same as ``sortkey.musl_key``: usable 30, matching scope 29, matching label 28,
  precedence 20-27, ``15 - scope`` 16-19, common prefix length 8-15, ``48 - position``
  0-7; larger first.  With musl's own table the kernel uses a branch-free encoding of
  it, generated at import from ``tables.MUSL_ROWS`` (the one definition) and checked
  to be exact for it; any other table goes through ``sortkey.musl_key``.
* ``rfc6724``, ``glibc``, ``go`` and ``rfc6724-update``: 64 bits, larger first:
  ``sortkey.sk_wide_key`` (rules 1-8 in bits 20-62), the flavour's rule 9
  CommonPrefixLen in bits 12-19 and ``4095 - position`` (rule 10) in bits 0-11.
  ``go`` (``sk_fill_row`` masks the source flags: no rules 3, 4, 7): an unusable row
  keeps only its position (Go holds two destinations without a source equal, and its
  stable sort keeps their order), an IPv4 row has 0 in the rule 9 field (Go's rule 9
  is between IPv6 destinations only), and a tie left after rule 9 is kept in input
  order, which is what Go's stable sort does with "equal" rows.  ``rfc6724-update``:
  the rows are filled under the draft's table and then given the lookup's known-local
  ULA /48 values (``sortkey.sk_known_local``).

  rfc6724, go and rfc6724-update read precedence, label and scope from a table by the
  address's first 16 bits, or for the few prefixes those do not decide by a region of
  their own (``bulk_wide_table``, ``bulk_wide_index``; generated per policy from its
  own lookups and checked against them) whenever the policy allows it, which the
  built-in tables do, and rule 9's cap from a table of ``sortkey.sk_cpl_cap``
  (``bulk_cpl_caps``); the key is then assembled by the same inlines of ``sortkey.pxd``
  as per call.  The update's learned known-local /48 row is one more region of that
  table, chosen for an address inside fd00::/8 when it lies in a /48 that
  ``bulk_kl_group`` found among the lookup's usable sources (``bulk_kl_dst``,
  ``bulk_kl_src``).  Other policies, explicit ``known_local`` and lookups of more than
  ``BULK_KL_SMALL`` rows under the update fill an ``sk_row_t`` per row as above.
"""

cimport cython
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

cimport numpy as cnp
import numpy as np

from v6core._core.types cimport addr128_t, addr_scope
from v6core._core.sortkey cimport (
    CompiledPolicy, sk_fill_row, sk_cpl, sk_wide_key, sk_precedence, sk_label, sk_scope,
    sk_wide_flag_bits, sk_flavor_flags,
    sk_known_local_collect, sk_known_local, sk_cpl_cap, SK_RFC6724, SK_MUSL, SK_GO,
    SK_F_USABLE, MUSL_MAXADDRS,
)
from v6core._core.bulk_common cimport (
    bulk_kl_t, bulk_kl_fill, bulk_load_row, bulk_nrows, bulk_rows_arg, bulk_u8_arg,
    bulk_out_arg,
)
from v6core._core.bulk_common import (
    check_offsets, positions, pool_map, resolve_policy, split_groups,
    split_rows, threads_for,
)
from v6core._core import tables as _tables

cnp.import_array()

POS_LIMIT = BULK_POS_LIMIT


# ------------------------------------------------------------------ musl, branch-free

cdef extern from "bulk_musl.h":
    # the one C definition of the kernel, shared with bench/musl_kernel_loop.c
    uint16_t v6b_t16[65536]
    unsigned v6b_fix[3][3]
    uint32_t v6b_musl_key(const uint8_t *d, const uint8_t *s, unsigned flags,
                          unsigned pos) noexcept nogil


cdef inline addr128_t _a(uint64_t hi, uint64_t lo) noexcept nogil:
    cdef addr128_t a
    a.hi = hi
    a.lo = lo
    return a


cdef void _t16_fill(const sk_policy_t *pol) noexcept nogil:
    cdef uint32_t t
    cdef addr128_t rep
    cdef int32_t prec, label, scope
    for t in range(65536):
        # a representative outside ::1/128, ::ffff:0:0/96 and 2001::/32
        rep = _a((<uint64_t>t << 48) | (<uint64_t>0xffff << 32), 0)
        prec = sk_precedence(pol, rep)
        label = sk_label(pol, rep)
        scope = addr_scope(rep, True)
        v6b_t16[t] = <uint16_t>((prec << 8) | (label << 4) | scope)


def _generate_musl_fast():
    """Generate the branch-free musl encoding from ``tables.MUSL_ROWS`` and check that it
    is exact for that table (ImportError otherwise: the kernel would be wrong)."""
    cdef CompiledPolicy cp = _tables.default_compiled("musl")
    cdef addr128_t fix[3]
    cdef addr128_t base[3]
    cdef int i
    longer = {(b"\0" * 15 + b"\1", 128), (b"\0" * 10 + b"\xff\xff" + b"\0" * 4, 96),
              (b"\x20\x01" + b"\0" * 14, 32)}
    for kind, rows in (("precedence", cp.precedence_rows), ("label", cp.label_rows)):
        top = 255 if kind == "precedence" else 15
        if not any(n == 0 for _, n, _ in rows):
            raise ImportError(f"musl table: no ::/0 {kind} row; the bulk encoding needs one")
        for p, n, v in rows:
            if not (n <= 16 or (p, n) in longer) or not 0 <= v <= top:
                raise ImportError(f"musl table row {p.hex()}/{n} {kind} {v}: not expressible "
                                  "in the bulk kernel's encoding")
    _t16_fill(&cp.pol)
    fix[0] = _a(0, 1)                          # ::1
    base[0] = _a(<uint64_t>0xffff << 32, 0)    # what v6b_t16[0] was computed from
    fix[1] = _a(0, 0xffff00000000)             # ::ffff:0.0.0.0
    base[1] = base[0]
    fix[2] = _a(<uint64_t>0x2001 << 48, 0)     # 2001::
    base[2] = _a((<uint64_t>0x2001 << 48) | (<uint64_t>0xffff << 32), 0)
    for i in range(3):
        v6b_fix[i][0] = <unsigned>(sk_precedence(&cp.pol, fix[i]) - sk_precedence(&cp.pol, base[i]))
        v6b_fix[i][1] = <unsigned>(sk_label(&cp.pol, fix[i]) - sk_label(&cp.pol, base[i]))
        v6b_fix[i][2] = <unsigned>(addr_scope(fix[i], True) - addr_scope(base[i], True))


_generate_musl_fast()


def musl_tables():
    """The generated tables of the branch-free musl kernel (``bulk_musl.h``), for the
    benchmark's C loop around the same kernel: ``(t16, fix)``, 65536 native-endian uint16
    then 9 native unsigned ints, as ``v6b_init`` takes them."""
    t16 = np.empty(65536, np.uint16)
    fix = np.empty(9, np.uintc)
    cdef Py_ssize_t i
    for i in range(65536):
        t16[i] = v6b_t16[i]
    for i in range(9):
        fix[i] = v6b_fix[i // 3][i % 3]
    return t16, fix


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


# ------------------------------------------------------------------ rfc6724 / glibc

cdef uint64_t bulk_wide_key(int flavor, const sk_policy_t *pol, sk_row_t *row) noexcept nogil:
    """The bulk key of a loaded ``row`` (rfc6724/glibc layout above): ``sk_wide_key`` and
    ``sk_cpl`` (0 when unusable, as ``sk_fill_row`` has it).  The other derived fields of
    ``row`` are left for ``sk_fill_row``, which only the exact path needs."""
    return bulk_key_finish(flavor, sk_wide_key(flavor, pol, row.dst, row.src, row.flags),
                           row.flags, addr_is_v4mapped(row.dst),
                           sk_cpl(flavor, row.src, row.dst, row.src_plen), row.index)


cdef uint64_t bulk_filled_key(int flavor, const sk_row_t *row) noexcept nogil:
    """The bulk key of a row ``sk_fill_row`` filled (the layout above; go and
    rfc6724-update take this way where the table-driven kernel cannot)."""
    return bulk_key_finish(flavor, row.key, row.flags, addr_is_v4mapped(row.dst), row.cpl,
                           row.index)


# ------------------------------------------------------------------ rfc6724 / go, by table
# A policy whose rows are all /16 or shorter, or one of ::1/128, ::ffff:0:0/96, ::/96 and
# 2001::/32, gives every address the precedence, label and scope of either its first 16
# bits or its BULK_W_* region (bulk_wide_index): the addresses of ::1, ::/96 and Teredo
# each match the same rows, IPv4-mapped ones those of their first 16 IPv4 bits (scope:
# 127/8 and 169.254/16 are link-local), and so do the other addresses that share their
# first 16 bits.  Such a table (RFC 6724's, the draft update's, Go's and most edited
# ones) is generated once per policy from the policy's own lookups and checked against
# them; bulk_fast_key then reads one entry per address instead of scanning rows.

cdef object _W_LONG = frozenset({
    (b"\0" * 15 + b"\1", 128),                             # ::1/128
    (b"\0" * 10 + b"\xff\xff" + b"\0" * 4, 96),          # ::ffff:0:0/96
    (b"\0" * 16, 96),                                      # ::/96
    (b"\x20\x01" + b"\0" * 14, 32),                        # 2001::/32
})
cdef dict _w_cache = {}


cdef uint32_t _w_entry(const sk_policy_t *pol, addr128_t a) noexcept nogil:
    """The table entry of ``a`` by the policy's own lookups (0xffffffff: not encodable)."""
    cdef int32_t prec = sk_precedence(pol, a), label = sk_label(pol, a)
    cdef int32_t scope = sk_scope(SK_RFC6724, pol, a)
    if not (0 <= prec <= 255 and 0 <= label <= 15 and 0 <= scope <= 15):
        return 0xffffffffU
    return <uint32_t>((prec << 8) | (label << 4) | scope)


cdef bint _w_fill(const sk_policy_t *pol, uint16_t *t, bint v4) noexcept nogil:
    """A 65536-entry region by each address's first 16 bits (``v4``: the first 16 bits of
    an IPv4-mapped address's IPv4 address)."""
    cdef uint32_t i, e
    cdef addr128_t rep
    for i in range(<uint32_t>BULK_W_T16):
        if v4:
            rep = _a(0, (<uint64_t>0xffff << 32) | (<uint64_t>i << 16))
        else:
            # region 0: ffff in bits 32-47 keeps ::/64 and 2001::/32 out of the others
            rep = _a((<uint64_t>i << 48) | (<uint64_t>0xffff << 32), 0)
        e = _w_entry(pol, rep)
        if e == 0xffffffffU:
            return False
        t[i] = <uint16_t>e
    return True


def bulk_wide_table(CompiledPolicy cp not None, int flavor):
    """The attribute table of ``cp`` for ``bulk_fast_key`` (rfc6724 and go rules), or None
    when the encoding cannot express the policy (rows it cannot place, values out of
    range, glibc-style IPv4 scopes, or a table the check below finds wrong).  Generated
    once per policy and checked against the policy's own lookups at every row boundary."""
    if flavor not in (SK_RFC6724, SK_GO) or cp.pol.nscope4 != 0:
        return None
    # everything the table is made from (rows and the values of no row)
    key = (cp.precedence_rows, cp.label_rows, cp.pol.prec_default, cp.pol.label_default)
    t = _w_cache.get(key)
    if t is not None:
        return t
    for p, n, _ in cp.precedence_rows + cp.label_rows:
        if n > 16 and (p, n) not in _W_LONG:
            return None
    t = np.zeros(BULK_W_ENTRIES, np.uint16)
    cdef uint16_t[::1] tv = t
    cdef uint32_t e
    cdef addr128_t a
    cdef bint ok
    with nogil:
        ok = _w_fill(&cp.pol, &tv[0], False)
    if not ok:
        return None
    # the regions: ::1, ::/96, 2001::/32 (one entry each), IPv4 (by its first 16 bits) and
    # the known-local row (rfc6724-update, with the scope of an address inside fd00::/8)
    for i, (hi, lo) in ((BULK_W_LOOPBACK << 16, (0, 1)), (BULK_W_COMPAT << 16, (0, 2)),
                        ((BULK_W_TEREDO << 16) | 0x2001, (0x2001 << 48, 1))):
        a = _a(hi, lo)
        if bulk_wide_index(a) != i:
            return None
        e = _w_entry(&cp.pol, a)
        if e == 0xffffffffU:
            return None
        tv[i] = <uint16_t>e
    with nogil:
        ok = _w_fill(&cp.pol, &tv[BULK_W_V4 << 16], True)
    if not ok:
        return None
    e = _w_entry(&cp.pol, _a(0xfd00000000000000, 1))
    if e == 0xffffffffU:
        return None
    tv[(BULK_W_KNOWN_LOCAL << 16) + 0xfd00:(BULK_W_KNOWN_LOCAL << 16) + 0xfe00] = (
        (SK_KNOWN_LOCAL_PREC << 8) | (SK_KNOWN_LOCAL_LABEL << 4) | (e & 15))
    # check: every row's first and last address, and their neighbours, read as the
    # policy says (what the argument above promises)
    for p, n, _ in cp.precedence_rows + cp.label_rows:
        base = int.from_bytes(p, "big")
        last = base | ((1 << (128 - n)) - 1)
        for v in (base, last, base - 1, last + 1, base + 2, base | 0xffff):
            v &= (1 << 128) - 1
            a = _a(v >> 64, v & 0xffffffffffffffff)
            if bulk_wide_attrs(&tv[0], a) != _w_entry(&cp.pol, a):
                # a bug here, never the input's: the row scan stays exact (tests assert
                # that the built-in tables get a table)
                return None
    t.setflags(write=False)         # shared by every caller of this policy
    if len(_w_cache) >= 16:
        _w_cache.clear()
    _w_cache[key] = t
    return t


cdef Py_ssize_t bulk_fill_group(int flavor, const sk_policy_t *pol, const bulk_kl_t *kl,
                                sk_row_t *rows, Py_ssize_t n, uint64_t *klbuf) noexcept nogil:
    """Fill ``n`` loaded rows of one group (``sk_fill_row``) and, for rfc6724-update
    (``kl.on``), give them the group's known-local /48 values.  ``klbuf`` holds
    ``kl.nexplicit + n``.  Returns the number of known-local /48s applied."""
    cdef Py_ssize_t i, nkl
    for i in range(n):
        sk_fill_row(flavor, pol, &rows[i])
    if kl == NULL or not kl.on:
        return 0
    if kl.nexplicit:
        memcpy(klbuf, kl.explicit, kl.nexplicit * sizeof(uint64_t))
    nkl = sk_known_local_collect(rows, n if kl.learn else 0, klbuf, kl.nexplicit, kl.skip,
                                 kl.nskip)
    if nkl:
        for i in range(n):
            sk_known_local(pol, &rows[i], klbuf, nkl)
    return nkl


cdef uint64_t _fbits[2][256]     # sk_wide_flag_bits of every flags byte: [0] rfc6724, [1] go


cdef void _fbits_fill() noexcept nogil:
    cdef uint32_t f
    for f in range(256):
        _fbits[0][f] = sk_wide_flag_bits(SK_RFC6724, sk_flavor_flags(SK_RFC6724, f))
        _fbits[1][f] = sk_wide_flag_bits(SK_GO, sk_flavor_flags(SK_GO, f))


_fbits_fill()


cdef uint8_t _caps[2][1024]    # bulk_cpl_caps: [0] rfc6724, [1] go


cdef void _caps_fill() noexcept nogil:
    cdef uint32_t usable, v4, p
    cdef int f
    for f in range(2):
        for usable in range(2):
            for v4 in range(2):
                for p in range(256):
                    _caps[f][usable << 9 | v4 << 8 | p] = <uint8_t>bulk_key_cpl(
                        SK_GO if f else SK_RFC6724, usable, v4,
                        sk_cpl_cap(f, v4, -1 if p == BULK_PLEN_UNKNOWN else <int32_t>p))


_caps_fill()


cdef const uint8_t *bulk_cpl_caps(int flavor) noexcept nogil:
    """Rule 9's cap in the bulk key for ``bulk_fast_key`` (rfc6724 or go), by
    ``usable << 9 | v4 << 8 | plen``: ``bulk_key_cpl`` of ``sk_cpl_cap``.  The lesser of
    ``sk_cpl_len`` and it is the field ``bulk_key_finish`` makes of ``sk_cpl_rfc``
    (``bulk_key_cpl`` keeps a value or zeroes it, either of which commutes with the
    lesser of two)."""
    return &_caps[1][0] if flavor == SK_GO else &_caps[0][0]


cdef uint8_t _USABLE1 = SK_F_USABLE, _PLEN1 = BULK_PLEN_UNKNOWN


cdef bulk_bytes_t bulk_row_bytes(const uint8_t *flags, const uint8_t *plen) noexcept nogil:
    """``flags`` and ``plen`` (either may be NULL: every row usable; unknown) as
    ``bulk_fast_row_key`` reads them."""
    cdef bulk_bytes_t b
    b.flags = flags if flags != NULL else &_USABLE1
    b.fmask = -1 if flags != NULL else 0
    b.plen = plen if plen != NULL else &_PLEN1
    b.pmask = -1 if plen != NULL else 0
    return b


cdef const uint64_t *bulk_flag_bits(int flavor) noexcept nogil:
    """``sk_wide_flag_bits`` of every flags byte for ``bulk_fast_key`` (rfc6724 or go)."""
    return &_fbits[1][0] if flavor == SK_GO else &_fbits[0][0]


# One loop per flavour, so that the compiler sees the flavour (and whether the update
# learns) as a constant in bulk_fast_key, and flags / plen read through a mask (0: one
# byte for every row) rather than a test per row.  Every call site must inline
# bulk_fast_key (check: ``nm`` lists no bulk_fast_key symbol in the built module); when
# gcc 12 -O2 stopped inlining at a third call site every flavour took 30 % longer, so
# setup.py raises its inline limit for this module and bulk_order.

cdef void _fast_rows_go(const uint16_t *wide, const uint8_t *dst, const uint8_t *src,
                        const uint8_t *flags, Py_ssize_t fmask, const uint8_t *plen,
                        Py_ssize_t pmask, Py_ssize_t lo, Py_ssize_t n,
                        uint64_t *out) noexcept nogil:
    cdef Py_ssize_t r
    for r in range(lo, lo + n):
        out[r] = bulk_fast_row_key(SK_GO, wide, bulk_flag_bits(SK_GO), bulk_cpl_caps(SK_GO),
                                   dst, src, flags, fmask, plen, pmask, lo, r, False, 0)


cdef void _fast_rows_rfc(const uint16_t *wide, const uint8_t *dst, const uint8_t *src,
                         const uint8_t *flags, Py_ssize_t fmask, const uint8_t *plen,
                         Py_ssize_t pmask, Py_ssize_t lo, Py_ssize_t n,
                         uint64_t *out) noexcept nogil:
    cdef Py_ssize_t r
    for r in range(lo, lo + n):
        out[r] = bulk_fast_row_key(SK_RFC6724, wide, bulk_flag_bits(SK_RFC6724),
                                   bulk_cpl_caps(SK_RFC6724), dst, src, flags, fmask, plen,
                                   pmask, lo, r, False, 0)


cdef void _fast_rows_update(const uint16_t *wide, const uint8_t *dst, const uint8_t *src,
                            const uint8_t *flags, Py_ssize_t fmask, const uint8_t *plen,
                            Py_ssize_t pmask, Py_ssize_t lo, Py_ssize_t n,
                            uint64_t *out) noexcept nogil:
    """rfc6724-update, learning the lookup's known-local /48s."""
    cdef Py_ssize_t r
    cdef uint64_t group = bulk_kl_group(src, flags, fmask, lo, n)
    if group & BULK_KL_SEVERAL:
        # each destination inside fd00::/8 scans the sources
        for r in range(lo, lo + n):
            out[r] = bulk_fast_row_key(
                SK_RFC6724, wide, bulk_flag_bits(SK_RFC6724), bulk_cpl_caps(SK_RFC6724), dst,
                src, flags, fmask, plen, pmask, lo, r, True,
                bulk_kl_dst(group, load_be64(dst + 16 * r), src, flags, fmask, lo, n))
        return
    for r in range(lo, lo + n):
        out[r] = bulk_fast_row_key(SK_RFC6724, wide, bulk_flag_bits(SK_RFC6724),
                                   bulk_cpl_caps(SK_RFC6724), dst, src, flags, fmask, plen,
                                   pmask, lo, r, True,
                                   bulk_kl_one(group, load_be64(dst + 16 * r)))


cdef Py_ssize_t _filled_max(Py_ssize_t fast_max, const int64_t *offsets, Py_ssize_t g0,
                            Py_ssize_t g1) noexcept nogil:
    """The largest of lookups g0 .. g1 - 1 that fill rows (more than ``fast_max`` rows,
    ``bulk_fast_max``), or -1 when none does (an empty lookup still fills when
    ``fast_max`` is -1: bulk_fill_group copies the explicit /48s)."""
    cdef Py_ssize_t g, n, m = -1
    for g in range(g0, g1):
        n = offsets[g + 1] - offsets[g]
        if n > fast_max and n > m:
            m = n
    return m


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _keys_range(int flavor, const sk_policy_t *pol, bint musl_fast,
                      const uint16_t *wide, bint filled, const bulk_kl_t *kl,
                      const uint8_t *dst, const uint8_t *src, const uint8_t *flags,
                      const uint8_t *plen, const int64_t *offsets, Py_ssize_t g0,
                      Py_ssize_t g1, uint64_t *out, sk_row_t *rows,
                      uint64_t *klbuf) noexcept nogil:
    cdef Py_ssize_t g, r, lo, n
    cdef sk_row_t row
    cdef bulk_bytes_t b = bulk_row_bytes(flags, plen)
    cdef const uint8_t *ff = b.flags
    cdef const uint8_t *pp = b.plen
    cdef Py_ssize_t fm = b.fmask, pm = b.pmask
    cdef Py_ssize_t fast_max = bulk_fast_max(wide, kl)
    cdef bint learn = kl != NULL and kl.on
    for g in range(g0, g1):
        lo = offsets[g]
        n = offsets[g + 1] - lo
        if n <= fast_max:
            # rfc6724 / go / rfc6724-update by table; the flavour a constant in each call
            if flavor == SK_GO:
                _fast_rows_go(wide, dst, src, ff, fm, pp, pm, lo, n, out)
            elif learn:
                _fast_rows_update(wide, dst, src, ff, fm, pp, pm, lo, n, out)
            else:
                _fast_rows_rfc(wide, dst, src, ff, fm, pp, pm, lo, n, out)
            continue
        if filled:
            # go / rfc6724-update: the whole group's rows first (known-local /48s)
            for r in range(lo, offsets[g + 1]):
                bulk_load_row(&rows[r - lo], dst, src, flags, plen, r, <uint32_t>(r - lo))
            bulk_fill_group(flavor, pol, kl, rows, n, klbuf)
            for r in range(lo, offsets[g + 1]):
                out[r] = bulk_filled_key(flavor, &rows[r - lo])
            continue
        for r in range(lo, offsets[g + 1]):
            if flavor == SK_MUSL and musl_fast:
                out[r] = v6b_musl_key(dst + 16 * r, src + 16 * r,
                                      flags[r] if flags != NULL else SK_F_USABLE,
                                      <unsigned>(r - lo))
                continue
            bulk_load_row(&row, dst, src, flags, plen, r, <uint32_t>(r - lo))
            if flavor == SK_MUSL:
                sk_fill_row(SK_MUSL, pol, &row)
                out[r] = row.key
            else:
                out[r] = bulk_wide_key(flavor, pol, &row)


def _check_musl_groups(offs):
    sizes = np.diff(offs)
    if sizes.shape[0] and int(sizes.max()) > MUSL_MAXADDRS:
        g = int(np.argmax(sizes > MUSL_MAXADDRS))
        raise ValueError(f"offsets: group {g} has {int(sizes[g])} rows; musl returns at "
                         f"most {MUSL_MAXADDRS} addresses")


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
    cdef Py_ssize_t n = bulk_nrows(dst)
    cdef const uint8_t *d = bulk_rows_arg(dst, "dst", n)
    cdef const uint8_t *s = bulk_rows_arg(src, "src", n)
    cdef const uint8_t *f = bulk_u8_arg(flags, "flags", n)
    cdef const uint8_t *p
    out = bulk_out_arg(out, "out", n, np.uint32)
    nthreads = threads_for(threads, n)
    if n == 0:
        return out
    if pos is None:
        if offsets is None:
            raise ValueError("pos: give pos (each row's position in its answer) or offsets")
        offsets = check_offsets(offsets, n)
        _check_musl_groups(offsets)
        pos = positions(offsets, n).astype(np.uint8)
    p = bulk_u8_arg(pos, "pos", n)
    if int(pos.max()) >= MUSL_MAXADDRS:
        r = int(np.argmax(pos >= MUSL_MAXADDRS))
        raise ValueError(f"pos: row {r} has position {int(pos[r])}; musl returns at most "
                         f"{MUSL_MAXADDRS} addresses (positions 0 .. 47)")
    cdef uint32_t *o = <uint32_t *>cnp.PyArray_DATA(out)

    def run(Py_ssize_t lo, Py_ssize_t hi):
        with nogil:
            _musl_keys_rows(d + 16 * lo, s + 16 * lo, f + lo if f != NULL else NULL,
                            p + lo, o + lo, hi - lo)
    pool_map(run, split_rows(n, nthreads))
    return out


def sort_keys(dst, src, flags=None, plen=None, *, offsets, str flavor="rfc6724",
              policy=None, out=None, threads=None, known_local=None,
              bint learn_known_local=True):
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
    flavor : {"rfc6724", "glibc", "musl", "go", "rfc6724-update"}
    policy : PolicyTable, optional
        Replaces the flavour's built-in table.
    out : (N,) uint64, optional
    threads : int, optional
    known_local : (K, 16) uint8 or sequence of addresses, optional
        rfc6724-update only: addresses inside fd00::/8 whose /48 is known-local in every
        lookup, besides (unless ``learn_known_local`` is False) the /48 of each usable
        row's source inside fd00::/8 in that lookup, as ``sort_destinations`` learns them.

    Returns
    -------
    (N,) uint64.  musl: the 31-bit key.  The others: ``wide key | cpl << 12 |
    (4095 - position)``; ordering a group by it equals ``sort_destinations`` except in the
    cases ``order_groups`` reports in ``exact``.  Positions from 4096 on are not in the
    key (such groups always take the exact path in ``order_groups``).
    """
    cdef Py_ssize_t n = bulk_nrows(dst)
    cdef const uint8_t *d = bulk_rows_arg(dst, "dst", n)
    cdef const uint8_t *s = bulk_rows_arg(src, "src", n)
    cdef const uint8_t *f = bulk_u8_arg(flags, "flags", n)
    cdef const uint8_t *pl = bulk_u8_arg(plen, "plen", n)
    cdef cnp.ndarray offs = check_offsets(offsets, n)
    cdef const int64_t *op = <const int64_t *>cnp.PyArray_DATA(offs)
    code, cp, fast = resolve_policy(flavor, policy)
    cdef CompiledPolicy cpol = cp
    cdef int fl = code
    cdef bint musl_fast = fast
    cdef bulk_kl_t kl
    # kl points into these arrays: they live as long as this call
    _kl_arrays = bulk_kl_fill(&kl, flavor, cp, known_local, learn_known_local)
    cdef bint filled = fl == SK_GO or kl.on
    wide_t = bulk_wide_table(cpol, fl)
    cdef const uint16_t[::1] wide_v = wide_t
    cdef const uint16_t *wide = &wide_v[0] if wide_t is not None else NULL
    out = bulk_out_arg(out, "out", n, np.uint64)
    nthreads = threads_for(threads, n)
    if n == 0:
        return out
    if fl == SK_MUSL:
        _check_musl_groups(offs)
    cdef uint64_t *o = <uint64_t *>cnp.PyArray_DATA(out)

    def run(Py_ssize_t g0, Py_ssize_t g1):
        cdef sk_row_t *rows = NULL
        cdef uint64_t *klbuf = NULL
        cdef Py_ssize_t maxg = -1
        if filled:
            with nogil:
                maxg = _filled_max(bulk_fast_max(wide, &kl), op, g0, g1)
        if maxg >= 0:
            rows = <sk_row_t *>malloc(max(maxg, 1) * sizeof(sk_row_t))
            klbuf = <uint64_t *>malloc((maxg + kl.nexplicit + 1) * sizeof(uint64_t))
            if rows == NULL or klbuf == NULL:
                free(rows)
                free(klbuf)
                raise MemoryError()
        try:
            with nogil:
                _keys_range(fl, &cpol.pol, musl_fast, wide, filled, &kl, d, s, f, pl, op, g0,
                            g1, o, rows, klbuf)
        finally:
            free(rows)
            free(klbuf)
    pool_map(run, split_groups(offs, nthreads))
    return out
