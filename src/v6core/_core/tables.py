"""The built-in RFC 6724 policy tables of each flavour: the one definition.

``v6core.policy`` builds its ``PolicyTable`` built-ins from these lists and the bulk
kernels compile their defaults from them (the compiled core does not import the Python
layer); the bulk kernel's branch-free musl encoding is generated from ``MUSL_ROWS``.
Rows are matched most specific first, ties in the order written (glibc's lists in
their source order, which is their match order).
"""

from __future__ import annotations

import socket

from v6core._core.addr import parse_prefix

__all__ = [
    "RFC6724_ROWS", "RFC6724_UPDATE_ROWS", "KNOWN_LOCAL_PRECEDENCE", "KNOWN_LOCAL_LABEL",
    "MUSL_ROWS", "GLIBC_LABELS", "GLIBC_PRECEDENCE", "GLIBC_SCOPEV4",
    "match_order", "scope4_row", "builtin_lists", "default_compiled",
]

# RFC 6724 section 2.1: (prefix, precedence, label)
RFC6724_ROWS: tuple[tuple[str, int, int], ...] = (
    ("::1/128", 50, 0),
    ("::/0", 40, 1),
    ("::ffff:0:0/96", 35, 4),
    ("2002::/16", 30, 2),
    ("2001::/32", 5, 5),
    ("fc00::/7", 3, 13),
    ("::/96", 1, 3),
    ("fec0::/10", 1, 11),
    ("3ffe::/16", 1, 12),
)

# draft-ietf-6man-rfc6724-update-21 section 3.1: ULAs above IPv4, 6to4 demoted
RFC6724_UPDATE_ROWS: tuple[tuple[str, int, int], ...] = (
    ("::1/128", 50, 0),
    ("::/0", 40, 1),
    ("::ffff:0:0/96", 20, 4),
    ("2002::/16", 5, 2),
    ("2001::/32", 5, 5),
    ("fc00::/7", 30, 13),
    ("::/96", 1, 3),
    ("fec0::/10", 1, 11),
    ("3ffe::/16", 1, 12),
)
# the draft's row for each known-local ULA /48 (section 3.1; learned as in section 5.3)
KNOWN_LOCAL_PRECEDENCE = 45
KNOWN_LOCAL_LABEL = 14

# musl 1.2.x src/network/lookup_name.c defpolicy[]: RFC 6724 without ::/96, fec0::/10
# and 3ffe::/16 (compiled out with #if 0)
MUSL_ROWS: tuple[tuple[str, int, int], ...] = (
    ("::1/128", 50, 0),
    ("::ffff:0:0/96", 35, 4),
    ("2002::/16", 30, 2),
    ("2001::/32", 5, 5),
    ("fc00::/7", 3, 13),
    ("::/0", 40, 1),
)

# glibc 2.36 sysdeps/posix/getaddrinfo.c default_labels[] and default_precedence[]
# (RFC 3484 era), in their source order, which is their match order
GLIBC_LABELS: tuple[tuple[str, int], ...] = (
    ("::1/128", 0),
    ("2002::/16", 2),
    ("::/96", 3),
    ("::ffff:0:0/96", 4),
    ("fec0::/10", 5),
    ("fc00::/7", 6),
    ("2001::/32", 7),
    ("::/0", 1),
)
GLIBC_PRECEDENCE: tuple[tuple[str, int], ...] = (
    ("::1/128", 50),
    ("2002::/16", 30),
    ("::/96", 20),
    ("::ffff:0:0/96", 10),
    ("::/0", 40),
)
# default_scopes[]: (IPv4 network, prefix length, scope).  glibc 2.36 has only these
# three (read from Debian's libc.so.6 with its debug symbols); the RFC 3484 era rows
# giving 10/8, 172.16/12 and 192.168/16 site scope (5) are gone.
GLIBC_SCOPEV4: tuple[tuple[str, int, int], ...] = (
    ("169.254.0.0", 16, 2),
    ("127.0.0.0", 8, 2),
    ("0.0.0.0", 0, 14),
)


def match_order(rows: list[tuple[bytes, int, int, int]]) -> list[tuple[bytes, int, int, int]]:
    """``(prefix16, plen, precedence, label)`` rows in match order: longest prefix first,
    ties in the given order (a stable sort)."""
    return sorted(rows, key=lambda r: -r[1])


def scope4_row(net: str, plen: int, scope: int) -> tuple[int, int, int]:
    """A scopev4 row ``(IPv4 network, length, scope)`` as ``(addr32, mask32, scope)``;
    ValueError when malformed (scopes are RFC 6724 section 3.1's 4-bit values)."""
    try:
        packed = socket.inet_pton(socket.AF_INET, net)
    except (OSError, TypeError, ValueError, UnicodeError):
        raise ValueError(f"scopev4 row {(net, plen, scope)!r}: {net!r} is not an IPv4 "
                         "address") from None
    if not isinstance(plen, int) or not 0 <= plen <= 32:
        raise ValueError(f"scopev4 row {(net, plen, scope)!r}: length {plen!r} is not from "
                         "0 to 32")
    if not isinstance(scope, int) or isinstance(scope, bool) or not 0 <= scope <= 15:
        raise ValueError(f"scopev4 row {(net, plen, scope)!r}: scope {scope!r} is not from "
                         "0 to 15 (RFC 6724 section 3.1)")
    mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF if plen else 0
    return int.from_bytes(packed, "big") & mask, mask, scope


def builtin_lists(name: str) -> tuple[tuple, tuple, tuple | None]:
    """``(precedence_rows, label_rows, scope4_rows or None)`` of a built-in table
    ("rfc6724", "rfc6724-update", "glibc", "musl" or "go"), rows ``(prefix16, plen, value)`` in match order."""
    if name == "glibc":
        prec = tuple((*parse_prefix(p), v) for p, v in GLIBC_PRECEDENCE)
        labels = tuple((*parse_prefix(p), v) for p, v in GLIBC_LABELS)
        return prec, labels, tuple(scope4_row(*r) for r in GLIBC_SCOPEV4)
    # Go 1.19's rfc6724policyTable (src/net/addrselect.go) is RFC 6724 section 2.1's
    rows = {"rfc6724": RFC6724_ROWS, "rfc6724-update": RFC6724_UPDATE_ROWS,
            "musl": MUSL_ROWS, "go": RFC6724_ROWS}.get(name)
    if rows is None:
        raise ValueError(f"unknown built-in table {name!r}: expected rfc6724, "
                         "rfc6724-update, glibc, musl or go")
    ordered = match_order([(*parse_prefix(p), pr, lb) for p, pr, lb in rows])
    return (tuple((p, n, pr) for p, n, pr, _ in ordered),
            tuple((p, n, lb) for p, n, _, lb in ordered), None)


_DEFAULT: dict[str, object] = {}


def default_compiled(flavor: str) -> object:
    """The flavour's built-in table compiled for it (a cached ``sortkey.CompiledPolicy``),
    exactly what ``v6core.select.default_policy(flavor).compiled(flavor)`` holds."""
    c = _DEFAULT.get(flavor)
    if c is None:
        from v6core._core.sortkey import CompiledPolicy

        prec, labels, scope4 = builtin_lists(flavor)
        c = CompiledPolicy(prec, labels, scope4 or ())
        _DEFAULT[flavor] = c
    return c
