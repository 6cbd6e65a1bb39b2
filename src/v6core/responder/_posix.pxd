# cython: language_level=3
"""The Linux system interfaces the responder's compiled loops use (declarations only),
kept in one place as uvloop keeps its includes: batched socket calls, poll, prctl."""

from posix.time cimport timespec
from posix.uio cimport iovec


cdef extern from "<sys/socket.h>" nogil:
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
    int recvmmsg(int fd, mmsghdr *vec, unsigned int vlen, int flags, timespec *timeout)
    int sendmmsg(int fd, mmsghdr *vec, unsigned int vlen, int flags)
    enum:
        MSG_DONTWAIT
        MSG_TRUNC
        SOL_SOCKET
        SCM_TIMESTAMPNS


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
