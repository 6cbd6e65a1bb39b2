"""Every network namespace on the host, and the name users know it by.

:func:`discover` walks ``/proc/[0-9]*/ns/net`` (one namespace per distinct inode) and
``/run/netns`` (the ``ip netns`` names), and names each namespace, in this order of
preference:

1. a Docker or Podman container: the Engine API (``GET /containers/json`` then
   ``/containers/ID/json`` for ``State.Pid``) over each given socket, matched by the
   namespace of the container's main process, else the container id in a member's
   cgroup path (``docker-ID.scope``, ``/docker/ID``, ``libpod-ID``);
2. an LXD or Incus instance (``lxc.payload.NAME`` or ``/lxc/NAME`` in the cgroup path);
3. a systemd-nspawn machine (``machine-NAME.scope``, ``systemd-nspawn@NAME.service``);
4. an ``ip netns`` name;
5. ``host`` for the doctor's own namespace, else ``pid N (comm)`` with the namespace's
   lowest pid.

Processes that exit while being read and entries that cannot be read are counted, not
raised: the caller reports them.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from v6core.doctor.system import SystemView

__all__ = ["Namespace", "Scan", "discover", "DEFAULT_ENGINE_SOCKETS"]

DEFAULT_ENGINE_SOCKETS = ("/run/docker.sock", "/var/run/docker.sock",
                          "/run/podman/podman.sock")
_NS_LINK = re.compile(r"^net:\[(\d+)\]$")
_CGROUP_PATTERNS = (
    ("docker", re.compile(r"(?:/docker[-/]|/docker/)([0-9a-f]{64})")),
    ("podman", re.compile(r"libpod-(?:conmon-)?([0-9a-f]{64})")),
    ("lxd", re.compile(r"/lxc\.payload\.([^/\s]+)")),
    ("lxd", re.compile(r"/lxc/([^/\s]+)")),
    ("nspawn", re.compile(r"systemd-nspawn@([^/\s]+)\.service")),
    ("nspawn", re.compile(r"/machine-([^/\s]+)\.scope")),
)


@dataclass
class Namespace:
    """One network namespace: its inode, how to enter it and what it is called."""

    inode: int
    name: str = ""
    kind: str = "pid"                  # host | docker | podman | lxd | nspawn | netns | pid
    pids: list[int] = field(default_factory=list)
    netns_names: list[str] = field(default_factory=list)
    path: str | None = None            # /run/netns/NAME or /proc/PID/ns/net to open

    @property
    def leader(self) -> int | None:
        return min(self.pids) if self.pids else None


@dataclass
class Scan:
    namespaces: list[Namespace]
    own_inode: int | None
    unreadable: list[int] = field(default_factory=list)     # pids whose ns link was hidden
    exited: list[int] = field(default_factory=list)         # pids gone mid-scan
    engine_notes: list[str] = field(default_factory=list)


def _inode(link: str | None) -> int | None:
    m = _NS_LINK.match(link or "")
    return int(m.group(1)) if m else None


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self._path)
        except OSError:
            s.close()
            raise
        self.sock = s


def engine_containers(sock: str, timeout: float = 2.0) -> list[tuple[str, str, int]]:
    """(id, name, main pid) of the running containers of a Docker-compatible Engine API
    at unix socket ``sock``.  Raises OSError (or ValueError for a garbled answer)."""
    conn = _UnixHTTP(sock, timeout)
    try:
        def get(path: str) -> Any:
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise OSError(f"{sock}: GET {path}: HTTP {r.status}")
            return json.loads(body)

        out = []
        listing = get("/containers/json")
        if not isinstance(listing, list):
            raise ValueError(f"{sock}: /containers/json is not a list")
        for c in listing:
            cid = str(c.get("Id", ""))
            names = c.get("Names") or [cid[:12]]
            try:
                detail = get(f"/containers/{cid}/json")
                pid = int(detail.get("State", {}).get("Pid") or 0)
            except (OSError, ValueError, AttributeError):
                pid = 0
            out.append((cid, str(names[0]).lstrip("/"), pid))
        return out
    finally:
        conn.close()


def _cgroup_name(text: str | None, ids: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    for line in (text or "").splitlines():
        path = line.split(":", 2)[-1]
        for kind, pat in _CGROUP_PATTERNS:
            m = pat.search(path)
            if not m:
                continue
            key = m.group(1)
            if kind in ("docker", "podman"):
                if key in ids:
                    return ids[key]
                return kind, key[:12]
            return kind, key
    return None


def discover(view: SystemView, engine_sockets: Iterable[str] = DEFAULT_ENGINE_SOCKETS,
             own_link: str | None = None) -> Scan:
    """Every network namespace that has a process or an ``ip netns`` name."""
    own = _inode(own_link if own_link is not None else view.readlink("/proc/self/ns/net"))
    by_inode: dict[int, Namespace] = {}
    scan = Scan([], own)
    for entry in view.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        link = view.readlink(f"/proc/{pid}/ns/net")
        ino = _inode(link)
        if ino is None:
            (scan.unreadable if view.exists(f"/proc/{pid}") else scan.exited).append(pid)
            continue
        ns = by_inode.setdefault(ino, Namespace(ino))
        ns.pids.append(pid)
    for name in view.listdir("/run/netns"):
        ino = view.stat_inode(f"/run/netns/{name}")
        if ino is None:
            continue
        ns = by_inode.setdefault(ino, Namespace(ino, path=f"/run/netns/{name}"))
        ns.netns_names.append(name)
        if ns.path is None:
            ns.path = f"/run/netns/{name}"
    # the Engine API: container name by the namespace of its main process, and by id
    ids: dict[str, tuple[str, str]] = {}
    by_pid: dict[int, tuple[str, str]] = {}
    for sock in engine_sockets:
        if not view.exists(sock):
            continue
        kind = "podman" if "podman" in sock else "docker"
        try:
            for cid, cname, pid in engine_containers(sock):
                ids[cid] = (kind, cname)
                if pid:
                    by_pid[pid] = (kind, cname)
        except (OSError, ValueError, http.client.HTTPException) as e:
            scan.engine_notes.append(f"{sock}: {e}")
    for ns in by_inode.values():
        ns.pids.sort()
        named = next((by_pid[p] for p in ns.pids if p in by_pid), None)
        if named is None:
            for p in ns.pids[:8]:
                named = _cgroup_name(view.read(f"/proc/{p}/cgroup"), ids)
                if named:
                    break
        if named is not None:
            ns.kind, ns.name = named
        elif ns.netns_names:
            ns.kind, ns.name = "netns", ", ".join(ns.netns_names)
        elif ns.inode == own:
            ns.kind, ns.name = "host", "host"
        else:
            lead = ns.leader
            comm = (view.read(f"/proc/{lead}/comm") or "?").strip()
            ns.kind, ns.name = "pid", f"pid {lead} ({comm})"
        if ns.inode == own and ns.kind != "host":
            ns.name += " (host)"
        if ns.path is None and ns.pids:
            ns.path = f"/proc/{ns.pids[0]}/ns/net"
    scan.namespaces = sorted(by_inode.values(),
                             key=lambda n: (n.inode != own, n.kind == "pid", n.name))
    return scan
