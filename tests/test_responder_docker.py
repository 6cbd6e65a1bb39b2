"""The Docker Engine API client against stand-in unix-socket servers (no root, no Docker):
a missing socket, a socket that is not Docker, junk JSON, and a well-behaved fake whose
answers follow the Engine API's documented shapes."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time

import pytest

from v6core.responder import docker
from v6core.responder.docker import DockerError, DockerWatcher, container_addresses


def serve(path, handler):
    """A unix-socket server answering each connection with ``handler(request bytes)``."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(8)

    def loop():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            with c:
                req = c.recv(65536)
                out = handler(req)
                if out:
                    with contextlib.suppress(OSError):
                        c.sendall(out)
                    if b"/events" in req.split(b"\r\n")[0]:
                        time.sleep(0.3)

    threading.Thread(target=loop, daemon=True).start()
    return srv


def http(body: bytes, status: str = "200 OK") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: "
            f"{len(body)}\r\nConnection: close\r\n\r\n").encode() + body


INSPECT = {"State": {"Running": True}, "NetworkSettings": {"Networks": {
    "v6": {"GlobalIPv6Address": "2001:db8:f440:2:646f:636b:6572:5", "IPAddress": ""},
    "bridge": {"GlobalIPv6Address": ""}}}}


def fake_docker(req: bytes) -> bytes:
    line = req.split(b"\r\n")[0].decode()
    if line.startswith("GET /containers/json"):
        return http(json.dumps([{"Id": "abc123"}]).encode())
    if line.startswith("GET /containers/abc123/json"):
        return http(json.dumps(INSPECT).encode())
    if line.startswith("GET /events"):
        return http(b"")
    return http(b'{"message":"page not found"}', "404 Not Found")


def test_container_addresses_reads_the_inspect_shape():
    assert container_addresses(INSPECT) == {"2001:db8:f440:2:646f:636b:6572:5"}
    assert container_addresses({**INSPECT, "State": {"Running": False}}) == set()
    for junk in (None, [], "x", {"NetworkSettings": []}, {"NetworkSettings": {"Networks": 3}},
                 {"NetworkSettings": {"Networks": {"n": {"GlobalIPv6Address": "ff02::1"}}}},
                 {"NetworkSettings": {"Networks": {"n": {"GlobalIPv6Address": "junk"}}}}):
        assert container_addresses(junk) == set()


def test_list_addresses_from_a_fake_engine(tmp_path):
    srv = serve(tmp_path / "d.sock", fake_docker)
    try:
        assert docker.list_addresses(str(tmp_path / "d.sock")) == {
            "2001:db8:f440:2:646f:636b:6572:5"}
    finally:
        srv.close()


@pytest.mark.parametrize("answer,msg", [
    (b"SSH-2.0-OpenSSH_9.2\r\n", "BadStatusLine"),
    (http(b"<html>hello</html>"), "not JSON"),
    (http(b'{"a": 1}'), "not a list"),
    (http(b"[]", "500 Internal Server Error"), "HTTP 500"),
    (b"", "RemoteDisconnected"),
])
def test_non_docker_sockets_give_a_clear_error(tmp_path, answer, msg):
    srv = serve(tmp_path / "x.sock", lambda req: answer)
    try:
        with pytest.raises(DockerError, match=msg):
            docker.list_addresses(str(tmp_path / "x.sock"))
    finally:
        srv.close()


def test_missing_socket_is_logged_and_retried_with_backoff(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(docker, "BACKOFF_MIN", 0.05)
    seen: list = []
    w = DockerWatcher(str(tmp_path / "absent.sock"), seen.append)
    with caplog.at_level(logging.WARNING, logger="v6core.respond"):
        w.start()
        time.sleep(0.5)
        # the socket appears: the watcher connects and reports the containers
        srv = serve(tmp_path / "absent.sock", fake_docker)
        try:
            end = time.monotonic() + 5
            while not seen and time.monotonic() < end:
                time.sleep(0.02)
        finally:
            w.stop()
            srv.close()
    assert seen and seen[0] == frozenset({"2001:db8:f440:2:646f:636b:6572:5"})
    assert w.errors >= 2, "retried more than once before the socket appeared"
    lines = [r.getMessage() for r in caplog.records]
    assert any("absent.sock" in m and "retrying in" in m and "FileNotFoundError" in m
               for m in lines), lines
    # exponential: the announced delays grow
    delays = [float(m.rsplit("retrying in ", 1)[1].split()[0]) for m in lines
              if "retrying in" in m]
    assert delays[:3] == sorted(delays[:3]) and delays[1] == 2 * delays[0]
