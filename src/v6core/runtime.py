"""Runtimes on top of an address order: Java's and Node's reordering, Go's own sort,
and the connection-attempt order of RFC 8305 (Happy Eyeballs v2) section 4.

A runtime is written ``NAME[:OPTION]``:

``go``
    A Go binary built with ``CGO_ENABLED=0`` sorts with its own RFC 6724 code (the
    ``"go"`` flavour) and never sees the C library's order or gai.conf.
``java[:false|true|system]``
    ``InetAddress.getAllByName`` takes getaddrinfo's answers, drops repeats, and then
    puts IPv4 first (``java.net.preferIPv6Addresses=false``, the default), IPv6 first
    (``true``) or keeps the C library's order (``system``).
``node[:verbatim|ipv4first|ipv6first]``
    ``dns.lookup(name, {all: true})`` keeps getaddrinfo's order (``verbatim``, the
    default since Node 17), or moves one family first (``--dns-result-order``).
``glibc``, ``musl``, ``rfc6724``, ``rfc6724-update``
    A C program: the flavour's own order, nothing on top.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from v6core.errors import RuntimeSpecError

__all__ = ["Runtime", "RuntimeSpecError", "RUNTIMES", "parse_runtime", "happy_eyeballs",
           "LIBC_FLAVORS"]

LIBC_FLAVORS = ("glibc", "musl", "rfc6724", "rfc6724-update")

# name -> (options, default option); an empty tuple means the runtime takes no option
RUNTIMES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "go": ((), None),
    "java": (("false", "true", "system"), "false"),
    "node": (("verbatim", "ipv4first", "ipv6first"), "verbatim"),
    **{f: ((), None) for f in LIBC_FLAVORS},
}


def _choices() -> str:
    out = []
    for name, (opts, _) in RUNTIMES.items():
        out.append(f"{name}[:{'|'.join(opts)}]" if opts else name)
    return ", ".join(out)


@dataclass(frozen=True)
class Runtime:
    """A runtime and its option (see the module docstring)."""

    name: str
    option: str | None = None

    def __str__(self) -> str:
        return self.name if self.option is None else f"{self.name}:{self.option}"

    @property
    def flavor(self) -> str | None:
        """The flavour this runtime implies (``go`` or a C library), None for Java and
        Node, which sit on whatever C library the process uses."""
        if self.name in ("java", "node"):
            return None
        return self.name

    @property
    def first_family(self) -> int | None:
        """4 or 6 when the runtime puts one family first, None when it keeps the order."""
        return {("java", "false"): 4, ("java", "true"): 6, ("node", "ipv4first"): 4,
                ("node", "ipv6first"): 6}.get((self.name, self.option or ""))

    @property
    def step(self) -> str:
        """How this runtime's own step reads in an explanation."""
        if self.name == "java":
            return f"Java (java.net.preferIPv6Addresses={self.option})"
        if self.name == "node":
            return f"Node (dns.lookup order {self.option})"
        return self.name

    def reorder(self, order: Sequence[Any], packed: Callable[[Any], bytes]) -> list:
        """The runtime's step on top of a C library's ``order`` (stable); ``packed``
        gives a destination's 16 bytes (IPv4 as IPv4-mapped)."""
        out = list(order)
        if self.name == "java":          # InetAddress drops repeated addresses
            seen: set[bytes] = set()
            uniq = []
            for d in out:
                p = packed(d)
                if p not in seen:
                    seen.add(p)
                    uniq.append(d)
            out = uniq
        first = self.first_family
        if first is None:
            return out
        want_v4 = first == 4
        return ([d for d in out if _v4(packed(d)) == want_v4]
                + [d for d in out if _v4(packed(d)) != want_v4])


_V4MAPPED = bytes(10) + b"\xff\xff"


def _v4(packed: bytes) -> bool:
    return packed[:12] == _V4MAPPED


def parse_runtime(spec: Any) -> Runtime:
    """``NAME[:OPTION]`` -> :class:`Runtime`; a bad name or option raises
    :class:`RuntimeSpecError` listing the valid choices."""
    if isinstance(spec, Runtime):
        return spec
    if not isinstance(spec, str):
        raise RuntimeSpecError(f"runtime must be a string like 'java:true', not "
                            f"{type(spec).__name__}; valid: {_choices()}")
    name, sep, opt = spec.strip().lower().partition(":")
    if name not in RUNTIMES:
        raise RuntimeSpecError(f"unknown runtime {spec!r}; valid: {_choices()}")
    opts, default = RUNTIMES[name]
    if not sep:
        return Runtime(name, default)
    if opt not in opts:
        valid = "|".join(opts) if opts else "no option"
        raise RuntimeSpecError(f"runtime {spec!r}: unknown option {opt!r} for {name} "
                            f"(valid: {valid})")
    return Runtime(name, opt)


def happy_eyeballs(order: Sequence[Any], is_ipv4: Callable[[Any], bool],
                   first_family_count: int = 1) -> list:
    """The connection-attempt order of RFC 8305 section 4: the sorted list interleaved
    by family, starting with the first address's family, ``first_family_count`` (1 by
    default, as curl and aiohappyeyeballs use) of it, then alternating."""
    if first_family_count < 1:
        raise ValueError(f"first_family_count must be 1 or more, not {first_family_count}")
    if not order:
        return []
    v4_first = is_ipv4(order[0])
    pref = [d for d in order if is_ipv4(d) == v4_first]
    other = [d for d in order if is_ipv4(d) != v4_first]
    out = pref[:first_family_count]
    pref = pref[first_family_count:]
    while pref or other:
        if other:
            out.append(other.pop(0))
        if pref:
            out.append(pref.pop(0))
    return out
