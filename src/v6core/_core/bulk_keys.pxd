# cython: language_level=3
"""Bulk sort keys: the C contract (layouts in bulk_keys.pyx's docstring)."""

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t
from v6core._core.types cimport addr128_t, addr_load, addr_is_v4mapped, load_be64
from v6core._core.sortkey cimport (
    sk_policy_t, sk_row_t, sk_wide_attr_bits, sk_cpl_rfc, SK_GO,
    SK_F_USABLE,
    SK_KNOWN_LOCAL_PREC, SK_KNOWN_LOCAL_LABEL,
)
from v6core._core.bulk_common cimport bulk_kl_t, BULK_PLEN_UNKNOWN

cdef enum:
    # rfc6724/glibc bulk key: sk_wide_key (rules 1-8, bits 20-62), then
    BULK_K_CPL = 12          # rule 9: the flavour's CommonPrefixLen, 8 bits
    BULK_POS_LIMIT = 4096    # rule 10: 4095 - position, bits 0-11

cdef enum:
    # the table-driven attributes (bulk_wide_table): entries 0 .. 65535 by an address's
    # first 16 bits, then one per BULK_W_* class the first 16 bits do not decide
    BULK_W_T16 = 65536
    BULK_W_NONE = 0          # the first 16 bits decide
    BULK_W_LOOPBACK = 1      # ::1
    BULK_W_V4 = 2            # ::ffff:0:0/96, global scope
    BULK_W_V4_LINK = 3       # ::ffff:0:0/96 in 127/8 or 169.254/16 (RFC 6724 3.2)
    BULK_W_COMPAT = 4        # ::/96 other than ::1
    BULK_W_TEREDO = 5        # 2001::/32
    BULK_W_ENTRIES = BULK_W_T16 + 6
    BULK_KL_SMALL = 32       # rfc6724-update groups up to this size mark known-local inline


cdef uint32_t bulk_musl_key_fast(const uint8_t *dst, const uint8_t *src, unsigned flags,
                                 unsigned pos) noexcept nogil
cdef uint64_t bulk_wide_key(int flavor, const sk_policy_t *pol, sk_row_t *row) noexcept nogil
cdef uint64_t bulk_filled_key(int flavor, const sk_row_t *row) noexcept nogil
cdef Py_ssize_t bulk_fill_group(int flavor, const sk_policy_t *pol, const bulk_kl_t *kl,
                                sk_row_t *rows, Py_ssize_t n, uint64_t *klbuf) noexcept nogil
cdef const uint64_t *bulk_flag_bits(int flavor) noexcept nogil


cdef inline uint64_t bulk_key_finish(int flavor, uint64_t k, uint32_t flags, addr128_t dst,
                                     int32_t cpl, uint32_t index) noexcept nogil:
    """The bulk key from the rules 1-8 key ``k`` and the rule-9 value ``cpl`` (0 when the
    row is unusable): Go holds two destinations without a source equal (rule 1 stops
    there) and has rule 9 only between IPv6 destinations; ``4095 - index`` (rule 10)."""
    cdef uint64_t usable = flags & SK_F_USABLE
    cpl = cpl if usable else 0
    if flavor == SK_GO:
        k &= <uint64_t>0 - usable
        cpl = 0 if addr_is_v4mapped(dst) else cpl
    k |= <uint64_t>(cpl & 0xff) << BULK_K_CPL
    return k | (<uint64_t>(BULK_POS_LIMIT - 1 - index) if index < BULK_POS_LIMIT else 0)


cdef inline uint32_t bulk_wide_class(addr128_t a) noexcept nogil:
    """The ``BULK_W_*`` class of ``a`` (0 when its first 16 bits decide).  All but
    Teredo lie in ::/64; the compiler may branch on that (cheaper here than computing
    both sides: most IPv6 addresses skip the ::/64 tests)."""
    cdef uint32_t top = <uint32_t>(a.lo >> 32), v4 = <uint32_t>a.lo
    cdef uint32_t link4 = ((v4 >> 24) == 127U) | ((v4 >> 16) == 0xa9feU)
    # inside ::/64: ::/96 (::1 apart), or IPv4-mapped, or neither (0)
    cdef uint32_t low = ((top == 0) * (BULK_W_COMPAT - (BULK_W_COMPAT - BULK_W_LOOPBACK)
                                       * (a.lo == 1))
                         + (top == 0xffffU) * (BULK_W_V4 + link4))
    return low if a.hi == 0 else (<uint32_t>(a.hi >> 32) == 0x20010000U) * BULK_W_TEREDO


cdef inline uint32_t bulk_wide_attrs(const uint16_t *t, addr128_t a) noexcept nogil:
    """``precedence << 8 | label << 4 | scope`` of ``a`` from a ``bulk_wide_table``."""
    cdef uint32_t c = bulk_wide_class(a)
    cdef uint32_t m = <uint32_t>0 - (c != 0)
    return t[((BULK_W_T16 + c) & m) | (<uint32_t>(a.hi >> 48) & ~m)]


cdef inline uint64_t bulk_fast_key(int flavor, const uint16_t *t, const uint64_t *fbits,
                                   const uint8_t *d, const uint8_t *s, uint32_t flags,
                                   uint8_t plen, uint32_t index, uint32_t kl) noexcept nogil:
    """The bulk key of one row (``flavor`` SK_RFC6724 or SK_GO) by the table ``t`` and
    ``fbits`` (``sk_wide_flag_bits`` of every flags byte): the same key ``sk_fill_row``
    and ``bulk_filled_key`` give, without a table scan.
    ``kl`` (rfc6724-update): bit 0 the destination, bit 1 the source lies in a
    known-local /48 (``bulk_kl_marks``), which gives them the row ``sk_known_local``
    gives (precedence 45, label 14; the table has no row longer than /16 inside
    fd00::/8 to match first)."""
    cdef addr128_t dst = addr_load(d), src = addr_load(s)
    cdef uint32_t de = bulk_wide_attrs(t, dst), se = bulk_wide_attrs(t, src)
    cdef int32_t dprec = <int32_t>(de >> 8), dlabel = <int32_t>((de >> 4) & 15)
    cdef int32_t slabel = <int32_t>((se >> 4) & 15)
    dprec = SK_KNOWN_LOCAL_PREC if kl & 1 else dprec
    dlabel = SK_KNOWN_LOCAL_LABEL if kl & 1 else dlabel
    slabel = SK_KNOWN_LOCAL_LABEL if kl & 2 else slabel
    return bulk_key_finish(
        flavor, fbits[flags & 0xff] | sk_wide_attr_bits(
            flags & SK_F_USABLE, <int32_t>(de & 15), <int32_t>(se & 15), dlabel, slabel, dprec),
        flags, dst, sk_cpl_rfc(flavor == SK_GO, src, dst,
                               -1 if plen == BULK_PLEN_UNKNOWN else plen),
        index)


cdef inline bint bulk_fast_ok(const uint16_t *wide, const bulk_kl_t *kl,
                              Py_ssize_t n) noexcept nogil:
    """Whether a lookup of ``n`` rows takes ``bulk_fast_key`` (with ``wide``, the policy's
    ``bulk_wide_table`` or NULL): not when the update's known-local /48s come from
    ``known_local=``, from rows of the table or from more than BULK_KL_SMALL rows (those
    fill rows: ``bulk_fill_group``)."""
    return wide != NULL and not (
        kl != NULL and kl.on and (kl.nexplicit or kl.nskip or n > BULK_KL_SMALL))


cdef inline uint64_t bulk_fast_row_key(int flavor, const uint16_t *wide,
                                       const uint64_t *fbits, const uint8_t *dst,
                                       const uint8_t *src, const uint8_t *flags,
                                       const uint8_t *plen, Py_ssize_t lo, Py_ssize_t r,
                                       const uint8_t *marks) noexcept nogil:
    """``bulk_fast_key`` of row ``r`` of the lookup starting at row ``lo`` (``flags`` and
    ``plen`` may be NULL: usable, unknown; ``marks`` from ``bulk_kl_marks`` or NULL)."""
    return bulk_fast_key(flavor, wide, fbits, dst + 16 * r, src + 16 * r,
                         flags[r] if flags != NULL else SK_F_USABLE,
                         plen[r] if plen != NULL else BULK_PLEN_UNKNOWN, <uint32_t>(r - lo),
                         marks[r - lo] if marks != NULL else 0)


cdef inline void bulk_kl_marks(const uint8_t *dst, const uint8_t *src, const uint8_t *flags,
                               Py_ssize_t lo, Py_ssize_t n, uint8_t *marks) noexcept nogil:
    """rfc6724-update learning from one lookup of ``n`` <= BULK_KL_SMALL rows (no
    explicit ones): the /48 of each usable source inside fd00::/8 is known-local
    (``sk_known_local_collect``).  ``marks[i]``: bit 0 row i's destination lies in one,
    bit 1 its source does.  n * k compares for k such sources, without a branch on the
    addresses (a /48 inside fd00::/8 only equals one inside fd00::/8)."""
    cdef uint64_t p48[BULK_KL_SMALL]
    cdef Py_ssize_t i, j, k = 0
    cdef uint64_t s48, d48
    cdef uint32_t own, hit
    for i in range(n):
        # the known-local /48s, packed: written always, kept when the source is one
        s48 = load_be64(src + 16 * (lo + i)) >> 16
        own = ((s48 >> 40) == 0xfd) & (flags == NULL or (flags[lo + i] & SK_F_USABLE) != 0)
        p48[k] = s48
        k += own
        marks[i] = <uint8_t>(own << 1)
    if k == 0:
        return
    for i in range(n):
        d48 = load_be64(dst + 16 * (lo + i)) >> 16
        hit = 0
        for j in range(k):
            hit |= p48[j] == d48
        marks[i] |= <uint8_t>hit
