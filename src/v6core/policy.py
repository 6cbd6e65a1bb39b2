"""RFC 6724 policy tables, glibc's and musl's built-in tables, and the gai.conf parser.

A :class:`PolicyTable` holds two first-match lists, precedence and label (RFC 6724
section 2.1), plus optionally glibc's IPv4 scope list (gai.conf ``scopev4``).  Tables
built from ``(prefix, precedence, label)`` rows have one row set for both; a gai.conf
table can have different ones, because glibc replaces each kind separately.

The gai.conf parser follows glibc 2.36 ``gaiconf_init`` (sysdeps/posix/getaddrinfo.c)
line by line, including its quirks: any valid line of a kind replaces that kind's whole
built-in list, a catch-all row (``::/0`` label 1, precedence 40, scopev4 14) is appended
unless the file gives a ``/0`` row itself, the rows are then stably sorted by prefix
length (longest first) and the first match wins, invalid lines are silently skipped,
numbers are read with ``strtoul`` (so an empty value is 0 and ``+5`` is 5).  Every such
silent decision is reported as a :class:`Diagnostic` naming ``file:line``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from v6core._core import tables as _tables
from v6core.errors import AddressError, PolicyError

__all__ = [
    "PolicyTable",
    "Diagnostic",
    "GaiConf",
    "parse_gai_conf",
    "RFC6724_ROWS",
    "RFC6724_UPDATE_ROWS",
    "KNOWN_LOCAL_PRECEDENCE",
    "KNOWN_LOCAL_LABEL",
    "known_local_prefixes",
    "MUSL_ROWS",
    "GLIBC_LABELS",
    "GLIBC_PRECEDENCE",
    "GLIBC_SCOPEV4",
]

# The built-in tables are defined once, in the core (the bulk kernels compile them too)
RFC6724_ROWS = _tables.RFC6724_ROWS
MUSL_ROWS = _tables.MUSL_ROWS
GLIBC_LABELS = _tables.GLIBC_LABELS
GLIBC_PRECEDENCE = _tables.GLIBC_PRECEDENCE
GLIBC_SCOPEV4 = _tables.GLIBC_SCOPEV4
RFC6724_UPDATE_ROWS = _tables.RFC6724_UPDATE_ROWS
KNOWN_LOCAL_PRECEDENCE = _tables.KNOWN_LOCAL_PRECEDENCE
KNOWN_LOCAL_LABEL = _tables.KNOWN_LOCAL_LABEL

_INT_MAX = 0x7FFFFFFF
# RFC 6724 section 3.1 scopes are the 4-bit multicast scope field; the bulk key holds
# 15 - Scope(D) in 4 bits, so a larger IPv4 scope would order rule 8 wrongly there.
_SCOPE_MAX = 15
_ULONG_MAX = (1 << 64) - 1
_C_SPACE = " \t\n\v\f\r"


def _pton6(text: str) -> bytes | None:
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError, UnicodeError):
        return None


def _pton4(text: str) -> bytes | None:
    try:
        return socket.inet_pton(socket.AF_INET, text)
    except (OSError, ValueError, UnicodeError):
        return None


def _mask16(packed: bytes, plen: int) -> bytes:
    v = int.from_bytes(packed, "big")
    m = ((1 << 128) - 1) ^ ((1 << (128 - plen)) - 1) if plen else 0
    return (v & m).to_bytes(16, "big")


def _fmt_prefix(packed: bytes, plen: int) -> str:
    return f"{ipaddress.IPv6Address(packed)}/{plen}"


def _parse_prefix_text(prefix: Any) -> tuple[bytes, int]:
    """A policy-table prefix: IPv6 text (IPv4 prefixes as IPv4-mapped), or a network."""
    from v6core._core.addr import parse_prefix

    try:
        return parse_prefix(prefix)
    except AddressError as e:
        raise PolicyError(f"bad prefix {prefix!r}: {e}") from None


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a gai.conf line: ``severity`` is "error" (glibc ignores the
    line) or "warning" (glibc uses it, perhaps not as meant) or "note"."""

    path: str
    lineno: int
    severity: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}: {self.severity}: {self.message}"


class PolicyTable:
    """An RFC 6724 section 2.1 policy table: precedence and label lists, first match wins.

    Parameters
    ----------
    rows : iterable of (prefix, precedence, label)
        ``prefix`` is IPv6 text such as ``"fc00::/7"`` (IPv4 prefixes are taken as
        IPv4-mapped: ``"10.0.0.0/8"`` is ``::ffff:10.0.0.0/104``) or an ``ipaddress``
        network; precedence and label are integers 0 .. 2**31-1.  Rows are matched most
        specific first (longest-prefix match).  A prefix given twice is an error.
    scopev4 : iterable of (ipv4 network, prefix length, scope), optional
        glibc's IPv4 scope list; None means the flavour's own rule.
    name : str, optional
        For display.

    An address no row matches has precedence 0 and a label that matches nothing.
    """

    def __init__(
        self,
        rows: Iterable[tuple[Any, int, int]] = (),
        *,
        scopev4: Iterable[tuple[str, int, int]] | None = None,
        name: str | None = None,
    ) -> None:
        parsed: list[tuple[bytes, int, int, int]] = []
        seen: dict[tuple[bytes, int], int] = {}
        for i, row in enumerate(rows):
            try:
                prefix, prec, label = row
            except (TypeError, ValueError):
                raise PolicyError(f"row {i}: expected (prefix, precedence, label), got "
                                  f"{row!r}") from None
            packed, plen = _parse_prefix_text(prefix)
            for what, v in (("precedence", prec), ("label", label)):
                if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= _INT_MAX:
                    raise PolicyError(f"row {i} ({prefix}): {what} {v!r} is not an integer "
                                      "from 0 to 2147483647")
            if (packed, plen) in seen:
                raise PolicyError(f"row {i}: prefix {_fmt_prefix(packed, plen)} repeats row "
                                  f"{seen[(packed, plen)]}")
            seen[(packed, plen)] = i
            parsed.append((packed, plen, prec, label))
        ordered = _tables.match_order(parsed)   # stable: longest first
        prec_rows = tuple((p, n, pr) for p, n, pr, _ in ordered)
        label_rows = tuple((p, n, lb) for p, n, _, lb in ordered)
        self._init(prec_rows, label_rows, _scopev4_rows(scopev4), name or "custom")

    def _init(self, prec_rows: tuple, label_rows: tuple, scope4: tuple | None,
              name: str) -> None:
        self.precedence_rows: tuple[tuple[bytes, int, int], ...] = prec_rows
        self.label_rows: tuple[tuple[bytes, int, int], ...] = label_rows
        self.scopev4_rows: tuple[tuple[int, int, int], ...] | None = scope4
        self.name = name
        self.diagnostics: tuple[Diagnostic, ...] = ()
        self.known_local: tuple[str, ...] = ()     # inserted known-local ULA /48s
        self._compiled: dict[int | str, Any] = {}

    @classmethod
    def _from_lists(cls, prec_rows: tuple, label_rows: tuple, scope4: tuple | None,
                    name: str) -> PolicyTable:
        t = cls.__new__(cls)
        t._init(prec_rows, label_rows, scope4, name)
        return t

    # ------------------------------------------------------------ built-in tables
    @classmethod
    def rfc6724(cls) -> PolicyTable:
        """The RFC 6724 section 2.1 default table."""
        return cls._from_lists(*_tables.builtin_lists("rfc6724"), "rfc6724")

    @classmethod
    def rfc6724_update(cls, known_local: Iterable[Any] = ()) -> PolicyTable:
        """draft-ietf-6man-rfc6724-update's default table, plus a ``/48`` row
        (precedence 45, label 14) for each known-local ULA in ``known_local``
        (addresses or prefixes inside fd00::/8; see :func:`known_local_prefixes`)."""
        return cls(RFC6724_UPDATE_ROWS, name="rfc6724-update").with_known_local(known_local)

    def with_known_local(self, known_local: Iterable[Any]) -> PolicyTable:
        """This table with the draft's known-local rows inserted: one ``/48`` per
        distinct /48 of ``known_local`` (precedence 45, label 14), matched before every
        shorter row.  A /48 the table already has keeps its own row.  The result lists
        the inserted prefixes in ``known_local``."""
        extra = known_local_prefixes(known_local)
        have = {(p, n) for p, n, _ in self.precedence_rows + self.label_rows}
        extra = tuple(x for x in extra if x not in have)
        if not extra:
            return self
        prec = tuple(sorted(self.precedence_rows + tuple(
            (p, n, KNOWN_LOCAL_PRECEDENCE) for p, n in extra), key=lambda r: -r[1]))
        labels = tuple(sorted(self.label_rows + tuple(
            (p, n, KNOWN_LOCAL_LABEL) for p, n in extra), key=lambda r: -r[1]))
        t = PolicyTable._from_lists(prec, labels, self.scopev4_rows, self.name)
        t.known_local = self.known_local + tuple(_fmt_prefix(p, n) for p, n in extra)
        return t

    @classmethod
    def musl(cls) -> PolicyTable:
        """musl 1.2.x's fixed table (lookup_name.c defpolicy)."""
        return cls._from_lists(*_tables.builtin_lists("musl"), "musl")

    @classmethod
    def glibc_default(cls) -> PolicyTable:
        """glibc 2.36's built-in tables (used when /etc/gai.conf is absent or has no
        valid label/precedence/scopev4 line)."""
        return cls._from_lists(*_tables.builtin_lists("glibc"), "glibc")

    @classmethod
    def from_gai_conf(cls, text_or_path: str | os.PathLike[str], *, strict: bool = False,
                      path: str | None = None) -> PolicyTable:
        """The table glibc 2.36 builds from a gai.conf (a path, or the file's text).

        Text containing a newline, or not naming an existing file, is taken as the
        content.  With ``strict``, the first line glibc would ignore raises PolicyError
        (naming file:line); otherwise such lines are skipped as glibc does and listed in
        ``table.diagnostics``.  A ``scopev4`` scope above 15, which glibc would use but
        RFC 6724 scopes (4 bits) and v6core's keys cannot hold, always raises PolicyError
        naming file:line.
        """
        text, where = _read_text(text_or_path, path)
        conf = parse_gai_conf(text, path=where)
        for d in conf.unsupported:
            raise PolicyError(d.message, d.path, d.lineno)
        if strict:
            for d in conf.diagnostics:
                if d.severity == "error":
                    raise PolicyError(d.message, d.path, d.lineno)
        return conf.table

    # ------------------------------------------------------------ lookups
    def classify(self, address: Any) -> tuple[int, int]:
        """``(precedence, label)`` of ``address`` (RFC 6724 section 2.1)."""
        c = self.compiled("rfc6724")
        return c.precedence(address), c.label(address)

    def precedence(self, address: Any) -> int:
        return int(self.compiled("rfc6724").precedence(address))

    def label(self, address: Any) -> int:
        return int(self.compiled("rfc6724").label(address))

    def compiled(self, flavor: str | int = "rfc6724") -> Any:
        """The C-level table for ``flavor`` (cached): this table's lists, and IPv4 scopes
        from its scopev4 list, else glibc's built-in list for the glibc flavour."""
        c = self._compiled.get(flavor)
        if c is not None:
            return c
        from v6core._core import sortkey

        # the update changes the table only: its rules are RFC 6724's
        name = "rfc6724" if flavor == "rfc6724-update" else flavor
        code = name if isinstance(name, int) else sortkey.flavor_code(name)
        c = self._compiled.get(code)
        if c is None:
            scope4: tuple = ()
            if code == sortkey.MUSL:
                big = [v for _, _, v in self.precedence_rows + self.label_rows if v > 255]
                if big:
                    raise PolicyError(f"musl keeps precedence and label in one byte (0-255); "
                                      f"this table has {big[0]}")
            else:
                if self.scopev4_rows is not None:
                    scope4 = self.scopev4_rows
                elif code == sortkey.GLIBC:
                    scope4 = _GLIBC_SCOPE4
            c = sortkey.CompiledPolicy(self.precedence_rows, self.label_rows, scope4)
            self._compiled[code] = c
        self._compiled[flavor] = c
        return c

    # ------------------------------------------------------------ display
    @property
    def rows(self) -> list[tuple[str, int | None, int | None]]:
        """``(prefix, precedence, label)`` for every prefix in either list (None where a
        list has no row for it), in match order."""
        out: dict[tuple[bytes, int], list[Any]] = {}
        for p, n, v in self.precedence_rows:
            e = out.setdefault((p, n), [None, None])
            if e[0] is None:
                e[0] = v
        for p, n, v in self.label_rows:
            e = out.setdefault((p, n), [None, None])
            if e[1] is None:
                e[1] = v
        keys = sorted(out, key=lambda k: -k[1])
        return [(_fmt_prefix(p, n), out[(p, n)][0], out[(p, n)][1]) for p, n in keys]

    def format(self) -> str:
        """The effective table as a person reads it."""
        lines = [f"{'Prefix':<24} {'Precedence':>10} {'Label':>6}   "
                 "('-': no row of its own, the next matching row applies)"]
        for prefix, prec, label in self.rows:
            lines.append(f"{prefix:<24} {'-' if prec is None else prec:>10} "
                         f"{'-' if label is None else label:>6}")
        if self.known_local:
            lines.append("")
            lines.append("known-local ULA rows inserted (draft-ietf-6man-rfc6724-update "
                         "section 3.1): " + ", ".join(self.known_local))
        if self.scopev4_rows is not None:
            lines.append("")
            lines.append(f"{'scopev4':<24} {'Scope':>10}")
            for a, m, s in self.scopev4_rows:
                plen = bin(m).count("1")
                lines.append(f"{str(ipaddress.IPv4Address(a)) + '/' + str(plen):<24} {s:>10}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<PolicyTable {self.name}: {len(self.precedence_rows)} precedence, " \
               f"{len(self.label_rows)} label rows>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PolicyTable):
            return NotImplemented
        return (self.precedence_rows == other.precedence_rows
                and self.label_rows == other.label_rows
                and self.scopev4_rows == other.scopev4_rows)

    __hash__ = None  # type: ignore[assignment]


_ULA_8 = bytes([0xFD])


def known_local_prefixes(items: Iterable[Any]) -> tuple[tuple[bytes, int], ...]:
    """The distinct known-local ULA ``/48`` prefixes (packed, 48) of ``items``.

    Each item is an address (a host's own address, e.g. ``fd12:3456:789a::5``) or a
    prefix of length 48 or more (e.g. an RA's PIO or RIO, ``fd12:3456:789a:1::/64``),
    inside fd00::/8 (draft-ietf-6man-rfc6724-update section 5.3); its /48 is known-local.
    Anything else raises :class:`PolicyError` naming the item and its position.
    """
    from v6core._core.addr import pack, parse_prefix

    out: dict[tuple[bytes, int], None] = {}
    for i, item in enumerate(items):
        text = item.address if hasattr(item, "address") else item
        try:
            if isinstance(text, str) and "/" in text:
                packed, plen = parse_prefix(text)
                if plen < 48:
                    raise PolicyError(f"known-local prefix {i} ({text}): /{plen} is shorter "
                                      "than the /48 a known-local ULA row covers")
            else:
                packed = pack(text)
        except AddressError as e:
            raise PolicyError(f"known-local prefix {i} ({text!r}): {e}") from None
        if packed[:1] != _ULA_8:
            raise PolicyError(f"known-local prefix {i} ({text}): not inside fd00::/8 "
                              "(only locally assigned ULAs can be known-local)")
        out[(_mask16(packed, 48), 48)] = None
    return tuple(out)


def _scopev4_rows(rows: Iterable[tuple[str, int, int]] | None) -> tuple | None:
    if rows is None:
        return None
    out = []
    for row in rows:
        try:
            out.append(_tables.scope4_row(*row))
        except (TypeError, ValueError) as e:
            raise PolicyError(f"bad scopev4 row {row!r}: {e}") from None
    return tuple(out)


_GLIBC_SCOPE4: tuple = _scopev4_rows(GLIBC_SCOPEV4) or ()


def _read_text(text_or_path: str | os.PathLike[str], path: str | None) -> tuple[str, str]:
    if isinstance(text_or_path, os.PathLike) or (
        isinstance(text_or_path, str) and "\n" not in text_or_path
        and os.path.exists(text_or_path)
    ):
        p = os.fspath(text_or_path)
        with open(p, "rb") as f:
            data = f.read()
        return data.decode("latin-1"), path or p
    if not isinstance(text_or_path, str):
        raise PolicyError(f"expected gai.conf text or a path, got {type(text_or_path).__name__}")
    t = text_or_path.strip()
    if "\n" not in text_or_path and " " not in t and "\t" not in t and (
            t.startswith(("/", "./", "../", "~")) or t.endswith(".conf")):
        raise FileNotFoundError(2, "No such file or directory", text_or_path)
    return text_or_path, path or "<string>"


# ------------------------------------------------------------------ gai.conf

@dataclass
class GaiConf:
    """The result of parsing a gai.conf: the effective table and what glibc did silently.

    ``label_lines`` / ``precedence_lines`` / ``scopev4_lines`` are the accepted lines
    (lineno, prefix16, plen, value) in file order; ``reload`` the last ``reload`` value.
    """

    table: PolicyTable
    diagnostics: list[Diagnostic]
    label_lines: list[tuple[int, bytes, int, int]]
    precedence_lines: list[tuple[int, bytes, int, int]]
    scopev4_lines: list[tuple[int, int, int, int]]
    reload: bool
    path: str
    # lines glibc would use but v6core cannot represent (scopev4 above 15): left out of
    # ``table``, listed in ``diagnostics`` as errors; from_gai_conf refuses such a file
    unsupported: list[Diagnostic] = field(default_factory=list)


def _strtoul(s: str) -> tuple[int | None, str]:
    """C ``strtoul(s, &end, 10)``: returns (value or None on ERANGE, rest at ``end``)."""
    i = 0
    while i < len(s) and s[i] in _C_SPACE:
        i += 1
    neg = False
    if i < len(s) and s[i] in "+-":
        neg = s[i] == "-"
        i += 1
    j = i
    while j < len(s) and "0" <= s[j] <= "9":
        j += 1
    if j == i:
        return 0, s          # no digits: 0, and end is the start of the string
    v = int(s[i:j])
    if v > _ULONG_MAX:
        return None, s[j:]
    if neg:
        v = (-v) & _ULONG_MAX
    return v, s[j:]


def _split_c(line: str) -> tuple[str, str, str, str]:
    """glibc's tokenising: (cmd, val1, val2, rest) split on C isspace."""
    def skip(s: str, i: int) -> int:
        while i < len(s) and s[i] in _C_SPACE:
            i += 1
        return i

    def word(s: str, i: int) -> int:
        while i < len(s) and s[i] not in _C_SPACE:
            i += 1
        return i

    i = skip(line, 0)
    j = word(line, i)
    cmd = line[i:j]
    i = skip(line, j)
    j = word(line, i)
    val1 = line[i:j]
    i = skip(line, j)
    j = word(line, i)
    val2 = line[i:j]
    rest = line[j:].strip(_C_SPACE)
    return cmd, val1, val2, rest


def parse_gai_conf(text: str, *, path: str = "<string>") -> GaiConf:
    """Parse gai.conf ``text`` exactly as glibc 2.36's gaiconf_init does.

    Returns a :class:`GaiConf` with the effective :class:`PolicyTable` (glibc's built-in
    list for each kind that has no valid line) and the diagnostics.
    """
    diags: list[Diagnostic] = []
    labels: list[tuple[int, bytes, int, int]] = []
    precs: list[tuple[int, bytes, int, int]] = []
    scopes: list[tuple[int, int, int, int]] = []
    reload = False

    unsupported: list[Diagnostic] = []

    def diag(lineno: int, sev: str, msg: str) -> None:
        diags.append(Diagnostic(path, lineno, sev, msg))

    def refuse(lineno: int, msg: str) -> None:
        diag(lineno, "error", msg)
        unsupported.append(diags[-1])

    for lineno, raw in enumerate(text.split("\n"), 1):
        if lineno == len(text.split("\n")) and raw == "":
            break
        line = raw.split("\0", 1)[0]
        line = line.split("#", 1)[0]
        cmd, val1, val2, rest = _split_c(line)
        if not cmd:
            continue
        if cmd in ("label", "precedence"):
            r = _parse_prefix_line(cmd, val1, val2, 128, lambda m, ln=lineno: diag(ln, "error", m),
                                   lambda m, ln=lineno: diag(ln, "warning", m))
            if r is not None:
                (labels if cmd == "label" else precs).append((lineno, *r))
        elif cmd == "reload":
            reload = val1 == "yes"
            if val1 not in ("yes", "no"):
                diag(lineno, "warning", f"reload {val1!r}: glibc treats anything but 'yes' as no")
        elif cmd == "scopev4":
            r4 = _parse_scopev4_line(val1, val2, lambda m, ln=lineno: diag(ln, "error", m),
                                     lambda m, ln=lineno: diag(ln, "warning", m),
                                     lambda m, ln=lineno: refuse(ln, m))
            if r4 is not None:
                scopes.append((lineno, *r4))
        else:
            diag(lineno, "error", f"unknown keyword {cmd!r} (glibc knows label, precedence, "
                                  "scopev4, reload); line ignored")
            continue
        if rest:
            diag(lineno, "warning", f"text after the value ignored: {rest!r}")

    base = PolicyTable.glibc_default()
    label_rows = _build_list(labels, 1) if labels else base.label_rows
    prec_rows = _build_list(precs, 40) if precs else base.precedence_rows
    scope_rows = _build_scopes(scopes) if scopes else base.scopev4_rows
    table = PolicyTable._from_lists(prec_rows, label_rows, scope_rows, f"gai.conf {path}")
    conf = GaiConf(table, diags, labels, precs, scopes, reload, path, unsupported)
    _check_semantics(conf, base)
    table.diagnostics = tuple(conf.diagnostics)
    return conf


def _parse_prefix_line(cmd: str, val1: str, val2: str, maxbits: int, err: Any,
                       warn: Any) -> tuple[bytes, int, int] | None:
    addr, slash, blen = val1.partition("/")
    if not val1:
        err(f"{cmd}: missing prefix and value; line ignored")
        return None
    packed = _pton6(addr)
    if packed is None:
        hint = " (IPv4 must be written IPv4-mapped, ::ffff:a.b.c.d/96+n)" if _pton4(addr) else ""
        err(f"{cmd}: {addr!r} is not an IPv6 address{hint}; line ignored")
        return None
    if slash:
        bits, end = _strtoul(blen)
        if bits is None or end != "" or bits > 128:
            err(f"{cmd}: prefix length {blen!r} is not a number from 0 to 128; line ignored")
            return None
        if blen == "":
            warn(f"{cmd}: empty prefix length after '/': glibc reads it as 0")
    else:
        err(f"{cmd}: {val1!r} has no /length: glibc then reads an uninitialised pointer "
            "(glibc 2.36 on x86-64 ignores the line); write the length; line ignored")
        return None
    val, end = _strtoul(val2)
    if val is None or end != "" or val > _INT_MAX:
        err(f"{cmd}: value {val2!r} is not a number from 0 to 2147483647; line ignored")
        return None
    if val2 == "":
        warn(f"{cmd} {val1}: missing value: glibc reads it as 0")
    if _mask16(packed, bits) != packed:
        warn(f"{cmd} {val1}: host bits set beyond /{bits} (glibc ignores them)")
    return _mask16(packed, bits), bits, val


def _parse_scopev4_line(val1: str, val2: str, err: Any, warn: Any,
                        refuse: Any) -> tuple[int, int, int] | None:
    addr, slash, blen = val1.partition("/")
    if not val1:
        err("scopev4: missing prefix and value; line ignored")
        return None
    p6 = _pton6(addr)
    if p6 is not None:
        if p6[:12] != b"\0" * 10 + b"\xff\xff":
            err(f"scopev4: {addr!r} is IPv6 but not IPv4-mapped; line ignored")
            return None
        bits: int | None = 128
        if slash:
            bits, end = _strtoul(blen)
            if bits is None or end != "" or not 96 <= bits <= 128:
                err(f"scopev4: prefix length {blen!r} is not from 96 to 128; line ignored")
                return None
        v4 = int.from_bytes(p6[12:], "big")
    else:
        p4 = _pton4(addr)
        if p4 is None:
            err(f"scopev4: {addr!r} is not an IPv4 or IPv4-mapped address; line ignored")
            return None
        bits = 32
        if slash:
            bits, end = _strtoul(blen)
            if bits is None or end != "" or bits > 32:
                err(f"scopev4: prefix length {blen!r} is not from 0 to 32; line ignored")
                return None
        bits += 96
        v4 = int.from_bytes(p4, "big")
    if not slash:
        err(f"scopev4: {val1!r} has no /length: glibc then reads an uninitialised pointer "
            "and glibc 2.36 on x86-64 crashes getaddrinfo (SIGSEGV); write the length; "
            "v6core ignores the line")
        return None
    val, end = _strtoul(val2)
    if val is None or end != "" or val > _INT_MAX:
        err(f"scopev4: value {val2!r} is not a number from 0 to 2147483647; line ignored")
        return None
    if val > _SCOPE_MAX:
        refuse(f"scopev4 {val1}: scope {val} is above {_SCOPE_MAX}: RFC 6724 scopes are the "
               "4-bit values of section 3.1; glibc would use it, v6core cannot order by it "
               "and refuses the file")
        return None
    if val2 == "":
        warn(f"scopev4 {val1}: missing value: glibc reads it as 0")
    assert bits is not None
    mask = (0xFFFFFFFF << (128 - bits)) & 0xFFFFFFFF if bits != 96 else 0
    return v4 & mask, mask, val


def _build_list(lines: list[tuple[int, bytes, int, int]], catch_all: int) -> tuple:
    rows = [(p, n, v) for _, p, n, v in lines]
    if not any(n == 0 for _, _, n, _ in lines):
        rows.append((b"\0" * 16, 0, catch_all))
    rows.sort(key=lambda r: -r[1])   # glibc 2.36 qsort = stable merge sort here
    return tuple(rows)


def _build_scopes(lines: list[tuple[int, int, int, int]]) -> tuple:
    rows = [(a, m, s) for _, a, m, s in lines]
    if not any(m == 0 for _, _, m, _ in lines):
        rows.append((0, 0, 14))
    rows.sort(key=lambda r: -bin(r[1]).count("1"))
    return tuple(rows)


def _check_semantics(conf: GaiConf, base: PolicyTable) -> None:
    """Duplicates, and built-in rows a partial table drops."""
    def dup_check(kind: str, lines: list) -> None:
        first: dict[tuple, int] = {}
        for ln, p, n, _v in lines:
            k = (p, n)
            if k in first:
                conf.diagnostics.append(Diagnostic(
                    conf.path, ln, "warning",
                    f"{kind} {_fmt_prefix(p, n)} repeats line {first[k]}; glibc uses the first"))
            else:
                first[k] = ln

    dup_check("label", conf.label_lines)
    dup_check("precedence", conf.precedence_lines)
    seen4: dict[tuple[int, int], int] = {}
    for ln, a, m, _ in conf.scopev4_lines:
        if (a, m) in seen4:
            conf.diagnostics.append(Diagnostic(
                conf.path, ln, "warning",
                f"scopev4 {ipaddress.IPv4Address(a)}/{bin(m).count('1')} repeats line "
                f"{seen4[(a, m)]}; glibc uses the first"))
        else:
            seen4[(a, m)] = ln

    for kind, lines, builtin, new in (
        ("label", conf.label_lines, base.label_rows, conf.table.label_rows),
        ("precedence", conf.precedence_lines, base.precedence_rows,
         conf.table.precedence_rows),
    ):
        if not lines:
            continue
        first_ln = lines[0][0]
        have = {(p, n) for p, n, _ in new}
        dropped = [(p, n, v) for p, n, v in builtin if (p, n) not in have]
        old = {(p, n): v for p, n, v in builtin}
        for ln, p, n, v in lines:
            if (p, n) in old and old[(p, n)] != v:
                conf.diagnostics.append(Diagnostic(
                    conf.path, ln, "note",
                    f"{kind} {_fmt_prefix(p, n)}: {old[(p, n)]} in glibc's built-in table, "
                    f"{v} here"))
        if dropped:
            names = ", ".join(f"{_fmt_prefix(p, n)} {v}" for p, n, v in dropped)
            conf.diagnostics.append(Diagnostic(
                conf.path, first_ln, "warning",
                f"this file has {kind} lines, so glibc drops its whole built-in {kind} "
                f"table: {len(dropped)} built-in row(s) no longer apply: {names}"))
    if conf.scopev4_lines and base.scopev4_rows is not None:
        assert conf.table.scopev4_rows is not None
        have4 = {(a, m) for a, m, _ in conf.table.scopev4_rows}
        dropped4 = [(a, m, s) for a, m, s in base.scopev4_rows if (a, m) not in have4]
        if dropped4:
            names = ", ".join(f"{ipaddress.IPv4Address(a)}/{bin(m).count('1')} {s}"
                              for a, m, s in dropped4)
            conf.diagnostics.append(Diagnostic(
                conf.path, conf.scopev4_lines[0][0], "warning",
                f"this file has scopev4 lines, so glibc drops its whole built-in scopev4 "
                f"table: {len(dropped4)} built-in row(s) no longer apply: {names}"))
    conf.diagnostics.sort(key=lambda d: d.lineno)
