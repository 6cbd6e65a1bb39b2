"""The "system view": the only place where ``v6core doctor`` touches the live system.

Every check reads the host through a :class:`SystemView`, a handful of primitives
(read a file, list a directory, run a read-only command, ask the kernel which source it
would use for a destination, ask inet_diag which sockets are IPV6_V6ONLY).  The live
implementation, :class:`LiveSystem`, needs no root for anything it does.
:class:`FakeSystem` serves the same primitives from dictionaries, so every check is unit
tested on a fabricated host.  The parsers that turn the raw text into facts live in
:mod:`v6core.doctor.facts`; they are pure functions of the view.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
from collections.abc import Mapping, Sequence

__all__ = ["SystemView", "LiveSystem", "FakeSystem"]


class SystemView:
    """The primitives the checks use; subclasses answer them from somewhere.

    Every method returns None (or an empty list) when the thing is absent or unreadable,
    never raises for that: a check then says what it could not see.
    """

    def read(self, path: str) -> str | None:
        """Text of ``path`` (UTF-8, errors replaced), or None when missing or unreadable."""
        raise NotImplementedError

    def read_bytes(self, path: str, limit: int = 65536) -> bytes | None:
        """The first ``limit`` bytes of ``path``, or None."""
        raise NotImplementedError

    def listdir(self, path: str) -> list[str]:
        """Sorted entries of directory ``path``; [] when missing."""
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        raise NotImplementedError

    def readlink(self, path: str) -> str | None:
        """Target of symbolic link ``path``, or None when it is not a (readable) link."""
        raise NotImplementedError

    def realpath(self, path: str) -> str:
        """``path`` with symbolic links resolved component by component through
        :meth:`readlink` (absolute targets stay inside the view's root)."""
        parts = [p for p in path.split("/") if p]
        done: list[str] = []
        hops = 0
        while parts:
            name = parts.pop(0)
            if name == ".":
                continue
            if name == "..":
                if done:
                    done.pop()
                continue
            cur = "/" + "/".join([*done, name])
            target = self.readlink(cur) if hops < 40 else None
            if target is None:
                done.append(name)
                continue
            hops += 1
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p] + parts
        return "/" + "/".join(done)

    def stat_inode(self, path: str) -> int | None:
        """The inode number ``path`` resolves to (for /run/netns/NAME: the namespace's),
        or None when it cannot be stat'ed."""
        return None

    def run(self, argv: Sequence[str], check: bool = True) -> str | None:
        """stdout+stderr of a read-only command, or None when it is missing (or, with
        ``check``, exits non-zero)."""
        raise NotImplementedError

    def source_for(self, destination: str) -> str | None:
        """The source address the kernel picks for a UDP flow to ``destination`` (text,
        IPv4 as dotted quad), or None when the destination is unreachable.  This is what
        glibc and musl do (connect + getsockname); no packet is sent."""
        raise NotImplementedError

    def netlink_addresses(self) -> str | None:
        """The address list in ``ip -j addr show`` form (JSON text) read over rtnetlink,
        for systems without iproute2's JSON output (busybox ip); None when unavailable."""
        return None

    def v6only_sockets(self) -> dict[int, bool] | None:
        """Socket inode -> IPV6_V6ONLY for the host's AF_INET6 TCP/UDP sockets, from
        inet_diag (``INET_DIAG_SKV6ONLY``), or None when inet_diag is unavailable."""
        raise NotImplementedError


class LiveSystem(SystemView):
    """The running host, optionally with files read under another ``root`` (a container's
    filesystem) while /proc, /sys and the kernel probes still describe this host's network
    namespace."""

    def __init__(self, root: str = "/") -> None:
        self.root = root

    def _path(self, path: str) -> str:
        if self.root == "/" or path.startswith(("/proc/", "/sys/")):
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def read(self, path: str) -> str | None:
        try:
            with open(self._path(path), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return None

    def read_bytes(self, path: str, limit: int = 65536) -> bytes | None:
        try:
            with open(self._path(path), "rb") as f:
                return f.read(limit)
        except OSError:
            return None

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(self._path(path)))
        except OSError:
            return []

    def exists(self, path: str) -> bool:
        return os.path.lexists(self._path(path))

    def readlink(self, path: str) -> str | None:
        try:
            return os.readlink(self._path(path))
        except OSError:
            return None

    def stat_inode(self, path: str) -> int | None:
        try:
            return os.stat(self._path(path)).st_ino
        except OSError:
            return None

    def run(self, argv: Sequence[str], check: bool = True) -> str | None:
        if self.root != "/" and argv[0].startswith("/"):
            return None                # never run a program out of a foreign root
        try:
            r = subprocess.run(list(argv), capture_output=True, text=True, timeout=10,
                               stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            return None
        if check and r.returncode != 0:
            return None
        return r.stdout + r.stderr

    def source_for(self, destination: str) -> str | None:
        family = socket.AF_INET6 if ":" in destination else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect((destination, 9))
                src = s.getsockname()[0]
        except OSError:
            return None
        return src.split("%", 1)[0]

    def netlink_addresses(self) -> str | None:
        try:
            from pyroute2 import IPRoute
        except ImportError:
            return None
        scopes = {0: "global", 200: "site", 253: "link", 254: "host"}
        words = {"temporary": 0x01, "nodad": 0x02, "optimistic": 0x04, "dadfailed": 0x08,
                 "home": 0x10, "deprecated": 0x20, "tentative": 0x40, "mngtmpaddr": 0x100}
        try:
            with IPRoute() as ipr:
                names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
                links: dict[int, list[dict]] = {i: [] for i in names}
                for msg in ipr.get_addr():
                    fam = {socket.AF_INET: "inet", socket.AF_INET6: "inet6"}.get(msg["family"])
                    local = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
                    if fam is None or local is None:
                        continue
                    flags = msg.get_attr("IFA_FLAGS") or msg["flags"]
                    cache = msg.get_attr("IFA_CACHEINFO")
                    d = {"family": fam, "local": local, "prefixlen": msg["prefixlen"],
                         "scope": scopes.get(msg["scope"], "global")}
                    if fam == "inet" and msg.get_attr("IFA_LABEL"):
                        d["label"] = msg.get_attr("IFA_LABEL")
                    d.update({w: True for w, bit in words.items() if flags & bit})
                    if fam == "inet6" and not flags & 0x80:      # IFA_F_PERMANENT
                        d["dynamic"] = True
                    if cache is not None:
                        d["valid_life_time"] = cache["ifa_valid"]
                        d["preferred_life_time"] = cache["ifa_preferred"]
                    links.setdefault(msg["index"], []).append(d)
        except Exception:  # no netlink here (seccomp, old kernel): the caller falls back
            return None
        import json
        return json.dumps([{"ifindex": i, "ifname": names.get(i, str(i)), "addr_info": a}
                           for i, a in sorted(links.items())])

    def v6only_sockets(self) -> dict[int, bool] | None:
        try:
            return inet_diag_v6only()
        except OSError:                # no NETLINK_SOCK_DIAG here: ask ss instead
            return self._v6only_from_ss()

    def _v6only_from_ss(self) -> dict[int, bool] | None:
        # ss prints a dual-stack wildcard as "*:port" and a V6ONLY one as "[::]:port"
        text = self.run(["ss", "-Hlntue", "-f", "inet6"])
        if text is None:
            return None
        out: dict[int, bool] = {}
        for line in text.splitlines():
            fields = line.split()
            ino = next((f[4:] for f in fields if f.startswith("ino:")), None)
            local = fields[4] if len(fields) > 4 else ""
            if ino and ino.isdigit() and local:
                if local.startswith("*:"):
                    out[int(ino)] = False
                elif local.startswith("[::]:"):
                    out[int(ino)] = True
        return out


_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST, _NLM_F_DUMP = 0x1, 0x300
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_INET_DIAG_SKV6ONLY = 11


def inet_diag_v6only(timeout: float = 2.0) -> dict[int, bool]:
    """inode -> IPV6_V6ONLY for every AF_INET6 TCP and UDP socket of this network
    namespace, from a NETLINK_SOCK_DIAG dump (linux/inet_diag.h; the kernel adds the
    INET_DIAG_SKV6ONLY attribute to every AF_INET6 socket).  No root needed.  Raises
    OSError when netlink refuses."""
    out: dict[int, bool] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(timeout)
        for seq, proto in enumerate((socket.IPPROTO_TCP, socket.IPPROTO_UDP), 1):
            # struct inet_diag_req_v2: family, protocol, ext, pad, states, 48-byte sockid
            req = struct.pack("=BBBxI48x", socket.AF_INET6, proto, 0, 0xFFFFFFFF)
            nl.send(struct.pack("=IHHII", 16 + len(req), _SOCK_DIAG_BY_FAMILY,
                                _NLM_F_REQUEST | _NLM_F_DUMP, seq, 0) + req)
            done = False
            while not done:
                buf = nl.recv(65536)
                off = 0
                while off + 16 <= len(buf):
                    length, mtype, _flags, mseq, _pid = struct.unpack_from("=IHHII", buf, off)
                    if length < 16 or off + length > len(buf):
                        raise OSError("truncated netlink message")
                    if mtype == _NLMSG_DONE:
                        done = True
                        break
                    if mtype == _NLMSG_ERROR:
                        err, = struct.unpack_from("=i", buf, off + 16)
                        raise OSError(-err, "inet_diag dump refused")
                    if mtype == _SOCK_DIAG_BY_FAMILY and mseq == seq and length >= 16 + 72:
                        # struct inet_diag_msg: 4 bytes, 48-byte sockid, expires, rqueue,
                        # wqueue, uid, inode (u32 each), then attributes
                        inode, = struct.unpack_from("=I", buf, off + 16 + 68)
                        a = off + 16 + 72
                        while a + 4 <= off + length:
                            alen, atype = struct.unpack_from("=HH", buf, a)
                            if alen < 4:
                                break
                            if atype == _INET_DIAG_SKV6ONLY and alen >= 5:
                                out[inode] = bool(buf[a + 4])
                            a += (alen + 3) & ~3
                    off += (length + 3) & ~3
    return out


class FakeSystem(SystemView):
    """A fabricated host for tests: files, directories, command outputs and kernel
    answers given as dictionaries.  Directories are implied by the file paths (and may
    be listed explicitly in ``dirs``); symbolic links go in ``links``."""

    def __init__(
        self,
        files: Mapping[str, str | bytes] | None = None,
        *,
        dirs: Sequence[str] = (),
        links: Mapping[str, str] | None = None,
        commands: Mapping[tuple[str, ...], str] | None = None,
        sources: Mapping[str, str | None] | None = None,
        v6only: Mapping[int, bool] | None = None,
        inodes: Mapping[str, int] | None = None,
    ) -> None:
        self.inodes = dict(inodes or {})
        self.files = dict(files or {})
        self.links = dict(links or {})
        self.commands = {tuple(k): v for k, v in (commands or {}).items()}
        self.sources = dict(sources or {})
        self.v6only = None if v6only is None else dict(v6only)
        self.dirs: set[str] = set()
        for p in [*self.files, *self.links, *(d.rstrip("/") + "/x" for d in dirs)]:
            parts = p.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                self.dirs.add("/" + "/".join(parts[:i]))
        self.ran: list[tuple[str, ...]] = []

    def read(self, path: str) -> str | None:
        v = self.files.get(self.realpath(path))
        if isinstance(v, bytes):
            return v.decode("utf-8", "replace")
        return v

    def read_bytes(self, path: str, limit: int = 65536) -> bytes | None:
        v = self.files.get(self.realpath(path))
        if v is None:
            return None
        return (v.encode() if isinstance(v, str) else v)[:limit]

    def listdir(self, path: str) -> list[str]:
        path = "/" + path.strip("/")
        if path not in self.dirs:
            return []
        n = len(path.rstrip("/").split("/"))
        names = {p.split("/")[n] for p in [*self.files, *self.links, *self.dirs]
                 if p.startswith(path.rstrip("/") + "/") and len(p.split("/")) > n}
        return sorted(names)

    def exists(self, path: str) -> bool:
        path = "/" + path.strip("/")
        return path in self.files or path in self.dirs or path in self.links

    def readlink(self, path: str) -> str | None:
        return self.links.get("/" + path.strip("/"))

    def run(self, argv: Sequence[str], check: bool = True) -> str | None:
        self.ran.append(tuple(argv))
        return self.commands.get(tuple(argv))

    def source_for(self, destination: str) -> str | None:
        return self.sources.get(destination)

    def stat_inode(self, path: str) -> int | None:
        return self.inodes.get("/" + path.strip("/"))

    def v6only_sockets(self) -> dict[int, bool] | None:
        return self.v6only
