# cython: language_level=3
"""Zero-copy parsing and RFC 4861 validation of ND frames (the checks are listed in
ndp_parse.pxd, in the order they run)."""

cimport cython
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int64_t
from libc.string cimport memset

from v6core._core.types cimport addr_load, addr_eq
from v6core._core.ndp_types cimport *
from v6core._core.ndp_cksum cimport ndp_cksum


cdef inline int _fail(ndp_pkt_t *o, int reason, Py_ssize_t off) noexcept nogil:
    o.bad_off = <uint32_t>off
    return reason


cdef int ndp_parse(const uint8_t *frame, Py_ssize_t len, ndp_pkt_t *out) noexcept nogil:
    return ndp_parse_ex(frame, len, 0, out)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef int ndp_parse_ex(const uint8_t *f, Py_ssize_t n, int flags,
                      ndp_pkt_t *o) noexcept nogil:
    cdef Py_ssize_t p = 0, q, r, end, ol, nh_field, minlen
    cdef uint16_t et
    cdef uint8_t nh, t, ot
    memset(o, 0, sizeof(ndp_pkt_t))
    o.vlan_tci = -1
    if n < 0:
        n = 0
    # -- link layer
    if not (flags & NDP_PARSE_IP6):
        if n < NDP_ETH_LEN:
            return _fail(o, NDP_DROP_ETH_TRUNC, n)
        et = ndp_be16(f + 12)
        p = NDP_ETH_LEN
        if et == 0x8100:
            if n < NDP_ETH_LEN + NDP_VLAN_LEN:
                return _fail(o, NDP_DROP_ETH_TRUNC, n)
            o.vlan_tci = ndp_be16(f + 14)
            et = ndp_be16(f + 16)
            p = NDP_ETH_LEN + NDP_VLAN_LEN
            if et == 0x8100 or et == 0x88a8:
                return _fail(o, NDP_DROP_VLAN_STACK, 16)
        elif et == 0x88a8:
            return _fail(o, NDP_DROP_VLAN_STACK, 12)
        if et != 0x86dd:
            return _fail(o, NDP_DROP_ETHERTYPE, p - 2)
    o.ip6_off = <uint32_t>p
    # -- IPv6 header
    if n - p < NDP_IP6_LEN:
        return _fail(o, NDP_DROP_IP6_TRUNC, p)
    if (f[p] >> 4) != 6:
        return _fail(o, NDP_DROP_IP6_VERSION, p)
    end = p + NDP_IP6_LEN + ndp_be16(f + p + 4)
    nh = f[p + 6]
    o.hop_limit = f[p + 7]
    o.src = addr_load(f + p + 8)
    o.dst = addr_load(f + p + 24)
    if end > n:
        return _fail(o, NDP_DROP_IP6_PLEN, p + 4)
    o.end = <uint32_t>end
    if (o.src.hi >> 56) == 0xff:
        return _fail(o, NDP_DROP_SRC_MULTICAST, p + 8)
    # -- extension headers (RFC 8200 section 4)
    q = p + NDP_IP6_LEN
    nh_field = p + 6
    while nh != 58:
        if nh == 0 or nh == 60 or nh == 43:
            if nh == 0 and o.n_ext != 0:
                return _fail(o, NDP_DROP_EXT_HBH_POS, nh_field)
            if o.n_ext >= NDP_MAX_EXT:
                return _fail(o, NDP_DROP_EXT_LIMIT, nh_field)
            if end - q < 8:
                return _fail(o, NDP_DROP_EXT_TRUNC, q)
            ol = (<Py_ssize_t>f[q + 1] + 1) * 8
            if end - q < ol:
                return _fail(o, NDP_DROP_EXT_TRUNC, q + 1)
            nh_field = q
            nh = f[q]
            q += ol
            o.n_ext += 1
        elif nh == 44:
            return _fail(o, NDP_DROP_FRAGMENT, nh_field)
        else:
            return _fail(o, NDP_DROP_NOT_ICMPV6, nh_field)
    # -- ICMPv6
    o.icmp_off = <uint32_t>q
    o.icmp_len = <uint32_t>(end - q)
    if end - q < 4:
        return _fail(o, NDP_DROP_ICMP_TRUNC, q)
    t = f[q]
    o.type = t
    o.code = f[q + 1]
    if t == ND_RS:
        minlen = 8
    elif t == ND_RA:
        minlen = 16
    elif t == ND_NS or t == ND_NA:
        minlen = 24
    elif t == ND_REDIRECT:
        minlen = 40
    else:
        return _fail(o, NDP_DROP_NOT_ND, q)
    if o.hop_limit != 255:
        return _fail(o, NDP_DROP_HOP_LIMIT, p + 7)
    if o.code != 0:
        return _fail(o, NDP_DROP_CODE, q + 1)
    if end - q < minlen:
        return _fail(o, NDP_DROP_ICMP_LEN, q)
    if not (flags & NDP_PARSE_NO_CKSUM):
        if ndp_cksum(f + p + 8, f + p + 24, f + q, end - q) != 0:
            return _fail(o, NDP_DROP_CHECKSUM, q + 2)
    if t == ND_NA:
        o.flags = f[q + 4] & 0xe0
        o.target = addr_load(f + q + 8)
    elif t == ND_NS:
        o.target = addr_load(f + q + 8)
    elif t == ND_RA:
        o.flags = f[q + 5]
    elif t == ND_REDIRECT:
        o.target = addr_load(f + q + 8)
        o.rdst = addr_load(f + q + 24)
    # -- options (RFC 4861 section 4.6)
    r = q + minlen
    o.opt_off = <uint32_t>r
    while r < end:
        if end - r < 2:
            return _fail(o, NDP_DROP_OPT_TRUNC, r)
        ol = <Py_ssize_t>f[r + 1] * 8
        if ol == 0:
            return _fail(o, NDP_DROP_OPT_LEN_ZERO, r + 1)
        if ol > end - r:
            return _fail(o, NDP_DROP_OPT_TRUNC, r + 1)
        ot = f[r]
        o.n_opts += 1
        # Only the options RFC 4861 specifies for this message are checked and recorded;
        # the others "MUST be ignored and the packet processed as normal" (sections
        # 6.1.1, 6.1.2, 7.1.1, 7.1.2, 8.1): they are only counted.
        if ot == ND_OPT_SLLA:
            if t == ND_RS or t == ND_RA or t == ND_NS:
                if ol != 8:
                    return _fail(o, NDP_DROP_OPT_LLAO_LEN, r + 1)
                if o.sll_off == 0:
                    o.sll_off = <uint32_t>(r + 2)
        elif ot == ND_OPT_TLLA:
            if t == ND_NA or t == ND_REDIRECT:
                if ol != 8:
                    return _fail(o, NDP_DROP_OPT_LLAO_LEN, r + 1)
                if o.tll_off == 0:
                    o.tll_off = <uint32_t>(r + 2)
        elif ot == ND_OPT_PREFIX:
            if t == ND_RA:
                if ol != 32:
                    return _fail(o, NDP_DROP_OPT_SIZE, r + 1)
                if o.prefix_off == 0:
                    o.prefix_off = <uint32_t>r
                if o.n_prefix < 255:
                    o.n_prefix += 1
        elif ot == ND_OPT_MTU:
            if t == ND_RA:
                if ol != 8:
                    return _fail(o, NDP_DROP_OPT_SIZE, r + 1)
                if o.mtu_off == 0:
                    o.mtu_off = <uint32_t>r
        elif ot == ND_OPT_NONCE:
            # RFC 3971 section 5.3.2 / RFC 7527: any solicitation or advertisement
            if o.nonce_off == 0 and t != ND_REDIRECT:
                o.nonce_off = <uint32_t>(r + 2)
                o.nonce_len = <uint32_t>(ol - 2)
        elif ot == ND_OPT_REDIRECTED:
            if t == ND_REDIRECT and o.redir_off == 0:
                o.redir_off = <uint32_t>r
        r += ol
    # -- message rules (RFC 4861 sections 6.1.1, 6.1.2, 7.1.1, 7.1.2, 8.1)
    if t == ND_NS or t == ND_NA or t == ND_REDIRECT:
        if (o.target.hi >> 56) == 0xff:
            return _fail(o, NDP_DROP_TARGET_MULTICAST, q + 8)
    if t == ND_NS:
        if ndp_is_unspecified(o.src):
            if not ndp_is_solicited_node(o.dst):
                return _fail(o, NDP_DROP_UNSPEC_DST, p + 24)
            if o.sll_off:
                return _fail(o, NDP_DROP_UNSPEC_SLLAO, o.sll_off - 2)
    elif t == ND_NA:
        if (o.dst.hi >> 56) == 0xff and (o.flags & NDP_NA_SOLICITED):
            return _fail(o, NDP_DROP_NA_SOLICITED_MCAST, q + 4)
    elif t == ND_RS:
        if ndp_is_unspecified(o.src) and o.sll_off:
            return _fail(o, NDP_DROP_UNSPEC_SLLAO, o.sll_off - 2)
    elif t == ND_RA:
        if not ndp_is_linklocal(o.src):
            return _fail(o, NDP_DROP_SRC_NOT_LINKLOCAL, p + 8)
    else:
        if not ndp_is_linklocal(o.src):
            return _fail(o, NDP_DROP_SRC_NOT_LINKLOCAL, p + 8)
        if (o.rdst.hi >> 56) == 0xff:
            return _fail(o, NDP_DROP_REDIRECT_DST_MULTICAST, q + 24)
        if not ndp_is_linklocal(o.target) and not addr_eq(o.target, o.rdst):
            return _fail(o, NDP_DROP_REDIRECT_TARGET, q + 8)
    return NDP_OK


cdef Py_ssize_t ndp_parse_batch(const uint8_t *base, const int64_t *offsets,
                                const int64_t *lengths, Py_ssize_t n, int flags,
                                uint8_t *reasons, ndp_pkt_t *pkts) noexcept nogil:
    cdef Py_ssize_t i, ok = 0
    cdef ndp_pkt_t scratch
    cdef int rc
    for i in range(n):
        if pkts != NULL:
            rc = ndp_parse_ex(base + offsets[i], <Py_ssize_t>lengths[i], flags, &pkts[i])
        else:
            rc = ndp_parse_ex(base + offsets[i], <Py_ssize_t>lengths[i], flags, &scratch)
        reasons[i] = <uint8_t>rc
        if rc == NDP_OK:
            ok += 1
    return ok
