"""Look at another network namespace from inside, without moving the doctor there.

One helper thread enters each namespace in turn with ``setns(fd, CLONE_NEWNET)`` (which
changes only the calling thread), reads the addresses over rtnetlink and asks the
kernel for the source of each destination (UDP connect + getsockname, as the C
libraries do), then returns to the doctor's own namespace before the next one and
before it ends.  The main thread never changes namespace; :func:`probe_all` checks
afterwards that the helper thread is back where it started.  Needs CAP_SYS_ADMIN.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from v6core.doctor import facts
from v6core.doctor.system import LiveSystem

__all__ = ["NsFacts", "probe_all", "NamespaceError"]

_CLONE_NEWNET = 0x40000000


class NamespaceError(OSError):
    """setns failed (no privilege, or the namespace is gone)."""


@dataclass
class NsFacts:
    """What the kernel of one namespace says."""

    addresses: list[facts.Address] = field(default_factory=list)
    sources: dict[str, str | None] = field(default_factory=dict)   # destination -> source
    error: str | None = None                                        # why nothing was read


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)
    if setns is not None:                       # Python 3.12+
        setns(fd, _CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NamespaceError(err, os.strerror(err))


def _read_here(destinations: Iterable[str]) -> NsFacts:
    live = LiveSystem()
    out = NsFacts()
    text = live.netlink_addresses()
    if text is not None:
        try:
            out.addresses = facts.parse_ip_json(text)
        except (ValueError, KeyError, TypeError):
            out.error = "rtnetlink answer could not be parsed"
    else:
        out.error = "rtnetlink unavailable"
    out.sources = {d: live.source_for(d) for d in destinations}
    return out


def probe_all(paths: Mapping[int, str], destinations: Iterable[str]) -> dict[int, NsFacts]:
    """``{key: NsFacts}`` for each namespace file in ``paths`` (``/run/netns/NAME`` or
    ``/proc/PID/ns/net``).  A namespace that cannot be entered gets ``error`` set."""
    dests = list(destinations)
    result: dict[int, NsFacts] = {}
    failure: list[BaseException] = []

    def work() -> None:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        home_ino = os.fstat(home).st_ino
        try:
            for key, path in paths.items():
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                except OSError as e:
                    result[key] = NsFacts(error=f"{path}: {e.strerror or e} (exited?)")
                    continue
                try:
                    try:
                        _setns(fd)
                    except OSError as e:
                        result[key] = NsFacts(error=f"setns {path}: {e.strerror or e}")
                        continue
                    try:
                        result[key] = _read_here(dests)
                    finally:
                        _setns(home)
                finally:
                    os.close(fd)
            if os.stat("/proc/thread-self/ns/net").st_ino != home_ino:
                raise NamespaceError("helper thread did not return to its namespace")
        except BaseException as e:          # reported to the caller's thread
            failure.append(e)
        finally:
            os.close(home)

    t = threading.Thread(target=work, name="v6core-nsprobe", daemon=True)
    t.start()
    t.join()
    if failure:
        raise failure[0]
    return result
