# cython: language_level=3
"""The responder's per-batch loop: recvmmsg, decide, sendmmsg, with no Python object per frame.

:class:`Batcher` owns preallocated receive and transmit slots.  ``Batcher.run(fd, engine,
port)`` receives up to ``batch`` frames per ``recvmmsg`` call (non-blocking), runs
:func:`v6core.responder._engine.resp_decide` on each, counts each verdict into the port's
counters and hands every NA of the batch to the kernel in one ``sendmmsg``.  It repeats
until the socket is empty or ``max_rounds`` batches were done (so that the daemon's other
duties -- signals, netlink, the stats socket -- are served under a flood), and returns
the number of frames handled.  The GIL is released for the whole run.
"""

cimport cython
from libc.errno cimport errno, EAGAIN, EINTR
from libc.stdint cimport uint8_t, uint64_t
from libc.stdlib cimport calloc, free
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC
from posix.uio cimport iovec

from v6core.responder._engine cimport (
    Engine, Port, resp_decide, RESP_ANSWER, RESP_TX_FAILED, RESP_C_RX, RESP_C_TX,
    RESP_C_RX_TRUNC, RESP_C_BATCHES, RESP_C_RX_ERR, RESP_OUT_CAP
)


from v6core.responder._posix cimport (
    mmsghdr, pollfd, poll, recvmmsg, sendmmsg, MSG_DONTWAIT, MSG_TRUNC, POLLIN, POLLERR,
    POLLHUP, POLLNVAL,
)


cdef class Batcher:
    """Preallocated recvmmsg/sendmmsg slots for one socket.

    Parameters
    ----------
    batch : int
        Frames per system call (1 .. 1024).
    slot : int
        Receive slot size in bytes (a longer frame is counted as truncated and dropped).
    """
    cdef uint8_t *rxbuf
    cdef uint8_t *txbuf
    cdef mmsghdr *rx
    cdef mmsghdr *tx
    cdef iovec *riov
    cdef iovec *tiov
    cdef readonly int batch
    cdef readonly int slot

    def __cinit__(self, int batch=64, int slot=2048):
        if not 1 <= batch <= 1024:
            raise ValueError("batch must be 1 .. 1024")
        if not 128 <= slot <= 65536:
            raise ValueError("slot must be 128 .. 65536 bytes")
        self.batch = batch
        self.slot = slot
        self.rxbuf = <uint8_t *>calloc(batch, slot)
        self.txbuf = <uint8_t *>calloc(batch, RESP_OUT_CAP)
        self.rx = <mmsghdr *>calloc(batch, sizeof(mmsghdr))
        self.tx = <mmsghdr *>calloc(batch, sizeof(mmsghdr))
        self.riov = <iovec *>calloc(batch, sizeof(iovec))
        self.tiov = <iovec *>calloc(batch, sizeof(iovec))
        if not (self.rxbuf and self.txbuf and self.rx and self.tx and self.riov and self.tiov):
            raise MemoryError()
        cdef int i
        for i in range(batch):
            self.riov[i].iov_base = self.rxbuf + <size_t>i * slot
            self.riov[i].iov_len = slot
            self.rx[i].msg_hdr.msg_iov = &self.riov[i]
            self.rx[i].msg_hdr.msg_iovlen = 1
            self.tiov[i].iov_base = self.txbuf + <size_t>i * RESP_OUT_CAP
            self.tx[i].msg_hdr.msg_iov = &self.tiov[i]
            self.tx[i].msg_hdr.msg_iovlen = 1

    def __init__(self, int batch=64, int slot=2048):
        pass   # all done in __cinit__; here for the signature

    def __dealloc__(self):
        free(self.rxbuf)
        free(self.txbuf)
        free(self.rx)
        free(self.tx)
        free(self.riov)
        free(self.tiov)

    def run(self, int fd, Engine engine not None, Port port not None, int max_rounds=16):
        """Serve ``fd`` until it has nothing queued or ``max_rounds`` batches are done.

        Returns the number of frames received.  Never raises for a frame; socket errors
        other than EAGAIN are counted (``RESP_C_RX_ERR``) and end the run.
        """
        return self._run(fd, engine, port, max_rounds)

    def serve(self, list fds not None, list engines not None, list ports not None,
              list extra not None, int timeout_ms, int max_rounds=16):
        """Poll the packet sockets ``fds`` (served with ``engines[i]``, ``ports[i]``) and the
        ``extra`` descriptors; serve packets in C until something needs Python.

        Returns ``(what, index)``: ``(0, -1)`` timeout, ``(1, i)`` ``extra[i]`` is
        readable, ``(2, i)`` packet socket ``fds[i]`` reported an error or hang-up,
        ``(3, -1)`` poll was interrupted by a signal, ``(4, i)`` ``ports[i]`` queued learn
        misses (targets to solicit downstream; ``Port.take_misses``).  The GIL is
        released while waiting
        and while a batch is handled; no Python object is made per frame or per wake-up.
        """
        cdef Py_ssize_t n = len(fds), m = len(extra), i
        if len(engines) != n or len(ports) != n:
            raise ValueError("fds, engines and ports must have the same length")
        cdef pollfd *p = <pollfd *>calloc(n + m + 1, sizeof(pollfd))
        cdef int r
        cdef Engine eng
        cdef Port prt
        if p == NULL:
            raise MemoryError()
        try:
            for i in range(n):
                p[i].fd = fds[i]
                p[i].events = POLLIN
                if not isinstance(engines[i], Engine) or not isinstance(ports[i], Port):
                    raise TypeError("engines and ports must be Engine and Port objects")
            for i in range(m):
                p[n + i].fd = extra[i]
                p[n + i].events = POLLIN
            while True:
                with nogil:
                    r = poll(p, n + m, timeout_ms)
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
                        self._run(p[i].fd, eng, prt, max_rounds)
                        if prt.n_miss:
                            return (4, i)
        finally:
            free(p)

    @cython.boundscheck(False)
    cdef Py_ssize_t _run(self, int fd, Engine engine, Port port, int max_rounds):
        cdef int rounds = 0, got, i, v, ntx, sent, r
        cdef Py_ssize_t n, total = 0
        cdef timespec ts
        cdef uint64_t now
        cdef uint64_t *cnt = port.cnt
        with nogil:
            while rounds < max_rounds:
                rounds += 1
                for i in range(self.batch):
                    self.rx[i].msg_hdr.msg_flags = 0
                got = recvmmsg(fd, self.rx, self.batch, MSG_DONTWAIT, NULL)
                if got <= 0:
                    if got < 0 and errno != EAGAIN and errno != EINTR:
                        cnt[RESP_C_RX_ERR] += 1
                    break
                clock_gettime(CLOCK_MONOTONIC, &ts)
                now = <uint64_t>ts.tv_sec * 1000000000ULL + <uint64_t>ts.tv_nsec
                cnt[RESP_C_BATCHES] += 1
                cnt[RESP_C_RX] += got
                total += got
                ntx = 0
                for i in range(got):
                    if self.rx[i].msg_hdr.msg_flags & MSG_TRUNC:
                        cnt[RESP_C_RX_TRUNC] += 1
                        continue
                    v = resp_decide(engine, port, self.rxbuf + <size_t>i * self.slot,
                                    self.rx[i].msg_len,
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
