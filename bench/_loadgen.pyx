# cython: language_level=3
"""A batched AF_PACKET Neighbor Solicitation load generator and NA collector (benchmarks).

:class:`LoadGen` sends multicast NS (to each target's solicited-node group, RFC 4291
section 2.7.1, with a source link-layer option) for targets ``base + (i mod n_targets)``
at a fixed rate or flat out, ``sendmmsg`` in batches, paced against CLOCK_MONOTONIC.
The NS frames are built by the NDP codec.  ``collect`` (run it in another thread: it
releases the GIL) receives NAs with ``recvmmsg`` and kernel receive timestamps
(``SO_TIMESTAMPNS``, CLOCK_REALTIME), matches each to the send time of its target and
records the NS-to-NA latency in nanoseconds.  A target answered twice counts once; an
NA with the Solicited flag clear (an announcement, RFC 4861 section 7.2.6) answers no
solicitation and is counted apart (``unsolicited``).
"""

cimport cython
from libc.errno cimport errno, EAGAIN, EINTR
from libc.stdint cimport uint8_t, uint64_t, int64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC, CLOCK_REALTIME, nanosleep
from posix.uio cimport iovec

cimport numpy as cnp
import numpy as np

from v6core._core.types cimport addr128_t
from v6core._core.addr cimport addr_from_object
from v6core._core.ndp cimport (
    ndp_build_ns, ndp_solicited_node, ndp_parse, ndp_pkt_t, NDP_OK, ND_NA,
    NDP_NA_SOLICITED,
)

cnp.import_array()


from v6core._linux cimport (
    mmsghdr, cmsghdr, CMSG_FIRSTHDR, CMSG_NXTHDR, CMSG_DATA, recvmmsg, sendmmsg,
    MSG_DONTWAIT, SOL_SOCKET, SCM_TIMESTAMPNS, pollfd, poll, POLLIN, prctl, PR_SET_TIMERSLACK,
)


DEF NSLOT = 128
DEF RXSLOT = 256
DEF MAXB = 64
DEF CTL = 64


cdef inline uint64_t _now(int clk) noexcept nogil:
    cdef timespec ts
    clock_gettime(clk, &ts)
    return <uint64_t>ts.tv_sec * 1000000000ULL + <uint64_t>ts.tv_nsec


cdef class LoadGen:
    """NS generator for targets ``base .. base + n_targets - 1`` and NA collector.

    Parameters
    ----------
    tx_fd, rx_fd : int
        AF_PACKET sockets bound to the generator's interface: one to send from, one
        receiving NAs (a BPF filter for ICMPv6 type 136) with SO_TIMESTAMPNS enabled.
    src_mac : bytes
        The generator's MAC (Ethernet source and source link-layer option).
    src : address
        The NS IPv6 source (the NA comes back to it).
    base : address
        The first target; targets differ in their low 64 bits.
    n_targets : int
        Distinct targets, cycled through (<= 2**24).
    max_samples : int
        Room for latency samples (extra answers are counted but not sampled).
    """
    cdef uint8_t smac[6]
    cdef addr128_t src
    cdef addr128_t base
    cdef uint64_t n_targets
    cdef int tx_fd, rx_fd
    cdef uint64_t *txtime          # CLOCK_REALTIME send time per target, 0 = none pending
    cdef int64_t *lat
    cdef Py_ssize_t max_samples
    cdef readonly Py_ssize_t sent
    cdef readonly Py_ssize_t send_failed
    cdef readonly Py_ssize_t received
    cdef readonly Py_ssize_t matched
    cdef readonly Py_ssize_t foreign
    cdef readonly Py_ssize_t unsolicited
    cdef public bint stop
    cdef object _arrays

    def __init__(self, int tx_fd, int rx_fd, src_mac, src, base, Py_ssize_t n_targets,
                 Py_ssize_t max_samples=4000000):
        mac = bytes(src_mac)
        if len(mac) != 6:
            raise ValueError("src_mac: 6 bytes")
        if not 1 <= n_targets <= (1 << 24):
            raise ValueError("n_targets: 1 .. 2**24")
        memcpy(self.smac, <const uint8_t *>(<bytes>mac), 6)
        addr_from_object(src, &self.src)
        addr_from_object(base, &self.base)
        self.n_targets = n_targets
        self.tx_fd = tx_fd
        self.rx_fd = rx_fd
        tt = np.zeros(n_targets, dtype=np.uint64)
        lat = np.zeros(max_samples, dtype=np.int64)
        self.txtime = <uint64_t *>cnp.PyArray_DATA(tt)
        self.lat = <int64_t *>cnp.PyArray_DATA(lat)
        self.max_samples = max_samples
        self._arrays = (tt, lat)
        self.reset()

    def reset(self):
        """Forget all sends and answers (between runs)."""
        self._arrays[0][:] = 0
        self.sent = self.send_failed = self.received = self.matched = self.foreign = self.unsolicited = 0
        self.stop = False

    @property
    def latencies_ns(self):
        """NS-to-NA latencies of matched answers (int64 ns, shape (min(matched, cap),))."""
        return self._arrays[1][:min(self.matched, self.max_samples)].copy()

    @cython.boundscheck(False)
    def send(self, double rate, double duration, Py_ssize_t start_index=0):
        """Send NS for ``duration`` seconds at ``rate`` per second (0 = flat out).

        Batches are sized so that one holds at most ~100 us of the rate (1 .. 64).
        Returns the number of NS the kernel accepted.
        """
        cdef uint8_t *buf = <uint8_t *>calloc(MAXB, NSLOT)
        cdef mmsghdr msgs[MAXB]
        cdef iovec iov[MAXB]
        cdef int batch = MAXB if rate <= 0 else max(1, min(MAXB, <int>(rate * 100e-6)))
        cdef uint64_t t0, now, due, idx, dur_ns = <uint64_t>(duration * 1e9)
        cdef uint64_t seq = start_index, stamp, wait
        cdef addr128_t tgt, dst
        cdef Py_ssize_t n
        cdef int i, k, r, off
        cdef timespec ts
        if buf == NULL:
            raise MemoryError()
        for i in range(MAXB):
            iov[i].iov_base = buf + i * NSLOT
            msgs[i].msg_hdr.msg_name = NULL
            msgs[i].msg_hdr.msg_namelen = 0
            msgs[i].msg_hdr.msg_iov = &iov[i]
            msgs[i].msg_hdr.msg_iovlen = 1
            msgs[i].msg_hdr.msg_control = NULL
            msgs[i].msg_hdr.msg_controllen = 0
            msgs[i].msg_hdr.msg_flags = 0
        with nogil:
            prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)
            t0 = _now(CLOCK_MONOTONIC)
            while True:
                now = _now(CLOCK_MONOTONIC)
                if now - t0 >= dur_ns or self.stop:
                    break
                k = batch
                if rate > 0:
                    due = <uint64_t>((now - t0) * rate * 1e-9) + 1
                    if due <= seq - <uint64_t>start_index:
                        # sleep until the next frame is due
                        wait = <uint64_t>((seq - <uint64_t>start_index) * 1e9 / rate) + t0
                        if wait > now:
                            wait -= now
                            ts.tv_sec = wait // 1000000000ULL
                            ts.tv_nsec = wait % 1000000000ULL
                            nanosleep(&ts, NULL)
                        continue
                    if due - (seq - <uint64_t>start_index) < <uint64_t>k:
                        k = <int>(due - (seq - <uint64_t>start_index))
                stamp = _now(CLOCK_REALTIME)
                for i in range(k):
                    idx = (seq + i) % self.n_targets
                    tgt.hi = self.base.hi
                    tgt.lo = self.base.lo + idx
                    dst = ndp_solicited_node(tgt)
                    n = ndp_build_ns(buf + i * NSLOT, NSLOT, NULL, self.smac, -1, self.src, dst,
                                     tgt, self.smac, NULL, 0)
                    iov[i].iov_len = <size_t>n
                    self.txtime[idx] = stamp
                off = 0
                while off < k:
                    r = sendmmsg(self.tx_fd, msgs + off, k - off, 0)
                    if r <= 0:
                        if r < 0 and (errno == EINTR or errno == EAGAIN):
                            continue
                        break
                    off += r
                self.send_failed += k - off
                self.sent += off
                seq += k
        free(buf)
        return self.sent

    @cython.boundscheck(False)
    def collect(self):
        """Receive NAs until ``stop`` is set (poll every 10 ms); run in its own thread."""
        cdef uint8_t *buf = <uint8_t *>calloc(MAXB, RXSLOT)
        cdef uint8_t *ctl = <uint8_t *>calloc(MAXB, CTL)
        cdef mmsghdr msgs[MAXB]
        cdef iovec iov[MAXB]
        cdef pollfd pfd
        cdef int i, got
        cdef ndp_pkt_t pkt
        cdef uint64_t rx, idx, t
        cdef cmsghdr *c
        cdef timespec *tsp
        if buf == NULL or ctl == NULL:
            free(buf)
            free(ctl)
            raise MemoryError()
        for i in range(MAXB):
            iov[i].iov_base = buf + i * RXSLOT
            iov[i].iov_len = RXSLOT
            msgs[i].msg_hdr.msg_name = NULL
            msgs[i].msg_hdr.msg_namelen = 0
            msgs[i].msg_hdr.msg_iov = &iov[i]
            msgs[i].msg_hdr.msg_iovlen = 1
        pfd.fd = self.rx_fd
        pfd.events = POLLIN
        with nogil:
            while True:
                for i in range(MAXB):
                    msgs[i].msg_hdr.msg_control = ctl + i * CTL
                    msgs[i].msg_hdr.msg_controllen = CTL
                    msgs[i].msg_hdr.msg_flags = 0
                got = recvmmsg(self.rx_fd, msgs, MAXB, MSG_DONTWAIT, NULL)
                if got <= 0:
                    if self.stop:
                        break
                    poll(&pfd, 1, 10)
                    continue
                for i in range(got):
                    self.received += 1
                    rx = 0
                    c = CMSG_FIRSTHDR(&msgs[i].msg_hdr)
                    while c != NULL:
                        if c.cmsg_level == SOL_SOCKET and c.cmsg_type == SCM_TIMESTAMPNS:
                            tsp = <timespec *>CMSG_DATA(c)
                            rx = <uint64_t>tsp.tv_sec * 1000000000ULL + <uint64_t>tsp.tv_nsec
                        c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)
                    if rx == 0:
                        rx = _now(CLOCK_REALTIME)
                    if ndp_parse(buf + i * RXSLOT, msgs[i].msg_len, &pkt) != NDP_OK or \
                            pkt.type != ND_NA or pkt.target.hi != self.base.hi:
                        self.foreign += 1
                        continue
                    idx = pkt.target.lo - self.base.lo
                    if idx >= self.n_targets:
                        self.foreign += 1
                        continue
                    if not (pkt.flags & NDP_NA_SOLICITED):
                        # an announcement (RFC 4861 7.2.6: S clear) answers no solicitation
                        self.unsolicited += 1
                        continue
                    t = self.txtime[idx]
                    if t == 0:
                        continue      # a duplicate answer
                    self.txtime[idx] = 0
                    if self.matched < self.max_samples:
                        self.lat[self.matched] = <int64_t>(rx - t)
                    self.matched += 1
        free(buf)
        free(ctl)
        return self.matched
