# cython: language_level=3
"""Parsing and RFC 4861 validation of ND frames (behaviour in ndp_parse.pyx).

What ndp_parse checks, in this order (the first failure is returned)
----------------------------------------------------------------------
Link layer: 14 bytes present (ETH_TRUNC); EtherType 0x86dd, or 0x8100 + 4-byte tag followed
by 0x86dd (ETHERTYPE); a second tag 0x8100/0x88a8 (QinQ) is refused (VLAN_STACK).
IPv6: 40 bytes present (IP6_TRUNC); version 6 (IP6_VERSION); 40 + Payload Length fits in
the buffer (IP6_PLEN); source not multicast (SRC_MULTICAST, RFC 4291 section 2.7).
Extension headers (RFC 8200 section 4): hop-by-hop (0, only directly after the IPv6 header,
else EXT_HBH_POS), destination options (60) and routing (43) are skipped by their Hdr Ext
Len ((n + 1) * 8 bytes; each must lie inside the payload, else EXT_TRUNC); at most
``NDP_MAX_EXT`` of them (EXT_LIMIT: a bound of ours, not an RFC rule; Linux has none).
A fragment header (44) is FRAGMENT: ND messages are never fragmented (RFC 6980 section
5).  Any other next header (ESP, AH, no-next-header, TCP, ...) that is not ICMPv6 (58) is
NOT_ICMPV6.
ICMPv6: 4 bytes of header present (ICMP_TRUNC); type 133..137 (NOT_ND).  Then, per
RFC 4861 sections 6.1.1 (RS), 6.1.2 (RA), 7.1.1 (NS), 7.1.2 (NA), 8.1 (Redirect):
  IPv6 Hop Limit 255 (HOP_LIMIT); ICMP Code 0 (CODE); ICMP length >= the fixed part:
  RS 8, RA 16, NS 24, NA 24, Redirect 40 (ICMP_LEN); the checksum over the IPv6
  pseudo-header (RFC 8200 section 8.1, Next Header 58, upper-layer length = ICMP length)
  and the whole message is right (CHECKSUM; skipped with NDP_PARSE_NO_CKSUM); options
  (RFC 4861 section 4.6): each has a length > 0 (OPT_LEN_ZERO) and ends inside the
  message (OPT_TRUNC); a link-layer address option the message uses is exactly 8
  bytes, i.e. a 6-byte Ethernet address (OPT_LLAO_LEN, RFC 2464 section 6, as Linux
  does); in an RA, prefix information is 32 bytes and MTU 8 (OPT_SIZE, RFC 4861 sections
  4.6.2, 4.6.4).
  Then the message rules:
  NS/NA/Redirect target not multicast (TARGET_MULTICAST);
  NS from :: needs a solicited-node multicast destination ff02::1:ffXX:XXXX (UNSPEC_DST)
  and no source link-layer option (UNSPEC_SLLAO); RS from :: with an SLLAO is UNSPEC_SLLAO;
  NA to a multicast destination must have S = 0 (NA_SOLICITED_MCAST);
  RA and Redirect come from a link-local source fe80::/10 (SRC_NOT_LINKLOCAL);
  Redirect destination not multicast (REDIRECT_DST_MULTICAST) and its target is
  link-local or equal to its destination (REDIRECT_TARGET).
On NS and NA the verdicts agree with the Linux kernel's (tests/core/test_ndp_kernel.py).
Not checked (state the caller owns): whether the target is ours, the Redirect's current
first-hop router, whether the NS destination is the target's solicited-node address or
the target itself (it may legitimately be either, or any unicast address for NUD).

Options: only the options RFC 4861 specifies for the message are size-checked and
recorded: SLLAO for RS/RA/NS, TLLAO for NA/Redirect, prefix information and MTU for RA,
redirected header for Redirect, and the nonce (RFC 3971 section 5.3.2, RFC 7527) for all
but Redirect.  Any other option "MUST be ignored and the packet processed as normal"
(sections 6.1.1, 6.1.2, 7.1.1, 7.1.2, 8.1): it is only counted in ``n_opts`` (it still
needs a length > 0 and to fit).  Of duplicates the first is recorded (as Linux does).
Other options (RDNSS, route information, ...) are reached by walking ``opt_off .. end``
in (type, len * 8) steps.

"""

from libc.stdint cimport uint8_t, int64_t
from v6core._core.ndp_types cimport ndp_pkt_t


# ---------------------------------------------------------------------------------------
# Parsing.  Return an ndp_reason_t (NDP_OK = 0).  Safe on any bytes and any len >= 0.
cdef int ndp_parse(const uint8_t *frame, Py_ssize_t len, ndp_pkt_t *out) noexcept nogil
cdef int ndp_parse_ex(const uint8_t *frame, Py_ssize_t len, int flags,
                      ndp_pkt_t *out) noexcept nogil

# Parse ``n`` frames at ``base + offsets[i]`` of ``lengths[i]`` bytes each (the caller has
# checked they lie inside its buffer); reasons[i] gets the code, pkts[i] the result
# (pkts may be NULL: validate only).  Returns the number of NDP_OK frames.
cdef Py_ssize_t ndp_parse_batch(const uint8_t *base, const int64_t *offsets,
                                const int64_t *lengths, Py_ssize_t n, int flags,
                                uint8_t *reasons, ndp_pkt_t *pkts) noexcept nogil
