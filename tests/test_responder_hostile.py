"""Hostile arguments to the responder's compiled API: a clean ValueError naming the
argument (and index), never a crash, a hang or another exception type.

Covers every public function and setter of ``_engine`` and ``_loop`` that takes buffers,
lengths, counts, indexes or descriptors, and the refusal to initialise an Engine or a
Port twice (the compiled loop reads them with the GIL released).
"""

from __future__ import annotations

import contextlib
import socket

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from v6core._core.prefix import PrefixTable
from v6core.responder._engine import Engine, Port, decide
from v6core.responder._loop import Batcher
from v6core.responder.config import Rule

PFX = "2001:db8:f440:2:646f:636b:6572::/112"
MAC = bytes.fromhex("020000000002")


def _engine() -> Engine:
    return Engine([Rule(prefix=PFX)])


def _port() -> Port:
    return Port(3, MAC)


# values no integer argument of the API accepts
BAD_INTS = st.one_of(
    st.integers(max_value=-2), st.integers(min_value=2**31),
    st.sampled_from([2**63, 2**64, -(2**63) - 1, 2**200]),
    st.floats(allow_nan=True), st.booleans(), st.none(), st.text(max_size=4),
    st.binary(max_size=4), st.just([1]), st.just(np.float64(5)), st.just(object()),
)


def _hostile_buffer(draw_kind: str):
    return {
        "none": None,
        "int": 7,
        "str": "frame",
        "list": [1, 2, 3],
        "int64": np.zeros(16, dtype=np.int64),
        "strided": np.zeros(512, dtype=np.uint8)[::2],
        "2d-fortran": np.zeros((16, 16), dtype=np.uint8, order="F"),
        "readonly": b"\0" * 256,
        "readonly-np": np.frombuffer(b"\0" * 256, dtype=np.uint8),
        "small": bytearray(127),
        "empty": bytearray(),
        "object": object(),
    }[draw_kind]


BUFFER_KINDS = ["none", "int", "str", "list", "int64", "strided", "2d-fortran", "readonly",
                "readonly-np", "small", "empty", "object"]


def _refused(fn, *args, names, **kw):
    """``fn`` raises ValueError whose message names one of ``names``."""
    with pytest.raises(ValueError) as e:
        fn(*args, **kw)
    assert any(n in str(e.value) for n in names), str(e.value)


# -- re-initialisation (issue 10) -------------------------------------------------------


def test_engine_and_port_refuse_a_second_init():
    eng = _engine()
    names = eng.names
    with pytest.raises(RuntimeError, match="initialised once"):
        eng.__init__([Rule(prefix="2001:db8::/32")])
    # the first rules are intact
    assert eng.names == names and eng.rule_of("2001:db8::1") is None
    assert eng.rule_of("2001:db8:f440:2:646f:636b:6572:5") == (0, False)
    prt = _port()
    counters = prt.counters
    with pytest.raises(RuntimeError, match="initialised once"):
        prt.__init__(4, MAC)
    assert prt.counters is counters and prt.ifindex == 3


def test_uninitialised_objects_are_refused_not_dereferenced():
    eng, prt = Engine.__new__(Engine), Port.__new__(Port)
    out = bytearray(128)
    _refused(decide, eng, _port(), b"\0" * 80, out, names=["engine: not initialised"])
    _refused(decide, _engine(), prt, b"\0" * 80, out, names=["port: not initialised"])
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with a, b:
        _refused(Batcher().run, b.fileno(), eng, _port(), names=["engine: not initialised"])
        _refused(Batcher().serve, [b.fileno()], [_engine()], [prt], [], 0,
                 names=["index 0: port: not initialised"])


# -- decide() ------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(BUFFER_KINDS), which=st.sampled_from(["frame", "out"]))
def test_decide_refuses_hostile_buffers(kind, which):
    value = _hostile_buffer(kind)
    frame, out = b"\0" * 80, bytearray(128)
    if which == "frame":
        if kind in ("readonly", "readonly-np", "small", "empty"):
            return                          # fine frames (read-only is what frames are)
        frame = value
    else:
        out = value
    _refused(decide, _engine(), _port(), frame, out, names=[which])


@settings(max_examples=60, deadline=None)
@given(now=BAD_INTS.filter(lambda v: not (isinstance(v, int) and 0 <= v < 2**64
                                          and not isinstance(v, bool))))
def test_decide_refuses_hostile_clocks(now):
    _refused(decide, _engine(), _port(), b"\0" * 80, bytearray(128), now, names=["now_ns"])


@settings(max_examples=30, deadline=None)
@given(eng=st.sampled_from([None, 1, "engine", b"x"]), swap=st.booleans())
def test_decide_refuses_wrong_objects(eng, swap):
    if swap:
        _refused(decide, _engine(), eng, b"", bytearray(128), names=["port"])
    else:
        _refused(decide, eng, _port(), b"", bytearray(128), names=["engine"])


# -- Port ---------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(value=BAD_INTS,
       arg=st.sampled_from(["ifindex", "rate_limit", "rate_limit_source", "source_slots"]))
def test_port_refuses_hostile_numbers(value, arg):
    if arg == "ifindex":
        _refused(Port, value, MAC, names=["ifindex"])
        prt = _port()
        with pytest.raises(ValueError, match="ifindex"):
            prt.ifindex = value
        assert prt.ifindex == 3
    elif arg == "source_slots":
        _refused(Port, 1, MAC, source_slots=value, names=["source_slots"])
    else:
        _refused(Port, 1, MAC, **{arg: value}, names=[arg])
        prt = _port()
        limits = {"rate_limit": 0, "rate_limit_source": 0, arg: value}
        _refused(prt.set_rate_limits, limits["rate_limit"], limits["rate_limit_source"],
                 names=[arg])


@pytest.mark.parametrize("args, name", [
    ((10**9 + 1, 0), "rate_limit"), ((0, 10**9 + 1), "rate_limit_source"),
])
def test_rate_limits_above_one_per_nanosecond_are_refused(args, name):
    _refused(_port().set_rate_limits, *args, names=[name])


@settings(max_examples=40, deadline=None)
@given(mac=st.one_of(st.binary(max_size=5), st.binary(min_size=7, max_size=20),
                     st.integers(), st.text(max_size=12), st.none(),
                     st.just(np.zeros(6, dtype=np.int64)), st.just(2**70)))
def test_macs_must_be_six_bytes(mac):
    _refused(Port, 1, mac, names=["mac"])
    prt = _port()
    _refused(prt.set_mac, mac, names=["mac"])
    assert prt.mac == MAC


def test_macs_from_any_bytes_like():
    prt = _port()
    prt.set_mac(bytearray(b"\x02" * 6))
    assert prt.mac == b"\x02" * 6
    prt.set_mac(np.arange(12, dtype=np.uint8)[::2])       # strided: copied, not refused
    assert prt.mac == bytes(range(0, 12, 2))


@pytest.mark.parametrize("value", [1, "table", b"x" * 16, [PFX]])
def test_tables_must_be_prefix_tables(value):
    prt = _port()
    _refused(prt.set_own, value, names=["table"])
    _refused(prt.set_routes, value, names=["table"])
    prt.set_own(PrefixTable(["2001:db8::1/128"]))
    prt.set_routes(None)


@settings(max_examples=40, deadline=None)
@given(address=st.one_of(st.integers(), st.floats(), st.text(max_size=10),
                         st.binary(max_size=20), st.just([1, 2])))
def test_linklocal_refuses_non_addresses(address):
    prt = _port()
    try:
        prt.set_linklocal(address)
    except ValueError:
        pass                               # AddressError, naming the input
    except TypeError as e:
        pytest.fail(f"TypeError instead of ValueError: {e}")


# -- Batcher ------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(value=BAD_INTS, arg=st.sampled_from(["batch", "slot"]))
def test_batcher_refuses_hostile_sizes(value, arg):
    _refused(Batcher, **{arg: value}, names=[arg])


@pytest.mark.parametrize("kw, name", [({"batch": 0}, "batch"), ({"batch": 1025}, "batch"),
                                      ({"slot": 127}, "slot"), ({"slot": 65537}, "slot")])
def test_batcher_bounds(kw, name):
    _refused(Batcher, **kw, names=[name])


@pytest.fixture(scope="module")
def sockpair():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


@settings(max_examples=80, deadline=None)
@given(value=BAD_INTS, arg=st.sampled_from(["fd", "max_rounds"]))
def test_run_refuses_hostile_values(sockpair, value, arg):
    _, b = sockpair
    kw = {"fd": b.fileno(), "max_rounds": 4, arg: value}
    _refused(Batcher().run, kw["fd"], _engine(), _port(), kw["max_rounds"], names=[arg])


@settings(max_examples=120, deadline=None)
@given(value=BAD_INTS,
       arg=st.sampled_from(["fds", "extra", "timeout_ms", "max_rounds", "fds-list",
                            "engines-list", "lengths"]))
def test_serve_refuses_hostile_values(sockpair, value, arg):
    _, b = sockpair
    eng, prt = _engine(), _port()
    fds, engines, ports, extra, tmo, rounds = [b.fileno()], [eng], [prt], [], 0, 4
    name = arg
    if arg == "fds":
        fds = [b.fileno(), value]
        engines, ports = [eng, eng], [prt, prt]
        name = "fds[1]"
    elif arg == "extra":
        extra = [value]
        name = "extra[0]"
    elif arg == "timeout_ms":
        tmo = value
    elif arg == "max_rounds":
        rounds = value
    elif arg == "fds-list":
        if isinstance(value, list):
            value = tuple(value)            # a list of good length is not hostile here
        fds, name = (value, "fds")
    elif arg == "engines-list":
        engines, name = (value, "engine")    # "engines: expected a list" or "index 0: engine"
    else:
        engines, name = ([eng, eng], "same length")
    _refused(Batcher().serve, fds, engines, ports, extra, tmo, rounds, names=[name])


def test_serve_returns_by_its_deadline_under_traffic(sockpair):
    # timeout_ms is a deadline for the whole call, however busy the socket
    import threading
    import time
    a, b = sockpair
    from tests.test_responder_engine import ns
    frame = ns()
    stop = threading.Event()

    def flood():
        while not stop.is_set():
            with contextlib.suppress(BlockingIOError):
                a.send(frame)
            time.sleep(0.001)

    a.setblocking(False)
    t = threading.Thread(target=flood, daemon=True)
    t.start()
    try:
        prt = _port()
        t0 = time.monotonic()
        assert Batcher().serve([b.fileno()], [_engine()], [prt], [], 150) == (0, -1)
        took = time.monotonic() - t0
        assert 0.14 <= took < 1.5, took
        assert prt.counters[120] > 0            # frames were served meanwhile
    finally:
        stop.set()
        t.join(2)
        a.setblocking(True)
        b.setblocking(False)
        try:
            while True:
                b.recv(4096)
        except BlockingIOError:
            pass
