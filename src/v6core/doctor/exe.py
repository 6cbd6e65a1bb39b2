"""Which resolver a process uses, detected from its executable, command line and environment.

Nothing is run inside the container: the executable is read through ``/proc/PID/exe``
(which opens the running file even when it was deleted or lives in another mount
namespace), the command line through ``/proc/PID/cmdline``, the environment through
``/proc/PID/environ`` and the container's files through ``/proc/PID/root``.

Each resolver maps to the names :mod:`v6core.select` orders with: a *flavor* (``glibc``,
``musl``, ``go``) and, for runtimes that reorder the C library's answers, a *runtime*
(``java:false|true|system``, ``node:verbatim|ipv4first|ipv6first``).

- **glibc / musl**: the ELF interpreter, or for static binaries the C library's own
  strings (:mod:`v6core.doctor.elf`).
- **Go**: the build info.  The pure-Go resolver (flavor ``go``) is used when the binary
  was built with ``CGO_ENABLED=0`` or ``-tags netgo``, when ``GODEBUG`` has
  ``netdns=go``, and by default on Linux; the cgo resolver (the C library's
  getaddrinfo, whose order Go keeps) when ``netdns=cgo`` is set in a cgo build, or when
  Go's net/conf.go would fall back to it: ``LOCALDOMAIN``, ``RES_OPTIONS`` or
  ``HOSTALIASES`` in the environment, or a ``hosts:`` line in the container's
  /etc/nsswitch.conf naming a source other than files and dns (Go 1.19-1.22 rules).
- **Java**: ``libjli.so``/``libjvm.so`` or an executable named java; the property
  ``java.net.preferIPv6Addresses`` from the command line or ``JAVA_TOOL_OPTIONS``,
  ``JDK_JAVA_OPTIONS``, ``_JAVA_OPTIONS`` (default false: IPv4 first).
- **Node**: an executable named node or nodejs or linked to ``libnode.so``;
  ``--dns-result-order`` from the command line or ``NODE_OPTIONS`` (default verbatim,
  Node 17+).
- **busybox**: its version string; ordered by the C library it was linked with.
- Scripts, deleted executables, files that are not ELF and unreadable entries are
  reported as such (``state``), never raised.
"""

from __future__ import annotations

import mmap
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from v6core.doctor import elf
from v6core.doctor.system import LiveSystem, SystemView

__all__ = ["Resolver", "ProcessInfo", "process_info", "resolver_of", "detect", "examine",
           "classify"]

_LOAD_LIMIT = 1 << 30
_GO_CGO_ENV = ("LOCALDOMAIN", "RES_OPTIONS", "HOSTALIASES")
_JAVA_ENV = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS")


@dataclass(frozen=True)
class Resolver:
    """The resolver of one executable as one process runs it.

    ``kind`` is glibc, musl, go, java, node, busybox or unknown; ``state`` is ``ok``,
    ``deleted`` (the executable was replaced or removed while running: still read
    through /proc/PID/exe), ``script``, ``not-elf``, ``unreadable`` or ``exited``.
    ``flavor`` and ``runtime`` are the names v6core orders with (None: cannot tell).
    """

    kind: str
    flavor: str | None = None
    runtime: str | None = None
    libc: str | None = None
    detail: str = ""
    state: str = "ok"
    exe: str = ""
    cgo_built: bool | None = None     # Go only: was the binary built with cgo?

    @property
    def name(self) -> str:
        """Short label for tables: ``glibc``, ``go1.19.8 (pure Go)``, ``java
        (preferIPv6Addresses=false, glibc)``, ``unknown (script: /bin/sh)`` ..."""
        label = self.kind if not self.detail else f"{self.kind} ({self.detail})"
        if self.state not in ("ok",):
            label += f" [{self.state}]"
        return label

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "flavor": self.flavor, "runtime": self.runtime,
                "libc": self.libc, "detail": self.detail, "state": self.state,
                "exe": self.exe, "name": self.name, "cgo_built": self.cgo_built}


@dataclass
class ProcessInfo:
    pid: int
    comm: str = "?"
    exe: str | None = None                   # readlink of /proc/PID/exe
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    exited: bool = False


def _split_nul(raw: bytes | None) -> list[str]:
    if not raw:
        return []
    return [p.decode("utf-8", "replace") for p in raw.split(b"\0") if p]


def process_info(view: SystemView, pid: int) -> ProcessInfo:
    """comm, exe link, argv and environment of ``pid``; ``exited`` when it is gone."""
    base = f"/proc/{pid}"
    comm = view.read(f"{base}/comm")
    info = ProcessInfo(pid, (comm or "?").strip())
    info.exe = view.readlink(f"{base}/exe")
    info.argv = _split_nul(view.read_bytes(f"{base}/cmdline", 1 << 20))
    for kv in _split_nul(view.read_bytes(f"{base}/environ", 1 << 20)):
        k, sep, v = kv.partition("=")
        if sep:
            info.env[k] = v
    if comm is None and not view.exists(base):
        info.exited = True
    return info


def _load(view: SystemView, path: str) -> Any:
    """The whole file (an mmap for the live system), or None when unreadable."""
    if isinstance(view, LiveSystem):
        try:
            with open(view._path(path), "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size == 0:
                    return b""
                return mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        except (OSError, ValueError):
            return None
    return view.read_bytes(path, _LOAD_LIMIT)


def _java_pref(argv: list[str], env: dict[str, str]) -> str:
    words = list(argv)
    for k in _JAVA_ENV:
        if k in env:
            try:
                words += shlex.split(env[k])
            except ValueError:
                words += env[k].split()
    value = "false"
    for w in words:
        if w.startswith("-Djava.net.preferIPv6Addresses="):
            value = w.split("=", 1)[1].strip().lower()   # the last one wins
    return value if value in ("false", "true", "system") else "false"


def _node_order(argv: list[str], env: dict[str, str]) -> str:
    words = []
    if "NODE_OPTIONS" in env:
        try:
            words += shlex.split(env["NODE_OPTIONS"])
        except ValueError:
            words += env["NODE_OPTIONS"].split()
    # command-line options come after NODE_OPTIONS and override them; stop at the script
    rest = argv[1:]
    i = 0
    while i < len(rest) and rest[i].startswith("-"):
        words.append(rest[i])
        if rest[i] == "--dns-result-order" and i + 1 < len(rest):
            words.append(rest[i + 1])
            i += 1
        i += 1
    value = "verbatim"
    it = iter(words)
    for w in it:
        if w.startswith("--dns-result-order="):
            value = w.split("=", 1)[1]
        elif w == "--dns-result-order":
            value = next(it, value)
    return value if value in ("verbatim", "ipv4first", "ipv6first") else "verbatim"


def _godebug(env: dict[str, str], default: str | None) -> str | None:
    """The netdns setting from GODEBUG (the environment overrides the build's default)."""
    value = None
    for text in (default or "", env.get("GODEBUG", "")):
        for item in text.split(","):
            k, _, v = item.strip().partition("=")
            if k == "netdns":
                value = v
    return value


def _cgo_built(go: elf.GoInfo, info: elf.ElfInfo) -> bool:
    return go.cgo if go.cgo is not None else not info.static


def _go_uses_cgo(go: elf.GoInfo, info: elf.ElfInfo, env: dict[str, str],
                 nsswitch: str | None) -> tuple[bool, str]:
    if not _cgo_built(go, info):
        return False, "CGO_ENABLED=0" if go.cgo is False else "no cgo (static)"
    if "netgo" in go.tags:
        return False, "-tags netgo"
    netdns = _godebug(env, go.default_godebug)
    mode = (netdns or "").split("+")[0]
    if mode == "go":
        return False, f"GODEBUG=netdns={netdns}"
    if mode == "cgo":
        return True, f"GODEBUG=netdns={netdns}"
    for k in _GO_CGO_ENV:
        if k in env:
            return True, f"{k} is set"
    for line in (nsswitch or "").splitlines():
        line = line.split("#", 1)[0]
        if line.strip().startswith("hosts:"):
            srcs = line.split(":", 1)[1].split()
            odd = [s for s in srcs if s not in ("files", "dns")]
            if odd:
                return True, f"nsswitch.conf hosts: {' '.join(odd)}"
    return False, "default"


def examine(image: Any, exe: str) -> elf.ElfInfo | Resolver:
    """The ELF facts of an executable image (bytes or mmap), or the Resolver that says
    why there are none (unreadable, script, not ELF, malformed)."""
    if image is None:
        return Resolver("unknown", detail="executable unreadable", state="unreadable", exe=exe)
    what = elf.kind(bytes(image[:4]))
    if what == "script":
        interp = elf.script_interpreter(bytes(image[:256]))
        return Resolver("unknown", detail=f"script run by {interp}", state="script", exe=exe)
    if what != "elf":
        return Resolver("unknown", detail="empty file" if what == "empty" else "not an ELF file",
                        state="not-elf", exe=exe)
    try:
        return elf.parse(image, exe)
    except elf.ElfError as e:
        return Resolver("unknown", detail=f"malformed ELF: {e}", state="not-elf", exe=exe)


def classify(info: elf.ElfInfo, exe: str, proc: ProcessInfo, nsswitch: str | None = None,
             state: str = "ok") -> Resolver:
    """The resolver of a process running an executable with ELF facts ``info``."""
    base = exe.rsplit("/", 1)[-1]
    libc = info.libc
    needed = {n.split(".so", 1)[0] for n in info.needed}
    if info.go is not None:
        go = info.go
        cgo, why = _go_uses_cgo(go, info, proc.env, nsswitch)
        if cgo:
            return Resolver("go", flavor=libc, libc=libc, state=state, exe=exe, cgo_built=True,
                            detail=f"{go.version}, cgo resolver: {why}, {libc or 'libc?'} order")
        return Resolver("go", flavor="go", libc=libc, state=state, exe=exe,
                        cgo_built=_cgo_built(go, info),
                        detail=f"{go.version}, pure Go resolver: {why}")
    if "libjli" in needed or "libjvm" in needed or base == "java":
        pref = _java_pref(proc.argv, proc.env)
        return Resolver("java", flavor=libc, runtime=f"java:{pref}", libc=libc, state=state,
                        exe=exe, detail=f"preferIPv6Addresses={pref}, {libc or 'libc?'}")
    if "libnode" in needed or base in ("node", "nodejs"):
        order = _node_order(proc.argv, proc.env)
        return Resolver("node", flavor=libc, runtime=f"node:{order}", libc=libc, state=state,
                        exe=exe, detail=f"dns-result-order={order}, {libc or 'libc?'}")
    if info.busybox is not None:
        return Resolver("busybox", flavor=libc, libc=libc, state=state, exe=exe,
                        detail=f"v{info.busybox}, {'static ' if info.static else ''}"
                               f"{libc or 'libc?'}")
    if libc is not None:
        return Resolver(libc, flavor=libc, libc=libc, state=state, exe=exe,
                        detail="static" if info.static else "")
    return Resolver("unknown", state=state, exe=exe,
                    detail=f"ELF, interpreter {info.interpreter}" if info.interpreter
                    else "static ELF without a known C library")


def detect(image: Any, exe: str, proc: ProcessInfo, nsswitch: str | None = None,
           state: str = "ok") -> Resolver:
    """The resolver of a process from its executable ``image`` (bytes or mmap)."""
    info = examine(image, exe)
    if isinstance(info, Resolver):
        return info
    return classify(info, exe, proc, nsswitch, state)


_DELETED = re.compile(r" \(deleted\)$")


def resolver_of(view: SystemView, proc: ProcessInfo, root: str | None = None,
                cache: dict | None = None) -> Resolver:
    """Read ``/proc/PID/exe`` (and the container's nsswitch.conf) and detect.  ``cache``
    keeps the ELF facts per executable (inode and path), so each distinct executable
    is read once per scan."""
    if proc.exited:
        return Resolver("unknown", detail="process exited during the scan", state="exited")
    link = proc.exe
    if link is None:
        gone = not view.exists(f"/proc/{proc.pid}")
        return Resolver("unknown", state="exited" if gone else "unreadable",
                        detail="process exited during the scan" if gone else
                        "/proc/PID/exe unreadable (kernel thread or no permission)")
    state = "ok"
    exe = link
    if _DELETED.search(link):
        exe, state = _DELETED.sub("", link), "deleted"
    key = (view.stat_inode(f"/proc/{proc.pid}/exe"), link)
    info = cache.get(key) if cache is not None and key[0] is not None else None
    if info is None:
        image = _load(view, f"/proc/{proc.pid}/exe")
        try:
            info = examine(image, exe)
        finally:
            if isinstance(image, mmap.mmap):
                image.close()
        if cache is not None and key[0] is not None:
            cache[key] = info
    if isinstance(info, Resolver):
        return info
    nss = view.read(f"{root or f'/proc/{proc.pid}/root'}/etc/nsswitch.conf")
    return classify(info, exe, proc, nss, state)
