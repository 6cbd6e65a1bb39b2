# cython: language_level=3
"""The XDP fast path's loader: libbpf declarations and the map layouts (the C contract).

The map value layouts mirror ``bpf/xdp_ndp.c`` field for field (``xdp_cfg_t``,
``xdp_rule_t``, ``xdp_lpm_key_t``); tests/responder/test_xdp.py checks them against the
BTF of the compiled object through libbpf (sizes) and by running the program.
"""

from libc.stdint cimport uint8_t, uint32_t, uint64_t


cdef extern from "stdarg.h":
    ctypedef struct va_list:
        pass


cdef extern from "stdio.h" nogil:
    int vsnprintf(char *buf, size_t size, const char *fmt, va_list args)


cdef extern from "bpf/libbpf.h" nogil:
    struct bpf_object:
        pass
    struct bpf_program:
        pass
    struct bpf_map:
        pass
    ctypedef int (*libbpf_print_fn_t)(int level, const char *fmt, va_list args)
    libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn)
    bpf_object *bpf_object__open_mem(const void *obj_buf, size_t obj_buf_sz,
                                     const void *opts)
    int bpf_object__load(bpf_object *obj)
    void bpf_object__close(bpf_object *obj)
    bpf_program *bpf_object__find_program_by_name(const bpf_object *obj, const char *name)
    int bpf_program__fd(const bpf_program *prog)
    int bpf_object__find_map_fd_by_name(const bpf_object *obj, const char *name)
    bpf_map *bpf_object__find_map_by_name(const bpf_object *obj, const char *name)
    uint32_t bpf_map__value_size(const bpf_map *m)
    uint32_t bpf_map__key_size(const bpf_map *m)
    int libbpf_num_possible_cpus()
    struct bpf_xdp_attach_opts:
        size_t sz
        int old_prog_fd
    int bpf_xdp_detach(int ifindex, uint32_t flags, const bpf_xdp_attach_opts *opts)
    int bpf_xdp_query_id(int ifindex, int flags, uint32_t *prog_id)


cdef extern from "bpf/bpf.h" nogil:
    int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)
    int bpf_map_lookup_elem(int fd, const void *key, void *value)
    int bpf_map_delete_elem(int fd, const void *key)
    int bpf_map_get_next_key(int fd, const void *key, void *next_key)
    int bpf_prog_get_fd_by_id(uint32_t id)
    int bpf_obj_get_info_by_fd(int bpf_fd, void *info, uint32_t *info_len)
    struct bpf_link_create_opts:
        size_t sz
        uint32_t flags
    int bpf_link_create(int prog_fd, int target_fd, int attach_type,
                        const bpf_link_create_opts *opts)
    struct bpf_test_run_opts:
        size_t sz
        const void *data_in
        void *data_out
        uint32_t data_size_in
        uint32_t data_size_out
        uint32_t retval
        int repeat
        uint32_t duration
    int bpf_prog_test_run_opts(int prog_fd, bpf_test_run_opts *opts)


cdef extern from "linux/bpf.h" nogil:
    enum:
        BPF_ANY
        BPF_XDP
        XDP_ABORTED
        XDP_DROP
        XDP_PASS
        XDP_TX
    struct bpf_prog_info:
        uint32_t id
        char name[16]


cdef extern from "linux/if_link.h" nogil:
    enum:
        XDP_FLAGS_SKB_MODE
        XDP_FLAGS_DRV_MODE
        XDP_FLAGS_UPDATE_IF_NOEXIST


# Map layouts (bpf/xdp_ndp.c).
ctypedef struct xdp_cfg_t:
    uint8_t mac[6]
    uint8_t enabled
    uint8_t has_ll
    uint8_t ll[16]

ctypedef struct xdp_rule_t:
    uint8_t na_flags
    uint8_t solicited
    uint8_t unicast
    uint8_t stateful
    uint8_t src_mode
    uint8_t has_mac
    uint8_t mac[6]
    uint8_t src_fixed[16]

ctypedef struct xdp_lpm_key_t:
    uint32_t prefixlen
    uint8_t addr[16]

cdef enum:
    XDP_C_MAX = 15              # counters in v6_count (XDP_C_* in xdp_ndp.c)
    XDP_MAX_RULES = 4096


cdef class XdpProgram:
    cdef bpf_object *obj
    cdef int prog_fd
    cdef int cfg_fd
    cdef int rules_fd
    cdef int prefix_fd
    cdef int own_fd
    cdef int count_fd
    cdef int ncpu
    cdef set _prefix_keys       # (plen, 16 bytes) now in v6_prefix
    cdef set _own_keys          # 16 bytes now in v6_own
    cdef int _map(self, const char *name, uint32_t ksize, uint32_t vsize) except -1
    cdef int _check(self) except -1
