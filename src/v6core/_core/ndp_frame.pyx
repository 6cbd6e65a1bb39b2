# cython: language_level=3
"""The Python view of one parsed ND frame (:class:`NDPFrame`) and the single-frame entry
points :func:`parse`, :func:`inspect` and :func:`validate`."""

cimport cython
from cpython.buffer cimport PyBuffer_Release
from libc.stdint cimport uint8_t
from collections import namedtuple

from v6core._core.ndp_types cimport *
from v6core._core.ndp_parse cimport ndp_parse_ex
from v6core._core.ndp_args cimport _byte_view, _get_bytes, _parse_flags, _reason
from v6core.errors import ParseError


PrefixInfo = namedtuple("PrefixInfo", "prefix plen flags valid preferred")
PrefixInfo.__doc__ = """A prefix information option (RFC 4861 section 4.6.2).

prefix: 16-byte memoryview into the frame; plen: prefix length in bits; flags: the L (0x80)
and A (0x40) byte; valid, preferred: lifetimes in seconds (0xffffffff = infinity)."""

Option = namedtuple("Option", "type data")
Option.__doc__ = """One ND option: ``type`` and ``data``, a memoryview of the whole option
(type, length and body; ``len(data)`` = Length * 8) into the caller's frame."""

cdef tuple _TYPE_NAMES = ("RS", "RA", "NS", "NA", "Redirect")


@cython.auto_pickle(False)      # a view into the caller's buffer: nothing to pickle
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
        # with the reasons in ascending order (ndp_parse.pxd), so every field decoded before
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
        return _reason(self._reason)

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
            parts.append(f"invalid={_reason(self._reason).name}@{self.pkt.bad_off}")
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
        If a check of RFC 4861 sections 6.1, 7.1 or 8.1 fails (see ``ndp_parse.pxd``); ``reason``
        is the :class:`~v6core.errors.DropReason` and ``offset`` the offending byte.
    """
    cdef NDPFrame r = _parse_into(frame, _parse_flags(ip6, verify_checksum))
    if r._reason != NDP_OK:
        reason = _reason(r._reason)
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
    return _reason(rc)
