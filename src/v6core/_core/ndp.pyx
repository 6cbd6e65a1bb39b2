# cython: language_level=3
"""Neighbor Discovery (RFC 4861) frames: zero-copy parse and validation, and builders.

The C layer (declared and documented in ``ndp.pxd``) parses straight from any buffer
into an ``ndp_pkt_t`` of offsets and decoded fields and writes frames into caller
buffers; it allocates nothing.  The Python layer below wraps it: ``parse`` / ``validate``
one frame, ``parse_batch`` / ``validate_batch`` / ``write_na_replies`` for N frames laid
out in one buffer, and ``write_*`` (into a caller buffer) / ``build_*`` (new ``bytes``)
builders for NA, NS, RS, RA and any ICMPv6 message.
"""

cimport cython
from cpython.buffer cimport (
    PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_WRITABLE,
)
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int64_t, uint64_t
from libc.string cimport memcpy, memset

cimport numpy as cnp
import numpy as np
from collections import namedtuple

from v6core._core.types cimport addr128_t, addr_load, addr_store, addr_eq
from v6core._core.addr cimport addr_from_object
from v6core.errors import DropReason, ParseError

cnp.import_array()


# ---------------------------------------------------------------------------------------
# Small helpers

cdef inline uint16_t _be16(const uint8_t *p) noexcept nogil:
    return <uint16_t>((p[0] << 8) | p[1])


cdef inline uint32_t _be32(const uint8_t *p) noexcept nogil:
    return ((<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8)
            | <uint32_t>p[3])


cdef inline void _put16(uint8_t *p, uint32_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 8)
    p[1] = <uint8_t>v


cdef inline void _put32(uint8_t *p, uint32_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 24)
    p[1] = <uint8_t>(v >> 16)
    p[2] = <uint8_t>(v >> 8)
    p[3] = <uint8_t>v


cdef inline uint64_t _sum(const uint8_t *p, Py_ssize_t n, uint64_t acc) noexcept nogil:
    # One's complement sum in native byte order (RFC 1071 section 2(B): the sum is
    # byte-order independent); 32-bit loads into a 64-bit accumulator cannot overflow
    # for any IPv6 payload.
    cdef uint32_t w
    cdef uint16_t h
    cdef uint8_t tail[2]
    while n >= 8:
        memcpy(&w, p, 4)
        acc += w
        memcpy(&w, p + 4, 4)
        acc += w
        p += 8
        n -= 8
    if n >= 4:
        memcpy(&w, p, 4)
        acc += w
        p += 4
        n -= 4
    if n >= 2:
        memcpy(&h, p, 2)
        acc += h
        p += 2
        n -= 2
    if n:
        tail[0] = p[0]
        tail[1] = 0
        memcpy(&h, tail, 2)
        acc += h
    return acc


cdef uint16_t ndp_cksum(const uint8_t *src, const uint8_t *dst, const uint8_t *msg,
                        Py_ssize_t len) noexcept nogil:
    cdef uint8_t ph[8]
    cdef uint64_t acc
    cdef uint16_t s
    cdef uint8_t b[2]
    _put32(ph, <uint32_t>len)
    ph[4] = 0
    ph[5] = 0
    ph[6] = 0
    ph[7] = 58
    acc = _sum(src, 16, 0)
    acc = _sum(dst, 16, acc)
    acc = _sum(ph, 8, acc)
    acc = _sum(msg, len, acc)
    acc = (acc & 0xffffffffULL) + (acc >> 32)
    acc = (acc & 0xffffffffULL) + (acc >> 32)
    acc = (acc & 0xffffULL) + (acc >> 16)
    acc = (acc & 0xffffULL) + (acc >> 16)
    s = <uint16_t>(~acc)
    memcpy(b, &s, 2)
    return <uint16_t>((b[0] << 8) | b[1])


# ---------------------------------------------------------------------------------------
# Parsing

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
        et = _be16(f + 12)
        p = NDP_ETH_LEN
        if et == 0x8100:
            if n < NDP_ETH_LEN + NDP_VLAN_LEN:
                return _fail(o, NDP_DROP_ETH_TRUNC, n)
            o.vlan_tci = _be16(f + 14)
            et = _be16(f + 16)
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
    end = p + NDP_IP6_LEN + _be16(f + p + 4)
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


# ---------------------------------------------------------------------------------------
# Building

cdef inline Py_ssize_t _l2_len(int vlan_tci) noexcept nogil:
    return NDP_ETH_LEN + (NDP_VLAN_LEN if vlan_tci >= 0 else 0)


cdef inline Py_ssize_t _put_l2(uint8_t *buf, const uint8_t *dst_mac, const uint8_t *src_mac,
                               int vlan_tci) noexcept nogil:
    memcpy(buf, dst_mac, 6)
    memcpy(buf + 6, src_mac, 6)
    if vlan_tci >= 0:
        buf[12] = 0x81
        buf[13] = 0x00
        _put16(buf + 14, <uint32_t>vlan_tci)
        buf[16] = 0x86
        buf[17] = 0xdd
        return 18
    buf[12] = 0x86
    buf[13] = 0xdd
    return 14


cdef inline void _put_ip6(uint8_t *p, Py_ssize_t plen, uint8_t hop_limit,
                          addr128_t src, addr128_t dst) noexcept nogil:
    p[0] = 0x60
    p[1] = 0
    p[2] = 0
    p[3] = 0
    _put16(p + 4, <uint32_t>plen)
    p[6] = 58
    p[7] = hop_limit
    addr_store(p + 8, src)
    addr_store(p + 24, dst)


cdef inline void _finish(uint8_t *ip6, Py_ssize_t icmp_len) noexcept nogil:
    # ip6 points at the IPv6 header; the ICMPv6 message follows it with checksum zeroed
    cdef uint16_t c = ndp_cksum(ip6 + 8, ip6 + 24, ip6 + 40, icmp_len)
    _put16(ip6 + 42, c)


cdef inline int _check_l2(const uint8_t *dst_mac, const uint8_t *src_mac, int vlan_tci,
                          addr128_t dst, uint8_t *mac_out) noexcept nogil:
    if src_mac == NULL or vlan_tci > 0xffff:
        return NDP_EARG
    if dst_mac == NULL:
        if not ndp_is_multicast(dst):
            return NDP_EARG
        ndp_mcast_mac(dst, mac_out)
    else:
        memcpy(mac_out, dst_mac, 6)
    return 0


cdef inline void _put_llao(uint8_t *p, uint8_t kind, const uint8_t *mac) noexcept nogil:
    p[0] = kind
    p[1] = 1
    memcpy(p + 2, mac, 6)


cdef Py_ssize_t ndp_build_na(uint8_t *buf, Py_ssize_t cap,
                             const uint8_t *dst_mac, const uint8_t *src_mac, int vlan_tci,
                             addr128_t src, addr128_t dst, addr128_t target,
                             uint8_t flags, const uint8_t *tlla) noexcept nogil:
    cdef uint8_t dmac[6]
    cdef Py_ssize_t l2, ilen = 24 + (8 if tlla != NULL else 0)
    cdef uint8_t *m
    if _check_l2(dst_mac, src_mac, vlan_tci, dst, dmac) != 0:
        return NDP_EARG
    l2 = _l2_len(vlan_tci)
    if cap < l2 + NDP_IP6_LEN + ilen:
        return NDP_EBUF
    _put_l2(buf, dmac, src_mac, vlan_tci)
    _put_ip6(buf + l2, ilen, 255, src, dst)
    m = buf + l2 + NDP_IP6_LEN
    m[0] = ND_NA
    m[1] = 0
    m[2] = 0
    m[3] = 0
    m[4] = flags & 0xe0
    m[5] = 0
    m[6] = 0
    m[7] = 0
    addr_store(m + 8, target)
    if tlla != NULL:
        _put_llao(m + 24, ND_OPT_TLLA, tlla)
    _finish(buf + l2, ilen)
    return l2 + NDP_IP6_LEN + ilen


cdef Py_ssize_t ndp_build_ns(uint8_t *buf, Py_ssize_t cap,
                             const uint8_t *dst_mac, const uint8_t *src_mac, int vlan_tci,
                             addr128_t src, addr128_t dst, addr128_t target,
                             const uint8_t *slla, const uint8_t *nonce,
                             Py_ssize_t nonce_len) noexcept nogil:
    cdef uint8_t dmac[6]
    cdef Py_ssize_t l2, nlen = 0, ilen
    cdef uint8_t *m
    if nonce == NULL or nonce_len <= 0:
        nonce_len = 0
    elif nonce_len > 253 * 8:
        return NDP_EARG
    else:
        nlen = ((nonce_len + 2 + 7) // 8) * 8
    ilen = 24 + (8 if slla != NULL else 0) + nlen
    if _check_l2(dst_mac, src_mac, vlan_tci, dst, dmac) != 0:
        return NDP_EARG
    l2 = _l2_len(vlan_tci)
    if cap < l2 + NDP_IP6_LEN + ilen:
        return NDP_EBUF
    _put_l2(buf, dmac, src_mac, vlan_tci)
    _put_ip6(buf + l2, ilen, 255, src, dst)
    m = buf + l2 + NDP_IP6_LEN
    memset(m, 0, 8)
    m[0] = ND_NS
    addr_store(m + 8, target)
    m += 24
    if slla != NULL:
        _put_llao(m, ND_OPT_SLLA, slla)
        m += 8
    if nlen:
        memset(m, 0, nlen)
        m[0] = ND_OPT_NONCE
        m[1] = <uint8_t>(nlen // 8)
        memcpy(m + 2, nonce, nonce_len)
    _finish(buf + l2, ilen)
    return l2 + NDP_IP6_LEN + ilen


cdef Py_ssize_t ndp_build_rs(uint8_t *buf, Py_ssize_t cap,
                             const uint8_t *dst_mac, const uint8_t *src_mac, int vlan_tci,
                             addr128_t src, addr128_t dst, const uint8_t *slla) noexcept nogil:
    cdef uint8_t dmac[6]
    cdef Py_ssize_t l2, ilen = 8 + (8 if slla != NULL else 0)
    cdef uint8_t *m
    if _check_l2(dst_mac, src_mac, vlan_tci, dst, dmac) != 0:
        return NDP_EARG
    l2 = _l2_len(vlan_tci)
    if cap < l2 + NDP_IP6_LEN + ilen:
        return NDP_EBUF
    _put_l2(buf, dmac, src_mac, vlan_tci)
    _put_ip6(buf + l2, ilen, 255, src, dst)
    m = buf + l2 + NDP_IP6_LEN
    memset(m, 0, 8)
    m[0] = ND_RS
    if slla != NULL:
        _put_llao(m + 8, ND_OPT_SLLA, slla)
    _finish(buf + l2, ilen)
    return l2 + NDP_IP6_LEN + ilen


cdef Py_ssize_t ndp_build_ra(uint8_t *buf, Py_ssize_t cap,
                             const uint8_t *dst_mac, const uint8_t *src_mac, int vlan_tci,
                             addr128_t src, addr128_t dst,
                             uint8_t cur_hop_limit, uint8_t ra_flags,
                             uint16_t router_lifetime, uint32_t reachable_ms,
                             uint32_t retrans_ms, const uint8_t *slla, uint32_t mtu,
                             const ndp_prefix_t *prefixes, Py_ssize_t n_prefix) noexcept nogil:
    cdef uint8_t dmac[6]
    cdef Py_ssize_t l2, ilen, i
    cdef uint8_t *m
    if n_prefix < 0 or n_prefix > 2000 or (n_prefix > 0 and prefixes == NULL):
        return NDP_EARG
    ilen = 16 + (8 if slla != NULL else 0) + (8 if mtu else 0) + 32 * n_prefix
    if ilen > 0xffff:
        return NDP_EARG
    if _check_l2(dst_mac, src_mac, vlan_tci, dst, dmac) != 0:
        return NDP_EARG
    l2 = _l2_len(vlan_tci)
    if cap < l2 + NDP_IP6_LEN + ilen:
        return NDP_EBUF
    _put_l2(buf, dmac, src_mac, vlan_tci)
    _put_ip6(buf + l2, ilen, 255, src, dst)
    m = buf + l2 + NDP_IP6_LEN
    m[0] = ND_RA
    m[1] = 0
    m[2] = 0
    m[3] = 0
    m[4] = cur_hop_limit
    m[5] = ra_flags
    _put16(m + 6, router_lifetime)
    _put32(m + 8, reachable_ms)
    _put32(m + 12, retrans_ms)
    m += 16
    if slla != NULL:
        _put_llao(m, ND_OPT_SLLA, slla)
        m += 8
    if mtu:
        m[0] = ND_OPT_MTU
        m[1] = 1
        m[2] = 0
        m[3] = 0
        _put32(m + 4, mtu)
        m += 8
    for i in range(n_prefix):
        m[0] = ND_OPT_PREFIX
        m[1] = 4
        m[2] = prefixes[i].plen
        m[3] = prefixes[i].flags
        _put32(m + 4, prefixes[i].valid)
        _put32(m + 8, prefixes[i].preferred)
        _put32(m + 12, 0)
        addr_store(m + 16, prefixes[i].prefix)
        m += 32
    _finish(buf + l2, ilen)
    return l2 + NDP_IP6_LEN + ilen


cdef Py_ssize_t ndp_build_icmp6(uint8_t *buf, Py_ssize_t cap,
                                const uint8_t *dst_mac, const uint8_t *src_mac,
                                int vlan_tci, addr128_t src, addr128_t dst,
                                uint8_t hop_limit, const uint8_t *msg,
                                Py_ssize_t msg_len) noexcept nogil:
    cdef uint8_t dmac[6]
    cdef Py_ssize_t l2
    cdef uint8_t *m
    if msg_len < 4 or msg_len > 0xffff or msg == NULL:
        return NDP_EARG
    if _check_l2(dst_mac, src_mac, vlan_tci, dst, dmac) != 0:
        return NDP_EARG
    l2 = _l2_len(vlan_tci)
    if cap < l2 + NDP_IP6_LEN + msg_len:
        return NDP_EBUF
    _put_l2(buf, dmac, src_mac, vlan_tci)
    _put_ip6(buf + l2, msg_len, hop_limit, src, dst)
    m = buf + l2 + NDP_IP6_LEN
    memcpy(m, msg, msg_len)
    m[2] = 0
    m[3] = 0
    _finish(buf + l2, msg_len)
    return l2 + NDP_IP6_LEN + msg_len


cdef Py_ssize_t ndp_build_na_reply(uint8_t *buf, Py_ssize_t cap,
                                   const uint8_t *frame, const ndp_pkt_t *ns,
                                   const uint8_t *eth_src, const uint8_t *tlla,
                                   const addr128_t *src, uint8_t flags,
                                   bint solicited) noexcept nogil:
    cdef addr128_t dst
    cdef const uint8_t *dmac
    cdef uint8_t all_nodes_mac[6]
    if ns.type != ND_NS or eth_src == NULL:
        return NDP_EARG
    flags &= NDP_NA_ROUTER | NDP_NA_OVERRIDE
    if ndp_is_unspecified(ns.src):
        # RFC 4861 section 7.2.4: the answer to a DAD probe goes to all-nodes with S = 0
        dst.hi = 0xff02000000000000ULL
        dst.lo = 1
        ndp_mcast_mac(dst, all_nodes_mac)
        dmac = all_nodes_mac
    else:
        # otherwise to the solicitation's source, S = 1 (unless the caller, e.g. a proxy
        # advertising unsolicited, asks for S clear), at the MAC of its SLLAO, else the
        # frame's Ethernet source
        dst = ns.src
        if solicited:
            flags |= NDP_NA_SOLICITED
        dmac = frame + ns.sll_off if ns.sll_off else frame + 6
        if ns.ip6_off == 0:        # parsed without a link layer: no Ethernet source
            if not ns.sll_off:
                return NDP_EARG
    return ndp_build_na(buf, cap, dmac, eth_src, ns.vlan_tci,
                        src[0] if src != NULL else ns.target, dst, ns.target, flags, tlla)


# =======================================================================================
# Python layer

PrefixInfo = namedtuple("PrefixInfo", "prefix plen flags valid preferred")
PrefixInfo.__doc__ = """A prefix information option (RFC 4861 section 4.6.2).

prefix: 16-byte memoryview into the frame; plen: prefix length in bits; flags: the L (0x80)
and A (0x40) byte; valid, preferred: lifetimes in seconds (0xffffffff = infinity)."""

Option = namedtuple("Option", "type data")
Option.__doc__ = """One ND option: ``type`` and ``data``, a memoryview of the whole option
(type, length and body; ``len(data)`` = Length * 8) into the caller's frame."""

cdef tuple _TYPE_NAMES = ("RS", "RA", "NS", "NA", "Redirect")
cdef list _REASONS = [DropReason(i) for i in range(NDP_REASON_COUNT)]


cdef object _byte_view(object frame):
    cdef object mv = memoryview(frame)
    if mv.ndim != 1 or mv.format not in ("B", "b", "c"):
        mv = mv.cast("B")
    elif mv.format != "B":
        mv = mv.cast("B")
    return mv


cdef int _get_bytes(object o, Py_buffer *view) except -1:
    """The bytes of any C-contiguous buffer (PyBUF_SIMPLE: no format, no copy)."""
    try:
        PyObject_GetBuffer(o, view, PyBUF_SIMPLE)
    except BufferError:
        raise TypeError(f"expected a C-contiguous bytes-like buffer, not {type(o).__name__}") \
            from None
    return 0


cdef inline int _parse_flags(bint ip6, bint verify_checksum) noexcept:
    return (NDP_PARSE_IP6 if ip6 else 0) | (0 if verify_checksum else NDP_PARSE_NO_CKSUM)


cdef class NDPFrame:
    """A parsed Neighbor Discovery frame: decoded fields and memoryviews into the buffer.

    Made by :func:`parse`.  Every ``bytes``-like attribute is a ``memoryview`` slice of
    the caller's buffer (no copy; it keeps the buffer alive).  Offsets are in bytes from
    the frame start.  Integers are host values decoded from the big-endian wire.
    """

    cdef ndp_pkt_t pkt
    cdef object _mv
    cdef int _reason

    def __cinit__(self):
        self._reason = 0

    cdef inline bint _reached(self, int stage) noexcept:
        # True if parsing got past the check whose failure is ``stage``: ndp_parse fails
        # with the reasons in ascending order (ndp.pxd), so every field decoded before
        # that check is set.  Stages used: IP6_PLEN (IPv6 header read), ICMP_TRUNC
        # (ICMPv6 offsets), NOT_ND (type and code), OPT_LEN_ZERO (message body decoded).
        return self._reason == NDP_OK or self._reason >= stage

    @property
    def buffer(self):
        """The whole frame as a byte memoryview (the caller's buffer)."""
        return self._mv

    @property
    def reason(self):
        """:class:`~v6core.errors.DropReason` (``OK`` for a frame from :func:`parse`)."""
        return _REASONS[self._reason]

    @property
    def type(self):
        """ICMPv6 type: 133 RS, 134 RA, 135 NS, 136 NA, 137 Redirect; None if the frame
        failed before its ICMPv6 header."""
        return self.pkt.type if self._reached(NDP_DROP_NOT_ND) else None

    @property
    def type_name(self) -> str:
        """"RS", "RA", "NS", "NA", "Redirect", or "?" (not ND, or not reached)."""
        if self._reached(NDP_DROP_NOT_ND) and 133 <= self.pkt.type <= 137:
            return _TYPE_NAMES[self.pkt.type - 133]
        return "?"

    @property
    def code(self):
        return self.pkt.code if self._reached(NDP_DROP_NOT_ND) else None

    @property
    def hop_limit(self):
        """IPv6 Hop Limit; None if the frame failed before its IPv6 header."""
        return self.pkt.hop_limit if self._reached(NDP_DROP_IP6_PLEN) else None

    @property
    def flags(self):
        """NA: R|S|O bits (0x80|0x40|0x20) of byte 4; RA: byte 5 (M 0x80, O 0x40); else 0.
        None if the frame failed before its message body was decoded."""
        return self.pkt.flags if self._reached(NDP_DROP_OPT_LEN_ZERO) else None

    @property
    def router(self) -> bool:
        return self.pkt.type == ND_NA and bool(self.pkt.flags & NDP_NA_ROUTER)

    @property
    def solicited(self) -> bool:
        return self.pkt.type == ND_NA and bool(self.pkt.flags & NDP_NA_SOLICITED)

    @property
    def override(self) -> bool:
        return self.pkt.type == ND_NA and bool(self.pkt.flags & NDP_NA_OVERRIDE)

    @property
    def vlan_tci(self):
        """The 802.1Q TCI (PCP 3 bits, DEI 1, VID 12) or None when untagged."""
        return None if self.pkt.vlan_tci < 0 else self.pkt.vlan_tci

    @property
    def vlan_id(self):
        """The 12-bit VLAN id, or None when untagged."""
        return None if self.pkt.vlan_tci < 0 else self.pkt.vlan_tci & 0xfff

    @property
    def dst_mac(self):
        """Ethernet destination (6-byte memoryview), None when parsed with ``ip6=True``."""
        return self._mv[0:6] if self.pkt.ip6_off else None

    @property
    def src_mac(self):
        return self._mv[6:12] if self.pkt.ip6_off else None

    @property
    def ip6_off(self) -> int:
        return self.pkt.ip6_off

    @property
    def icmp_off(self) -> int:
        return self.pkt.icmp_off

    @property
    def icmp_len(self) -> int:
        """ICMPv6 message length in bytes (from the IPv6 Payload Length)."""
        return self.pkt.icmp_len

    @property
    def opt_off(self) -> int:
        return self.pkt.opt_off

    @property
    def end(self) -> int:
        """Offset just past the ICMPv6 message; bytes beyond are link padding."""
        return self.pkt.end

    @property
    def bad_off(self) -> int:
        """Offset of the byte whose check failed (0 for a valid frame)."""
        return self.pkt.bad_off

    @property
    def n_ext(self) -> int:
        """Number of IPv6 extension headers walked (hop-by-hop, destination, routing)."""
        return self.pkt.n_ext

    @property
    def n_opts(self) -> int:
        """Number of options (duplicates included)."""
        return self.pkt.n_opts

    @property
    def n_prefix(self) -> int:
        """Number of prefix information options (saturates at 255)."""
        return self.pkt.n_prefix

    @property
    def src(self):
        """IPv6 source, 16-byte memoryview; None if the frame failed before it."""
        cdef Py_ssize_t o = self.pkt.ip6_off + 8
        return self._mv[o:o + 16] if self._reached(NDP_DROP_IP6_PLEN) else None

    @property
    def dst(self):
        """IPv6 destination, 16-byte memoryview; None if the frame failed before it."""
        cdef Py_ssize_t o = self.pkt.ip6_off + 24
        return self._mv[o:o + 16] if self._reached(NDP_DROP_IP6_PLEN) else None

    @property
    def target(self):
        """NS/NA/Redirect target (16-byte memoryview), None for RS/RA or if the frame
        failed before its message body."""
        cdef Py_ssize_t o = self.pkt.icmp_off + 8
        if self._body(ND_NS) or self._body(ND_NA) or self._body(ND_REDIRECT):
            return self._mv[o:o + 16]
        return None

    @property
    def destination(self):
        """Redirect destination (16-byte memoryview), None for other messages."""
        cdef Py_ssize_t o = self.pkt.icmp_off + 24
        return self._mv[o:o + 16] if self._body(ND_REDIRECT) else None

    @property
    def icmp(self):
        """The ICMPv6 message (header, body, options) as a memoryview; None if the frame
        failed before it."""
        if not self._reached(NDP_DROP_ICMP_TRUNC):
            return None
        return self._mv[self.pkt.icmp_off:self.pkt.end]

    @property
    def checksum(self):
        """The ICMPv6 checksum field as sent (host integer of the big-endian bytes); None
        if the frame failed before its ICMPv6 header."""
        cdef Py_ssize_t o = self.pkt.icmp_off
        if not self._reached(NDP_DROP_NOT_ND):
            return None
        return int.from_bytes(self._mv[o + 2:o + 4], "big")

    @property
    def sll(self):
        """MAC of the first source link-layer address option (6-byte memoryview) or None."""
        return self._mv[self.pkt.sll_off:self.pkt.sll_off + 6] if self.pkt.sll_off else None

    @property
    def tll(self):
        """MAC of the first target link-layer address option (6-byte memoryview) or None."""
        return self._mv[self.pkt.tll_off:self.pkt.tll_off + 6] if self.pkt.tll_off else None

    @property
    def nonce(self):
        """Nonce option contents (RFC 3971 section 5.3.2; memoryview) or None."""
        if not self.pkt.nonce_off:
            return None
        return self._mv[self.pkt.nonce_off:self.pkt.nonce_off + self.pkt.nonce_len]

    @property
    def mtu(self):
        """MTU option value in bytes (RFC 4861 section 4.6.4) or None."""
        cdef Py_ssize_t o = self.pkt.mtu_off
        if not o:
            return None
        return int.from_bytes(self._mv[o + 4:o + 8], "big")

    @property
    def redirected(self):
        """Redirected header option body (after its 8-byte header; memoryview) or None."""
        cdef Py_ssize_t o = self.pkt.redir_off
        if not o:
            return None
        return self._mv[o + 8:o + self._mv[o + 1] * 8]

    @property
    def prefixes(self) -> list:
        """All prefix information options of an RA, in order, as :class:`PrefixInfo`
        (empty for other messages, where RFC 4861 section 4.6.2 options are ignored)."""
        cdef list out = []
        if not self._body(ND_RA):
            return out
        for opt in self.options:
            if opt.type == ND_OPT_PREFIX:
                d = opt.data
                out.append(PrefixInfo(d[16:32], d[2], d[3], int.from_bytes(d[4:8], "big"),
                                      int.from_bytes(d[8:12], "big")))
        return out

    @property
    def options(self) -> list:
        """Every option, in order, as :class:`Option` (type, memoryview of the option),
        including those the message ignores; empty if the frame failed before its options
        were walked."""
        cdef list out = []
        cdef Py_ssize_t r = self.pkt.opt_off, end = self.pkt.end, ol
        if not self._reached(NDP_DROP_TARGET_MULTICAST):
            return out
        while r + 2 <= end:
            ol = self._mv[r + 1] * 8
            if ol == 0 or r + ol > end:
                break
            out.append(Option(self._mv[r], self._mv[r:r + ol]))
            r += ol
        return out

    cdef inline bint _body(self, int t) noexcept:
        # a message of type t whose fixed part (RFC 4861 section 4) was decoded
        return self.pkt.type == t and self._reached(NDP_DROP_OPT_LEN_ZERO)

    # RA fixed fields (RFC 4861 section 4.2); None for other messages and for an RA that
    # failed before its body was decoded (e.g. shorter than 16 bytes)
    @property
    def cur_hop_limit(self):
        return self._mv[self.pkt.icmp_off + 4] if self._body(ND_RA) else None

    @property
    def router_lifetime(self):
        """RA Router Lifetime in seconds, None for other messages."""
        cdef Py_ssize_t o = self.pkt.icmp_off
        return int.from_bytes(self._mv[o + 6:o + 8], "big") if self._body(ND_RA) else None

    @property
    def reachable_time(self):
        """RA Reachable Time in milliseconds, None for other messages."""
        cdef Py_ssize_t o = self.pkt.icmp_off
        return int.from_bytes(self._mv[o + 8:o + 12], "big") if self._body(ND_RA) else None

    @property
    def retrans_timer(self):
        """RA Retrans Timer in milliseconds, None for other messages."""
        cdef Py_ssize_t o = self.pkt.icmp_off
        return int.from_bytes(self._mv[o + 12:o + 16], "big") if self._body(ND_RA) else None

    def __repr__(self):
        # never raises: every field below is None or a whole 16-byte view when unset
        from v6core._core.addr import to_text
        parts = [self.type_name]
        for name, v in (("src", self.src), ("dst", self.dst), ("target", self.target)):
            if v is not None:
                parts.append(f"{name}={to_text(bytes(v))}")
        if self.pkt.vlan_tci >= 0:
            parts.append(f"vlan={self.pkt.vlan_tci & 0xfff}")
        if self._reason != NDP_OK:
            parts.append(f"invalid={_REASONS[self._reason].name}@{self.pkt.bad_off}")
        return f"<NDPFrame {' '.join(parts)}>"


cdef NDPFrame _parse_into(object frame, int flags):
    cdef NDPFrame r = NDPFrame.__new__(NDPFrame)
    r._mv = _byte_view(frame)
    cdef const uint8_t[::1] data = r._mv
    cdef Py_ssize_t n = data.shape[0]
    if n == 0:
        r._reason = ndp_parse_ex(<const uint8_t *>b"", 0, flags, &r.pkt)
    else:
        r._reason = ndp_parse_ex(&data[0], n, flags, &r.pkt)
    return r


def parse(frame, *, bint ip6=False, bint verify_checksum=True) -> NDPFrame:
    """Parse and validate one ND frame without copying it.

    Parameters
    ----------
    frame : bytes-like
        An Ethernet II frame (optionally with one 802.1Q tag), or with ``ip6=True`` an IPv6
        packet: bytes, bytearray, memoryview, a 1-d uint8 numpy array, an mmap slice.
    ip6 : bool
        The buffer starts at the IPv6 header.
    verify_checksum : bool
        Check the ICMPv6 checksum (RFC 4443 section 2.3).

    Returns
    -------
    NDPFrame
        Fields and memoryviews into ``frame``.

    Raises
    ------
    ParseError
        If a check of RFC 4861 sections 6.1, 7.1 or 8.1 fails (see ``ndp.pxd``); ``reason``
        is the :class:`~v6core.errors.DropReason` and ``offset`` the offending byte.
    """
    cdef NDPFrame r = _parse_into(frame, _parse_flags(ip6, verify_checksum))
    if r._reason != NDP_OK:
        reason = _REASONS[r._reason]
        raise ParseError(f"invalid ND frame: {reason.describe()} at byte {r.pkt.bad_off} "
                         f"(reason {reason.name})", reason, r.pkt.bad_off)
    return r


def inspect(frame, *, bint ip6=False, bint verify_checksum=True) -> NDPFrame:
    """Like :func:`parse` but never raises: the result's ``reason`` says whether the frame
    is valid and ``bad_off`` where it failed (fields past the failure are unset)."""
    return _parse_into(frame, _parse_flags(ip6, verify_checksum))


def validate(frame, *, bint ip6=False, bint verify_checksum=True):
    """Return the :class:`~v6core.errors.DropReason` of one frame (``OK`` if valid)."""
    cdef Py_buffer view
    cdef ndp_pkt_t pkt
    cdef int rc
    _get_bytes(frame, &view)
    rc = ndp_parse_ex(<const uint8_t *>view.buf, view.len, _parse_flags(ip6, verify_checksum),
                      &pkt)
    PyBuffer_Release(&view)
    return _REASONS[rc]


# ---------------------------------------------------------------------------------------
# Argument helpers for the builders

cdef inline int _hexval(Py_UCS4 ch) noexcept:
    cdef int c = <int>ch
    if 48 <= c <= 57:
        return c - 48
    if 97 <= c <= 102:
        return c - 87
    if 65 <= c <= 70:
        return c - 55
    return -1


cdef int _mac_text17(str s, uint8_t *out) noexcept:
    """Fast path for "aa:bb:cc:dd:ee:ff" (or with '-'); -1 if not of that form."""
    cdef int i, hi, lo
    cdef Py_UCS4 sep
    for i in range(6):
        hi = _hexval(s[3 * i])
        lo = _hexval(s[3 * i + 1])
        if hi < 0 or lo < 0:
            return -1
        if i < 5:
            sep = s[3 * i + 2]
            if sep != u":" and sep != u"-":
                return -1
        out[i] = <uint8_t>((hi << 4) | lo)
    return 0


cdef int _mac_from(object mac, uint8_t *out) except -1:
    cdef const uint8_t[::1] v
    cdef bytes b
    if type(mac) is bytes and PyBytes_GET_SIZE(mac) == 6:
        memcpy(out, PyBytes_AS_STRING(mac), 6)
        return 0
    if type(mac) is str and len(<str>mac) == 17 and _mac_text17(mac, out) == 0:
        return 0
    if isinstance(mac, str):
        s = mac.replace("-", ":")
        parts = s.split(":")
        if len(parts) != 6 or not all(1 <= len(x) <= 2 for x in parts):
            raise ValueError(f"invalid MAC address {mac!r}: expected six hex bytes aa:bb:..")
        try:
            b = bytes(int(x, 16) for x in parts)
        except ValueError:
            raise ValueError(f"invalid MAC address {mac!r}: not hex") from None
        memcpy(out, <const char *>b, 6)
        return 0
    try:
        v = _byte_view(mac)
    except TypeError:
        raise TypeError(f"a MAC address must be text or 6 bytes, not {type(mac).__name__}") \
            from None
    if v.shape[0] != 6:
        raise ValueError(f"invalid MAC address {bytes(v)!r}: {v.shape[0]} bytes, expected 6")
    memcpy(out, &v[0], 6)
    return 0


cdef int _vlan_from(object vlan) except -2:
    if vlan is None:
        return -1
    if not 0 <= vlan <= 0xffff:
        raise ValueError(f"invalid 802.1Q TCI {vlan!r}: expected 0..65535 (VID 0..4095)")
    return <int>vlan


cdef object _int_arg(object v, str name, object hi):
    """``v`` as an int in 0 .. hi: TypeError if not an integer, ValueError if outside."""
    if not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, not {type(v).__name__}")
    if not 0 <= v <= hi:
        raise ValueError(f"{name} {v} is out of range 0..{hi}")
    return int(v)


cdef int _check_rc(Py_ssize_t rc, Py_ssize_t cap, str what) except -1:
    if rc == NDP_EBUF:
        raise ValueError(f"{what}: output buffer of {cap} bytes is too small")
    if rc == NDP_EARG:
        raise ValueError(f"{what}: a unicast destination needs dst_mac")
    return 0


cdef uint8_t[::1] _out_view(object out):
    cdef uint8_t[::1] v
    try:
        v = _byte_view(out)
    except (TypeError, BufferError, ValueError) as e:
        raise TypeError(f"out must be a writable contiguous buffer ({e})") from None
    if v.shape[0] == 0:
        raise ValueError("output buffer of 0 bytes is too small")
    return v


cdef bytes _alloc_build(object fn, dict kw, Py_ssize_t size):
    cdef bytearray buf = bytearray(size)
    cdef Py_ssize_t n = fn(buf, **kw)
    return bytes(buf[:n])


_ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")
_ALL_ROUTERS = bytes.fromhex("ff020000000000000000000000000002")


def write_na(out, *, src, dst, target, src_mac, dst_mac=None, bint router=False,
             bint solicited=False, bint override=True, tlla=None, vlan=None) -> int:
    """Write a Neighbor Advertisement frame (RFC 4861 section 4.4) into ``out``.

    Parameters
    ----------
    out : writable bytes-like
        Receives the frame at offset 0 (86 bytes untagged with a TLLAO, 90 with a tag).
    src, dst, target : address (str, 16 bytes, ipaddress)
        IPv6 source (any: the target, a link-local...), destination, and the target.
    src_mac : MAC (``"aa:bb:cc:dd:ee:ff"`` or 6 bytes)
    dst_mac : MAC or None
        None derives 33:33:xx:xx:xx:xx from a multicast ``dst`` (RFC 2464 section 7).
    router, solicited, override : bool
        The R, S and O flags.
    tlla : MAC or None
        Target link-layer address option (RFC 4861 section 4.6.1).
    vlan : int or None
        802.1Q TCI; None for an untagged frame.

    Returns
    -------
    int
        The frame length in bytes.  Hop Limit is 255 and the checksum is computed.
    """
    cdef addr128_t s, d, t
    cdef uint8_t smac[6]
    cdef uint8_t dmac[6]
    cdef uint8_t tl[6]
    cdef Py_ssize_t cap
    cdef uint8_t[::1] ov = _out_view(out)
    cdef uint8_t *buf = &ov[0]
    cap = ov.shape[0]
    addr_from_object(src, &s)
    addr_from_object(dst, &d)
    addr_from_object(target, &t)
    _mac_from(src_mac, smac)
    if dst_mac is not None:
        _mac_from(dst_mac, dmac)
    if tlla is not None:
        _mac_from(tlla, tl)
    cdef uint8_t fl = ((NDP_NA_ROUTER if router else 0) | (NDP_NA_SOLICITED if solicited else 0)
                       | (NDP_NA_OVERRIDE if override else 0))
    rc = ndp_build_na(buf, cap, dmac if dst_mac is not None else NULL, smac, _vlan_from(vlan),
                      s, d, t, fl, tl if tlla is not None else NULL)
    _check_rc(rc, cap, "NA")
    return rc


def build_na(**kw) -> bytes:
    """:func:`write_na` into a new buffer; returns the frame as ``bytes``."""
    return _alloc_build(write_na, kw, 128)


def write_ns(out, *, src, target, src_mac, dst=None, dst_mac=None, slla=None, nonce=None,
             vlan=None) -> int:
    """Write a Neighbor Solicitation frame (RFC 4861 section 4.3) into ``out``.

    ``dst`` None means the solicited-node multicast address of ``target`` (RFC 4291
    section 2.7.1) and ``dst_mac`` None its 33:33 MAC; give both for a unicast (NUD)
    solicitation.  ``src`` ``"::"`` with no ``slla`` makes a DAD probe.  ``slla`` adds a
    source link-layer address option, ``nonce`` (bytes) a nonce option (RFC 3971 section
    5.3.2; zero-padded to a multiple of 8 bytes with its header).  Returns the length.
    """
    cdef addr128_t s, d, t
    cdef uint8_t smac[6]
    cdef uint8_t dmac[6]
    cdef uint8_t sl[6]
    cdef const uint8_t[::1] nv
    cdef Py_ssize_t cap, nlen = 0
    cdef uint8_t[::1] ov = _out_view(out)
    cdef uint8_t *buf = &ov[0]
    cap = ov.shape[0]
    addr_from_object(src, &s)
    addr_from_object(target, &t)
    if dst is None:
        d = ndp_solicited_node(t)
    else:
        addr_from_object(dst, &d)
    _mac_from(src_mac, smac)
    if dst_mac is not None:
        _mac_from(dst_mac, dmac)
    if slla is not None:
        _mac_from(slla, sl)
    if nonce is not None:
        nv = _byte_view(nonce)
        nlen = nv.shape[0]
        if nlen == 0 or nlen > 2000:
            raise ValueError(f"nonce of {nlen} bytes: expected 1..2000 (RFC 3971 uses 6)")
    rc = ndp_build_ns(buf, cap, dmac if dst_mac is not None else NULL, smac, _vlan_from(vlan),
                      s, d, t, sl if slla is not None else NULL,
                      &nv[0] if nlen else NULL, nlen)
    _check_rc(rc, cap, "NS")
    return rc


def build_ns(**kw) -> bytes:
    """:func:`write_ns` into a new buffer; returns the frame as ``bytes``."""
    return _alloc_build(write_ns, kw, 128 + 2048)


def write_rs(out, *, src, src_mac, dst=_ALL_ROUTERS, dst_mac=None, slla=None,
             vlan=None) -> int:
    """Write a Router Solicitation frame (RFC 4861 section 4.1); ``dst`` defaults to
    all-routers ff02::2.  Returns the length."""
    cdef addr128_t s, d
    cdef uint8_t smac[6]
    cdef uint8_t dmac[6]
    cdef uint8_t sl[6]
    cdef Py_ssize_t cap
    cdef uint8_t[::1] ov = _out_view(out)
    cdef uint8_t *buf = &ov[0]
    cap = ov.shape[0]
    addr_from_object(src, &s)
    addr_from_object(dst, &d)
    _mac_from(src_mac, smac)
    if dst_mac is not None:
        _mac_from(dst_mac, dmac)
    if slla is not None:
        _mac_from(slla, sl)
    rc = ndp_build_rs(buf, cap, dmac if dst_mac is not None else NULL, smac, _vlan_from(vlan),
                      s, d, sl if slla is not None else NULL)
    _check_rc(rc, cap, "RS")
    return rc


def build_rs(**kw) -> bytes:
    """:func:`write_rs` into a new buffer; returns the frame as ``bytes``."""
    return _alloc_build(write_rs, kw, 128)


def write_ra(out, *, src, src_mac, dst=_ALL_NODES, dst_mac=None, cur_hop_limit=64,
             bint managed=False, bint other=False, flags=0, router_lifetime=1800,
             reachable_time=0, retrans_timer=0, slla=None, mtu=None,
             prefixes=(), vlan=None) -> int:
    """Write a Router Advertisement frame (RFC 4861 section 4.2).

    ``dst`` defaults to all-nodes ff02::1.  ``flags`` is ORed into byte 5 with M (0x80,
    ``managed``) and O (0x40, ``other``).  ``router_lifetime`` in seconds, ``reachable_time``
    and ``retrans_timer`` in milliseconds.  ``mtu`` adds an MTU option; ``prefixes`` is a
    sequence of ``(prefix, plen, flags, valid, preferred)`` (flags: L 0x80, A 0x40;
    lifetimes in seconds) written as prefix information options in order.
    """
    cdef addr128_t s, d
    cdef uint8_t smac[6]
    cdef uint8_t dmac[6]
    cdef uint8_t sl[6]
    cdef Py_ssize_t cap, i, np_ = len(prefixes)
    cdef uint8_t[::1] ov = _out_view(out)
    cdef uint8_t *buf = &ov[0]
    cap = ov.shape[0]
    cdef bytearray pbuf = bytearray(sizeof(ndp_prefix_t) * (np_ if np_ else 1))
    cdef ndp_prefix_t *pp = <ndp_prefix_t *><char *>pbuf
    if np_ > 2000:
        raise ValueError(f"{np_} prefixes do not fit in one RA")
    addr_from_object(src, &s)
    addr_from_object(dst, &d)
    _mac_from(src_mac, smac)
    if dst_mac is not None:
        _mac_from(dst_mac, dmac)
    if slla is not None:
        _mac_from(slla, sl)
    cdef uint8_t hl = _int_arg(cur_hop_limit, "cur_hop_limit", 255)
    cdef uint16_t lifetime = _int_arg(router_lifetime, "router_lifetime", 0xffff)
    cdef uint32_t reach = _int_arg(reachable_time, "reachable_time", 0xffffffff)
    cdef uint32_t retrans = _int_arg(retrans_timer, "retrans_timer", 0xffffffff)
    cdef uint8_t fl = <uint8_t>(_int_arg(flags, "flags", 255)
                                | (NDP_RA_MANAGED if managed else 0)
                                | (NDP_RA_OTHER if other else 0))
    if mtu is not None and (_int_arg(mtu, "mtu", 0xffffffff) == 0):
        raise ValueError("mtu 0 is out of range 1..4294967295")
    for i in range(np_):
        prefix, plen, pfl, valid, preferred = prefixes[i]
        addr_from_object(prefix, &pp[i].prefix)
        if not 0 <= plen <= 128 or not 0 <= pfl <= 255:
            raise ValueError(f"prefix {i}: plen must be 0..128 and flags 0..255")
        pp[i].plen = plen
        pp[i].flags = pfl
        pp[i].valid = _int_arg(valid, f"prefixes[{i}] valid lifetime", 0xffffffff)
        pp[i].preferred = _int_arg(preferred, f"prefixes[{i}] preferred lifetime", 0xffffffff)
    rc = ndp_build_ra(buf, cap, dmac if dst_mac is not None else NULL, smac, _vlan_from(vlan),
                      s, d, hl, fl, lifetime, reach, retrans, sl if slla is not None else NULL,
                      <uint32_t>(mtu or 0), pp, np_)
    _check_rc(rc, cap, "RA")
    return rc


def build_ra(**kw) -> bytes:
    """:func:`write_ra` into a new buffer; returns the frame as ``bytes``."""
    return _alloc_build(write_ra, kw, 128 + 32 * len(kw.get("prefixes", ())))


def write_icmp6(out, msg, *, src, dst, src_mac, dst_mac=None, hop_limit=255,
                vlan=None) -> int:
    """Wrap the ICMPv6 message ``msg`` (bytes-like, >= 4 bytes, e.g. a Redirect with its
    options) in Ethernet and IPv6 headers and compute its checksum (bytes 2-3 of ``msg``
    are ignored).  Returns the frame length."""
    cdef addr128_t s, d
    cdef uint8_t smac[6]
    cdef uint8_t dmac[6]
    cdef const uint8_t[::1] m = _byte_view(msg)
    cdef Py_ssize_t cap
    cdef uint8_t[::1] ov = _out_view(out)
    cdef uint8_t *buf = &ov[0]
    cap = ov.shape[0]
    if m.shape[0] < 4 or m.shape[0] > 0xffff:
        raise ValueError(f"ICMPv6 message of {m.shape[0]} bytes: expected 4..65535")
    _no_overlap(buf, cap, &m[0], m.shape[0], "msg")
    cdef uint8_t hl = _int_arg(hop_limit, "hop_limit", 255)
    addr_from_object(src, &s)
    addr_from_object(dst, &d)
    _mac_from(src_mac, smac)
    if dst_mac is not None:
        _mac_from(dst_mac, dmac)
    rc = ndp_build_icmp6(buf, cap, dmac if dst_mac is not None else NULL, smac,
                         _vlan_from(vlan), s, d, hl, &m[0], m.shape[0])
    _check_rc(rc, cap, "ICMPv6")
    return rc


def build_icmp6(msg, **kw) -> bytes:
    """:func:`write_icmp6` into a new buffer; returns the frame as ``bytes``."""
    cdef bytearray buf = bytearray(len(memoryview(msg).cast("B")) + 64)
    cdef Py_ssize_t n = write_icmp6(buf, msg, **kw)
    return bytes(buf[:n])


def write_na_reply(out, frame, mac, *, src=None, bint router=False, bint override=True,
                   bint ip6=False) -> int:
    """Write the NA answering the NS ``frame`` (RFC 4861 section 7.2.4) into ``out``.

    The NA's target is the NS target, its IPv6 source ``src`` (default: the target), its
    TLLAO and Ethernet source ``mac``; it goes to the NS source with S = 1 (Ethernet
    destination: the NS's SLLAO, else its Ethernet source), or to ff02::1 with S = 0 when
    the NS came from ::.  The VLAN tag is copied.  Raises ParseError if ``frame`` is not a
    valid NS.  Returns the length.
    """
    cdef Py_buffer fv
    cdef Py_buffer ov
    cdef ndp_pkt_t pkt
    cdef addr128_t s
    cdef uint8_t m[6]
    cdef int rc
    cdef Py_ssize_t n
    _mac_from(mac, m)
    if src is not None:
        addr_from_object(src, &s)
    _get_bytes(frame, &fv)
    try:
        rc = ndp_parse_ex(<const uint8_t *>fv.buf, fv.len, NDP_PARSE_IP6 if ip6 else 0, &pkt)
        if rc != NDP_OK:
            reason = _REASONS[rc]
            raise ParseError(f"cannot answer: invalid ND frame: {reason.describe()} at byte "
                             f"{pkt.bad_off} (reason {reason.name})", reason, pkt.bad_off)
        if pkt.type != ND_NS:
            raise ParseError(f"cannot answer: ICMPv6 type {pkt.type} is not an NS (135)",
                             _REASONS[NDP_OK], pkt.icmp_off)
        try:
            PyObject_GetBuffer(out, &ov, PyBUF_WRITABLE)
        except BufferError as e:
            raise TypeError(f"out must be a writable contiguous buffer ({e})") from None
        try:
            _no_overlap(<uint8_t *>ov.buf, ov.len, <const uint8_t *>fv.buf, fv.len, "frame")
            n = ndp_build_na_reply(<uint8_t *>ov.buf, ov.len, <const uint8_t *>fv.buf, &pkt, m,
                                   m, &s if src is not None else NULL,
                                   (NDP_NA_ROUTER if router else 0)
                                   | (NDP_NA_OVERRIDE if override else 0), True)
        finally:
            PyBuffer_Release(&ov)
    finally:
        PyBuffer_Release(&fv)
    if n == NDP_EARG:
        raise ValueError("cannot answer an NS parsed without Ethernet that has no SLLAO")
    _check_rc(n, ov.len, "NA reply")
    return n


def build_na_reply(frame, mac, **kw) -> bytes:
    """:func:`write_na_reply` into a new buffer; returns the frame as ``bytes``."""
    cdef bytearray buf = bytearray(128)
    cdef Py_ssize_t n = write_na_reply(buf, frame, mac, **kw)
    return bytes(buf[:n])


# ---------------------------------------------------------------------------------------
# Addresses

def solicited_node(address) -> bytes:
    """The solicited-node multicast address ff02::1:ffXX:XXXX of ``address`` (RFC 4291
    section 2.7.1), as 16 bytes."""
    cdef addr128_t a
    cdef uint8_t b[16]
    addr_from_object(address, &a)
    addr_store(b, ndp_solicited_node(a))
    return PyBytes_FromStringAndSize(<char *>b, 16)


def multicast_mac(address) -> bytes:
    """The Ethernet address 33:33 + last 32 bits of a multicast IPv6 ``address`` (RFC 2464
    section 7), as 6 bytes.  Raises ValueError for a unicast address."""
    cdef addr128_t a
    cdef uint8_t m[6]
    addr_from_object(address, &a)
    if not ndp_is_multicast(a):
        raise ValueError(f"{address!r} is not a multicast address")
    ndp_mcast_mac(a, m)
    return PyBytes_FromStringAndSize(<char *>m, 6)


def icmp6_checksum(src, dst, msg) -> int:
    """The ICMPv6 checksum (RFC 4443 section 2.3) of ``msg`` under the IPv6 pseudo-header
    of ``src``/``dst`` (RFC 8200 section 8.1), bytes 2-3 of ``msg`` included as they are:
    0 for a message whose checksum is right; with bytes 2-3 zero, the value to store
    (big-endian)."""
    cdef addr128_t s, d
    cdef uint8_t sb[16]
    cdef uint8_t db[16]
    cdef const uint8_t[::1] m = _byte_view(msg)
    addr_from_object(src, &s)
    addr_from_object(dst, &d)
    addr_store(sb, s)
    addr_store(db, d)
    return ndp_cksum(sb, db, &m[0] if m.shape[0] else <const uint8_t *>b"", m.shape[0])


# ---------------------------------------------------------------------------------------
# Batches

cdef inline const uint8_t *_base(const uint8_t[::1] data) noexcept:
    # never &data[0] of an empty buffer: a batch of zero-length frames is legal
    return &data[0] if data.shape[0] else <const uint8_t *>b""


_INT64_MAX = np.iinfo(np.int64).max


cdef object _index_array(object values, str name):
    """``values`` (array-like of integers) as a C-contiguous 1-d int64 array whose every
    entry is in 0 .. 2**63 - 1; ValueError naming ``name`` and the first bad index."""
    cdef Py_ssize_t i
    try:
        a = np.asarray(values)
    except (ValueError, TypeError, OverflowError) as e:
        raise ValueError(f"{name} must be a 1-d array of integers ({e})") from None
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {a.shape}")
    if a.shape[0] == 0:                 # [] is float64 to numpy: no frames, nothing to check
        return np.empty(0, dtype=np.int64)
    if a.dtype.kind == "O":
        for i in range(a.shape[0]):
            v = a[i]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"{name}[{i}]: {v!r} is not an integer")
            if not 0 <= v <= _INT64_MAX:
                raise ValueError(f"{name}[{i}]: {v} is out of range 0..2**63-1")
        return np.ascontiguousarray(a.astype(np.int64))
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers, got dtype {a.dtype}")
    if a.dtype.kind == "i":
        bad = np.flatnonzero(a < 0)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{name}[{i}]: {int(a[i])} is negative")
    elif a.dtype.itemsize >= 8:
        bad = np.flatnonzero(a > _INT64_MAX)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{name}[{i}]: {int(a[i])} is out of range 0..2**63-1")
    return np.ascontiguousarray(a, dtype=np.int64)


cdef uint8_t[::1] _out_u8(object a, Py_ssize_t n, str name):
    """A writable C-contiguous uint8 array of ``n`` entries, else ValueError naming it."""
    cdef uint8_t[::1] v
    try:
        v = a
    except (ValueError, TypeError, BufferError) as e:
        raise ValueError(f"{name} must be a writable C-contiguous uint8 array ({e})") \
            from None
    if v.shape[0] != n:
        raise ValueError(f"{name} has {v.shape[0]} entries for {n} frames")
    return v


cdef int64_t[::1] _out_i64(object a, Py_ssize_t n, str name):
    """A writable C-contiguous int64 array of ``n`` entries, else ValueError naming it."""
    cdef int64_t[::1] v
    try:
        v = a
    except (ValueError, TypeError, BufferError) as e:
        raise ValueError(f"{name} must be a writable C-contiguous int64 array ({e})") \
            from None
    if v.shape[0] != n:
        raise ValueError(f"{name} has {v.shape[0]} entries for {n} frames")
    return v


cdef int _no_overlap(const uint8_t *a, Py_ssize_t na, const uint8_t *b, Py_ssize_t nb,
                     str what) except -1:
    """ValueError if [a, a + na) and [b, b + nb) share a byte (the builders read their
    inputs while writing ``out``)."""
    if na > 0 and nb > 0 and a < b + nb and b < a + na:
        raise ValueError(f"out overlaps {what}: build into a separate buffer")
    return 0


cdef object _check_layout(const uint8_t[::1] data, object offsets, object lengths,
                          Py_ssize_t *n):
    """offsets and lengths as int64 arrays, each frame inside ``data`` (ValueError naming
    the argument and the frame index otherwise)."""
    off = _index_array(offsets, "offsets")
    ln = _index_array(lengths, "lengths")
    if ln.shape != off.shape:
        raise ValueError(f"offsets and lengths must be of one shape, got "
                         f"{off.shape} and {ln.shape}")
    n[0] = off.shape[0]
    if n[0]:
        # offset > size - length, not offset + length > size: both are < 2**63 here, so
        # the difference cannot wrap where the sum could
        bad = np.flatnonzero(off > data.shape[0] - ln)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"frame {i}: offsets[{i}] {int(off[i])} + lengths[{i}] "
                             f"{int(ln[i])} is outside the buffer of {data.shape[0]} bytes")
    return off, ln


def validate_batch(frames, offsets, lengths, out=None, *, bint ip6=False,
                   bint verify_checksum=True):
    """Validate N frames laid out in one buffer; no Python object per frame.

    Parameters
    ----------
    frames : bytes-like
        The buffer (e.g. an mmap'd receive ring or a recvmmsg arena).
    offsets, lengths : array-like of int, shape (N,)
        Frame ``i`` is ``frames[offsets[i] : offsets[i] + lengths[i]]`` (bytes).
    out : numpy.ndarray of uint8, shape (N,), optional
        Receives the reason codes (:class:`~v6core.errors.DropReason` values; 0 = valid).

    Returns
    -------
    numpy.ndarray of uint8, shape (N,)
    """
    cdef const uint8_t[::1] data = _byte_view(frames)
    cdef Py_ssize_t n
    off, ln = _check_layout(data, offsets, lengths, &n)
    if out is None:
        out = np.empty(n, dtype=np.uint8)
    cdef uint8_t[::1] rv = _out_u8(out, n, "out")
    cdef const int64_t[::1] o = off
    cdef const int64_t[::1] lv = ln
    cdef int fl = _parse_flags(ip6, verify_checksum)
    cdef const uint8_t *base = _base(data)
    if n:
        with nogil:
            ndp_parse_batch(base, &o[0], &lv[0], n, fl, &rv[0], NULL)
    return out


# The fields of ndp_pkt_t as a numpy structured dtype (same layout, so parse_batch can
# write straight into the array).
cdef object _pkt_dtype():
    cdef ndp_pkt_t p
    cdef char *b = <char *>&p
    fields = [
        ("ip6_off", np.uint32, <char *>&p.ip6_off - b),
        ("icmp_off", np.uint32, <char *>&p.icmp_off - b),
        ("icmp_len", np.uint32, <char *>&p.icmp_len - b),
        ("opt_off", np.uint32, <char *>&p.opt_off - b),
        ("end", np.uint32, <char *>&p.end - b),
        ("bad_off", np.uint32, <char *>&p.bad_off - b),
        ("vlan_tci", np.int32, <char *>&p.vlan_tci - b),
        ("type", np.uint8, <char *>&p.type - b),
        ("code", np.uint8, <char *>&p.code - b),
        ("hop_limit", np.uint8, <char *>&p.hop_limit - b),
        ("flags", np.uint8, <char *>&p.flags - b),
        ("n_ext", np.uint8, <char *>&p.n_ext - b),
        ("n_prefix", np.uint8, <char *>&p.n_prefix - b),
        ("n_opts", np.uint16, <char *>&p.n_opts - b),
        ("sll_off", np.uint32, <char *>&p.sll_off - b),
        ("tll_off", np.uint32, <char *>&p.tll_off - b),
        ("prefix_off", np.uint32, <char *>&p.prefix_off - b),
        ("mtu_off", np.uint32, <char *>&p.mtu_off - b),
        ("nonce_off", np.uint32, <char *>&p.nonce_off - b),
        ("nonce_len", np.uint32, <char *>&p.nonce_len - b),
        ("redir_off", np.uint32, <char *>&p.redir_off - b),
        # addresses: host-order halves (hi = bytes 0-7 as a big-endian integer)
        ("src", np.uint64, (2,), <char *>&p.src - b),
        ("dst", np.uint64, (2,), <char *>&p.dst - b),
        ("target", np.uint64, (2,), <char *>&p.target - b),
        ("rdst", np.uint64, (2,), <char *>&p.rdst - b),
    ]
    names = [f[0] for f in fields]
    formats = [f[1] if len(f) == 3 else (f[1], f[2]) for f in fields]
    offs = [f[-1] for f in fields]
    return np.dtype({"names": names, "formats": formats, "offsets": offs,
                     "itemsize": sizeof(ndp_pkt_t)})


PKT_DTYPE = _pkt_dtype()


def parse_batch(frames, offsets, lengths, *, bint ip6=False, bint verify_checksum=True):
    """Parse and validate N frames laid out in one buffer; no Python object per frame.

    Parameters are as for :func:`validate_batch`.

    Returns
    -------
    reasons : numpy.ndarray of uint8, shape (N,)
        :class:`~v6core.errors.DropReason` values (0 = valid).
    pkts : numpy.ndarray of ``PKT_DTYPE``, shape (N,)
        The C parse results (``ndp_pkt_t``): offsets are relative to each frame's start;
        ``src``/``dst``/``target``/``rdst`` are pairs of uint64 (hi = bytes 0-7, lo =
        bytes 8-15, each the big-endian bytes as an integer; see :func:`addresses`).
    """
    cdef const uint8_t[::1] data = _byte_view(frames)
    cdef Py_ssize_t n
    off, ln = _check_layout(data, offsets, lengths, &n)
    reasons = np.empty(n, dtype=np.uint8)
    pkts = np.zeros(n, dtype=PKT_DTYPE)
    cdef uint8_t[::1] rv = reasons
    cdef const int64_t[::1] o = off
    cdef const int64_t[::1] lv = ln
    cdef ndp_pkt_t *pp = <ndp_pkt_t *>cnp.PyArray_DATA(pkts)
    cdef int fl = _parse_flags(ip6, verify_checksum)
    cdef const uint8_t *base = _base(data)
    if n:
        with nogil:
            ndp_parse_batch(base, &o[0], &lv[0], n, fl, &rv[0], pp)
    return reasons, pkts


def addresses(field) -> np.ndarray:
    """Turn an address field of :data:`PKT_DTYPE` (shape (N, 2) uint64) into (N, 16) uint8
    network-order bytes."""
    try:
        a = np.ascontiguousarray(field, dtype=np.uint64)
    except (ValueError, TypeError, OverflowError) as e:
        raise ValueError(f"field must be (N, 2) uint64 address halves ({e})") from None
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"field must have shape (N, 2), got {a.shape}")
    return a.astype(">u8").view(np.uint8).reshape(a.shape[0], 16)


def write_na_replies(frames, offsets, lengths, mac, out, out_offsets=None,
                     out_lengths=None, *, mask=None, bint router=False,
                     bint override=True, bint ip6=False):
    """Parse N frames and write the NA answering each valid NS into one output buffer.

    Frame ``i`` (``frames[offsets[i] : offsets[i] + lengths[i]]``) that is a valid NS
    (and, if ``mask`` is given, has ``mask[i]`` nonzero) gets the reply of
    :func:`write_na_reply` (source = target, TLLAO = ``mac``) packed into ``out``;
    ``out_offsets[i]``/``out_lengths[i]`` say where (length 0: no reply).  No Python
    object is made per frame and the GIL is released.

    Returns
    -------
    reasons : numpy.ndarray of uint8, shape (N,)
        The :class:`~v6core.errors.DropReason` of each input frame.
    out_offsets, out_lengths : numpy.ndarray of int64, shape (N,)
    count : int
        Number of replies written.  Raises ValueError if ``out`` is too small for them.
    """
    cdef const uint8_t[::1] data = _byte_view(frames)
    cdef Py_ssize_t n, i, pos = 0, cap, count = 0, rc
    cdef uint8_t m[6]
    cdef uint8_t[::1] ov = _out_view(out)
    cdef uint8_t *buf = &ov[0]
    cap = ov.shape[0]
    cdef ndp_pkt_t pkt
    cdef uint8_t fl = (NDP_NA_ROUTER if router else 0) | (NDP_NA_OVERRIDE if override else 0)
    cdef int pflags = NDP_PARSE_IP6 if ip6 else 0
    _mac_from(mac, m)
    off, ln = _check_layout(data, offsets, lengths, &n)
    if out_offsets is None:
        out_offsets = np.empty(n, dtype=np.int64)
    if out_lengths is None:
        out_lengths = np.empty(n, dtype=np.int64)
    reasons = np.empty(n, dtype=np.uint8)
    cdef int64_t[::1] oo = _out_i64(out_offsets, n, "out_offsets")
    cdef int64_t[::1] ol = _out_i64(out_lengths, n, "out_lengths")
    cdef uint8_t[::1] rv = reasons
    cdef const uint8_t[::1] mk
    cdef bint use_mask = mask is not None
    if use_mask:
        mk = _mask_array(mask, n)
    _no_overlap(buf, cap, _base(data), data.shape[0], "frames")
    cdef const int64_t[::1] o = off
    cdef const int64_t[::1] lv = ln
    cdef const uint8_t *f
    cdef bint full = False
    cdef const uint8_t *base = _base(data)
    with nogil:
        for i in range(n):
            f = base + o[i]
            rc = ndp_parse_ex(f, <Py_ssize_t>lv[i], pflags, &pkt)
            rv[i] = <uint8_t>rc
            oo[i] = pos
            ol[i] = 0
            if rc != NDP_OK or pkt.type != ND_NS or (use_mask and not mk[i]):
                continue
            rc = ndp_build_na_reply(buf + pos, cap - pos, f, &pkt, m, m, NULL, fl, True)
            if rc == NDP_EBUF:
                full = True
                break
            if rc > 0:
                ol[i] = rc
                pos += rc
                count += 1
    if full:
        raise ValueError(f"out buffer of {cap} bytes is too small for the replies "
                         f"(full after {count})")
    return reasons, out_offsets, out_lengths, count


cdef object _mask_array(object mask, Py_ssize_t n):
    """``mask`` (n booleans or numbers; nonzero = answer) as n uint8 of 0 or 1."""
    try:
        a = np.asarray(mask)
    except (ValueError, TypeError, OverflowError) as e:
        raise ValueError(f"mask must be a 1-d array of booleans ({e})") from None
    if a.dtype.kind not in "biuf":
        raise ValueError(f"mask must be booleans or numbers, got dtype {a.dtype}")
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"mask has shape {a.shape} for {n} frames")
    return np.ascontiguousarray(a != 0, dtype=np.uint8)


cdef inline const uint8_t *_rows(object arr, Py_ssize_t n, Py_ssize_t width, str name,
                                 Py_ssize_t *stride, list keep) except? NULL:
    """(n, width) or (width,) uint8 rows; stride 0 broadcasts one row to every frame."""
    cdef addr128_t a128
    cdef bytearray b
    if isinstance(arr, str) or (width == 16 and not hasattr(arr, "__len__")):
        b = bytearray(width)
        if width == 6:
            _mac_from(arr, <uint8_t *><char *>b)
        else:                                   # an address as text or ipaddress
            addr_from_object(arr, &a128)
            addr_store(<uint8_t *><char *>b, a128)
        arr = b
    try:
        if isinstance(arr, (bytes, bytearray, memoryview)):
            arr = np.frombuffer(arr, dtype=np.uint8)
        a = np.ascontiguousarray(arr, dtype=np.uint8)
    except (ValueError, TypeError, OverflowError) as e:
        raise ValueError(f"{name} must be uint8 rows of {width} bytes ({e})") from None
    if a.ndim == 1 and a.shape[0] == width:
        stride[0] = 0
    elif a.ndim == 2 and a.shape[0] == n and a.shape[1] == width:
        stride[0] = width
    else:
        raise ValueError(f"{name} must have shape ({n}, {width}) or ({width},), got {a.shape}")
    keep.append(a)
    return <const uint8_t *>cnp.PyArray_DATA(a)


cdef object _flag_array(object flags, Py_ssize_t n):
    """NA flag bytes: one int 0..255 for all, or n of them."""
    try:
        a = np.asarray(flags)
    except (ValueError, TypeError, OverflowError) as e:
        raise ValueError(f"flags must be an int or a 1-d array of ints ({e})") from None
    if a.dtype.kind == "O" or a.dtype.kind not in "iu":
        raise ValueError(f"flags must be integers 0..255, got dtype {a.dtype}")
    if a.ndim > 1 or (a.ndim == 1 and a.shape[0] != n):
        raise ValueError(f"flags must be one int or have shape ({n},), got {a.shape}")
    bad = np.flatnonzero((a.reshape(-1) < 0) | (a.reshape(-1) > 255))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"flags[{i}]: {int(a.reshape(-1)[i])} is not a byte (0..255)")
    return np.ascontiguousarray(np.broadcast_to(a.astype(np.uint8), (n,)))


def write_na_batch(out, targets, src_mac, dst_mac, dsts, *, srcs=None, flags=NDP_NA_OVERRIDE,
                   bint tlla=True, vlan=None, out_offsets=None, out_lengths=None):
    """Build N Neighbor Advertisements (RFC 4861 section 4.4) into one output buffer.

    Parameters
    ----------
    out : writable bytes-like
        Receives the frames back to back (86 bytes each untagged with a TLLAO).
    targets : uint8 array, shape (N, 16)
        Target addresses, network byte order.
    src_mac : MAC, 6 bytes
        Ethernet source, and the TLLAO when ``tlla``.
    dst_mac : uint8 array, shape (N, 6), or one MAC (6 bytes or text) for every frame
        Ethernet destinations.
    dsts : uint8 array, shape (N, 16), or one address (16 bytes, text) for every frame
        IPv6 destinations.
    srcs : uint8 array, shape (N, 16) or (16,), optional
        IPv6 sources; default: each frame's target (the NA is sent from the target).
    flags : int or uint8 array of shape (N,)
        R|S|O bits (0x80|0x40|0x20) per frame or for all.
    vlan : int or None
        802.1Q TCI for every frame; None for untagged.

    Returns
    -------
    out_offsets, out_lengths : numpy.ndarray of int64, shape (N,)
    """
    cdef Py_ssize_t n, i, pos = 0, rc, st_t, st_s, st_d, st_m, cap
    cdef uint8_t smac[6]
    cdef list keep = []
    _mac_from(src_mac, smac)
    try:
        tg = np.ascontiguousarray(targets, dtype=np.uint8)
    except (ValueError, TypeError, OverflowError) as e:
        raise ValueError(f"targets must be uint8 rows of 16 bytes ({e})") from None
    if tg.ndim != 2 or tg.shape[1] != 16:
        raise ValueError(f"targets must have shape (N, 16), got {tg.shape}")
    n = tg.shape[0]
    cdef const uint8_t *pt = _rows(tg, n, 16, "targets", &st_t, keep)
    cdef const uint8_t *ps = _rows(tg if srcs is None else srcs, n, 16, "srcs", &st_s, keep)
    cdef const uint8_t *pd = _rows(dsts, n, 16, "dsts", &st_d, keep)
    cdef const uint8_t *pm = _rows(dst_mac, n, 6, "dst_mac", &st_m, keep)
    cdef const uint8_t[::1] fv = _flag_array(flags, n)
    cdef int vt = _vlan_from(vlan)
    if out_offsets is None:
        out_offsets = np.empty(n, dtype=np.int64)
    if out_lengths is None:
        out_lengths = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] oo = _out_i64(out_offsets, n, "out_offsets")
    cdef int64_t[::1] ol = _out_i64(out_lengths, n, "out_lengths")
    if n == 0:
        return out_offsets, out_lengths
    cdef uint8_t[::1] ov = _out_view(out)
    cdef uint8_t *buf = &ov[0]
    cap = ov.shape[0]
    for a in keep:
        _no_overlap(buf, cap, <const uint8_t *>cnp.PyArray_DATA(a), a.nbytes,
                    "an input array")
    with nogil:
        for i in range(n):
            rc = ndp_build_na(buf + pos, cap - pos, pm + i * st_m, smac, vt,
                              addr_load(ps + i * st_s), addr_load(pd + i * st_d),
                              addr_load(pt + i * st_t), fv[i], smac if tlla else NULL)
            if rc < 0:
                break
            oo[i] = pos
            ol[i] = rc
            pos += rc
    if rc < 0:
        raise ValueError(f"out buffer of {cap} bytes is too small for {n} NAs (full at {i})")
    return out_offsets, out_lengths
