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
    BULK_W_KNOWN_LOCAL = 6   # rfc6724-update: inside a known-local /48 (bulk_kl_bits)
    BULK_W_ENTRIES = BULK_W_T16 + 7
    BULK_KL_SMALL = 32       # rfc6724-update groups up to this size mark known-local inline


cdef uint32_t bulk_musl_key_fast(const uint8_t *dst, const uint8_t *src, unsigned flags,
                                 unsigned pos) noexcept nogil
cdef uint64_t bulk_wide_key(int flavor, const sk_policy_t *pol, sk_row_t *row) noexcept nogil
cdef uint64_t bulk_filled_key(int flavor, const sk_row_t *row) noexcept nogil
cdef Py_ssize_t bulk_fill_group(int flavor, const sk_policy_t *pol, const bulk_kl_t *kl,
                                sk_row_t *rows, Py_ssize_t n, uint64_t *klbuf) noexcept nogil
cdef const uint64_t *bulk_flag_bits(int flavor) noexcept nogil


cdef inline uint64_t bulk_key_finish(int flavor, uint64_t k, uint32_t flags, bint v4,
                                     int32_t cpl, uint32_t index) noexcept nogil:
    """The bulk key from the rules 1-8 key ``k`` and the rule-9 value ``cpl`` (0 when the
    row is unusable): Go holds two destinations without a source equal (rule 1 stops
    there) and has rule 9 only between IPv6 destinations; ``4095 - index`` (rule 10)."""
    cdef uint64_t usable = flags & SK_F_USABLE
    cpl = cpl if usable else 0
    if flavor == SK_GO:
        k &= <uint64_t>0 - usable
        cpl = 0 if v4 else cpl
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


cdef inline uint32_t bulk_wide_entry(const uint16_t *t, addr128_t a,
                                     uint32_t c) noexcept nogil:
    """``precedence << 8 | label << 4 | scope`` of ``a`` from a ``bulk_wide_table``, given
    its ``BULK_W_*`` class ``c`` (0: by its first 16 bits)."""
    cdef uint32_t m = <uint32_t>0 - (c != 0)
    return t[((BULK_W_T16 + c) & m) | (<uint32_t>(a.hi >> 48) & ~m)]


cdef inline uint32_t bulk_wide_attrs(const uint16_t *t, addr128_t a) noexcept nogil:
    """``bulk_wide_entry`` of ``a`` by its own class."""
    return bulk_wide_entry(t, a, bulk_wide_class(a))


cdef inline uint64_t bulk_fast_key(int flavor, const uint16_t *t, const uint64_t *fbits,
                                   const uint8_t *d, const uint8_t *s, uint32_t flags,
                                   uint8_t plen, uint32_t index, uint32_t kl) noexcept nogil:
    """The bulk key of one row (``flavor`` SK_RFC6724 or SK_GO) by the table ``t`` and
    ``fbits`` (``sk_wide_flag_bits`` of every flags byte): the same key ``sk_fill_row``
    and ``bulk_filled_key`` give, without a table scan.
    ``kl`` (rfc6724-update): bit 0 the destination, bit 1 the source lies in a
    known-local /48 (``bulk_kl_bits``), which gives them the row ``sk_known_local``
    gives (the table's BULK_W_KNOWN_LOCAL entry; it has no row longer than /16 inside
    fd00::/8 to match first)."""
    cdef addr128_t dst = addr_load(d), src = addr_load(s)
    cdef uint32_t dc = bulk_wide_class(dst)
    # an address inside fd00::/8 has class 0: kl gives it the known-local entry instead
    cdef uint32_t de = bulk_wide_entry(t, dst, dc | (kl & 1) * BULK_W_KNOWN_LOCAL)
    cdef uint32_t se = bulk_wide_entry(t, src, bulk_wide_class(src)
                                       | ((kl >> 1) & 1) * BULK_W_KNOWN_LOCAL)
    return bulk_key_finish(
        flavor, fbits[flags & 0xff] | sk_wide_attr_bits(
            flags & SK_F_USABLE, <int32_t>(de & 15), <int32_t>(se & 15),
            <int32_t>((de >> 4) & 15), <int32_t>((se >> 4) & 15), <int32_t>(de >> 8)),
        flags, addr_is_v4mapped(dst), sk_cpl_rfc(flavor == SK_GO, src, dst,
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


cdef inline uint64_t bulk_kl_group(const uint8_t *src, const uint8_t *flags, Py_ssize_t lo,
                                   Py_ssize_t n) noexcept nogil:
    """rfc6724-update learning in a lookup of ``n`` <= BULK_KL_SMALL rows from ``lo`` (no
    explicit known-local /48s): the /48 of each usable source inside fd00::/8 is
    known-local (``sk_known_local_collect``).  Returns the lookup's one such /48 (as
    ``hi >> 16``), with bit 63 set when it has none, or bit 62 when it has more than one
    (``bulk_kl_bits`` then scans the sources).  Without a branch on the addresses."""
    cdef Py_ssize_t i
    cdef uint64_t s48, m, p_and = ~<uint64_t>0, p_or = 0
    cdef uint32_t own, any_own = 0, usable = SK_F_USABLE
    for i in range(n):
        s48 = load_be64(src + 16 * (lo + i)) >> 16
        if flags != NULL:
            usable = flags[lo + i]
        own = ((s48 >> 40) == 0xfd) & (usable & SK_F_USABLE)
        m = <uint64_t>0 - own
        p_and &= s48 | ~m
        p_or |= s48 & m
        any_own |= own
    return (p_or | <uint64_t>(any_own ^ 1) << 63
            | <uint64_t>((p_and != p_or) & any_own) << 62)


cdef inline uint32_t bulk_kl_bits(uint64_t group, const uint8_t *dst, const uint8_t *src,
                                  const uint8_t *flags, Py_ssize_t lo, Py_ssize_t n,
                                  Py_ssize_t r) noexcept nogil:
    """The ``kl`` bits of ``bulk_fast_key`` for row ``r`` of a lookup of ``n`` rows from
    ``lo`` (``group`` from ``bulk_kl_group``): bit 1 its source lies in fd00::/8 (then in
    its own known-local /48 when usable; when not, the key holds no source bit), bit 0
    its destination lies in the /48 of a usable source of the lookup."""
    cdef uint64_t d48 = load_be64(dst + 16 * r) >> 16
    cdef uint32_t hit = d48 == group
    cdef Py_ssize_t j
    if group & (<uint64_t>1 << 62) and (d48 >> 40) == 0xfd:
        # more than one known-local /48 (rare): a destination inside fd00::/8 against
        # each usable source (only one inside fd00::/8 can equal it)
        for j in range(lo, lo + n):
            hit |= ((load_be64(src + 16 * j) >> 16) == d48) & (
                flags == NULL or (flags[j] & SK_F_USABLE) != 0)
    return hit | <uint32_t>((load_be64(src + 16 * r) >> 56) == 0xfd) << 1


cdef inline uint64_t bulk_fast_row_key(int flavor, const uint16_t *wide,
                                       const uint64_t *fbits, const uint8_t *dst,
                                       const uint8_t *src, const uint8_t *flags,
                                       const uint8_t *plen, Py_ssize_t lo, Py_ssize_t n,
                                       Py_ssize_t r, uint64_t group) noexcept nogil:
    """``bulk_fast_key`` of row ``r`` of the lookup of ``n`` rows starting at row ``lo``
    (``flags`` and ``plen`` may be NULL: usable, unknown); ``group`` from
    ``bulk_kl_group`` when the update learns the lookup's known-local /48s, else 0 (a
    learned summary is never 0: "none" and "several" set a high bit, and a /48 inside
    fd00::/8 is not 0)."""
    return bulk_fast_key(flavor, wide, fbits, dst + 16 * r, src + 16 * r,
                         flags[r] if flags != NULL else SK_F_USABLE,
                         plen[r] if plen != NULL else BULK_PLEN_UNKNOWN, <uint32_t>(r - lo),
                         bulk_kl_bits(group, dst, src, flags, lo, n, r) if group else 0)
