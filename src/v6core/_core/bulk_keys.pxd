# cython: language_level=3
"""Bulk sort keys: the C contract (layouts in bulk_keys.pyx's docstring)."""

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t
from cpython.pyport cimport PY_SSIZE_T_MAX
from v6core._core.types cimport addr128_t, addr_load, addr_is_v4mapped, load_be64
from v6core._core.sortkey cimport (
    sk_policy_t, sk_row_t, sk_wide_attr_bits, sk_cpl_len, SK_GO,
    SK_F_USABLE,
    SK_KNOWN_LOCAL_PREC, SK_KNOWN_LOCAL_LABEL,
)
from v6core._core.bulk_common cimport bulk_kl_t, BULK_PLEN_UNKNOWN

cdef enum:
    # rfc6724/glibc bulk key: sk_wide_key (rules 1-8, bits 20-62), then
    BULK_K_CPL = 12          # rule 9: the flavour's CommonPrefixLen, 8 bits
    BULK_POS_LIMIT = 4096    # rule 10: 4095 - position, bits 0-11

cdef enum:
    # the table-driven attributes (bulk_wide_table), in regions of 65536 entries: region
    # 0 by an address's first 16 bits; the others for the addresses whose first 16 bits
    # do not decide (bulk_wide_index), each at its region's offset below
    # (known-local, which the update adds to a row's index when the row learns it, at a
    # power of two: adding it is a shift, not a multiply; Teredo, also added by a test,
    # at another)
    BULK_W_T16 = 65536
    BULK_W_TEREDO = 1        # 2001::/32: offset 0x2001
    BULK_W_V4 = 2            # ::ffff:0:0/96: by the IPv4 address's first 16 bits
    BULK_W_LOOPBACK = 3      # ::1: offset 0
    BULK_W_KNOWN_LOCAL = 4   # rfc6724-update, inside a known-local /48: by the first 16 bits
    BULK_W_COMPAT = 5        # ::/96 other than ::1: offset 0
    BULK_W_ENTRIES = 6 << 16
    BULK_KL_SMALL = 32       # rfc6724-update groups up to this size mark known-local inline


cdef uint32_t bulk_musl_key_fast(const uint8_t *dst, const uint8_t *src, unsigned flags,
                                 unsigned pos) noexcept nogil
cdef uint64_t bulk_wide_key(int flavor, const sk_policy_t *pol, sk_row_t *row) noexcept nogil
cdef uint64_t bulk_filled_key(int flavor, const sk_row_t *row) noexcept nogil
cdef Py_ssize_t bulk_fill_group(int flavor, const sk_policy_t *pol, const bulk_kl_t *kl,
                                sk_row_t *rows, Py_ssize_t n, uint64_t *klbuf) noexcept nogil
cdef const uint64_t *bulk_flag_bits(int flavor) noexcept nogil
cdef const uint8_t *bulk_cpl_caps(int flavor) noexcept nogil


ctypedef struct bulk_bytes_t:
    # each row's flags and plen for bulk_fast_row_key: flags[r & fmask], plen[r & pmask]
    # (a mask 0: one byte for every row, so that a kernel needs no test per row)
    const uint8_t *flags
    Py_ssize_t fmask
    const uint8_t *plen
    Py_ssize_t pmask


cdef bulk_bytes_t bulk_row_bytes(const uint8_t *flags, const uint8_t *plen) noexcept nogil


cdef inline int32_t bulk_key_cpl(int flavor, uint32_t flags, bint v4,
                                 int32_t cpl) noexcept nogil:
    """The rule-9 field of the bulk key from the flavour's CommonPrefixLen ``cpl``: 0 when
    the row is unusable; Go's rule 9 is between IPv6 destinations only."""
    if not flags & SK_F_USABLE or (flavor == SK_GO and v4):
        return 0
    return cpl


cdef inline uint64_t bulk_key_join(int flavor, uint64_t k, uint32_t flags, int32_t cplf,
                                   uint32_t index) noexcept nogil:
    """The bulk key from the rules 1-8 key ``k`` and the rule-9 field ``cplf``
    (``bulk_key_cpl``): Go holds two destinations without a source equal (rule 1 stops
    there); ``4095 - index`` (rule 10)."""
    if flavor == SK_GO:
        k &= <uint64_t>0 - (flags & SK_F_USABLE)
    k |= <uint64_t>(cplf & 0xff) << BULK_K_CPL
    return k | (<uint64_t>(BULK_POS_LIMIT - 1 - index) if index < BULK_POS_LIMIT else 0)


cdef inline uint64_t bulk_key_finish(int flavor, uint64_t k, uint32_t flags, bint v4,
                                     int32_t cpl, uint32_t index) noexcept nogil:
    """The bulk key from the rules 1-8 key ``k`` and the rule-9 value ``cpl``."""
    return bulk_key_join(flavor, k, flags, bulk_key_cpl(flavor, flags, v4, cpl), index)


cdef inline uint32_t bulk_wide_rare(addr128_t a) noexcept nogil:
    """``bulk_wide_index`` of an address inside ::/64 other than IPv4-mapped ones."""
    if (a.lo >> 32) != 0:
        return 0                                     # ::/16's entry (by its first 16 bits)
    return (BULK_W_LOOPBACK if a.lo == 1 else BULK_W_COMPAT) << 16


cdef inline uint32_t bulk_wide_index(addr128_t a) noexcept nogil:
    """The ``bulk_wide_table`` entry of ``a``: by its first 16 bits, or its region's.
    Without a branch on common addresses (rows arrive in random order, IPv4-mapped or
    not): only the rare rest of ::/64 (::1, ::/96) takes one."""
    cdef uint32_t z = a.hi == 0, mapped = (a.lo >> 32) == 0xffffU
    cdef uint32_t i6 = (<uint32_t>(a.hi >> 48)
                        | ((<uint32_t>(a.hi >> 32) == 0x20010000U) * (BULK_W_TEREDO << 16)))
    cdef uint32_t i4 = (BULK_W_V4 << 16) | (<uint32_t>(a.lo >> 16) & 0xffffU)
    if (a.hi | mapped) == 0:      # one test: a branch on mapped alone would mispredict
        return bulk_wide_rare(a)
    # an IPv4-mapped address has i6 0 (its first 64 bits are)
    return i6 | (i4 & (<uint32_t>0 - (z & mapped)))


cdef inline uint32_t bulk_wide_attrs(const uint16_t *t, addr128_t a) noexcept nogil:
    """``precedence << 8 | label << 4 | scope`` of ``a`` from a ``bulk_wide_table``."""
    return t[bulk_wide_index(a)]


cdef inline uint64_t bulk_fast_key(int flavor, const uint16_t *t, const uint64_t *fbits,
                                   const uint8_t *caps, const uint8_t *d, const uint8_t *s,
                                   uint32_t flags, uint8_t plen, uint32_t index, uint32_t kd,
                                   uint32_t ks) noexcept nogil:
    """The bulk key of one row (``flavor`` SK_RFC6724 or SK_GO) by the table ``t``,
    ``fbits`` (``sk_wide_flag_bits`` of every flags byte) and ``caps``
    (``bulk_cpl_caps``): the same key ``sk_fill_row`` and ``bulk_filled_key`` give,
    without a table scan.
    rfc6724-update: ``kd`` 1 when the destination, ``ks`` 1 when the source lies in a
    known-local /48 (``bulk_kl_dst``, ``bulk_kl_src``), which gives it the row
    ``sk_known_local`` gives (the table's known-local region; it has no row longer than
    /16 inside fd00::/8 to match first); 0 for the other flavours."""
    cdef addr128_t dst = addr_load(d), src = addr_load(s)
    cdef bint v4 = addr_is_v4mapped(dst)
    cdef int32_t cpl = sk_cpl_len(src, dst, v4)
    cdef int32_t cap = caps[(flags & SK_F_USABLE) << 9 | <uint32_t>v4 << 8 | plen]
    # an address inside fd00::/8 is in region 0: kd / ks move it to the known-local one
    cdef uint32_t de = t[bulk_wide_index(dst) | kd * (BULK_W_KNOWN_LOCAL << 16)]
    cdef uint32_t se = t[bulk_wide_index(src) | ks * (BULK_W_KNOWN_LOCAL << 16)]
    return bulk_key_join(
        flavor, fbits[flags & 0xff] | sk_wide_attr_bits(
            flags & SK_F_USABLE, <int32_t>(de & 15), <int32_t>(se & 15),
            <int32_t>((de >> 4) & 15), <int32_t>((se >> 4) & 15), <int32_t>(de >> 8)),
        flags, cpl if cpl < cap else cap, index)


cdef inline Py_ssize_t bulk_fast_max(const uint16_t *wide, const bulk_kl_t *kl) noexcept nogil:
    """The largest lookup that takes ``bulk_fast_key`` (with ``wide``, the policy's
    ``bulk_wide_table`` or NULL; -1: none): not when the update's known-local /48s come
    from ``known_local=``, from rows of the table or from more than BULK_KL_SMALL rows
    (those fill rows: ``bulk_fill_group``)."""
    if wide == NULL:
        return -1
    if kl == NULL or not kl.on:
        return PY_SSIZE_T_MAX
    return -1 if kl.nexplicit or kl.nskip else BULK_KL_SMALL


cdef inline bint bulk_fast_ok(const uint16_t *wide, const bulk_kl_t *kl,
                              Py_ssize_t n) noexcept nogil:
    """Whether a lookup of ``n`` rows takes ``bulk_fast_key`` (``bulk_fast_max``)."""
    return n <= bulk_fast_max(wide, kl)


cdef enum:
    # bulk_kl_group's summary of a lookup's known-local /48s, when not exactly one (one:
    # its first 48 bits, in place, the rest 0; no /48 of an address has these bits)
    BULK_KL_SEVERAL = 1      # set: more than one (bulk_kl_dst compares with each source)
    BULK_KL_NONE = 2         # no usable source inside fd00::/8


cdef inline uint64_t bulk_kl48(uint64_t hi) noexcept nogil:
    """The first 48 bits of an address whose first 64 are ``hi``, in place."""
    return hi & ~<uint64_t>0xffff


cdef inline uint64_t bulk_kl_group(const uint8_t *src, const uint8_t *flags, Py_ssize_t fmask,
                                   Py_ssize_t lo, Py_ssize_t n) noexcept nogil:
    """rfc6724-update learning in a lookup of ``n`` <= BULK_KL_SMALL rows from ``lo`` (no
    explicit known-local /48s): the /48 of each usable source inside fd00::/8 is
    known-local (``sk_known_local_collect``).  Returns the lookup's one such /48
    (``bulk_kl48``), or BULK_KL_NONE, or a value with BULK_KL_SEVERAL set.
    ``flags[i & fmask]`` is row i's (``fmask`` 0: one byte for every row).  Without a
    branch on the addresses."""
    cdef Py_ssize_t i
    cdef const uint8_t *p = src + 16 * lo
    cdef uint64_t s48, m, p_and = ~<uint64_t>0, p_or = 0
    for i in range(lo, lo + n):
        s48 = load_be64(p)
        p += 16
        m = <uint64_t>0 - ((p[-16] == 0xfd) & flags[i & fmask] & SK_F_USABLE)
        s48 = bulk_kl48(s48)
        p_and &= s48 | ~m
        p_or |= s48 & m
    # one: p_and equals p_or.  Else they differ in bit 0 when none (p_and all ones,
    # p_or 0), in none of the low 16 bits when several (each /48 has them 0)
    cdef uint64_t diff = p_and ^ p_or
    return p_or | ((diff & 1) + (diff != 0))     # 0 + 0, 1 + 1 (NONE), 0 + 1 (SEVERAL)


cdef inline uint32_t bulk_kl_one(uint64_t group, uint64_t dhi) noexcept nogil:
    """``bulk_kl_dst`` when ``group`` has no BULK_KL_SEVERAL bit: one compare."""
    return bulk_kl48(dhi) == group


cdef inline uint32_t bulk_kl_dst(uint64_t group, uint64_t dhi, const uint8_t *src,
                                 const uint8_t *flags, Py_ssize_t fmask, Py_ssize_t lo,
                                 Py_ssize_t n) noexcept nogil:
    """1 when a destination whose first 64 bits are ``dhi`` lies in a known-local /48 of
    the lookup of ``n`` rows from ``lo`` (``group`` from ``bulk_kl_group``)."""
    cdef uint32_t hit = bulk_kl_one(group, dhi)
    cdef Py_ssize_t j
    if group & BULK_KL_SEVERAL and (dhi >> 56) == 0xfd:
        # a destination inside fd00::/8 against each usable source (only one inside
        # fd00::/8 can equal it)
        for j in range(lo, lo + n):
            hit |= (bulk_kl48(load_be64(src + 16 * j)) == bulk_kl48(dhi)) & (
                flags[j & fmask] & SK_F_USABLE)
    return hit


cdef inline uint32_t bulk_kl_src(const uint8_t *s) noexcept nogil:
    """1 when the source ``s`` lies in fd00::/8: in its own known-local /48 when usable
    (when not, the key holds no source bit)."""
    return s[0] == 0xfd


cdef inline uint64_t bulk_fast_row_key(int flavor, const uint16_t *wide,
                                       const uint64_t *fbits, const uint8_t *caps,
                                       const uint8_t *dst, const uint8_t *src,
                                       const uint8_t *flags, Py_ssize_t fmask,
                                       const uint8_t *plen, Py_ssize_t pmask, Py_ssize_t lo,
                                       Py_ssize_t r, bint learn, uint32_t kd) noexcept nogil:
    """``bulk_fast_key`` of row ``r`` of the lookup starting at row ``lo``: its flags
    ``flags[r & fmask]`` and ``plen[r & pmask]`` (a mask 0: one byte for every row, no
    test per row); ``learn``: the update's known-local /48s, ``kd`` from ``bulk_kl_dst``
    (0 without ``learn``)."""
    return bulk_fast_key(flavor, wide, fbits, caps, dst + 16 * r, src + 16 * r,
                         flags[r & fmask], plen[r & pmask],
                         # learning: at most BULK_KL_SMALL rows (bulk_fast_max); the mask
                         # tells gcc, which then drops bulk_key_join's test of the index
                         <uint32_t>(r - lo) & (BULK_POS_LIMIT - 1 if learn else ~0U), kd,
                         bulk_kl_src(src + 16 * r) if learn else 0)
