"""The exception hierarchy of v6core, and Python mirrors of the core's C enums.

Local errors (the caller passed something malformed: an address, a prefix, a gai.conf
line, a CLI argument) are ``ValueError`` subclasses whose message names the input and,
where there is one, the position.  Remote input (frames off the wire) never raises in
the responder: it is dropped and counted under a reason code.
"""

from __future__ import annotations

import enum

__all__ = [
    "V6CoreError",
    "AddressError",
    "ParseError",
    "PolicyError",
    "ConfigError",
    "RuntimeSpecError",
    "Scope",
    "DropReason",
    "XdpError",
]


class V6CoreError(Exception):
    """Base class of every error v6core raises on purpose."""


class AddressError(V6CoreError, ValueError):
    """A malformed IPv6/IPv4 address or prefix.

    Attributes
    ----------
    text : str
        The input as given (``repr``-safe).
    index : int or None
        Position of the bad item in a bulk input, else None.
    """

    def __init__(self, message: str, text: object = None, index: int | None = None) -> None:
        super().__init__(message)
        self.text = text
        self.index = index


class ParseError(V6CoreError, ValueError):
    """Malformed structured input (a frame, a file), with ``reason`` and byte ``offset``."""

    def __init__(self, message: str, reason: object = None, offset: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.offset = offset


class PolicyError(V6CoreError, ValueError):
    """A bad policy table or gai.conf line, naming ``path`` and ``lineno``."""

    def __init__(self, message: str, path: str | None = None, lineno: int | None = None) -> None:
        where = f"{path or '<string>'}:{lineno}: " if lineno is not None else ""
        super().__init__(where + message)
        self.path = path
        self.lineno = lineno


class RuntimeSpecError(V6CoreError, ValueError):
    """An unknown runtime (``java``, ``node``, ``go`` ...) or runtime option; the message
    lists the valid choices."""


class ConfigError(V6CoreError, ValueError):
    """A bad configuration file or command-line value."""


class XdpError(V6CoreError, RuntimeError):
    """The responder's XDP fast path cannot run: not built (no clang or libbpf at build
    time), no BPF privilege, or the interface holds another XDP program."""


class Scope(enum.IntEnum):
    """RFC 6724 section 3.1 scopes (the IPv6 multicast scope field values)."""

    INTERFACE = 0x1
    LINK = 0x2
    ADMIN = 0x4
    SITE = 0x5
    ORGANIZATION = 0x8
    GLOBAL = 0xE


class DropReason(enum.IntEnum):
    """Why the NDP codec refused a frame: mirrors ``ndp_reason_t`` in ``_core/ndp.pxd``.

    Values are stable (only appended), so counters indexed by them can be compared across
    versions.  ``OK`` (0) means the frame is a valid Neighbor Discovery message.
    """

    OK = 0
    ETH_TRUNC = 1
    ETHERTYPE = 2
    VLAN_STACK = 3
    IP6_TRUNC = 4
    IP6_VERSION = 5
    IP6_PLEN = 6
    SRC_MULTICAST = 7
    EXT_TRUNC = 8
    EXT_HBH_POS = 9
    EXT_LIMIT = 10
    FRAGMENT = 11
    NOT_ICMPV6 = 12
    ICMP_TRUNC = 13
    NOT_ND = 14
    HOP_LIMIT = 15
    CODE = 16
    ICMP_LEN = 17
    CHECKSUM = 18
    OPT_LEN_ZERO = 19
    OPT_TRUNC = 20
    OPT_LLAO_LEN = 21
    OPT_SIZE = 22
    TARGET_MULTICAST = 23
    UNSPEC_DST = 24
    UNSPEC_SLLAO = 25
    NA_SOLICITED_MCAST = 26
    SRC_NOT_LINKLOCAL = 27
    REDIRECT_DST_MULTICAST = 28
    REDIRECT_TARGET = 29

    def describe(self) -> str:
        """One line saying what failed and which rule requires it."""
        return _DROP_TEXT[self]


_DROP_TEXT = {
    DropReason.OK: "valid",
    DropReason.ETH_TRUNC: "frame shorter than its Ethernet header",
    DropReason.ETHERTYPE: "EtherType is not IPv6 (0x86dd)",
    DropReason.VLAN_STACK: "more than one VLAN tag (802.1ad/QinQ)",
    DropReason.IP6_TRUNC: "shorter than an IPv6 header (40 bytes)",
    DropReason.IP6_VERSION: "IP version is not 6",
    DropReason.IP6_PLEN: "IPv6 Payload Length runs past the end of the frame",
    DropReason.SRC_MULTICAST: "multicast IPv6 source (RFC 4291 section 2.7)",
    DropReason.EXT_TRUNC: "an extension header runs past the payload (RFC 8200 section 4)",
    DropReason.EXT_HBH_POS: "hop-by-hop header not first (RFC 8200 section 4.1)",
    DropReason.EXT_LIMIT: "too many extension headers",
    DropReason.FRAGMENT: "fragmented ND message (RFC 6980 section 5)",
    DropReason.NOT_ICMPV6: "upper-layer protocol is not ICMPv6",
    DropReason.ICMP_TRUNC: "shorter than an ICMPv6 header",
    DropReason.NOT_ND: "ICMPv6 type is not Neighbor Discovery (133-137)",
    DropReason.HOP_LIMIT: "IPv6 Hop Limit is not 255 (RFC 4861 sections 6.1, 7.1, 8.1)",
    DropReason.CODE: "ICMP Code is not 0 (RFC 4861 sections 6.1, 7.1, 8.1)",
    DropReason.ICMP_LEN: "ICMP length below the message minimum (RFC 4861 sections 6.1, 7.1, 8.1)",
    DropReason.CHECKSUM: "wrong ICMPv6 checksum (RFC 4443 section 2.3)",
    DropReason.OPT_LEN_ZERO: "an option has Length 0 (RFC 4861 section 4.6)",
    DropReason.OPT_TRUNC: "an option runs past the message (RFC 4861 section 4.6)",
    DropReason.OPT_LLAO_LEN: "link-layer address option of the message is not 8 bytes (RFC 2464 section 6)",
    DropReason.OPT_SIZE: "RA prefix information or MTU option of the wrong length (RFC 4861 sections 4.6.2, 4.6.4)",
    DropReason.TARGET_MULTICAST: "target address is multicast (RFC 4861 sections 7.1, 8.1)",
    DropReason.UNSPEC_DST: "NS from :: not sent to a solicited-node address (RFC 4861 section 7.1.1)",
    DropReason.UNSPEC_SLLAO: "message from :: carries a source link-layer option (RFC 4861 sections 6.1.1, 7.1.1)",
    DropReason.NA_SOLICITED_MCAST: "NA to a multicast destination has S = 1 (RFC 4861 section 7.1.2)",
    DropReason.SRC_NOT_LINKLOCAL: "RA/Redirect source is not link-local (RFC 4861 sections 6.1.2, 8.1)",
    DropReason.REDIRECT_DST_MULTICAST: "Redirect destination is multicast (RFC 4861 section 8.1)",
    DropReason.REDIRECT_TARGET: "Redirect target neither link-local nor the destination (RFC 4861 section 8.1)",
}
