# cython: language_level=3
"""Builders of ND frames into caller buffers: Ethernet (optionally 802.1Q), IPv6 with Hop
Limit 255 (RFC 4861), ICMPv6 with its checksum; and the RFC 4861 section 7.2.4 reply."""

from libc.stdint cimport uint8_t, uint16_t, uint32_t
from libc.string cimport memcpy, memset

from v6core._core.types cimport addr128_t, addr_store
from v6core._core.ndp_types cimport *
from v6core._core.ndp_cksum cimport ndp_cksum


cdef inline Py_ssize_t _l2_len(int vlan_tci) noexcept nogil:
    return NDP_ETH_LEN + (NDP_VLAN_LEN if vlan_tci >= 0 else 0)


cdef inline Py_ssize_t _put_l2(uint8_t *buf, const uint8_t *dst_mac, const uint8_t *src_mac,
                               int vlan_tci) noexcept nogil:
    memcpy(buf, dst_mac, 6)
    memcpy(buf + 6, src_mac, 6)
    if vlan_tci >= 0:
        buf[12] = 0x81
        buf[13] = 0x00
        ndp_put16(buf + 14, <uint32_t>vlan_tci)
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
    ndp_put16(p + 4, <uint32_t>plen)
    p[6] = 58
    p[7] = hop_limit
    addr_store(p + 8, src)
    addr_store(p + 24, dst)


cdef inline void _finish(uint8_t *ip6, Py_ssize_t icmp_len) noexcept nogil:
    # ip6 points at the IPv6 header; the ICMPv6 message follows it with checksum zeroed
    cdef uint16_t c = ndp_cksum(ip6 + 8, ip6 + 24, ip6 + 40, icmp_len)
    ndp_put16(ip6 + 42, c)


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
    ndp_put16(m + 6, router_lifetime)
    ndp_put32(m + 8, reachable_ms)
    ndp_put32(m + 12, retrans_ms)
    m += 16
    if slla != NULL:
        _put_llao(m, ND_OPT_SLLA, slla)
        m += 8
    if mtu:
        m[0] = ND_OPT_MTU
        m[1] = 1
        m[2] = 0
        m[3] = 0
        ndp_put32(m + 4, mtu)
        m += 8
    for i in range(n_prefix):
        m[0] = ND_OPT_PREFIX
        m[1] = 4
        m[2] = prefixes[i].plen
        m[3] = prefixes[i].flags
        ndp_put32(m + 4, prefixes[i].valid)
        ndp_put32(m + 8, prefixes[i].preferred)
        ndp_put32(m + 12, 0)
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
