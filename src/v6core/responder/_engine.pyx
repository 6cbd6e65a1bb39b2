# cython: language_level=3, autotestdict=False
"""Sans-IO decisions of the NDP responder: one frame in, a verdict and an NA out.

Parsing, RFC 4861 validation and NA building are the NDP codec's
(:mod:`v6core._core.ndp`); this module only decides *whether* to answer and *how*:

1. the frame must parse and validate as an NS (RFC 4861 section 7.1.1; any codec reason
   is the verdict);
   an 802.1Q-tagged frame (a trunk port) must be addressed to this interface's MAC or to
   a group address (the kernel's filter checks untagged frames, and tagged ones on a
   trunk socket, but the engine does not rely on its caller for VLANs);
2. the target selects a rule by longest prefix; an exclude inside the rule wins over it;
3. never the host's own addresses (the kernel answers for those itself);
4. DAD probes (source ``::``) are ignored unless the rule defends, unicast NUD probes are
   answered unless the rule is multicast-only, a ``learn`` or ``docker`` rule needs the
   target in the port's live set (a learn miss is queued, bounded, for the daemon to
   solicit downstream), an ``auto`` rule needs the kernel's route to the target to leave
   through another interface;
5. a global and a per-source GCRA rate limit (fixed memory: a table of 2^k slots
   indexed by a hash of the solicitor's address, whatever the number of targets);
6. the NA (RFC 4861 sections 4.4, 7.2.4, 7.2.8): IPv6 source = the target, the
   interface's link-local or a fixed address, per rule; target link-layer option = the
   interface's MAC or the rule's; S set when answering a solicitation from a unicast
   source; a defended DAD probe is answered to ff02::1 with S clear; R and O per rule
   (a proxy leaves O clear, RFC 4861 section 7.2.8).
"""

cimport cython
from libc.stdint cimport uint8_t, uint64_t, int64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy

cimport numpy as cnp
import numpy as np
import operator

from v6core._core.types cimport addr128_t, mix64, V6_UNLIKELY
from v6core._core.prefix cimport PrefixTable
from v6core.responder._live cimport LiveSet, live_contains
from v6core._core.addr cimport addr_to_bytes
from v6core._core.addr cimport addr_from_object
from v6core._core.ndp cimport (
    ndp_pkt_t, ndp_parse, ndp_build_na_reply, ND_NS, NDP_OK,
    NDP_NA_ROUTER, NDP_NA_OVERRIDE, ndp_is_multicast,
    ndp_is_unspecified, NDP_REASON_COUNT
)

cnp.import_array()

REASON_COUNT = NDP_REASON_COUNT
NCOUNTERS = RESP_NCOUNTERS


cdef int64_t resp_arg_int(object value, str name, int64_t lo, int64_t hi) except? -1:
    """``value`` (an int or anything with ``__index__``, not a bool) as an integer from
    ``lo`` to ``hi``, or ValueError naming ``name``."""
    cdef object v = None
    if not isinstance(value, bool):
        try:
            v = operator.index(value)
        except TypeError:
            pass
    if v is None or not lo <= v <= hi:
        raise ValueError(f"{name}: expected an integer from {lo} to {hi}, got {value!r:.60}")
    return <int64_t>v


cdef int resp_check_ready(object engine, object port) except -1:
    """ValueError unless ``engine`` and ``port`` are initialised Engine and Port objects."""
    if not isinstance(engine, Engine):
        raise ValueError(f"engine: expected an Engine, got {type(engine).__name__}")
    if not isinstance(port, Port):
        raise ValueError(f"port: expected a Port, got {type(port).__name__}")
    if (<Engine>engine).rules == NULL or (<Engine>engine).table is None:
        raise ValueError("engine: not initialised (Engine.__init__ did not complete)")
    if (<Port>port).cnt == NULL or (<Port>port).s_tat == NULL:
        raise ValueError("port: not initialised (Port.__init__ did not complete)")
    return 0


cdef bytes _mac6(object mac, str name):
    """A 6-byte MAC from a bytes-like object, or ValueError naming ``name``."""
    if isinstance(mac, str):
        raise ValueError(f"{name}: expected 6 bytes, got a str ({mac!r:.40}); "
                         "use bytes.fromhex")
    try:
        m = memoryview(mac)
    except TypeError:
        raise ValueError(f"{name}: expected 6 bytes, got {type(mac).__name__}") from None
    if m.nbytes != 6:
        raise ValueError(f"{name}: expected 6 bytes, got {m.nbytes}")
    return m.tobytes()


cdef inline bint _gcra(uint64_t *tat, uint64_t interval, uint64_t burst,
                       uint64_t now) noexcept nogil:
    """Generic cell rate algorithm: True (and charge one) if an answer is allowed now."""
    cdef uint64_t t = tat[0]
    if t < now:
        t = now
    if t - now > burst:
        return False
    tat[0] = t + interval
    return True


@cython.auto_pickle(False)
cdef class Engine:
    """The compiled answering rules of one interface (immutable once built).

    Parameters
    ----------
    rules : sequence of :class:`v6core.responder.config.Rule`
        In order; where prefixes overlap the longest wins, and a rule's ``exclude``
        prefixes (which lie inside its prefix) win over it.

    An Engine is initialised once: the compiled loop reads its rule array and prefix
    table with the GIL released, so ``__init__`` called again raises RuntimeError
    instead of swapping them; build a new Engine to change the rules.
    """

    def __cinit__(self):
        self.rules = NULL
        self.n_rules = 0

    def __init__(self, rules):
        if self.rules != NULL:
            raise RuntimeError("Engine is immutable: it is initialised once; "
                               "build a new Engine to change the rules")
        rules = list(rules)
        cdef Py_ssize_t n = len(rules), i
        if n == 0:
            raise ValueError("an Engine needs at least one rule")
        self.rules = <resp_rule_t *>calloc(n, sizeof(resp_rule_t))
        if self.rules == NULL:
            raise MemoryError()
        self.n_rules = n
        prefixes = []
        values = []
        for i, r in enumerate(rules):
            prefixes.append(r.prefix)
            values.append(2 * i)
            for e in r.exclude:
                prefixes.append(e)
                values.append(2 * i + 1)
            self.rules[i].na_flags = ((NDP_NA_ROUTER if r.router else 0)
                                      | (NDP_NA_OVERRIDE if r.override else 0))
            self.rules[i].solicited = bool(r.solicited)
            self.rules[i].unicast = bool(r.unicast)
            self.rules[i].dad_defend = r.dad == "defend"
            self.rules[i].auto_route = bool(r.auto)
            if getattr(r, "learn", False):
                self.rules[i].live = RESP_LIVE_LEARN
            elif getattr(r, "docker", False):
                self.rules[i].live = RESP_LIVE_LIST
            if r.source == "target":
                self.rules[i].src_mode = RESP_SRC_TARGET
            elif r.source == "link-local":
                self.rules[i].src_mode = RESP_SRC_LINKLOCAL
            else:
                self.rules[i].src_mode = RESP_SRC_FIXED
                addr_from_object(r.source, &self.rules[i].src_fixed)
            if r.mac is not None:
                macb = _mac6(r.mac, f"rules[{i}].mac")
                self.rules[i].has_mac = 1
                memcpy(self.rules[i].mac, <const uint8_t *>(<bytes>macb), 6)
        self.table = PrefixTable(prefixes, values)
        ans = np.zeros(n, dtype=np.uint64)
        drp = np.zeros(n, dtype=np.uint64)
        self.answered = <uint64_t *>cnp.PyArray_DATA(ans)
        self.dropped = <uint64_t *>cnp.PyArray_DATA(drp)
        self._arrays = (ans, drp)
        self.names = tuple(getattr(r, "name", "") or r.prefix for r in rules)

    def __dealloc__(self):
        free(self.rules)

    def __len__(self):
        return self.n_rules

    @property
    def answered_counts(self):
        """Answers per rule (uint64 array, shape (n_rules,), a live view)."""
        return self._arrays[0]

    @property
    def dropped_counts(self):
        """Policy drops per rule after it matched (uint64 array, shape (n_rules,), live)."""
        return self._arrays[1]

    def rule_of(self, target):
        """``(rule index, excluded)`` for ``target``, or None outside every prefix."""
        v = self.table.lookup(target)
        return None if v is None else (v >> 1, bool(v & 1))


@cython.auto_pickle(False)
cdef class Port:
    """The live state of one interface that the engine needs.

    Parameters
    ----------
    ifindex : int
        The interface's index (auto rules compare the route's output interface with it).
    mac : bytes
        Its 6-byte MAC: the NA's Ethernet source and default target link-layer address.
    rate_limit, rate_limit_source : int
        Answers per second in total and per soliciting address (0 = unlimited); a burst of
        up to one second's worth (at least 1) is allowed.
    source_slots : int
        Per-source limiter slots, 1 .. 2**24 (rounded up to a power of two, at least 16;
        8 bytes each).

    Its counters and limiter table are allocated once: ``__init__`` called again raises
    RuntimeError (the compiled loop may be using them with the GIL released).
    """

    def __cinit__(self):
        self.s_tat = NULL
        self.cnt = NULL

    def __init__(self, ifindex, mac, *, rate_limit=0, rate_limit_source=0,
                 source_slots=4096):
        if self.cnt != NULL:
            raise RuntimeError("Port is initialised once; build a new Port instead")
        self.ifindex = ifindex
        cdef int64_t want = resp_arg_int(source_slots, "source_slots", 1, 1 << 24)
        self.set_mac(mac)
        self.set_rate_limits(rate_limit, rate_limit_source)
        self.has_linklocal = False
        self.own = None
        self.routes = None
        self.live = None
        self.n_miss = 0
        cnt = np.zeros(RESP_NCOUNTERS, dtype=np.uint64)
        cdef int64_t slots = 16
        while slots < want:
            slots <<= 1
        tat = np.zeros(slots, dtype=np.uint64)
        self._arrays = (cnt, tat)
        self.s_tat = <uint64_t *>cnp.PyArray_DATA(tat)
        self.s_mask = slots - 1
        self.cnt = <uint64_t *>cnp.PyArray_DATA(cnt)

    @property
    def ifindex(self):
        """The interface's index, 0 .. 2**31-1 (auto rules compare routes' output with it)."""
        return self._ifindex

    @ifindex.setter
    def ifindex(self, value):
        self._ifindex = <int>resp_arg_int(value, "ifindex", 0, 0x7FFFFFFF)

    def set_rate_limits(self, rate_limit, rate_limit_source):
        """Answers per second in total and per soliciting address, 0 .. 10**9 (0 = off)."""
        rate_limit = resp_arg_int(rate_limit, "rate_limit", 0, 1000000000)
        rate_limit_source = resp_arg_int(rate_limit_source, "rate_limit_source", 0, 1000000000)
        self.g_interval = 1000000000 // rate_limit if rate_limit else 0
        self.g_burst = 1000000000 - self.g_interval if rate_limit else 0
        self.s_interval = 1000000000 // rate_limit_source if rate_limit_source else 0
        self.s_burst = 1000000000 - self.s_interval if rate_limit_source else 0

    def set_mac(self, mac):
        """The interface's 6-byte MAC (any bytes-like object)."""
        cdef bytes m = _mac6(mac, "mac")
        memcpy(self.cmac, <const uint8_t *>m, 6)

    @property
    def mac(self):
        return bytes(self.cmac[:6])

    def set_linklocal(self, address):
        """The interface's link-local address (for ``source = "link-local"``), or None."""
        if address is None:
            self.has_linklocal = False
        else:
            addr_from_object(address, &self.linklocal)
            self.has_linklocal = True

    def set_own(self, table):
        """The host's own addresses (a table of /128s; any match is "ours"), or None."""
        self.own = _table_or_none(table, "table")

    def set_routes(self, table):
        """Route prefix -> output ifindex (for auto rules), or None (no routes known)."""
        self.routes = _table_or_none(table, "table")

    def set_live(self, LiveSet live):
        """The live targets of learn and docker rules (None: none is live)."""
        self.live = live

    def take_misses(self):
        """The learn targets not found live since the last call (16-byte ``bytes`` each,
        in arrival order, repeats included; at most 64: further ones are counted as lost)."""
        out = [addr_to_bytes(self.miss[i]) for i in range(self.n_miss)]
        self.n_miss = 0
        return out

    @property
    def counters(self):
        """Verdict and I/O counters (uint64 array, shape (128,), a live view)."""
        return self._arrays[0]


cdef PrefixTable _table_or_none(object table, str name):
    if table is not None and not isinstance(table, PrefixTable):
        raise ValueError(f"{name}: expected a PrefixTable or None, got {type(table).__name__}")
    return table


@cython.boundscheck(False)
cdef int resp_decide(Engine eng, Port port, const uint8_t *frame, Py_ssize_t flen,
                     uint8_t *out, Py_ssize_t cap, uint64_t now_ns,
                     Py_ssize_t *out_len) noexcept nogil:
    """Decide on one frame; on RESP_ANSWER the NA is at out[0 .. *out_len)."""
    cdef ndp_pkt_t pkt
    cdef int r = ndp_parse(frame, flen, &pkt)
    cdef int64_t v
    cdef Py_ssize_t ri, n
    cdef resp_rule_t *rule
    cdef bint unspec
    cdef const addr128_t *srcp = NULL
    cdef uint64_t key
    out_len[0] = 0
    if r != NDP_OK:
        return r
    if pkt.type != ND_NS:
        return RESP_NOT_NS
    # A tagged frame came through a trunk, where the frames of every VLAN pass: whoever
    # fed it here may not have checked its destination MAC (ours, or a group address).
    if pkt.vlan_tci >= 0 and not (frame[0] & 1) and (
            frame[0] != port.cmac[0] or frame[1] != port.cmac[1] or frame[2] != port.cmac[2]
            or frame[3] != port.cmac[3] or frame[4] != port.cmac[4]
            or frame[5] != port.cmac[5]):
        return RESP_OTHER_HOST
    v = eng.table.lookup_c(pkt.target)
    if v < 0:
        return RESP_NO_RULE
    ri = v >> 1
    rule = &eng.rules[ri]
    if v & 1:
        eng.dropped[ri] += 1
        return RESP_EXCLUDED
    if port.own is not None and port.own.lookup_c(pkt.target) >= 0:
        eng.dropped[ri] += 1
        return RESP_OWN_ADDRESS
    unspec = ndp_is_unspecified(pkt.src)
    if unspec:
        if not rule.dad_defend:
            eng.dropped[ri] += 1
            return RESP_DAD_IGNORED
    elif not rule.unicast and not ndp_is_multicast(pkt.dst):
        eng.dropped[ri] += 1
        return RESP_UNICAST_IGNORED
    if rule.live != RESP_LIVE_ANY:
        if port.live is None or not live_contains(port.live, pkt.target):
            if rule.live == RESP_LIVE_LEARN:
                if port.n_miss < RESP_MISS_CAP:
                    port.miss[port.n_miss] = pkt.target
                    port.n_miss += 1
                else:
                    port.cnt[RESP_C_MISS_LOST] += 1
            eng.dropped[ri] += 1
            return RESP_NOT_LIVE
    if rule.auto_route:
        v = port.routes.lookup_c(pkt.target) if port.routes is not None else -1
        if v < 0:
            eng.dropped[ri] += 1
            return RESP_AUTO_NO_ROUTE
        if v == port._ifindex:
            eng.dropped[ri] += 1
            return RESP_AUTO_SAME_IF
    if rule.src_mode == RESP_SRC_LINKLOCAL:
        if not port.has_linklocal:
            eng.dropped[ri] += 1
            return RESP_NO_LINKLOCAL
        srcp = &port.linklocal
    elif rule.src_mode == RESP_SRC_FIXED:
        srcp = &rule.src_fixed
    if port.g_interval and not _gcra(&port.g_tat, port.g_interval, port.g_burst, now_ns):
        eng.dropped[ri] += 1
        return RESP_RATE_GLOBAL
    if port.s_interval:
        if unspec:   # DAD probes: key by the Ethernet source
            key = (<uint64_t>frame[6] << 40) | (<uint64_t>frame[7] << 32) | (
                <uint64_t>frame[8] << 24) | (<uint64_t>frame[9] << 16) | (
                <uint64_t>frame[10] << 8) | frame[11]
        else:
            key = pkt.src.hi ^ mix64(pkt.src.lo)
        if not _gcra(&port.s_tat[mix64(key) & port.s_mask], port.s_interval, port.s_burst,
                     now_ns):
            eng.dropped[ri] += 1
            return RESP_RATE_SOURCE
    # the codec's RFC 4861 7.2.4 reply: ff02::1 with S clear for a DAD probe, else to the
    # solicitor with S per rule; the TLLAO advertises the rule's MAC or the interface's
    n = ndp_build_na_reply(out, cap, frame, &pkt, port.cmac,
                           &rule.mac[0] if rule.has_mac else &port.cmac[0], srcp,
                           rule.na_flags, rule.solicited)
    if V6_UNLIKELY(n <= 0):
        eng.dropped[ri] += 1
        return RESP_BUILD_FAILED
    eng.answered[ri] += 1
    out_len[0] = n
    return RESP_ANSWER


def decide(engine, port, frame, out, now_ns=0):
    """Decide on one Ethernet frame (sans-IO; counts into ``port``'s counters).

    Parameters
    ----------
    engine : Engine
    port : Port
        Both initialised.
    frame : bytes-like
        The received Ethernet frame, from its destination MAC (C-contiguous bytes).
    out : writable bytes-like
        Room for the reply, at least 128 C-contiguous writable bytes.
    now_ns : int
        CLOCK_MONOTONIC in nanoseconds (0 .. 2**64-1), for the rate limiters.

    Returns
    -------
    (verdict, length) : (int, int)
        The verdict code (0 = answer; else a drop reason, see
        :class:`v6core.responder.engine.Verdict`) and the NA's length in ``out``
        (0 unless answered).

    Raises ValueError naming the argument for anything else (never a crash).
    """
    resp_check_ready(engine, port)
    cdef const uint8_t[::1] fv
    cdef uint8_t[::1] ov
    if frame is None:
        raise ValueError("frame: expected a bytes-like object, got None")
    if out is None:
        raise ValueError("out: expected a writable bytes-like object, got None")
    try:
        fv = frame
    except (TypeError, ValueError, BufferError) as e:
        raise ValueError(f"frame: expected C-contiguous bytes ({e})") from None
    try:
        ov = out
    except (TypeError, ValueError, BufferError) as e:
        raise ValueError(f"out: expected C-contiguous writable bytes ({e})") from None
    if ov.shape[0] < RESP_OUT_CAP:
        raise ValueError(f"out: must hold at least {RESP_OUT_CAP} bytes, has {ov.shape[0]}")
    if isinstance(now_ns, bool) or not isinstance(now_ns, int) or not 0 <= now_ns < 2**64:
        raise ValueError(f"now_ns: expected an integer from 0 to 2**64-1, got {now_ns!r:.60}")
    cdef uint64_t now = now_ns
    cdef Engine eng = <Engine>engine
    cdef Port prt = <Port>port
    cdef Py_ssize_t n = 0
    cdef const uint8_t *fp = &fv[0] if fv.shape[0] > 0 else <const uint8_t *>b""
    cdef int v = resp_decide(eng, prt, fp, fv.shape[0], &ov[0], ov.shape[0], now, &n)
    prt.cnt[v] += 1
    prt.cnt[RESP_C_RX] += 1
    return v, n
