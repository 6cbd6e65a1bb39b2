"""Docker's running containers and their IPv6 addresses, from the Engine API.

The Engine API is HTTP over the daemon's unix socket.  The standard library's
:class:`http.client.HTTPConnection` talks to it once its ``connect`` opens an AF_UNIX
socket, so no third-party client is needed (the ``docker`` package would pull requests
and urllib3 in for three GET requests).  Podman's Docker-compatible socket serves the
same three endpoints.

:class:`DockerWatcher` runs in a thread:

1. ``GET /containers/json`` lists the running containers, ``GET /containers/{id}/json``
   gives each one's networks and their ``GlobalIPv6Address``;
2. ``GET /events`` (filtered to container start/die/stop/destroy and network
   connect/disconnect) is followed line by line; every such event re-reads the list, so
   a lost event cannot leave a stale address behind;
3. when the socket is missing, refuses, is not Docker, or answers junk, it logs one clear
   line and retries with exponential backoff (0.5 s doubling to 30 s); the last known set
   stays in force meanwhile, and static rules are never affected.

Each new set of addresses is handed to ``on_change(frozenset of str)`` from the thread;
the caller hands it over to its own loop.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import logging
import socket
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

__all__ = ["DockerError", "UnixHTTPConnection", "container_addresses", "DockerWatcher"]

log = logging.getLogger("v6core.respond")

API_TIMEOUT = 10.0
BACKOFF_MIN = 0.5
BACKOFF_MAX = 30.0
EVENT_FILTERS = json.dumps({
    "type": ["container", "network"],
    "event": ["start", "die", "stop", "destroy", "connect", "disconnect", "restart",
              "unpause", "pause"],
})


class DockerError(Exception):
    """The socket did not behave like Docker's Engine API (the text says how)."""


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over an AF_UNIX stream socket (``path``)."""

    def __init__(self, path: str, timeout: float | None = API_TIMEOUT) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(self.timeout)
            s.connect(self.path)
        except BaseException:
            s.close()
            raise
        self.sock = s


def _get_json(path: str, url: str) -> Any:
    conn = UnixHTTPConnection(path)
    try:
        conn.request("GET", url, headers={"Host": "docker"})
        resp = conn.getresponse()
        body = resp.read(16 << 20)
    except (OSError, http.client.HTTPException) as e:
        raise DockerError(f"{path}: GET {url}: {type(e).__name__}: {e}") from None
    finally:
        conn.close()
    if resp.status != 200:
        raise DockerError(f"{path}: GET {url}: HTTP {resp.status} {resp.reason}")
    try:
        return json.loads(body)
    except ValueError:
        raise DockerError(f"{path}: GET {url}: the answer is not JSON "
                          f"(starts {body[:40]!r}); is this Docker's socket?") from None


def container_addresses(inspect: Any) -> set[str]:
    """The global IPv6 addresses of one ``/containers/{id}/json`` answer (junk -> empty)."""
    out: set[str] = set()
    if not isinstance(inspect, dict):
        return out
    state = inspect.get("State")
    if isinstance(state, dict) and state.get("Running") is False:
        return out
    nets = (inspect.get("NetworkSettings") or {}).get("Networks") \
        if isinstance(inspect.get("NetworkSettings"), dict) else None
    if not isinstance(nets, dict):
        return out
    for net in nets.values():
        if not isinstance(net, dict):
            continue
        a = net.get("GlobalIPv6Address")
        if isinstance(a, str) and a:
            try:
                ip = ipaddress.IPv6Address(a)
            except ValueError:
                continue
            if not (ip.is_multicast or ip.is_unspecified or ip.is_loopback):
                out.add(str(ip))
    return out


def list_addresses(path: str) -> set[str]:
    """The IPv6 addresses of every running container (raises :class:`DockerError`)."""
    listing = _get_json(path, "/containers/json")
    if not isinstance(listing, list):
        raise DockerError(f"{path}: /containers/json is not a list; is this Docker's socket?")
    out: set[str] = set()
    for c in listing:
        cid = c.get("Id") if isinstance(c, dict) else None
        if not isinstance(cid, str) or not cid.isalnum():
            raise DockerError(f"{path}: /containers/json has an entry without an Id")
        try:
            out |= container_addresses(_get_json(path, f"/containers/{cid}/json"))
        except DockerError as e:
            if "HTTP 404" not in str(e):   # gone between the list and the inspect
                raise
    return out


class DockerWatcher:
    """Follow Docker's containers from a thread; see the module docstring."""

    def __init__(self, path: str, on_change: Callable[[frozenset[str]], None]) -> None:
        self.path = path
        self.on_change = on_change
        self.connected = False
        self.reconnects = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: UnixHTTPConnection | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="v6core-docker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        conn = self._conn
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    def _run(self) -> None:
        delay = BACKOFF_MIN
        while not self._stop.is_set():
            try:
                self._session()
                delay = BACKOFF_MIN          # a session that ran resets the backoff
                if not self._stop.is_set():
                    log.warning("docker: %s: the event stream ended; reconnecting", self.path)
            except DockerError as e:
                self.errors += 1
                log.warning("docker: %s; retrying in %.2f s", e, delay)
            except Exception as e:   # never let the thread die on junk
                self.errors += 1
                log.warning("docker: %s: %s: %s; retrying in %.2f s", self.path,
                            type(e).__name__, e, delay)
            self.connected = False
            self.reconnects += 1
            self._stop.wait(delay)
            delay = min(BACKOFF_MAX, delay * 2)

    def _session(self) -> None:
        # subscribe first, then list: an event between the two is not missed
        conn = UnixHTTPConnection(self.path, timeout=API_TIMEOUT)
        self._conn = conn
        try:
            url = "/events?filters=" + urllib.parse.quote(EVENT_FILTERS)
            try:
                conn.request("GET", url, headers={"Host": "docker"})
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as e:
                raise DockerError(f"{self.path}: GET /events: {type(e).__name__}: {e}") from None
            if resp.status != 200:
                raise DockerError(f"{self.path}: GET /events: HTTP {resp.status} {resp.reason}")
            self.on_change(frozenset(list_addresses(self.path)))
            if not self.connected:
                log.info("docker: following %s", self.path)
            self.connected = True
            if conn.sock is not None:
                conn.sock.settimeout(None)    # events come when they come
            while not self._stop.is_set():
                try:
                    line = resp.readline(1 << 20)
                except (OSError, http.client.HTTPException):
                    return
                if not line:
                    return
                if not line.strip():
                    continue
                try:
                    ev = json.loads(line)
                except ValueError:
                    raise DockerError(f"{self.path}: an event is not JSON "
                                      f"(starts {line[:40]!r})") from None
                if not isinstance(ev, dict):
                    raise DockerError(f"{self.path}: an event is not a JSON object")
                log.debug("docker: event %s %s", ev.get("Type"), ev.get("Action"))
                self.on_change(frozenset(list_addresses(self.path)))
        finally:
            self._conn = None
            conn.close()

