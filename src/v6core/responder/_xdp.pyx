# cython: language_level=3
"""Load, fill, attach and test-run the XDP fast path (``bpf/xdp_ndp.c``) through libbpf.

Compiled only where libbpf's headers are present at build time (Debian: libbpf-dev);
:mod:`v6core.responder.xdp` turns its absence into a clear message.  No policy here: the
rules come compiled from an :class:`~v6core.responder._engine.Engine` (the same
``resp_rule_t`` the engine decides with), the prefixes from the caller.
"""

from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.errno cimport errno, ENOENT
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memset, memcpy, strerror
from posix.unistd cimport close

from v6core._core.types cimport addr128_t, addr_store
from v6core._core.addr cimport addr_from_object
from v6core.responder._engine cimport (
    Engine, resp_rule_t, RESP_SRC_LINKLOCAL, RESP_SRC_FIXED
)

NCOUNTERS = XDP_C_MAX
MAX_RULES = XDP_MAX_RULES
VERDICT_PASS = XDP_PASS
VERDICT_TX = XDP_TX
VERDICT_DROP = XDP_DROP
VERDICT_ABORTED = XDP_ABORTED

cdef char _last_msg[512]
_last_msg[0] = 0


cdef int _on_libbpf_print(int level, const char *fmt, va_list args) noexcept nogil:
    # keep libbpf's last warning for our error message instead of printing it
    if level <= 1:     # LIBBPF_WARN
        vsnprintf(_last_msg, sizeof(_last_msg), fmt, args)
    return 0


libbpf_set_print(_on_libbpf_print)


cdef object _os_error(int err, str what):
    cdef bytes detail = bytes(_last_msg).strip()
    _last_msg[0] = 0
    msg = f"{what}: {strerror(err).decode()}"
    if detail:
        msg += f" (libbpf: {detail.decode(errors='replace')})"
    return OSError(err, msg)


cdef class XdpProgram:
    """One loaded copy of the XDP program with its own maps (one per interface).

    Parameters
    ----------
    obj : bytes
        The compiled BPF object file (ELF, ``clang -target bpf``).
    """

    def __cinit__(self):
        self.obj = NULL
        self.prog_fd = -1

    def __init__(self, const uint8_t[::1] obj not None):
        if self.obj != NULL:
            raise RuntimeError("XdpProgram is already loaded")
        if obj.shape[0] == 0:
            raise ValueError("the BPF object is empty")
        _last_msg[0] = 0
        self.obj = bpf_object__open_mem(&obj[0], obj.shape[0], NULL)
        if self.obj == NULL:
            raise _os_error(errno or 22, "cannot open the BPF object")
        cdef int rc = bpf_object__load(self.obj)
        if rc < 0:
            bpf_object__close(self.obj)
            self.obj = NULL
            raise _os_error(-rc, "cannot load the XDP program into the kernel")
        cdef bpf_program *prog = bpf_object__find_program_by_name(self.obj, b"v6core_ndp")
        if prog == NULL:
            raise OSError(ENOENT, "the BPF object has no program v6core_ndp")
        self.prog_fd = bpf_program__fd(prog)
        self.cfg_fd = self._map(b"v6_cfg", sizeof(uint32_t), sizeof(xdp_cfg_t))
        self.rules_fd = self._map(b"v6_rules", sizeof(uint32_t), sizeof(xdp_rule_t))
        self.prefix_fd = self._map(b"v6_prefix", sizeof(xdp_lpm_key_t), sizeof(uint32_t))
        self.own_fd = self._map(b"v6_own", 16, 1)
        self.count_fd = self._map(b"v6_count", sizeof(uint32_t), sizeof(uint64_t))
        self.ncpu = libbpf_num_possible_cpus()
        if self.ncpu <= 0:
            raise OSError(-self.ncpu, "libbpf cannot count the possible CPUs")
        self._prefix_keys = set()
        self._own_keys = set()

    cdef int _map(self, const char *name, uint32_t ksize, uint32_t vsize) except -1:
        cdef bpf_map *m = bpf_object__find_map_by_name(self.obj, name)
        if m == NULL:
            raise OSError(ENOENT, f"the BPF object has no map {name.decode()}")
        if bpf_map__key_size(m) != ksize or bpf_map__value_size(m) != vsize:
            raise OSError(22, f"map {name.decode()}: key/value sizes "
                              f"{bpf_map__key_size(m)}/{bpf_map__value_size(m)}, "
                              f"expected {ksize}/{vsize} (object and loader disagree)")
        return bpf_object__find_map_fd_by_name(self.obj, name)

    def __dealloc__(self):
        if self.obj != NULL:
            bpf_object__close(self.obj)
            self.obj = NULL

    def close(self):
        """Unload (the kernel keeps the program while an attachment holds it)."""
        if self.obj != NULL:
            bpf_object__close(self.obj)
            self.obj = NULL
            self.prog_fd = -1

    cdef int _check(self) except -1:
        if self.obj == NULL:
            raise ValueError("the XDP program is closed")
        return 0

    @property
    def fd(self):
        """The program's file descriptor (-1 once closed)."""
        return self.prog_fd

    def set_config(self, mac, linklocal, bint enabled):
        """The interface's MAC (6 bytes), link-local address (or None) and whether the
        program answers at all (False: every frame is passed to the AF_PACKET path)."""
        self._check()
        cdef xdp_cfg_t cfg
        cdef uint32_t key = 0
        memset(&cfg, 0, sizeof(cfg))
        mac = bytes(mac)
        if len(mac) != 6:
            raise ValueError(f"mac: expected 6 bytes, got {len(mac)}")
        memcpy(cfg.mac, <const char *>mac, 6)
        cfg.enabled = enabled
        cdef addr128_t a
        if linklocal is not None:
            addr_from_object(linklocal, &a)
            addr_store(cfg.ll, a)
            cfg.has_ll = 1
        if bpf_map_update_elem(self.cfg_fd, &key, &cfg, BPF_ANY) != 0:
            raise _os_error(errno, "updating v6_cfg")

    def set_enabled(self, bint enabled):
        """Answer (True) or pass everything (False), keeping the rest of the config."""
        self._check()
        cdef xdp_cfg_t cfg
        cdef uint32_t key = 0
        if bpf_map_lookup_elem(self.cfg_fd, &key, &cfg) != 0:
            raise _os_error(errno, "reading v6_cfg")
        cfg.enabled = enabled
        if bpf_map_update_elem(self.cfg_fd, &key, &cfg, BPF_ANY) != 0:
            raise _os_error(errno, "updating v6_cfg")

    def set_rules(self, Engine engine not None, prefixes):
        """Copy ``engine``'s compiled rules into v6_rules and ``prefixes`` into v6_prefix.

        ``prefixes``: ``(prefix length, 16-byte network address, value)`` tuples, where
        value is rule index * 2, + 1 for one of the rule's excludes (as the engine's
        table).  Entries no longer listed are deleted afterwards.  Call with the program
        disabled (:meth:`set_enabled`) so that no frame sees half of the update.
        """
        self._check()
        cdef Py_ssize_t i
        cdef uint32_t k, val
        cdef xdp_rule_t xr
        cdef resp_rule_t *r
        cdef xdp_lpm_key_t key
        if engine.n_rules > XDP_MAX_RULES:
            raise ValueError(f"{engine.n_rules} rules: the XDP program holds at most "
                             f"{XDP_MAX_RULES}")
        for i in range(engine.n_rules):
            r = &engine.rules[i]
            memset(&xr, 0, sizeof(xr))
            xr.na_flags = r.na_flags
            xr.solicited = r.solicited
            xr.unicast = r.unicast
            xr.stateful = r.auto_route or r.live != 0   # auto, learn, docker: the engine
            xr.src_mode = (1 if r.src_mode == RESP_SRC_LINKLOCAL else
                           2 if r.src_mode == RESP_SRC_FIXED else 0)
            xr.has_mac = r.has_mac
            memcpy(xr.mac, r.mac, 6)
            addr_store(xr.src_fixed, r.src_fixed)
            k = <uint32_t>i
            if bpf_map_update_elem(self.rules_fd, &k, &xr, BPF_ANY) != 0:
                raise _os_error(errno, f"updating v6_rules[{i}]")
        new = set()
        for n, (plen, addr, value) in enumerate(prefixes):
            addr = bytes(addr)
            if len(addr) != 16 or not 0 <= plen <= 128:
                raise ValueError(f"prefixes[{n}]: expected (0..128, 16 bytes, value)")
            if not 0 <= value < 2 * engine.n_rules:
                raise ValueError(f"prefixes[{n}]: value {value} names no rule")
            key.prefixlen = plen
            memcpy(key.addr, <const char *>addr, 16)
            val = <uint32_t>value
            if bpf_map_update_elem(self.prefix_fd, &key, &val, BPF_ANY) != 0:
                raise _os_error(errno, f"updating v6_prefix (prefixes[{n}])")
            new.add((plen, addr))
        for plen, addr in self._prefix_keys - new:
            key.prefixlen = plen
            memcpy(key.addr, <const char *>addr, 16)
            bpf_map_delete_elem(self.prefix_fd, &key)
        self._prefix_keys = new

    def set_own(self, addresses):
        """The host's own addresses (16-byte packed each): never answered here."""
        self._check()
        cdef uint8_t one = 1
        new = {bytes(a) for a in addresses}
        for a in new:
            if len(a) != 16:
                raise ValueError(f"own address {a!r}: expected 16 bytes")
        for a in new - self._own_keys:
            if bpf_map_update_elem(self.own_fd, <const char *>a, &one, BPF_ANY) != 0:
                raise _os_error(errno, "updating v6_own")
        for a in self._own_keys - new:
            bpf_map_delete_elem(self.own_fd, <const char *>a)
        self._own_keys = new

    def counters(self):
        """The per-reason counters summed over CPUs (list of ``NCOUNTERS`` ints)."""
        self._check()
        cdef uint64_t *vals = <uint64_t *>calloc(self.ncpu, sizeof(uint64_t))
        cdef uint32_t k
        cdef int c
        cdef uint64_t tot
        if vals == NULL:
            raise MemoryError()
        out = []
        try:
            for k in range(XDP_C_MAX):
                if bpf_map_lookup_elem(self.count_fd, &k, vals) != 0:
                    raise _os_error(errno, "reading v6_count")
                tot = 0
                for c in range(self.ncpu):
                    tot += vals[c]
                out.append(tot)
        finally:
            free(vals)
        return out

    def test_run(self, const uint8_t[::1] frame not None):
        """Run the program once on ``frame`` (BPF_PROG_TEST_RUN, no network).

        Returns ``(xdp verdict, frame after the program)``; counters count as usual.
        """
        self._check()
        if frame.shape[0] < 14 or frame.shape[0] > 3000:
            # the kernel refuses frames shorter than an Ethernet header
            raise ValueError(f"frame: {frame.shape[0]} bytes; test runs take 14..3000")
        cdef bpf_test_run_opts opts
        cdef uint8_t out[4096]
        memset(&opts, 0, sizeof(opts))
        opts.sz = sizeof(opts)
        opts.data_in = &frame[0]
        opts.data_size_in = <uint32_t>frame.shape[0]
        opts.data_out = out
        opts.data_size_out = sizeof(out)
        opts.repeat = 1
        cdef int rc = bpf_prog_test_run_opts(self.prog_fd, &opts)
        if rc != 0:
            raise _os_error(-rc if rc < 0 else errno, "BPF_PROG_TEST_RUN")
        return opts.retval, PyBytes_FromStringAndSize(<char *>out, opts.data_size_out)


def attach(XdpProgram prog not None, int ifindex, bint native):
    """Attach ``prog`` to ``ifindex`` through a BPF link, in native (driver) or generic
    (skb) mode; returns the link's file descriptor.  Closing it detaches the program, so
    the kernel detaches it on exit, on a crash too."""
    prog._check()
    cdef bpf_link_create_opts opts
    memset(&opts, 0, sizeof(opts))
    opts.sz = sizeof(opts)
    opts.flags = XDP_FLAGS_DRV_MODE if native else XDP_FLAGS_SKB_MODE
    _last_msg[0] = 0
    cdef int fd = bpf_link_create(prog.prog_fd, ifindex, BPF_XDP, &opts)
    if fd < 0:
        raise _os_error(-fd, f"attaching XDP ({'native' if native else 'generic'}) to "
                             f"ifindex {ifindex}")
    return fd


def attached(int ifindex):
    """``(program id, program name)`` of the XDP program on ``ifindex``, or ``(0, "")``."""
    cdef uint32_t pid = 0
    cdef int rc = bpf_xdp_query_id(ifindex, 0, &pid)
    cdef bpf_prog_info info
    cdef uint32_t ilen = sizeof(info)
    if rc < 0 or pid == 0:
        return 0, ""
    cdef int fd = bpf_prog_get_fd_by_id(pid)
    if fd < 0:
        return pid, ""
    memset(&info, 0, sizeof(info))
    rc = bpf_obj_get_info_by_fd(fd, &info, &ilen)
    close(fd)
    if rc != 0:
        return pid, ""
    return pid, info.name.decode(errors="replace")


def detach_legacy(int ifindex):
    """Remove a netlink-attached XDP program (generic or native) from ``ifindex``, e.g.
    one left by ``ip link set ... xdp``; a BPF-link attachment is not removable this way
    (:func:`attached` tells what is left)."""
    for flags in (XDP_FLAGS_SKB_MODE, XDP_FLAGS_DRV_MODE):
        bpf_xdp_detach(ifindex, flags, NULL)
