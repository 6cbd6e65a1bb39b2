# cython: language_level=3
"""RFC 6724 section 5 source address selection: the C contract (one definition of the
rules, used by ``v6core.select.select_source`` per call and by the bulk kernels).

A candidate is an ``srcsel_cand_t``: its address, Scope and Label (RFC 6724 sections
3.1 and 2.1, computed once per candidate), its ``SK_F_*`` flags, prefix length (-1
unknown) and interface index (``SK_NO_IFINDEX`` unknown).
"""

from libc.stdint cimport uint32_t, int32_t
from v6core._core.types cimport addr128_t, addr_eq
from v6core._core.sortkey cimport (
    sk_policy_t, sk_rule4, SK_RFC6724, SK_F_DEPRECATED, SK_F_TEMPORARY, SK_NO_IFINDEX,
)


ctypedef struct srcsel_cand_t:
    addr128_t a
    int32_t scope
    int32_t label
    uint32_t flags           # SK_F_* (SK_F_USABLE ignored)
    int32_t plen             # -1 unknown (IPv4 as an IPv4 length)
    uint32_t ifindex         # SK_NO_IFINDEX unknown
    bint v4
    bint next_hop            # inside a prefix the next hop advertised (rule 5.5)


cdef inline int srcsel_cmp(const srcsel_cand_t *a, int32_t ca, const srcsel_cand_t *b,
                           int32_t cb, addr128_t d, int32_t dscope, int32_t dlabel,
                           uint32_t interface, bint prefer_temp) noexcept nogil:
    """RFC 6724 section 5 rules 1-8 for candidates ``a`` and ``b`` of destination ``d``:
    -1 if ``a`` is preferred, 1 if ``b``, 0 if no rule decides.  ``ca``/``cb`` are their
    CommonPrefixLen with ``d``; rule 5 (outgoing interface) applies only when
    ``interface`` is not ``SK_NO_IFINDEX``; rule 5.5 (prefer addresses in a prefix
    advertised by the next hop, draft-ietf-6man-rfc6724-update) decides only where the
    caller marked candidates ``next_hop`` (the bulk path knows no next hops)."""
    cdef bint ea = addr_eq(a.a, d), eb = addr_eq(b.a, d)
    cdef int r
    if ea != eb:                                    # rule 1: prefer the same address
        return -1 if ea else 1
    if a.scope < b.scope:                           # rule 2: prefer appropriate scope
        return 1 if a.scope < dscope else -1
    if b.scope < a.scope:
        return -1 if b.scope < dscope else 1
    ea = (a.flags & SK_F_DEPRECATED) != 0           # rule 3: avoid deprecated addresses
    eb = (b.flags & SK_F_DEPRECATED) != 0
    if ea != eb:
        return 1 if ea else -1
    r = sk_rule4(SK_RFC6724, a.flags, b.flags)      # rule 4: prefer home addresses
    if r != 0:
        return r
    if interface != SK_NO_IFINDEX:                  # rule 5: prefer outgoing interface
        ea = a.ifindex == interface
        eb = b.ifindex == interface
        if ea != eb:
            return -1 if ea else 1
    if a.next_hop != b.next_hop:                    # rule 5.5: prefer the next hop's
        return -1 if a.next_hop else 1
    ea = a.label == dlabel                          # rule 6: prefer matching label
    eb = b.label == dlabel
    if ea != eb:
        return -1 if ea else 1
    ea = (a.flags & SK_F_TEMPORARY) != 0            # rule 7: prefer temporary addresses
    eb = (b.flags & SK_F_TEMPORARY) != 0
    if ea != eb:
        return -1 if ea == prefer_temp else 1
    if ca != cb:                                    # rule 8: use longest matching prefix
        return -1 if ca > cb else 1
    return 0


cdef void srcsel_fill(const sk_policy_t *pol, srcsel_cand_t *c, addr128_t a, uint32_t flags,
                      int32_t plen, uint32_t ifindex) noexcept nogil
cdef Py_ssize_t srcsel_pick(const sk_policy_t *pol, addr128_t d, const srcsel_cand_t *cands,
                            Py_ssize_t lo, Py_ssize_t hi, uint32_t interface,
                            bint prefer_temp) noexcept nogil
