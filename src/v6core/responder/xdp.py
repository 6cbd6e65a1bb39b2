"""The responder's XDP fast path: load the shipped program, keep its maps in step with the
engine, attach and detach it.

``bpf/xdp_ndp.c`` answers the common Neighbor Solicitation in the driver (XDP_TX) and
passes everything else, unchanged, to the AF_PACKET path; its header comment lists what
qualifies.  Its maps are filled from the same compiled rules the engine decides with
(:meth:`XdpProgram.set_rules` reads the :class:`~v6core.responder.engine.Engine`'s C
rules), the prefixes and excludes in the engine's own numbering (:func:`prefix_entries`).

Attachment is a BPF link: the kernel removes the program when the link's file
descriptor closes, so on exit, on SIGTERM and after a crash alike.  An XDP program of
ours that an older version or ``ip link`` left attached the legacy way is replaced; any
other program on the interface is left alone and reported.  Mode ``auto`` tries native
(driver) mode and falls back to generic (skb) mode; the choice is logged.
"""

from __future__ import annotations

import enum
import importlib
import ipaddress
import logging
import os
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

from v6core.errors import XdpError

log = logging.getLogger("v6core.respond")

__all__ = ["XdpReason", "XdpPort", "MODES", "load_object", "unavailable", "prefix_entries",
           "PROGRAM_NAME"]

MODES = ("auto", "native", "generic")
PROGRAM_NAME = "v6core_ndp"


class XdpReason(enum.IntEnum):
    """The program's counters (mirrors ``XDP_C_*`` in ``bpf/xdp_ndp.c``)."""

    ANSWERED = 0
    OTHER = 1
    EXT_HDR = 2
    INVALID = 3
    DAD = 4
    NO_RULE = 5
    EXCLUDED = 6
    OWN = 7
    UNICAST = 8
    STATEFUL = 9
    NO_LINKLOCAL = 10
    DISABLED = 11
    TOO_LONG = 12
    ADJUST = 13
    OTHER_HOST = 14


def _module() -> Any:
    try:  # import_module consults sys.modules, whatever the package object holds
        _xdp = importlib.import_module("v6core.responder._xdp")
    except ImportError as e:
        raise XdpError("this v6core was built without libbpf, so --xdp is unavailable "
                       f"({e}); install libbpf-dev (Debian) and reinstall v6core") from None
    return _xdp


def load_object() -> bytes:
    """The compiled BPF object shipped in the package."""
    try:
        return (resources.files("v6core.responder") / "bpf" / "xdp_ndp.o").read_bytes()
    except (FileNotFoundError, OSError):
        raise XdpError("this v6core was built without clang, so the XDP program "
                       "(v6core/responder/bpf/xdp_ndp.o) is missing and --xdp is unavailable; "
                       "install clang and reinstall v6core") from None


def unavailable() -> str | None:
    """Why the XDP path cannot be loaded on this build, or None when it can."""
    try:
        _module()
        load_object()
    except XdpError as e:
        return str(e)
    return None


def prefix_entries(rules: Sequence[Any]) -> list[tuple[int, bytes, int]]:
    """``(prefix length, network address, value)`` per prefix and exclude of ``rules``, in
    the engine's numbering (value = rule index * 2, + 1 for an exclude), so that the
    program's longest-prefix match names the rule the engine's table names."""
    out = []
    for i, r in enumerate(rules):
        for p, v in [(r.prefix, 2 * i)] + [(e, 2 * i + 1) for e in r.exclude]:
            net = ipaddress.IPv6Network(str(p), strict=False)
            out.append((net.prefixlen, net.network_address.packed, v))
    return out


def _packed(addresses: Iterable[str]) -> list[bytes]:
    out = []
    for a in addresses:
        ip = ipaddress.ip_address(str(a).split("/")[0].split("%")[0])
        if ip.version == 6:
            out.append(ip.packed)
    return out


class XdpPort:
    """The XDP program of one interface: loaded with its own maps, attached by a link.

    Parameters
    ----------
    name : str
        The interface name (for messages).
    mode : {"auto", "native", "generic"}
    """

    def __init__(self, name: str, mode: str = "auto") -> None:
        if mode not in MODES:
            raise XdpError(f"{name}: XDP mode {mode!r}: expected one of {', '.join(MODES)}")
        self.name = name
        self.mode = mode
        self.used_mode = ""            # "native" or "generic" while attached
        self.ifindex = 0
        self.prog: Any = None
        self.link_fd = -1
        self.folded = [0] * len(XdpReason)   # counters of earlier attachments

    @property
    def attached(self) -> bool:
        return self.link_fd >= 0

    def load(self, engine: Any, rules: Sequence[Any], *, mac: bytes, linklocal: str | None,
             own: Iterable[str], enabled: bool = True) -> None:
        """Load a fresh copy of the program and fill its maps (not attached yet)."""
        mod = _module()
        obj = load_object()
        try:
            prog = mod.XdpProgram(obj)
        except OSError as e:
            raise XdpError(f"{self.name}: {e.strerror or e} (XDP needs root, or CAP_BPF "
                           "and CAP_NET_ADMIN, and a kernel with BPF)") from None
        self.prog = prog
        prog.set_config(mac, linklocal, False)
        prog.set_rules(engine, prefix_entries(rules))
        prog.set_own(_packed(own))
        prog.set_config(mac, linklocal, enabled)

    def attach(self, ifindex: int) -> str:
        """Attach to ``ifindex`` (replacing a stale program of ours); the mode used."""
        mod = _module()
        assert self.prog is not None, "load() first"
        pid, pname = mod.attached(ifindex)
        if pid:
            if pname != PROGRAM_NAME:
                raise XdpError(f"{self.name} already runs XDP program {pname or '?'!r} "
                               f"(id {pid}); v6core does not replace another program")
            log.info("%s: replacing a stale v6core XDP program (id %d)", self.name, pid)
            mod.detach_legacy(ifindex)
            pid, _ = mod.attached(ifindex)
            if pid:
                raise XdpError(f"{self.name}: v6core's XDP program (id {pid}) is held by a "
                               "BPF link of another process: is another `v6core respond` "
                               "running on this interface?")
        modes = ["native", "generic"] if self.mode == "auto" else [self.mode]
        err: OSError | None = None
        for m in modes:
            try:
                self.link_fd = mod.attach(self.prog, ifindex, m == "native")
            except OSError as e:
                err = e
                if self.mode == "auto":
                    log.info("%s: native XDP refused (%s); trying generic mode", self.name,
                             e.strerror)
                continue
            self.used_mode = m
            self.ifindex = ifindex
            log.info("%s: XDP fast path attached in %s mode%s", self.name, m,
                     " (chosen automatically)" if self.mode == "auto" else "")
            return m
        raise XdpError(f"{self.name}: cannot attach the XDP program: "
                       f"{err.strerror if err else '?'}") from None

    def update_rules(self, engine: Any, rules: Sequence[Any]) -> None:
        """New rules: frames take the AF_PACKET path while the maps are rewritten."""
        if self.prog is None:
            return
        self.prog.set_enabled(False)
        try:
            self.prog.set_rules(engine, prefix_entries(rules))
        finally:
            self.prog.set_enabled(True)

    def update_state(self, *, mac: bytes, linklocal: str | None, own: Iterable[str],
                     enabled: bool) -> None:
        """The interface's MAC, link-local address and the host's addresses."""
        if self.prog is None:
            return
        self.prog.set_own(_packed(own))
        self.prog.set_config(mac, linklocal, enabled)

    def counters(self) -> list[int]:
        """Counters by :class:`XdpReason`, over every attachment since start."""
        live = self.prog.counters() if self.prog is not None else [0] * len(XdpReason)
        return [a + b for a, b in zip(self.folded, live, strict=True)]

    def close(self) -> None:
        """Detach (close the link) and unload."""
        if self.prog is not None:
            self.folded = self.counters()
        if self.link_fd >= 0:
            os.close(self.link_fd)
            self.link_fd = -1
            log.info("%s: XDP fast path detached", self.name)
        if self.prog is not None:
            self.prog.close()
            self.prog = None
        self.used_mode = ""
