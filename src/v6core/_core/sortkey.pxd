# cython: language_level=3
"""C-level destination ordering (RFC 6724 section 6) in three flavours: the contract.

Everything here works on ``addr128_t`` (IPv4 carried as IPv4-mapped, RFC 4291
section 2.5.5.2) and is ``noexcept nogil``, so the bulk numpy path can call it per row.
An IPv4-mapped IPv6 destination (an AAAA record ``::ffff:a.b.c.d``) is therefore
treated as IPv4, which the C libraries (that see its AF_INET6 family) do not do.
These signatures are stable; behaviour lives in ``sortkey.pyx``.

Flavours (``SK_RFC6724``, ``SK_GLIBC``, ``SK_MUSL``)
----------------------------------------------------
Each destination D has a source S = Source(D) (or none: "unusable"), source flags
(``SK_F_*``), a source prefix length (``-1`` = unknown) and an interface index
(``SK_NO_IFINDEX`` = unknown).  Precedence and label come from an ``sk_policy_t``:
two first-match lists (rows ordered most specific first, ties in input order), which
is exactly glibc's ``match_prefix`` and, for disjoint tables, a longest-prefix match.

SK_RFC6724 (RFC 6724 section 6, section 2.1 table)
    1 prefer usable (a source exists); 2 prefer Scope(D) == Scope(S); 3 avoid a
    deprecated S (``SK_F_DEPRECATED``); 4 prefer home addresses, pairwise exactly as
    written (home+care-of beats anything else; home-only beats care-of-only; all else
    ties); 5 prefer Label(D) == Label(S); 6 higher Precedence(D); 7 prefer native
    (``SK_F_ENCAP`` clear); 8 smaller Scope(D); 9 (only when D1, D2 are of the same family
    and both usable) longer CommonPrefixLen(S, D): IPv6 over 128 bits capped at the source
    prefix length, 64 when unknown (Go's net package); IPv4 over its 32 bits capped at the
    source prefix length (as an IPv4 length) when known; 10 input order.
    Scope: RFC 6724 sections 3.1-3.2 (127/8 and 169.254/16 link-local, other IPv4 global).
    Rules 2-5 and 9 need both sources; rules 6, 8, 10 always apply.
SK_GLIBC (glibc 2.36 sysdeps/posix/getaddrinfo.c, rfc3484_sort)
    Same rule order, with: rule 3 counts ``SK_F_OPTIMISTIC`` as deprecated; rule 4 is
    "home beats non-home" (``SK_F_HOME``); rule 7 compares ``SK_F_ENCAP`` only when the
    two interface indexes differ; IPv4 scope from the policy's scopev4 list (built in:
    169.254/16 and 127/8 -> 2, else 14; gai.conf scopev4 replaces it); rule 9 for
    IPv6 is the full 128-bit CommonPrefixLen (glibc's fls over the first differing
    32-bit word is equivalent), for IPv4 ``clz32(D ^ S)`` only when D is inside S's
    on-link subnet (S's prefix length; an unknown length is glibc's "not found" 0,
    whose ``0xffffffff << 32`` is all ones on x86, so only D == S counts) and 0 otherwise.
    The sort is glibc 2.36's qsort_r (top-down merge sort, n1 = n / 2, left wins ties),
    which matters because rule 9's same-family condition makes the comparison
    non-transitive when an IPv4 and an IPv6 destination tie on rules 1-8.
SK_MUSL (musl 1.2.x src/network/lookup_name.c)
    One 31-bit key per destination, sorted descending (``musl_key``).  No rules 3, 4, 7.
    Every IPv4 address is global scope.  CommonPrefixLen over all 128 bits of the
    IPv4-mapped forms.  No sort at all for fewer than two results or all-IPv4 results
    (``musl_skip_sort``); at most ``MUSL_MAXADDRS`` results.

SK_GO (Go 1.19 src/net/addrselect.go, sortByRFC6724; the pure-Go resolver)
    The RFC 6724 table and scopes, with: no rules 3, 4 or 7 (source flags are ignored);
    when neither destination has a source the two are "equal" at rule 1 (rules 6 and 8
    are not consulted); rule 9 only when both destinations are IPv6, over the first 64
    bits whatever the source's prefix length; no rule 10: "equal" pairs are left to
    Go's ``sort.Stable`` (insertion sort in blocks of 20, then SymMerge), which matters
    because the comparison is not transitive once IPv4 and IPv6 tie on rules 1-8.

musl key (``musl_key``), bit for bit as lookup_name.c builds it::

    bit 30      DAS_USABLE         connect() succeeded (a source exists)
    bit 29      DAS_MATCHINGSCOPE  Scope(D) == Scope(S)            (only when usable)
    bit 28      DAS_MATCHINGLABEL  Label(D) == Label(S)            (only when usable)
    bits 20-27  Precedence(D)      (DAS_PREC_SHIFT)
    bits 16-19  15 - Scope(D)      (DAS_SCOPE_SHIFT)
    bits 8-15   CommonPrefixLen(S, D), 0..128 (DAS_PREFIX_SHIFT; 0 when unusable)
    bits 0-7    MUSL_MAXADDRS - index (DAS_ORDER_SHIFT)

Wide key for SK_RFC6724 / SK_GLIBC (``sk_wide_key``, uint64, larger is preferred),
covering rules 1-8 only::

    bit 62      rule 1  usable
    bit 61      rule 2  Scope(D) == Scope(S)
    bit 60      rule 3  S not deprecated (glibc: nor optimistic)
    bits 58-59  rule 4  rank: glibc home=1 else 0; rfc6724 home+care-of=3, home=2,
                        neither=1, care-of=0 (a total order extending the pairwise rule)
    bit 57      rule 5  Label(D) == Label(S)
    bits 25-56  rule 6  Precedence(D) (0 .. 2**31-1)
    bit 24      rule 7  native (SK_F_ENCAP clear)
    bits 20-23  rule 8  15 - Scope(D)
    bits 0-19   zero

Bits 59-61 and 57, 24 are zero when the destination is unusable.  Rule 9's value is
``sk_cpl`` (compared only within one family) and rule 10 is the input index.  Sorting
rows by (wide key desc, cpl desc, index asc) equals the flavour's order whenever every
IPv4/IPv6 pair differs in its wide key, which is the usual case (IPv6 and IPv4 differ in
precedence); ``sk_sort`` is exact always.
"""

from libc.stdint cimport uint8_t, uint32_t, uint64_t, int32_t
from v6core._core.types cimport (
    addr128_t, addr_common_len, addr_is_v4mapped, addr_v4, V6_CLZ64,
)


cdef enum:
    SK_RFC6724 = 0
    SK_GLIBC = 1
    SK_MUSL = 2
    SK_GO = 3

# source flags (sk_row_t.flags)
cdef enum:
    SK_F_USABLE = 0x01        # a source exists: the destination is reachable (rule 1)
    SK_F_DEPRECATED = 0x02    # preferred lifetime 0 (RFC 4862 section 5.5.4; rule 3)
    SK_F_HOME = 0x04          # home address (RFC 6275; rule 4)
    SK_F_CAREOF = 0x08        # care-of address (RFC 6275; rule 4)
    SK_F_TEMPORARY = 0x10     # RFC 8981 temporary address (source rule 7 only)
    SK_F_ENCAP = 0x20         # reached through an encapsulating mechanism (rule 7)
    SK_F_OPTIMISTIC = 0x40    # RFC 4429 optimistic (glibc counts it as deprecated)

cdef enum:
    MUSL_MAXADDRS = 48
    DAS_USABLE = 0x40000000
    DAS_MATCHINGSCOPE = 0x20000000
    DAS_MATCHINGLABEL = 0x10000000
    DAS_PREC_SHIFT = 20
    DAS_SCOPE_SHIFT = 16
    DAS_PREFIX_SHIFT = 8
    DAS_ORDER_SHIFT = 0

# draft-ietf-6man-rfc6724-update section 3.1: the row of a known-local ULA /48
# (checked at import against tables.KNOWN_LOCAL_PRECEDENCE / KNOWN_LOCAL_LABEL)
cdef enum:
    SK_KNOWN_LOCAL_PREC = 45
    SK_KNOWN_LOCAL_LABEL = 14

cdef enum:
    SK_NO_IFINDEX = 0xffffffff
    SK_NO_LABEL = -1          # label of an address no row matches (matches nothing else)

# wide key fields
cdef enum:
    SK_K_USABLE = 62
    SK_K_SCOPE_MATCH = 61
    SK_K_NOT_DEPRECATED = 60
    SK_K_HOME = 58
    SK_K_LABEL_MATCH = 57
    SK_K_PREC = 25
    SK_K_NATIVE = 24
    SK_K_SCOPE = 20


ctypedef struct sk_prefix_t:
    uint64_t hi              # prefix, host bits clear (addr128_t halves)
    uint64_t lo
    int32_t plen             # 0..128
    int32_t val              # precedence or label


ctypedef struct sk_scope4_t:
    uint32_t addr            # IPv4 network, host byte order, host bits clear
    uint32_t mask            # host byte order
    int32_t scope


ctypedef struct sk_policy_t:
    const sk_prefix_t *prec  # first match wins
    int nprec
    const sk_prefix_t *label
    int nlabel
    const sk_scope4_t *scope4  # glibc IPv4 scopes, first match wins; nscope4 == 0: RFC 6724 3.2
    int nscope4
    int32_t prec_default     # when no row matches
    int32_t label_default
    # optional, for the bulk kernels (CompiledPolicy.accelerate; NULL: scan the rows):
    # per first 16 bits of an address, the value (bit 31 set: low bits - 1) or the
    # offset of a short row list in *_prog that ends with a catch-all row
    const uint32_t *prec_acc
    const sk_prefix_t *prec_prog
    const uint32_t *label_acc
    const sk_prefix_t *label_prog


ctypedef struct sk_row_t:
    # inputs
    addr128_t dst
    addr128_t src            # ignored unless flags & SK_F_USABLE
    uint32_t flags           # SK_F_*
    int32_t src_plen         # source prefix length as in the kernel (IPv4: 0..32), -1 unknown
    uint32_t ifindex         # SK_NO_IFINDEX when unknown
    uint32_t index           # position in the input (rule 10)
    # derived by sk_fill_row
    int32_t dprec
    int32_t dlabel
    int32_t slabel
    int32_t dscope
    int32_t sscope
    int32_t cpl              # the flavour's rule-9 value
    uint64_t key             # sk_wide_key (rfc6724/glibc) or musl_key (musl)


cdef class CompiledPolicy:
    """Owns the C arrays behind ``pol``; build one per policy table and flavour."""
    cdef sk_policy_t pol
    cdef object _keep        # the bytes objects the pointers in ``pol`` point into
    cdef readonly tuple precedence_rows   # ((16 bytes, plen, value), ...) in match order
    cdef readonly tuple label_rows
    cdef readonly tuple scope4_rows       # ((addr32, mask32, scope), ...)
    cdef object _acc         # the accelerator's bytes (accelerate()), or None
    cpdef accelerate(self)


# ------------------------------------------------------------------ rule 4, one place
# "Prefer home addresses" (RFC 6724 section 6 rule 4, the same wording as section 5
# rule 4 for sources).  ``sk_home_rank`` orders the flags: glibc home=1 else 0; rfc6724
# home+care-of=3, home-only=2, neither=1, care-of-only=0.  ``sk_rule4`` is the pairwise
# rule on those ranks: glibc compares them; RFC 6724 lets home+care-of beat any other and
# home-only beat care-of-only, while a plain address ties with both (so the rank is a
# total order extending the rule, and ``sk_home_rank_exact`` says where it is not exact).

cdef inline int sk_home_rank(int flavor, uint32_t flags) noexcept nogil:
    # branch-free (the bulk kernels call it on rows in random order): (home, care-of) as
    # a 2-bit index; rfc6724's ranks 1, 2, 0, 3 for neither, home, care-of, both are the
    # 2-bit fields of 0xC9 = 0b11_00_10_01
    cdef uint32_t hc = <uint32_t>((flags & SK_F_HOME) != 0) \
        | (<uint32_t>((flags & SK_F_CAREOF) != 0) << 1)
    if flavor == SK_GLIBC:
        return <int>(hc & 1)
    return <int>((0xC9U >> (2 * hc)) & 3)


cdef inline int sk_rule4(int flavor, uint32_t fa, uint32_t fb) noexcept nogil:
    """-1 if ``fa``'s source wins rule 4, 1 if ``fb``'s, 0 if rule 4 does not decide."""
    cdef int ra = sk_home_rank(flavor, fa), rb = sk_home_rank(flavor, fb)
    if ra == rb:
        return 0
    if flavor != SK_GLIBC and ra != 3 and rb != 3 and (ra == 1 or rb == 1):
        return 0            # a plain address neither beats nor loses to home-only/care-of-only
    return -1 if ra > rb else 1


cdef inline bint sk_home_rank_exact(int flavor, uint32_t flags) noexcept nogil:
    """False when ordering by ``sk_home_rank`` may differ from ``sk_rule4`` (rfc6724 only:
    a home-only or care-of-only source, which ties with a plain one pairwise)."""
    cdef int r
    if flavor == SK_GLIBC:
        return True
    r = sk_home_rank(flavor, flags)
    return r != 0 and r != 2


cdef int32_t sk_precedence(const sk_policy_t *pol, addr128_t a) noexcept nogil
cdef int32_t sk_label(const sk_policy_t *pol, addr128_t a) noexcept nogil
cdef int32_t sk_scope(int flavor, const sk_policy_t *pol, addr128_t a) noexcept nogil
cdef uint32_t musl_key(const sk_policy_t *pol, addr128_t dst, addr128_t src, bint usable,
                       int index) noexcept nogil
cdef bint musl_skip_sort(const sk_row_t *rows, Py_ssize_t n) noexcept nogil
cdef uint64_t sk_wide_key(int flavor, const sk_policy_t *pol, addr128_t dst, addr128_t src,
                          uint32_t flags) noexcept nogil
cdef void sk_fill_row(int flavor, const sk_policy_t *pol, sk_row_t *row) noexcept nogil
cdef void sk_rekey(int flavor, sk_row_t *row) noexcept nogil
cdef Py_ssize_t sk_known_local_collect(const sk_row_t *rows, Py_ssize_t n, uint64_t *out,
                                       Py_ssize_t nout, const uint64_t *skip,
                                       Py_ssize_t nskip) noexcept nogil
cdef bint sk_known_local(const sk_policy_t *pol, sk_row_t *row, const uint64_t *kl,
                         Py_ssize_t nkl) noexcept nogil
cdef int sk_decide(int flavor, const sk_row_t *a, const sk_row_t *b) noexcept nogil
cdef void sk_sort(int flavor, const sk_row_t *rows, Py_ssize_t n, uint32_t *order,
                  uint32_t *tmp) noexcept nogil


cdef class SourceAddress:
    """A candidate or chosen source address with its RFC 6724 attributes (see sortkey.pyx)."""
    cdef addr128_t _a
    cdef uint32_t _flags          # SK_F_* without SK_F_USABLE
    cdef int32_t _plen            # -1 unknown
    cdef uint32_t _ifindex        # SK_NO_IFINDEX unknown
    cdef object _text             # the address as given, for repr


# ------------------------------------------------------------------ rules 1-9, one place
# The wide key's layout, the flags a flavour reads and rule 9's CommonPrefixLen, as
# inlines: ``sk_fill_row`` (every per-call path) and the bulk kernels use these same
# functions.  Written as selects rather than branches where they can (the bulk kernels
# meet rows in random order); ``flavor`` is a constant at every bulk call site.

cdef inline uint32_t sk_flavor_flags(int flavor, uint32_t flags) noexcept nogil:
    """The source flags the flavour reads: Go knows none (no rules 3, 4, 7)."""
    return flags & SK_F_USABLE if flavor == SK_GO else flags


cdef inline uint64_t sk_wide_flag_bits(int flavor, uint32_t flags) noexcept nogil:
    """The rules 1, 3, 4 and 7 fields of the wide key: what the source's ``flags`` (as
    ``sk_flavor_flags`` gives them) decide; 0 for an unusable row."""
    cdef uint32_t dep = SK_F_DEPRECATED | (SK_F_OPTIMISTIC if flavor == SK_GLIBC else 0)
    cdef uint64_t usable = flags & SK_F_USABLE
    return ((usable << SK_K_USABLE)
            | (<uint64_t>((flags & dep) == 0) << SK_K_NOT_DEPRECATED)
            | (<uint64_t>sk_home_rank(flavor, flags) << SK_K_HOME)
            | (<uint64_t>((flags & SK_F_ENCAP) == 0) << SK_K_NATIVE)) & (<uint64_t>0 - usable)


cdef inline uint64_t sk_wide_attr_bits(uint32_t usable, int32_t dscope, int32_t sscope,
                                       int32_t dlabel, int32_t slabel,
                                       int32_t dprec) noexcept nogil:
    """The rules 2, 5, 6 and 8 fields: what the addresses' attributes decide (the
    matches only for a usable row, ``usable`` 0 or 1)."""
    cdef uint64_t match = ((<uint64_t>(dscope == sscope) << SK_K_SCOPE_MATCH)
                           | (<uint64_t>(dlabel == slabel) << SK_K_LABEL_MATCH))
    return ((match & (<uint64_t>0 - usable))
            | (<uint64_t>(<uint32_t>dprec & 0x7fffffffU) << SK_K_PREC)
            | ((<uint64_t>(15 - dscope) & 0xf) << SK_K_SCOPE))


cdef inline uint64_t sk_wide_assemble(int flavor, uint32_t flags, int32_t dscope,
                                      int32_t sscope, int32_t dlabel, int32_t slabel,
                                      int32_t dprec) noexcept nogil:
    """Rules 1-8 as one uint64 from a row's attributes (``sk_wide_key``'s layout, above).
    ``flags`` as ``sk_flavor_flags`` gives them; the source-side fields are zero for an
    unusable row whatever ``sscope``/``slabel`` hold."""
    return sk_wide_flag_bits(flavor, flags) | sk_wide_attr_bits(
        flags & SK_F_USABLE, dscope, sscope, dlabel, slabel, dprec)


cdef inline int32_t sk_cpl_len(addr128_t src, addr128_t dst, bint v4) noexcept nogil:
    """Rule 9's common prefix of rfc6724 and go, before its cap (``sk_cpl_cap``): ``v4``
    (``dst`` IPv4-mapped) counts the IPv4 bits only.  Without a data-dependent branch."""
    cdef int32_t n = addr_common_len(src, dst)
    cdef int32_t m4 = -<int32_t>v4
    # two IPv4-mapped addresses share their first 96 bits, an IPv6 source fewer: the
    # IPv4 length is what lies beyond 96 (32 when equal, 0 against an IPv6 source)
    cdef int32_t n4 = n - 96
    n4 = n4 if n4 > 0 else 0
    return (n4 & m4) | (n & ~m4)


cdef inline int32_t sk_cpl_cap(bint go, bint v4, int32_t src_plen) noexcept nogil:
    """Rule 9's cap of rfc6724 and go: IPv4 at a known length (else 32), IPv6 at the
    source's length (Go, or unknown: 64)."""
    if v4:
        return src_plen if src_plen >= 0 else 32
    return 64 if go or src_plen < 0 else src_plen


cdef inline int32_t sk_cpl_rfc(bint go, addr128_t src, addr128_t dst,
                               int32_t src_plen) noexcept nogil:
    """``sk_cpl`` of rfc6724 (``go`` False) and go: ``sk_cpl_len`` at most ``sk_cpl_cap``
    (the bulk kernels take the cap from a table of it)."""
    cdef bint v4 = addr_is_v4mapped(dst)
    cdef int32_t n = sk_cpl_len(src, dst, v4), cap = sk_cpl_cap(go, v4, src_plen)
    return n if n < cap else cap


cdef inline int32_t sk_cpl(int flavor, addr128_t src, addr128_t dst,
                           int32_t src_plen) noexcept nogil:
    """The flavour's rule-9 CommonPrefixLen(src, dst) (RFC 6724 section 2.2; see above).

    ``src_plen`` is the source's prefix length as the kernel reports it (IPv4: 0..32),
    -1 when unknown.  Only values of destinations of one family are comparable."""
    cdef uint32_t x4, m
    if flavor == SK_MUSL:
        return addr_common_len(src, dst)
    if flavor != SK_GLIBC:
        return sk_cpl_rfc(flavor == SK_GO, src, dst, src_plen)
    if addr_is_v4mapped(dst):
        if not addr_is_v4mapped(src):
            return 0
        # glibc: 0xffffffffu << (32 - prefixlen); a shift by 32 is one by 0 on x86
        if src_plen <= 0 or src_plen >= 32:
            m = 0xffffffffU
        else:
            m = 0xffffffffU << (32 - src_plen)
        x4 = addr_v4(src) ^ addr_v4(dst)
        if (x4 & m) != 0:
            return 0
        return V6_CLZ64((<uint64_t>x4 << 32) | 0x80000000U)
    return addr_common_len(src, dst)
