# cython: language_level=3
"""Single-frame builders of the Python API: ``write_*`` into a caller's buffer (returning the
length) and ``build_*`` (returning new ``bytes``) for NA, NS, RS, RA, any ICMPv6 message
and the NA answering an NS; and the solicited-node / multicast-MAC address helpers."""

from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_WRITABLE
from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.stdint cimport uint8_t, uint16_t, uint32_t

from v6core._core.types cimport addr128_t, addr_store
from v6core._core.addr cimport addr_from_object
from v6core._core.ndp_types cimport *
from v6core._core.ndp_parse cimport ndp_parse_ex
from v6core._core.ndp_build cimport (
    ndp_build_na, ndp_build_ns, ndp_build_rs, ndp_build_ra, ndp_build_icmp6,
    ndp_build_na_reply,
)
from v6core._core.ndp_args cimport (
    _byte_view, _get_bytes, _reason, _mac_from, _vlan_from, _int_arg, _check_rc,
    _out_view, _no_overlap,
)
from v6core.errors import ParseError


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
            reason = _reason(rc)
            raise ParseError(f"cannot answer: invalid ND frame: {reason.describe()} at byte "
                             f"{pkt.bad_off} (reason {reason.name})", reason, pkt.bad_off)
        if pkt.type != ND_NS:
            raise ParseError(f"cannot answer: ICMPv6 type {pkt.type} is not an NS (135)",
                             _reason(NDP_OK), pkt.icmp_off)
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
