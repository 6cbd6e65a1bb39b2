# cython: language_level=3
"""Builders of ND frames (behaviour in ndp_build.pyx).

Builders
--------
Each writes a whole frame (Ethernet, optional 802.1Q tag, IPv6 with Hop Limit 255 per
RFC 4861, ICMPv6 with the checksum computed) at ``buf[0 ..)`` and returns its length in
bytes, or a negative ``NDP_E*`` code without a partial guarantee on ``buf`` content.
``vlan_tci < 0`` means untagged; 0..0xffff is written as the 802.1Q TCI (PCP, DEI, VID).
``dst_mac == NULL`` derives the destination MAC from a multicast IPv6 destination
(33:33 + its last 32 bits, RFC 2464 section 7); with a unicast destination that is
NDP_EARG.  Option pointers may be NULL (option omitted).  ``buf`` must not overlap any
input (a frame being answered, MACs): build the reply in a separate slot.  Frames shorter
than 60 bytes are not padded (the NIC pads); the returned length is the real frame length.
"""

from libc.stdint cimport uint8_t, uint16_t, uint32_t
from v6core._core.types cimport addr128_t
from v6core._core.ndp_types cimport ndp_pkt_t, ndp_prefix_t


# ---------------------------------------------------------------------------------------
# Builders.  Return the frame length or NDP_EBUF / NDP_EARG.
#
# NA (RFC 4861 section 4.4).  ``flags``: NDP_NA_ROUTER | NDP_NA_SOLICITED | NDP_NA_OVERRIDE.
# ``src`` is chosen by the caller (the target, a link-local, anything); ``tlla`` (6 bytes or
# NULL) becomes a target link-layer address option.  86 bytes untagged with a TLLAO.
cdef Py_ssize_t ndp_build_na(uint8_t *buf, Py_ssize_t cap,
                             const uint8_t *dst_mac, const uint8_t *src_mac, int vlan_tci,
                             addr128_t src, addr128_t dst, addr128_t target,
                             uint8_t flags, const uint8_t *tlla) noexcept nogil

# NS (RFC 4861 section 4.3).  Multicast (dst = solicited-node of target, dst_mac NULL) or
# unicast.  ``slla`` (6 bytes or NULL) -> SLLAO; ``nonce`` (``nonce_len`` bytes, NULL or
# nonce_len 0 for none) -> nonce option padded with zeros to a multiple of 8 (RFC 3971
# section 5.3.2; nonce_len + 2 rounded up to 8).  DAD probes: src = ::, no slla.
cdef Py_ssize_t ndp_build_ns(uint8_t *buf, Py_ssize_t cap,
                             const uint8_t *dst_mac, const uint8_t *src_mac, int vlan_tci,
                             addr128_t src, addr128_t dst, addr128_t target,
                             const uint8_t *slla, const uint8_t *nonce,
                             Py_ssize_t nonce_len) noexcept nogil

# RS (RFC 4861 section 4.1).
cdef Py_ssize_t ndp_build_rs(uint8_t *buf, Py_ssize_t cap,
                             const uint8_t *dst_mac, const uint8_t *src_mac, int vlan_tci,
                             addr128_t src, addr128_t dst, const uint8_t *slla) noexcept nogil

# RA (RFC 4861 section 4.2): ``ra_flags`` is byte 5 (M = 0x80, O = 0x40); lifetimes in
# seconds, reachable/retrans in milliseconds; ``mtu`` 0 = no MTU option; ``prefixes`` an
# array of ``n_prefix`` prefix information options (NULL if 0).
cdef Py_ssize_t ndp_build_ra(uint8_t *buf, Py_ssize_t cap,
                             const uint8_t *dst_mac, const uint8_t *src_mac, int vlan_tci,
                             addr128_t src, addr128_t dst,
                             uint8_t cur_hop_limit, uint8_t ra_flags,
                             uint16_t router_lifetime, uint32_t reachable_ms,
                             uint32_t retrans_ms, const uint8_t *slla, uint32_t mtu,
                             const ndp_prefix_t *prefixes, Py_ssize_t n_prefix) noexcept nogil

# Any ICMPv6 message (Redirect, a hand-made option set...): Ethernet + IPv6 headers around
# a copy of ``msg[0 .. msg_len)``; the checksum field msg[2..4) is computed and written.
cdef Py_ssize_t ndp_build_icmp6(uint8_t *buf, Py_ssize_t cap,
                                const uint8_t *dst_mac, const uint8_t *src_mac,
                                int vlan_tci, addr128_t src, addr128_t dst,
                                uint8_t hop_limit, const uint8_t *msg,
                                Py_ssize_t msg_len) noexcept nogil

# The NA answering a parsed NS (``ns`` from ndp_parse of ``frame``, type ND_NS, NDP_OK):
# the one place of the RFC 4861 section 7.2.4 reply rules, used by the Python API, the
# batch API and the responder.  Target = the NS target; IPv6 source = ``*src`` or, if
# ``src`` is NULL, the target; Ethernet source = ``eth_src``; TLLAO = ``tlla`` (6 bytes;
# NULL = no option); the NS's VLAN tag is copied.
#   NS from :: (a DAD probe): to ff02::1 (33:33:00:00:00:01) with S = 0;
#   otherwise: to the NS source with S = ``solicited``, at the MAC of the NS's SLLAO if
#   present, else the NS frame's Ethernet source (NDP_EARG if parsed with NDP_PARSE_IP6
#   and it has no SLLAO).
# ``flags`` supplies R and O (its S bit is ignored).
cdef Py_ssize_t ndp_build_na_reply(uint8_t *buf, Py_ssize_t cap,
                                   const uint8_t *frame, const ndp_pkt_t *ns,
                                   const uint8_t *eth_src, const uint8_t *tlla,
                                   const addr128_t *src, uint8_t flags,
                                   bint solicited) noexcept nogil
