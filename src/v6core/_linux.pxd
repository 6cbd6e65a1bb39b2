# cython: language_level=3
"""The Linux system interfaces v6core's compiled I/O modules use (declarations only).

Kept in one place, as uvloop keeps its includes: sockets and their batched calls, poll,
prctl, netlink and rtnetlink.  The responder's loop (``responder/_loop.pyx``), the kernel
probes (``_sysprobe.pyx``) and the benchmarks' load generator cimport from here; the
compiled core (``_core/``) does no I/O and never does.
"""

from libc.stdint cimport uint8_t, uint16_t, uint32_t
from posix.time cimport timespec
from posix.uio cimport iovec


cdef extern from "<sys/socket.h>" nogil:
    ctypedef unsigned int socklen_t
    ctypedef unsigned short sa_family_t

    struct sockaddr:
        sa_family_t sa_family

    struct msghdr:
        void *msg_name
        unsigned int msg_namelen
        iovec *msg_iov
        size_t msg_iovlen
        void *msg_control
        size_t msg_controllen
        int msg_flags

    struct mmsghdr:
        msghdr msg_hdr
        unsigned int msg_len

    struct cmsghdr:
        size_t cmsg_len
        int cmsg_level
        int cmsg_type

    cmsghdr *CMSG_FIRSTHDR(msghdr *m)
    cmsghdr *CMSG_NXTHDR(msghdr *m, cmsghdr *c)
    unsigned char *CMSG_DATA(cmsghdr *c)
    size_t CMSG_SPACE(size_t n)
    int socket(int domain, int type, int protocol)
    int connect(int fd, const sockaddr *addr, socklen_t len)
    int bind(int fd, const sockaddr *addr, socklen_t len)
    int getsockname(int fd, sockaddr *addr, socklen_t *len)
    int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
    ssize_t send(int fd, const void *buf, size_t n, int flags)
    ssize_t recv(int fd, void *buf, size_t n, int flags)
    int recvmmsg(int fd, mmsghdr *vec, unsigned int vlen, int flags, timespec *timeout)
    int sendmmsg(int fd, mmsghdr *vec, unsigned int vlen, int flags)
    enum:
        AF_UNSPEC
        AF_INET
        AF_INET6
        SOCK_DGRAM
        SOCK_RAW
        SOCK_CLOEXEC
        MSG_DONTWAIT
        MSG_TRUNC
        SOL_SOCKET
        SO_RCVTIMEO
        SCM_TIMESTAMPNS


cdef extern from "<netinet/in.h>" nogil:
    enum:
        IPPROTO_UDP
    struct in_addr:
        uint32_t s_addr
    struct sockaddr_in:
        sa_family_t sin_family
        uint16_t sin_port
        in_addr sin_addr
    struct in6_addr:
        uint8_t s6_addr[16]
    struct sockaddr_in6:
        sa_family_t sin6_family
        uint16_t sin6_port
        uint32_t sin6_flowinfo
        in6_addr sin6_addr
        uint32_t sin6_scope_id
    uint16_t htons(uint16_t)


cdef extern from "<unistd.h>" nogil:
    int close(int fd)


cdef extern from "<sys/time.h>" nogil:
    struct timeval:
        long tv_sec
        long tv_usec


cdef extern from "<poll.h>" nogil:
    struct pollfd:
        int fd
        short events
        short revents
    int poll(pollfd *fds, unsigned long nfds, int timeout)
    enum:
        POLLIN
        POLLERR
        POLLHUP
        POLLNVAL


cdef extern from "<sys/prctl.h>" nogil:
    int prctl(int option, unsigned long arg2, unsigned long a3, unsigned long a4,
              unsigned long a5)
    enum:
        PR_SET_TIMERSLACK


cdef extern from "<linux/if_packet.h>" nogil:
    # PACKET_AUXDATA: the kernel keeps a received frame's 802.1Q tag out of the frame
    # bytes and reports it here (packet(7))
    struct tpacket_auxdata:
        uint32_t tp_status
        uint32_t tp_len
        uint32_t tp_snaplen
        uint16_t tp_mac
        uint16_t tp_net
        uint16_t tp_vlan_tci
        uint16_t tp_vlan_tpid
    enum:
        SOL_PACKET
        PACKET_AUXDATA
        TP_STATUS_VLAN_VALID
        TP_STATUS_VLAN_TPID_VALID


cdef extern from "<linux/netlink.h>" nogil:
    enum:
        AF_NETLINK
        NETLINK_ROUTE
        NLM_F_REQUEST
        NLM_F_DUMP
        NLMSG_ERROR
        NLMSG_DONE
    struct nlmsghdr:
        uint32_t nlmsg_len
        uint16_t nlmsg_type
        uint16_t nlmsg_flags
        uint32_t nlmsg_seq
        uint32_t nlmsg_pid
    struct sockaddr_nl:
        sa_family_t nl_family
        uint32_t nl_pid
        uint32_t nl_groups


cdef extern from "<linux/rtnetlink.h>" nogil:
    enum:
        RTM_GETADDR
        RTM_NEWADDR


cdef extern from "<linux/if_addr.h>" nogil:
    struct ifaddrmsg:
        uint8_t ifa_family
        uint8_t ifa_prefixlen
        uint8_t ifa_flags
        uint8_t ifa_scope
        uint32_t ifa_index
    enum:
        IFA_ADDRESS
        IFA_LOCAL
        IFA_FLAGS
