# cython: language_level=3, autotestdict=False
"""Kernel source-address probes in C: UDP connect() + getsockname(), no packet sent.

The same system calls the C libraries make (glibc getaddrinfo, musl __lookup_name):
one UDP socket per family, reused, disconnected with ``AF_UNSPEC`` between
destinations (Linux keeps a connected UDP socket's first source address otherwise).
Addresses are 16 network-order bytes, IPv4 as IPv4-mapped (RFC 4291 section 2.5.5.2).
This module does I/O; it is called only by ``v6core.resolve``.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from libc.stdint cimport uint8_t, uint16_t, uint32_t
from libc.string cimport memset, memcpy

from libc.errno cimport errno, EINTR

from v6core._linux cimport (
    socklen_t, sockaddr, sockaddr_in, sockaddr_in6, sockaddr_nl, nlmsghdr, ifaddrmsg, timeval,
    socket, connect, bind, getsockname, setsockopt, send, recv, close, htons,
    AF_UNSPEC, AF_INET, AF_INET6, AF_NETLINK, SOCK_DGRAM, SOCK_RAW, SOCK_CLOEXEC, IPPROTO_UDP,
    SOL_SOCKET, SO_RCVTIMEO, NETLINK_ROUTE, NLM_F_REQUEST, NLM_F_DUMP, NLMSG_ERROR, NLMSG_DONE,
    RTM_GETADDR, RTM_NEWADDR, IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS,
)


cdef const uint8_t *_MAPPED = b"\0\0\0\0\0\0\0\0\0\0\xff\xff"


def udp_sources(list destinations, list scope_ids=None) -> list:
    """Source address the kernel picks for each destination, or None.

    Parameters
    ----------
    destinations : list of bytes
        16-byte network-order addresses (IPv4 as IPv4-mapped).
    scope_ids : list of int, optional
        IPv6 zone (interface index) per destination; 0 = none.

    Returns a list of 16-byte sources (IPv4 as IPv4-mapped) or None where connect()
    or getsockname() fails (no route, link-local without a zone, ...).
    """
    cdef Py_ssize_t i, n = len(destinations)
    cdef int fd4 = -1, fd6 = -1
    cdef bint used4 = False, used6 = False
    cdef sockaddr_in d4, s4
    cdef sockaddr_in6 d6, s6
    cdef sockaddr unspec
    cdef socklen_t sl
    cdef const uint8_t *p
    cdef bytes b
    cdef char out[16]
    cdef list result = [None] * n
    cdef object d
    if scope_ids is not None and len(scope_ids) != n:
        raise ValueError(f"{len(scope_ids)} scope ids for {n} destinations")
    memset(&unspec, 0, sizeof(unspec))
    unspec.sa_family = AF_UNSPEC
    try:
        for i in range(n):
            d = destinations[i]
            if type(d) is not bytes or PyBytes_GET_SIZE(d) != 16:
                raise ValueError(f"destinations[{i}]: expected 16 bytes, got {d!r:.60}")
            b = <bytes>d
            p = <const uint8_t *>PyBytes_AS_STRING(b)
            if memcmp_(p, _MAPPED, 12):
                if fd4 < 0:
                    fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP)
                    if fd4 < 0:
                        continue
                elif used4:
                    connect(fd4, &unspec, sizeof(unspec))
                used4 = True
                memset(&d4, 0, sizeof(d4))
                d4.sin_family = AF_INET
                d4.sin_port = htons(65535)
                memcpy(&d4.sin_addr, p + 12, 4)
                if connect(fd4, <sockaddr *>&d4, sizeof(d4)) != 0:
                    continue
                sl = sizeof(s4)
                if getsockname(fd4, <sockaddr *>&s4, &sl) != 0:
                    continue
                memcpy(out, _MAPPED, 12)
                memcpy(out + 12, &s4.sin_addr, 4)
            else:
                if fd6 < 0:
                    fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP)
                    if fd6 < 0:
                        continue
                elif used6:
                    connect(fd6, &unspec, sizeof(unspec))
                used6 = True
                memset(&d6, 0, sizeof(d6))
                d6.sin6_family = AF_INET6
                d6.sin6_port = htons(65535)
                memcpy(&d6.sin6_addr, p, 16)
                if scope_ids is not None:
                    d6.sin6_scope_id = _scope_id(scope_ids[i], i)
                if connect(fd6, <sockaddr *>&d6, sizeof(d6)) != 0:
                    continue
                sl = sizeof(s6)
                if getsockname(fd6, <sockaddr *>&s6, &sl) != 0:
                    continue
                memcpy(out, &s6.sin6_addr, 16)
            result[i] = PyBytes_FromStringAndSize(out, 16)
    finally:
        if fd4 >= 0:
            close(fd4)
        if fd6 >= 0:
            close(fd6)
    return result


cdef uint32_t _scope_id(object v, Py_ssize_t i) except? 0xFFFFFFFF:
    """An interface index (0 .. 2**32-1), or ValueError naming ``scope_ids[i]``."""
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 0xFFFFFFFF:
        raise ValueError(f"scope_ids[{i}]: expected an interface index from 0 to 2**32-1, "
                         f"got {v!r:.60}")
    return <uint32_t>v


cdef inline bint memcmp_(const uint8_t *a, const uint8_t *b, int n) noexcept nogil:
    """True when the first ``n`` bytes are equal."""
    cdef int i
    for i in range(n):
        if a[i] != b[i]:
            return False
    return True


# ------------------------------------------------------------------ rtnetlink address dump

ctypedef struct _req_t:
    nlmsghdr nh
    ifaddrmsg ifa


def ifaddrs() -> list:
    """The kernel's address list over rtnetlink (RTM_GETADDR dump, both families).

    Returns ``[(packed16, prefixlen, ifindex, flags, scope), ...]``: IPv4 as
    IPv4-mapped, the local address (IFA_LOCAL, else IFA_ADDRESS), 32-bit IFA_F_* flags
    (IFA_FLAGS when present).  Raises OSError when netlink fails.
    """
    cdef int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)
    cdef _req_t req
    cdef sockaddr_nl sa
    cdef timeval tv
    cdef char buf[32768]
    cdef ssize_t got
    cdef size_t off, rta_off, mlen
    cdef nlmsghdr *nh
    cdef ifaddrmsg *ifa
    cdef uint16_t rlen, rtype
    cdef const uint8_t *local
    cdef const uint8_t *address
    cdef const uint8_t *raw
    cdef uint32_t flags
    cdef size_t local_len = 0, address_len = 0, need
    cdef char packed[16]
    cdef bint done = False
    cdef list out = []
    cdef int err
    if fd < 0:
        raise OSError(errno, "netlink socket")
    try:
        memset(&sa, 0, sizeof(sa))
        sa.nl_family = AF_NETLINK
        if bind(fd, <sockaddr *>&sa, sizeof(sa)) != 0:
            raise OSError(errno, "netlink bind")
        tv.tv_sec = 2
        tv.tv_usec = 0
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))
        memset(&req, 0, sizeof(req))
        req.nh.nlmsg_len = sizeof(req)
        req.nh.nlmsg_type = RTM_GETADDR
        req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP
        req.nh.nlmsg_seq = 1
        req.ifa.ifa_family = AF_UNSPEC
        if send(fd, &req, sizeof(req), 0) < 0:
            raise OSError(errno, "netlink send")
        while not done:
            got = recv(fd, buf, sizeof(buf), 0)
            if got < 0:
                err = errno
                if err == EINTR:
                    continue
                raise OSError(err, "netlink recv")
            if got == 0:
                break
            off = 0
            while off + sizeof(nlmsghdr) <= <size_t>got:
                nh = <nlmsghdr *>(buf + off)
                mlen = nh.nlmsg_len
                if mlen < sizeof(nlmsghdr) or off + mlen > <size_t>got:
                    done = True
                    break
                if nh.nlmsg_type == NLMSG_DONE:
                    done = True
                    break
                if nh.nlmsg_type == NLMSG_ERROR:
                    raise OSError(-(<int *>(buf + off + sizeof(nlmsghdr)))[0], "netlink error")
                if nh.nlmsg_type == RTM_NEWADDR and mlen >= sizeof(nlmsghdr) + sizeof(ifaddrmsg):
                    ifa = <ifaddrmsg *>(buf + off + sizeof(nlmsghdr))
                    flags = ifa.ifa_flags
                    local = NULL
                    address = NULL
                    rta_off = off + sizeof(nlmsghdr) + sizeof(ifaddrmsg)
                    while rta_off + 4 <= off + mlen:
                        rlen = (<uint16_t *>(buf + rta_off))[0]
                        rtype = (<uint16_t *>(buf + rta_off))[1]
                        if rlen < 4 or rta_off + rlen > off + mlen:
                            break
                        if rtype == IFA_LOCAL:
                            local = <const uint8_t *>(buf + rta_off + 4)
                            local_len = rlen - 4
                        elif rtype == IFA_ADDRESS:
                            address = <const uint8_t *>(buf + rta_off + 4)
                            address_len = rlen - 4
                        elif rtype == IFA_FLAGS and rlen >= 8:
                            flags = (<uint32_t *>(buf + rta_off + 4))[0]
                        rta_off += (rlen + 3) & ~(<size_t>3)
                    raw = local if local != NULL else address
                    need = 4 if ifa.ifa_family == AF_INET else 16
                    if raw != NULL and (local_len if local != NULL else address_len) < need:
                        raw = NULL
                    if raw != NULL and ifa.ifa_family in (AF_INET, AF_INET6):
                        if ifa.ifa_family == AF_INET:
                            memcpy(packed, _MAPPED, 12)
                            memcpy(packed + 12, raw, 4)
                        else:
                            memcpy(packed, raw, 16)
                        out.append((PyBytes_FromStringAndSize(packed, 16), ifa.ifa_prefixlen,
                                    ifa.ifa_index, flags, ifa.ifa_scope))
                off += (mlen + 3) & ~(<size_t>3)
    finally:
        close(fd)
    return out
