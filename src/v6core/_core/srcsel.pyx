# cython: language_level=3
"""RFC 6724 section 5 source address selection (the rules are in ``srcsel.pxd``).

``srcsel_pick`` chooses among a host's candidates for one destination; the bulk kernel
(``bulk_sources``) calls it per row, :func:`select_index` per call.
"""

from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.stdint cimport uint32_t, int32_t

from v6core._core.types cimport addr128_t, addr_is_v4mapped
from v6core._core.addr cimport addr_from_object
from v6core._core.sortkey cimport (
    CompiledPolicy, SourceAddress, sk_scope, sk_label, sk_cpl, SK_F_USABLE,
)


cdef void srcsel_fill(const sk_policy_t *pol, srcsel_cand_t *c, addr128_t a, uint32_t flags,
                      int32_t plen, uint32_t ifindex) noexcept nogil:
    """The per-candidate attributes (computed once, whatever the destination)."""
    c.a = a
    c.v4 = addr_is_v4mapped(a)
    c.scope = sk_scope(SK_RFC6724, pol, a)
    c.label = sk_label(pol, a)
    c.flags = flags & ~(<uint32_t>SK_F_USABLE)
    c.plen = plen
    c.ifindex = ifindex
    c.next_hop = False


cdef Py_ssize_t srcsel_pick(const sk_policy_t *pol, addr128_t d, const srcsel_cand_t *cands,
                            Py_ssize_t lo, Py_ssize_t hi, uint32_t interface,
                            bint prefer_temp) noexcept nogil:
    """Source(d) among ``cands[lo:hi]``: the index of the best candidate of ``d``'s
    family (ties keep the earlier one), or -1 when there is none."""
    cdef Py_ssize_t c, best = -1
    cdef bint dv4 = addr_is_v4mapped(d)
    cdef bint attrs = False      # Scope(D), Label(D) and CommonPrefixLens, once needed
    cdef int32_t dscope = 0, dlabel = 0, cbest = 0, cc
    for c in range(lo, hi):
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
        if srcsel_cmp(&cands[c], cc, &cands[best], cbest, d, dscope, dlabel, interface,
                      prefer_temp) < 0:
            best = c
            cbest = cc
    return best


def select_index(destination, list candidates, CompiledPolicy policy, interface=None,
                 bint prefer_temporary=True, next_hop=None) -> int:
    """The index in ``candidates`` (a list of SourceAddress) of Source(destination) by
    RFC 6724 section 5 rules 1-8, or -1 when no candidate is of its family.

    ``interface`` (the outgoing interface index, for rule 5) is None to skip rule 5.
    ``next_hop`` (one truth value per candidate: inside a prefix the next hop
    advertised) is None to skip rule 5.5.
    """
    cdef addr128_t d
    cdef Py_ssize_t i, n = len(candidates)
    cdef uint32_t itf = SK_NO_IFINDEX
    cdef SourceAddress s
    cdef srcsel_cand_t *cands
    if interface is not None:
        if not isinstance(interface, int) or isinstance(interface, bool) \
                or not 0 <= interface <= 0xfffffffe:
            raise ValueError(f"interface: {interface!r} is not an interface index from 0 to "
                             "4294967294")
        itf = interface
    for i in range(n):
        if not isinstance(candidates[i], SourceAddress):
            raise TypeError(f"candidates[{i}]: expected a SourceAddress, not "
                            f"{type(candidates[i]).__name__}")
    if next_hop is not None and len(next_hop) != n:
        raise ValueError(f"next_hop: {len(next_hop)} values for {n} candidates")
    addr_from_object(destination, &d)
    if n == 0:
        return -1
    cands = <srcsel_cand_t *>PyMem_Malloc(n * sizeof(srcsel_cand_t))
    if cands == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            s = <SourceAddress>candidates[i]
            srcsel_fill(&policy.pol, &cands[i], s._a, s._flags, s._plen, s._ifindex)
            if next_hop is not None:
                cands[i].next_hop = bool(next_hop[i])
        return srcsel_pick(&policy.pol, d, cands, 0, n, itf, prefer_temporary)
    finally:
        PyMem_Free(cands)
