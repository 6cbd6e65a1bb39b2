# cython: language_level=3, autotestdict=False
"""The responder's per-batch loop: recvmmsg, decide, sendmmsg, with no Python object per frame.

:class:`Batcher` owns preallocated receive and transmit slots.  ``Batcher.run(fd, engine,
port)`` receives up to ``batch`` frames per ``recvmmsg`` call (non-blocking), runs
:func:`v6core.responder._engine.resp_decide` on each, counts each verdict into the port's
counters and hands every NA of the batch to the kernel in one ``sendmmsg``.  It repeats
until the socket is empty or ``max_rounds`` batches were done (so that the daemon's other
duties -- signals, netlink, the stats socket -- are served under a flood), and returns
the number of frames handled.  The GIL is released for the whole run.

On a trunk port the packet socket has ``PACKET_AUXDATA`` on: the kernel keeps a received
frame's 802.1Q tag out of the frame bytes and reports it beside them, so the loop puts
the tag back in front of the EtherType (each slot has 4 bytes of headroom for it) and the
engine sees, and its NA carries, the frame's tag.
"""

cimport cython
from libc.errno cimport errno, EAGAIN, EINTR
from libc.stdint cimport uint8_t, uint16_t, uint64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memmove
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC
from posix.uio cimport iovec

from v6core.responder._engine cimport (
    Engine, Port, resp_decide, resp_arg_int, resp_check_ready, RESP_ANSWER, RESP_TX_FAILED,
    RESP_C_RX, RESP_C_TX, RESP_C_RX_TRUNC, RESP_C_BATCHES, RESP_C_RX_ERR, RESP_OUT_CAP
)
from v6core._linux cimport (
    mmsghdr, msghdr, cmsghdr, CMSG_FIRSTHDR, CMSG_NXTHDR, CMSG_DATA, pollfd, poll, recvmmsg,
    sendmmsg, tpacket_auxdata, MSG_DONTWAIT, MSG_TRUNC, POLLIN, POLLERR, POLLHUP, POLLNVAL,
    SOL_PACKET, PACKET_AUXDATA, TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID,
)

cdef enum:
    HEADROOM = 4        # room in front of each receive slot for an 802.1Q tag
    CTL = 64            # control-message room per slot (one tpacket_auxdata)
    FD_MAX = 0x7FFFFFFF


cdef inline uint64_t _now_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <uint64_t>ts.tv_sec * 1000000000ULL + <uint64_t>ts.tv_nsec


cdef inline bint _put_tag_back(msghdr *h, uint8_t *base, Py_ssize_t n) noexcept nogil:
    """The frame of ``n`` bytes sits at ``base + HEADROOM``.  If PACKET_AUXDATA reports an
    802.1Q tag, move the MAC addresses to ``base``, write the tag after them (the frame is
    then ``n + HEADROOM`` bytes at ``base``) and return True; else False."""
    cdef cmsghdr *c
    cdef tpacket_auxdata *aux
    cdef uint16_t tci, tpid
    if h.msg_controllen == 0 or n < 14:
        return False
    c = CMSG_FIRSTHDR(h)
    while c != NULL:
        if c.cmsg_level == SOL_PACKET and c.cmsg_type == PACKET_AUXDATA:
            aux = <tpacket_auxdata *>CMSG_DATA(c)
            if not (aux.tp_status & TP_STATUS_VLAN_VALID):
                return False
            tci = aux.tp_vlan_tci
            tpid = aux.tp_vlan_tpid if aux.tp_status & TP_STATUS_VLAN_TPID_VALID else 0x8100
            memmove(base, base + HEADROOM, 12)
            base[12] = tpid >> 8
            base[13] = tpid & 0xFF
            base[14] = tci >> 8
            base[15] = tci & 0xFF
            return True
        c = CMSG_NXTHDR(h, c)
    return False


def _fd(value, str name):
    return <int>resp_arg_int(value, name, 0, FD_MAX)


@cython.auto_pickle(False)
cdef class Batcher:
    """Preallocated recvmmsg/sendmmsg slots for one socket.

    Parameters
    ----------
    batch : int
        Frames per system call (1 .. 1024).
    slot : int
        Receive slot size in bytes, 128 .. 65536 (a frame longer than ``slot - 4`` is
        counted as truncated and dropped; 4 bytes stay free for an 802.1Q tag).
    """
    cdef uint8_t *rxbuf
    cdef uint8_t *txbuf
    cdef uint8_t *ctl
    cdef mmsghdr *rx
    cdef mmsghdr *tx
    cdef iovec *riov
    cdef iovec *tiov
    cdef readonly int batch
    cdef readonly int slot

    def __cinit__(self, batch=64, slot=2048):
        cdef int b = <int>resp_arg_int(batch, "batch", 1, 1024)
        cdef int sl = <int>resp_arg_int(slot, "slot", 128, 65536)
        self.batch = b
        self.slot = sl
        self.rxbuf = <uint8_t *>calloc(b, sl)
        self.txbuf = <uint8_t *>calloc(b, RESP_OUT_CAP)
        self.ctl = <uint8_t *>calloc(b, CTL)
        self.rx = <mmsghdr *>calloc(b, sizeof(mmsghdr))
        self.tx = <mmsghdr *>calloc(b, sizeof(mmsghdr))
        self.riov = <iovec *>calloc(b, sizeof(iovec))
        self.tiov = <iovec *>calloc(b, sizeof(iovec))
        if not (self.rxbuf and self.txbuf and self.ctl and self.rx and self.tx and self.riov
                and self.tiov):
            raise MemoryError()
        cdef int i
        for i in range(b):
            self.riov[i].iov_base = self.rxbuf + <size_t>i * sl + HEADROOM
            self.riov[i].iov_len = sl - HEADROOM
            self.rx[i].msg_hdr.msg_iov = &self.riov[i]
            self.rx[i].msg_hdr.msg_iovlen = 1
            self.rx[i].msg_hdr.msg_control = self.ctl + <size_t>i * CTL
            self.tiov[i].iov_base = self.txbuf + <size_t>i * RESP_OUT_CAP
            self.tx[i].msg_hdr.msg_iov = &self.tiov[i]
            self.tx[i].msg_hdr.msg_iovlen = 1

    def __init__(self, batch=64, slot=2048):
        pass   # all done in __cinit__ (so a second __init__ changes nothing)

    def __dealloc__(self):
        free(self.rxbuf)
        free(self.txbuf)
        free(self.ctl)
        free(self.rx)
        free(self.tx)
        free(self.riov)
        free(self.tiov)

    def run(self, fd, engine, port, max_rounds=16):
        """Serve ``fd`` until it has nothing queued or ``max_rounds`` batches are done.

        ``fd`` is 0 .. 2**31-1, ``max_rounds`` 1 .. 2**31-1, ``engine`` and ``port``
        initialised (else ValueError naming the argument).  Returns the number of frames
        received.  Never raises for a frame; socket errors other than EAGAIN are counted
        (``RESP_C_RX_ERR``) and end the run.
        """
        cdef int f = _fd(fd, "fd")
        resp_check_ready(engine, port)
        cdef int rounds = <int>resp_arg_int(max_rounds, "max_rounds", 1, FD_MAX)
        return self._run(f, <Engine>engine, <Port>port, rounds)

    def serve(self, fds, engines, ports, extra, timeout_ms, max_rounds=16):
        """Poll the packet sockets ``fds`` (served with ``engines[i]``, ``ports[i]``) and the
        ``extra`` descriptors; serve packets in C until something needs Python or
        ``timeout_ms`` has passed (-1: no limit), however busy the packet sockets are.

        Returns ``(what, index)``: ``(0, -1)`` the time is up, ``(1, i)`` ``extra[i]`` is
        readable, ``(2, i)`` packet socket ``fds[i]`` reported an error or hang-up,
        ``(3, -1)`` poll was interrupted by a signal, ``(4, i)`` ``ports[i]`` queued learn
        misses (targets to solicit downstream; ``Port.take_misses``).  The GIL is
        released while waiting
        and while a batch is handled; no Python object is made per frame or per wake-up.
        Arguments: lists of the same length (``fds``, ``engines``, ``ports``), descriptors
        0 .. 2**31-1, ``timeout_ms`` -1 .. 2**31-1, ``max_rounds`` 1 .. 2**31-1; anything
        else is a ValueError naming the argument and index.
        """
        for name, v in (("fds", fds), ("engines", engines), ("ports", ports),
                        ("extra", extra)):
            if type(v) is not list:
                raise ValueError(f"{name}: expected a list, got {type(v).__name__}")
        cdef Py_ssize_t n = len(fds), m = len(extra), i
        if len(engines) != n or len(ports) != n:
            raise ValueError(f"fds, engines and ports must have the same length "
                             f"({n}, {len(engines)}, {len(ports)})")
        cdef int tmo = <int>resp_arg_int(timeout_ms, "timeout_ms", -1, FD_MAX)
        cdef int rounds = <int>resp_arg_int(max_rounds, "max_rounds", 1, FD_MAX)
        for i in range(n):
            _fd(fds[i], f"fds[{i}]")
            try:
                resp_check_ready(engines[i], ports[i])
            except ValueError as e:
                raise ValueError(f"index {i}: {e}") from None
        for i in range(m):
            _fd(extra[i], f"extra[{i}]")
        cdef pollfd *p = <pollfd *>calloc(n + m + 1, sizeof(pollfd))
        cdef int r, wait
        cdef uint64_t now, deadline = 0
        cdef Engine eng
        cdef Port prt
        if p == NULL:
            raise MemoryError()
        try:
            for i in range(n):
                p[i].fd = fds[i]
                p[i].events = POLLIN
            for i in range(m):
                p[n + i].fd = extra[i]
                p[n + i].events = POLLIN
            if tmo >= 0:
                deadline = _now_ns() + <uint64_t>tmo * 1000000ULL
            while True:
                wait = -1
                if tmo >= 0:
                    now = _now_ns()
                    # the deadline holds however busy the packet sockets are
                    wait = 0 if now >= deadline else <int>((deadline - now + 999999) // 1000000)
                with nogil:
                    r = poll(p, n + m, wait)
                if r < 0:
                    if errno == EINTR:
                        return (3, -1)
                    raise OSError(errno, "poll")
                if r == 0:
                    return (0, -1)
                for i in range(m):
                    if p[n + i].revents:
                        return (1, i)
                for i in range(n):
                    if p[i].revents & (POLLERR | POLLHUP | POLLNVAL):
                        return (2, i)
                    if p[i].revents & POLLIN:
                        eng = <Engine>engines[i]
                        prt = <Port>ports[i]
                        self._run(p[i].fd, eng, prt, rounds)
                        if prt.n_miss:
                            return (4, i)
                if tmo >= 0 and _now_ns() >= deadline:
                    return (0, -1)
        finally:
            free(p)

    @cython.boundscheck(False)
    cdef Py_ssize_t _run(self, int fd, Engine engine, Port port, int max_rounds):
        cdef int rounds = 0, got, i, v, ntx, sent, r
        cdef Py_ssize_t n, total = 0, flen
        cdef uint64_t now
        cdef uint64_t *cnt = port.cnt
        cdef uint8_t *base
        cdef const uint8_t *frame
        with nogil:
            while rounds < max_rounds:
                rounds += 1
                for i in range(self.batch):
                    self.rx[i].msg_hdr.msg_flags = 0
                    self.rx[i].msg_hdr.msg_controllen = CTL
                got = recvmmsg(fd, self.rx, self.batch, MSG_DONTWAIT, NULL)
                if got <= 0:
                    if got < 0 and errno != EAGAIN and errno != EINTR:
                        cnt[RESP_C_RX_ERR] += 1
                    break
                now = _now_ns()
                cnt[RESP_C_BATCHES] += 1
                cnt[RESP_C_RX] += got
                total += got
                ntx = 0
                for i in range(got):
                    if self.rx[i].msg_hdr.msg_flags & MSG_TRUNC:
                        cnt[RESP_C_RX_TRUNC] += 1
                        continue
                    base = self.rxbuf + <size_t>i * self.slot
                    flen = self.rx[i].msg_len
                    if _put_tag_back(&self.rx[i].msg_hdr, base, flen):
                        frame = base
                        flen += HEADROOM
                    else:
                        frame = base + HEADROOM
                    v = resp_decide(engine, port, frame, flen,
                                    self.txbuf + <size_t>ntx * RESP_OUT_CAP, RESP_OUT_CAP,
                                    now, &n)
                    cnt[v] += 1
                    if v == RESP_ANSWER:
                        self.tiov[ntx].iov_len = <size_t>n
                        ntx += 1
                sent = 0
                while sent < ntx:
                    r = sendmmsg(fd, self.tx + sent, ntx - sent, MSG_DONTWAIT)
                    if r <= 0:
                        if r < 0 and errno == EINTR:
                            continue
                        break
                    sent += r
                cnt[RESP_C_TX] += sent
                cnt[RESP_TX_FAILED] += ntx - sent
                if got < self.batch:
                    break
        return total
