# cython: language_level=3
"""Neighbor Discovery codec: wire constants, reason codes, the parse result and inline
helpers shared by every part of the codec (header only: there is no ndp_types.pyx).

Conventions for everything below
---------------------------------
* A *frame* is an Ethernet II frame: dst MAC (6), src MAC (6), EtherType (2), optionally
  one IEEE 802.1Q tag (TPID 0x8100 + TCI, 4 bytes, before the EtherType 0x86dd), then the
  IPv6 header (RFC 8200), extension headers, the ICMPv6 message (RFC 4443, RFC 4861).
  With ``NDP_PARSE_IP6`` the buffer starts at the IPv6 header instead (no link layer).
* Every ``*_off`` field of ``ndp_pkt_t`` is a byte offset from the first byte of the buffer
  passed to ``ndp_parse`` (the frame start), never from the IPv6 or ICMP header.  0 means
  "absent" for option offsets (no option can start at byte 0).
* Multi-byte integers in the struct (``vlan_tci``, ``icmp_len``...) are host order values
  decoded from the big-endian wire.  Addresses are ``addr128_t`` (types.pxd: ``hi`` = bytes
  0-7, ``lo`` = bytes 8-15, each a host-order integer of the big-endian bytes).  MAC
  addresses are passed as pointers to 6 bytes in wire order.
* The parser reads only ``frame[0 .. len)``; it never writes to the frame, never
  allocates, keeps no state (safe from any thread without the GIL).  Bytes after the
  IPv6 payload (Ethernet padding up to 60 bytes) are ignored: the ICMPv6 length comes
  from the IPv6 Payload Length minus the extension headers.

"""

from libc.stdint cimport uint8_t, uint16_t, uint32_t, int32_t
from v6core._core.types cimport addr128_t


# ---------------------------------------------------------------------------------------
# Drop reasons (mirrored by v6core.errors.DropReason; values are stable, only appended).
cdef enum ndp_reason_t:
    NDP_OK = 0
    NDP_DROP_ETH_TRUNC = 1              # fewer than 14 (18 with a tag) bytes
    NDP_DROP_ETHERTYPE = 2              # not IPv6 (0x86dd), tagged or not
    NDP_DROP_VLAN_STACK = 3             # more than one 802.1Q/802.1ad tag
    NDP_DROP_IP6_TRUNC = 4              # fewer than 40 bytes of IPv6 header
    NDP_DROP_IP6_VERSION = 5            # IP version field is not 6
    NDP_DROP_IP6_PLEN = 6               # Payload Length runs past the end of the buffer
    NDP_DROP_SRC_MULTICAST = 7          # IPv6 source is multicast (RFC 4291 s2.7)
    NDP_DROP_EXT_TRUNC = 8              # an extension header runs past the payload
    NDP_DROP_EXT_HBH_POS = 9            # hop-by-hop header not first (RFC 8200 s4.1)
    NDP_DROP_EXT_LIMIT = 10             # more than NDP_MAX_EXT extension headers
    NDP_DROP_FRAGMENT = 11              # fragment header (RFC 6980 s5)
    NDP_DROP_NOT_ICMPV6 = 12            # upper layer is not ICMPv6 (58)
    NDP_DROP_ICMP_TRUNC = 13            # fewer than 4 bytes of ICMPv6 header
    NDP_DROP_NOT_ND = 14                # ICMPv6 type not 133..137
    NDP_DROP_HOP_LIMIT = 15             # IPv6 Hop Limit != 255 (RFC 4861 s6.1, s7.1)
    NDP_DROP_CODE = 16                  # ICMP Code != 0
    NDP_DROP_ICMP_LEN = 17              # ICMP length < 8/16/24/24/40 (RS/RA/NS/NA/Redirect)
    NDP_DROP_CHECKSUM = 18              # ICMPv6 checksum wrong (RFC 4443 s2.3)
    NDP_DROP_OPT_LEN_ZERO = 19          # an option with Length 0
    NDP_DROP_OPT_TRUNC = 20             # an option runs past the message
    NDP_DROP_OPT_LLAO_LEN = 21          # used SLLAO/TLLAO not 8 bytes (RFC 2464 s6)
    NDP_DROP_OPT_SIZE = 22              # RA prefix information not 32 or MTU not 8 bytes
    NDP_DROP_TARGET_MULTICAST = 23      # NS/NA/Redirect target is multicast
    NDP_DROP_UNSPEC_DST = 24            # NS from :: not sent to a solicited-node address
    NDP_DROP_UNSPEC_SLLAO = 25          # NS/RS from :: carries a source link-layer option
    NDP_DROP_NA_SOLICITED_MCAST = 26    # NA to a multicast destination with S = 1
    NDP_DROP_SRC_NOT_LINKLOCAL = 27     # RA/Redirect source not fe80::/10
    NDP_DROP_REDIRECT_DST_MULTICAST = 28  # Redirect destination is multicast
    NDP_DROP_REDIRECT_TARGET = 29       # Redirect target neither link-local nor = dest
    NDP_REASON_COUNT = 30               # number of codes (size of a counter array)

# Builder errors (negative return values).
cdef enum:
    NDP_EBUF = -1                       # buffer capacity too small
    NDP_EARG = -2                       # bad argument (unicast dst with dst_mac NULL, ...)

# ICMPv6 types (RFC 4861 section 4).
cdef enum:
    ND_RS = 133
    ND_RA = 134
    ND_NS = 135
    ND_NA = 136
    ND_REDIRECT = 137

# Option types (RFC 4861 section 4.6, RFC 3971 section 5.3.2).
cdef enum:
    ND_OPT_SLLA = 1
    ND_OPT_TLLA = 2
    ND_OPT_PREFIX = 3
    ND_OPT_REDIRECTED = 4
    ND_OPT_MTU = 5
    ND_OPT_NONCE = 14

# NA flags as in byte 4 of the NA message (RFC 4861 section 4.4); RA flags are byte 5 of
# the RA (M = 0x80, O = 0x40), stored unchanged in ndp_pkt_t.flags.
cdef enum:
    NDP_NA_ROUTER = 0x80
    NDP_NA_SOLICITED = 0x40
    NDP_NA_OVERRIDE = 0x20
    NDP_RA_MANAGED = 0x80
    NDP_RA_OTHER = 0x40

# ndp_parse_ex flags.
cdef enum:
    NDP_PARSE_IP6 = 0x1                 # buffer starts at the IPv6 header (no Ethernet)
    NDP_PARSE_NO_CKSUM = 0x2            # do not verify the checksum (already verified)

# Sizes.
cdef enum:
    NDP_ETH_LEN = 14
    NDP_VLAN_LEN = 4
    NDP_IP6_LEN = 40
    NDP_MAX_EXT = 8                     # extension headers walked before EXT_LIMIT
    NDP_NA_FRAME_LEN = 86               # untagged NA with a TLLAO: 14 + 40 + 24 + 8


# ---------------------------------------------------------------------------------------
# Parse result.  On success every field is set.  On failure the fields up to the failing
# stage are set (later ones are 0) and ``bad_off`` is the offset of the offending byte.
ctypedef struct ndp_pkt_t:
    uint32_t ip6_off        # IPv6 header (0 with NDP_PARSE_IP6, 14 untagged, 18 tagged)
    uint32_t icmp_off       # ICMPv6 header (type byte)
    uint32_t icmp_len       # ICMPv6 message length: header + body + options (bytes)
    uint32_t opt_off        # first option = icmp_off + fixed part (8/16/24/24/40)
    uint32_t end            # icmp_off + icmp_len; bytes after it are link padding
    uint32_t bad_off        # on failure: offset of the field that failed
    int32_t vlan_tci        # -1 untagged, else the 802.1Q TCI (host order)
    uint8_t type            # ICMPv6 type
    uint8_t code            # ICMPv6 code
    uint8_t hop_limit       # IPv6 Hop Limit
    uint8_t flags           # NA: R|S|O (0x80|0x40|0x20); RA: M|O|...; else 0
    uint8_t n_ext           # extension headers walked
    uint8_t n_prefix        # RA: prefix information options (with duplicates; max 255)
    uint16_t n_opts         # options (all)
    uint32_t sll_off        # RS/RA/NS: the 6-byte MAC in the first SLLAO; 0 = none
    uint32_t tll_off        # NA/Redirect: the 6-byte MAC in the first TLLAO; 0 = none
    uint32_t prefix_off     # RA: first prefix information option (type byte); 0 = none
    uint32_t mtu_off        # RA: MTU option (its type byte); 0 = none
    uint32_t nonce_off      # nonce bytes (after type and length); 0 = none
    uint32_t nonce_len      # nonce length in bytes (option length * 8 - 2)
    uint32_t redir_off      # Redirect: redirected header option (type byte); 0 = none
    addr128_t src           # IPv6 source
    addr128_t dst           # IPv6 destination
    addr128_t target        # NS/NA/Redirect target; 0 for RS/RA
    addr128_t rdst          # Redirect destination; 0 otherwise


# Prefix information for ndp_build_ra (RFC 4861 section 4.6.2).
ctypedef struct ndp_prefix_t:
    addr128_t prefix
    uint8_t plen
    uint8_t flags           # L = 0x80, A = 0x40
    uint32_t valid          # valid lifetime, seconds
    uint32_t preferred      # preferred lifetime, seconds


# ---------------------------------------------------------------------------------------
# Big-endian field access (RFC 8200 and RFC 4861 fields are in network byte order).

cdef inline uint16_t ndp_be16(const uint8_t *p) noexcept nogil:
    return <uint16_t>((p[0] << 8) | p[1])


cdef inline uint32_t ndp_be32(const uint8_t *p) noexcept nogil:
    return ((<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8)
            | <uint32_t>p[3])


cdef inline void ndp_put16(uint8_t *p, uint32_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 8)
    p[1] = <uint8_t>v


cdef inline void ndp_put32(uint8_t *p, uint32_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 24)
    p[1] = <uint8_t>(v >> 16)
    p[2] = <uint8_t>(v >> 8)
    p[3] = <uint8_t>v


# ---------------------------------------------------------------------------------------
# Solicited-node multicast (RFC 4291 section 2.7.1) and IPv6 multicast MACs (RFC 2464 s7).

cdef inline addr128_t ndp_solicited_node(addr128_t a) noexcept nogil:
    """ff02::1:ffXX:XXXX with the low 24 bits of ``a``."""
    cdef addr128_t r
    r.hi = 0xff02000000000000ULL
    r.lo = 0x00000001ff000000ULL | (a.lo & 0xffffffULL)
    return r


cdef inline bint ndp_is_solicited_node(addr128_t a) noexcept nogil:
    """True for ff02::1:ff00:0/104."""
    return a.hi == 0xff02000000000000ULL and (a.lo >> 24) == 0x1ffULL


cdef inline bint ndp_is_solicited_node_of(addr128_t a, addr128_t target) noexcept nogil:
    """True if ``a`` is the solicited-node address of ``target``."""
    return ndp_is_solicited_node(a) and (a.lo & 0xffffffULL) == (target.lo & 0xffffffULL)


cdef inline bint ndp_is_multicast(addr128_t a) noexcept nogil:
    return (a.hi >> 56) == 0xff


cdef inline bint ndp_is_unspecified(addr128_t a) noexcept nogil:
    return a.hi == 0 and a.lo == 0


cdef inline bint ndp_is_linklocal(addr128_t a) noexcept nogil:
    return (a.hi >> 54) == 0x3fa


cdef inline void ndp_mcast_mac(addr128_t a, uint8_t *mac) noexcept nogil:
    """33:33 followed by the last 4 bytes of the (multicast) address ``a``."""
    mac[0] = 0x33
    mac[1] = 0x33
    mac[2] = <uint8_t>(a.lo >> 24)
    mac[3] = <uint8_t>(a.lo >> 16)
    mac[4] = <uint8_t>(a.lo >> 8)
    mac[5] = <uint8_t>a.lo
