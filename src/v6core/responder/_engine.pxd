# cython: language_level=3
"""The responder's sans-IO decision engine: the C contract.

A frame goes in, a verdict (and, for ``RESP_ANSWER``, a Neighbor Advertisement written
into the caller's buffer) comes out.  No socket, clock or allocation: the caller passes
``now_ns`` (CLOCK_MONOTONIC nanoseconds) for the rate limiters.

Verdict codes share one counter space:
  0                      RESP_ANSWER: an NA was built
  1 .. NDP_REASON_COUNT-1  the NDP codec's drop reasons (ndp.pxd ``ndp_reason_t``)
  64 ..                  the engine's policy drops (below)
  120 ..                 I/O counters kept by the loop (frames received, sent, ...)
"""

from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from v6core._core.types cimport addr128_t
from v6core._core.prefix cimport PrefixTable
from v6core.responder._live cimport LiveSet


cdef enum:
    RESP_ANSWER = 0
    RESP_NOT_NS = 64                # parsed and valid, but not a Neighbor Solicitation
    RESP_NO_RULE = 65               # target outside every prefix configured here
    RESP_EXCLUDED = 66              # target in a rule's exclude list
    RESP_OWN_ADDRESS = 67           # target is one of the host's own addresses
    RESP_DAD_IGNORED = 68           # DAD probe (source ::) and the rule ignores them
    RESP_UNICAST_IGNORED = 69       # unicast NUD probe and the rule is multicast-only
    RESP_AUTO_NO_ROUTE = 70         # auto rule: no route to the target
    RESP_AUTO_SAME_IF = 71          # auto rule: the route leaves through this interface
    RESP_RATE_GLOBAL = 72           # over the global answer rate
    RESP_RATE_SOURCE = 73           # over the per-source answer rate
    RESP_NO_LINKLOCAL = 74          # rule answers from link-local, the interface has none
    RESP_BUILD_FAILED = 75          # the NA builder refused (cannot happen with 128 B)
    RESP_TX_FAILED = 76             # sendmmsg did not take the NA (counted by the loop)
    RESP_OTHER_HOST = 77            # 802.1Q-tagged frame sent to another host's MAC
    RESP_NOT_LIVE = 78              # learn/docker rule: the target is not known to be live
    RESP_VERDICT_MAX = 79
    # I/O counters (the loop)
    RESP_C_RX = 120                 # frames received from the socket
    RESP_C_TX = 121                 # NAs the kernel accepted
    RESP_C_RX_TRUNC = 122           # frames longer than the receive slot (dropped)
    RESP_C_BATCHES = 123            # recvmmsg calls that returned frames
    RESP_C_RX_ERR = 124             # recvmmsg errors other than EAGAIN
    RESP_C_MISS_LOST = 125          # learn misses not queued (the miss queue was full)
    RESP_NCOUNTERS = 128

cdef enum:
    RESP_SRC_TARGET = 0
    RESP_SRC_LINKLOCAL = 1
    RESP_SRC_FIXED = 2
    RESP_OUT_CAP = 128              # bytes of output room one decision may need
    RESP_LIVE_ANY = 0               # answer every target the rule covers
    RESP_LIVE_LEARN = 1             # only live targets; queue the others for a downstream NS
    RESP_LIVE_LIST = 2              # only live targets (a list kept from outside: Docker)
    RESP_MISS_CAP = 64              # unknown learn targets queued between two batches


ctypedef struct resp_rule_t:
    uint8_t na_flags        # R and O bits as in the NA (0x80, 0x20)
    uint8_t solicited       # set S on replies to a solicitation from a unicast source
    uint8_t unicast         # answer unicast NUD probes too
    uint8_t dad_defend      # answer DAD probes (to ff02::1, S clear)
    uint8_t auto_route      # answer only if the route to the target leaves elsewhere
    uint8_t live            # RESP_LIVE_*
    uint8_t src_mode        # RESP_SRC_*
    uint8_t has_mac         # advertise ``mac`` instead of the interface's MAC
    uint8_t mac[6]
    addr128_t src_fixed


cdef class Engine:
    """Compiled rules of one interface (immutable; replaced whole on reload)."""
    cdef resp_rule_t *rules
    cdef Py_ssize_t n_rules
    cdef PrefixTable table          # target -> rule * 2 (+1 when in the rule's exclude)
    cdef uint64_t *answered         # per rule
    cdef uint64_t *dropped          # per rule (policy drops after the rule matched)
    cdef object _arrays
    cdef readonly tuple names


cdef class Port:
    """Live state of one interface: addresses, tables, limiters and counters."""
    cdef int _ifindex
    cdef uint8_t cmac[6]
    cdef addr128_t linklocal
    cdef bint has_linklocal
    cdef PrefixTable own            # the host's own addresses (/128 each), or None
    cdef PrefixTable routes         # route prefix -> output ifindex, or None
    cdef uint64_t *cnt              # RESP_NCOUNTERS
    # GCRA rate limiters: theoretical arrival times (ns); 0 interval = unlimited
    cdef uint64_t g_interval
    cdef uint64_t g_burst
    cdef uint64_t g_tat
    cdef uint64_t s_interval
    cdef uint64_t s_burst
    cdef uint64_t *s_tat
    cdef uint64_t s_mask
    # learn/docker rules: the live targets, and learn misses for Python to solicit
    cdef LiveSet live               # None: no target is live
    cdef addr128_t miss[RESP_MISS_CAP]
    cdef public int n_miss
    cdef object _arrays


cdef int resp_decide(Engine eng, Port port, const uint8_t *frame, Py_ssize_t flen,
                     uint8_t *out, Py_ssize_t cap, uint64_t now_ns,
                     Py_ssize_t *out_len) noexcept nogil


# Argument checks for the Python-facing functions of the responder's compiled modules
# (here once, so that _engine and _loop refuse hostile values alike).
cdef int64_t resp_arg_int(object value, str name, int64_t lo, int64_t hi) except? -1
cdef int resp_check_ready(object engine, object port) except -1
