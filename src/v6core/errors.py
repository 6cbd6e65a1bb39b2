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
    "Scope",
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


class ConfigError(V6CoreError, ValueError):
    """A bad configuration file or command-line value."""


class Scope(enum.IntEnum):
    """RFC 6724 section 3.1 scopes (the IPv6 multicast scope field values)."""

    INTERFACE = 0x1
    LINK = 0x2
    ADMIN = 0x4
    SITE = 0x5
    ORGANIZATION = 0x8
    GLOBAL = 0xE
