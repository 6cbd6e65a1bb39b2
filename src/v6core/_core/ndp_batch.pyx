# cython: language_level=3
"""The batch API: N frames laid out in one buffer (an mmap'd ring, a recvmmsg arena) are
validated, parsed or answered, and N NAs built, with the GIL released and no Python object
per frame.  Every offset, length, output array and buffer is checked first (ValueError
naming the argument and the index)."""

cimport cython
from libc.stdint cimport uint8_t, int64_t

cimport numpy as cnp
import numpy as np

from v6core._core.types cimport addr128_t, addr_load, addr_store
from v6core._core.addr cimport addr_from_object
from v6core._core.ndp_types cimport *
from v6core._core.ndp_parse cimport ndp_parse_ex, ndp_parse_batch
from v6core._core.ndp_build cimport ndp_build_na, ndp_build_na_reply
from v6core._core.ndp_args cimport (
    _byte_view, _parse_flags, _mac_from, _vlan_from, _out_view, _no_overlap,
)

cnp.import_array()


cdef inline const uint8_t *_base(const uint8_t[::1] data) noexcept:
    # never &data[0] of an empty buffer: a batch of zero-length frames is legal
    return &data[0] if data.shape[0] else <const uint8_t *>b""


_INT64_MAX = np.iinfo(np.int64).max


cdef object _index_array(object values, str name):
    """``values`` (array-like of integers) as a C-contiguous 1-d int64 array whose every
    entry is in 0 .. 2**63 - 1; ValueError naming ``name`` and the first bad index."""
    cdef Py_ssize_t i
    try:
        a = np.asarray(values)
    except (ValueError, TypeError, OverflowError) as e:
        raise ValueError(f"{name} must be a 1-d array of integers ({e})") from None
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {a.shape}")
    if a.shape[0] == 0:                 # [] is float64 to numpy: no frames, nothing to check
        return np.empty(0, dtype=np.int64)
    if a.dtype.kind == "O":
        for i in range(a.shape[0]):
            v = a[i]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"{name}[{i}]: {v!r} is not an integer")
            if not 0 <= v <= _INT64_MAX:
                raise ValueError(f"{name}[{i}]: {v} is out of range 0..2**63-1")
        return np.ascontiguousarray(a.astype(np.int64))
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers, got dtype {a.dtype}")
    if a.dtype.kind == "i":
        bad = np.flatnonzero(a < 0)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{name}[{i}]: {int(a[i])} is negative")
    elif a.dtype.itemsize >= 8:
        bad = np.flatnonzero(a > _INT64_MAX)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{name}[{i}]: {int(a[i])} is out of range 0..2**63-1")
    return np.ascontiguousarray(a, dtype=np.int64)


cdef uint8_t[::1] _out_u8(object a, Py_ssize_t n, str name):
    """A writable C-contiguous uint8 array of ``n`` entries, else ValueError naming it."""
    cdef uint8_t[::1] v
    try:
        v = a
    except (ValueError, TypeError, BufferError) as e:
        raise ValueError(f"{name} must be a writable C-contiguous uint8 array ({e})") \
            from None
    if v.shape[0] != n:
        raise ValueError(f"{name} has {v.shape[0]} entries for {n} frames")
    return v


cdef int64_t[::1] _out_i64(object a, Py_ssize_t n, str name):
    """A writable C-contiguous int64 array of ``n`` entries, else ValueError naming it."""
    cdef int64_t[::1] v
    try:
        v = a
    except (ValueError, TypeError, BufferError) as e:
        raise ValueError(f"{name} must be a writable C-contiguous int64 array ({e})") \
            from None
    if v.shape[0] != n:
        raise ValueError(f"{name} has {v.shape[0]} entries for {n} frames")
    return v


cdef object _check_layout(const uint8_t[::1] data, object offsets, object lengths,
                          Py_ssize_t *n):
    """offsets and lengths as int64 arrays, each frame inside ``data`` (ValueError naming
    the argument and the frame index otherwise)."""
    off = _index_array(offsets, "offsets")
    ln = _index_array(lengths, "lengths")
    if ln.shape != off.shape:
        raise ValueError(f"offsets and lengths must be of one shape, got "
                         f"{off.shape} and {ln.shape}")
    n[0] = off.shape[0]
    if n[0]:
        # offset > size - length, not offset + length > size: both are < 2**63 here, so
        # the difference cannot wrap where the sum could
        bad = np.flatnonzero(off > data.shape[0] - ln)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"frame {i}: offsets[{i}] {int(off[i])} + lengths[{i}] "
                             f"{int(ln[i])} is outside the buffer of {data.shape[0]} bytes")
    return off, ln


def validate_batch(frames, offsets, lengths, out=None, *, bint ip6=False,
                   bint verify_checksum=True):
    """Validate N frames laid out in one buffer; no Python object per frame.

    Parameters
    ----------
    frames : bytes-like
        The buffer (e.g. an mmap'd receive ring or a recvmmsg arena).
    offsets, lengths : array-like of int, shape (N,)
        Frame ``i`` is ``frames[offsets[i] : offsets[i] + lengths[i]]`` (bytes).
    out : numpy.ndarray of uint8, shape (N,), optional
        Receives the reason codes (:class:`~v6core.errors.DropReason` values; 0 = valid).

    Returns
    -------
    numpy.ndarray of uint8, shape (N,)
    """
    cdef const uint8_t[::1] data = _byte_view(frames)
    cdef Py_ssize_t n
    off, ln = _check_layout(data, offsets, lengths, &n)
    if out is None:
        out = np.empty(n, dtype=np.uint8)
    cdef uint8_t[::1] rv = _out_u8(out, n, "out")
    cdef const int64_t[::1] o = off
    cdef const int64_t[::1] lv = ln
    cdef int fl = _parse_flags(ip6, verify_checksum)
    cdef const uint8_t *base = _base(data)
    if n:
        with nogil:
            ndp_parse_batch(base, &o[0], &lv[0], n, fl, &rv[0], NULL)
    return out


# The fields of ndp_pkt_t as a numpy structured dtype (same layout, so parse_batch can
# write straight into the array).
cdef object _pkt_dtype():
    cdef ndp_pkt_t p
    cdef char *b = <char *>&p
    fields = [
        ("ip6_off", np.uint32, <char *>&p.ip6_off - b),
        ("icmp_off", np.uint32, <char *>&p.icmp_off - b),
        ("icmp_len", np.uint32, <char *>&p.icmp_len - b),
        ("opt_off", np.uint32, <char *>&p.opt_off - b),
        ("end", np.uint32, <char *>&p.end - b),
        ("bad_off", np.uint32, <char *>&p.bad_off - b),
        ("vlan_tci", np.int32, <char *>&p.vlan_tci - b),
        ("type", np.uint8, <char *>&p.type - b),
        ("code", np.uint8, <char *>&p.code - b),
        ("hop_limit", np.uint8, <char *>&p.hop_limit - b),
        ("flags", np.uint8, <char *>&p.flags - b),
        ("n_ext", np.uint8, <char *>&p.n_ext - b),
        ("n_prefix", np.uint8, <char *>&p.n_prefix - b),
        ("n_opts", np.uint16, <char *>&p.n_opts - b),
        ("sll_off", np.uint32, <char *>&p.sll_off - b),
        ("tll_off", np.uint32, <char *>&p.tll_off - b),
        ("prefix_off", np.uint32, <char *>&p.prefix_off - b),
        ("mtu_off", np.uint32, <char *>&p.mtu_off - b),
        ("nonce_off", np.uint32, <char *>&p.nonce_off - b),
        ("nonce_len", np.uint32, <char *>&p.nonce_len - b),
        ("redir_off", np.uint32, <char *>&p.redir_off - b),
        # addresses: host-order halves (hi = bytes 0-7 as a big-endian integer)
        ("src", np.uint64, (2,), <char *>&p.src - b),
        ("dst", np.uint64, (2,), <char *>&p.dst - b),
        ("target", np.uint64, (2,), <char *>&p.target - b),
        ("rdst", np.uint64, (2,), <char *>&p.rdst - b),
    ]
    names = [f[0] for f in fields]
    formats = [f[1] if len(f) == 3 else (f[1], f[2]) for f in fields]
    offs = [f[-1] for f in fields]
    return np.dtype({"names": names, "formats": formats, "offsets": offs,
                     "itemsize": sizeof(ndp_pkt_t)})


PKT_DTYPE = _pkt_dtype()


def parse_batch(frames, offsets, lengths, *, bint ip6=False, bint verify_checksum=True):
    """Parse and validate N frames laid out in one buffer; no Python object per frame.

    Parameters are as for :func:`validate_batch`.

    Returns
    -------
    reasons : numpy.ndarray of uint8, shape (N,)
        :class:`~v6core.errors.DropReason` values (0 = valid).
    pkts : numpy.ndarray of ``PKT_DTYPE``, shape (N,)
        The C parse results (``ndp_pkt_t``): offsets are relative to each frame's start;
        ``src``/``dst``/``target``/``rdst`` are pairs of uint64 (hi = bytes 0-7, lo =
        bytes 8-15, each the big-endian bytes as an integer; see :func:`addresses`).
    """
    cdef const uint8_t[::1] data = _byte_view(frames)
    cdef Py_ssize_t n
    off, ln = _check_layout(data, offsets, lengths, &n)
    reasons = np.empty(n, dtype=np.uint8)
    pkts = np.zeros(n, dtype=PKT_DTYPE)
    cdef uint8_t[::1] rv = reasons
    cdef const int64_t[::1] o = off
    cdef const int64_t[::1] lv = ln
    cdef ndp_pkt_t *pp = <ndp_pkt_t *>cnp.PyArray_DATA(pkts)
    cdef int fl = _parse_flags(ip6, verify_checksum)
    cdef const uint8_t *base = _base(data)
    if n:
        with nogil:
            ndp_parse_batch(base, &o[0], &lv[0], n, fl, &rv[0], pp)
    return reasons, pkts


def addresses(field) -> np.ndarray:
    """Turn an address field of :data:`PKT_DTYPE` (shape (N, 2) uint64) into (N, 16) uint8
    network-order bytes."""
    try:
        a = np.ascontiguousarray(field, dtype=np.uint64)
    except (ValueError, TypeError, OverflowError) as e:
        raise ValueError(f"field must be (N, 2) uint64 address halves ({e})") from None
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"field must have shape (N, 2), got {a.shape}")
    return a.astype(">u8").view(np.uint8).reshape(a.shape[0], 16)


@cython.initializedcheck(False)   # every view the loop reads is assigned before it
def write_na_replies(frames, offsets, lengths, mac, out, out_offsets=None,
                     out_lengths=None, *, mask=None, bint router=False,
                     bint override=True, bint ip6=False):
    """Parse N frames and write the NA answering each valid NS into one output buffer.

    Frame ``i`` (``frames[offsets[i] : offsets[i] + lengths[i]]``) that is a valid NS
    (and, if ``mask`` is given, has ``mask[i]`` nonzero) gets the reply of
    :func:`write_na_reply` (source = target, TLLAO = ``mac``) packed into ``out``;
    ``out_offsets[i]``/``out_lengths[i]`` say where (length 0: no reply).  No Python
    object is made per frame and the GIL is released.

    Returns
    -------
    reasons : numpy.ndarray of uint8, shape (N,)
        The :class:`~v6core.errors.DropReason` of each input frame.
    out_offsets, out_lengths : numpy.ndarray of int64, shape (N,)
    count : int
        Number of replies written.  Raises ValueError if ``out`` is too small for them.
    """
    cdef const uint8_t[::1] data = _byte_view(frames)
    cdef Py_ssize_t n, i, pos = 0, cap, count = 0, rc
    cdef uint8_t m[6]
    cdef uint8_t[::1] ov = _out_view(out)
    cdef uint8_t *buf = &ov[0]
    cap = ov.shape[0]
    cdef ndp_pkt_t pkt
    cdef uint8_t fl = (NDP_NA_ROUTER if router else 0) | (NDP_NA_OVERRIDE if override else 0)
    cdef int pflags = NDP_PARSE_IP6 if ip6 else 0
    _mac_from(mac, m)
    off, ln = _check_layout(data, offsets, lengths, &n)
    if out_offsets is None:
        out_offsets = np.empty(n, dtype=np.int64)
    if out_lengths is None:
        out_lengths = np.empty(n, dtype=np.int64)
    reasons = np.empty(n, dtype=np.uint8)
    cdef int64_t[::1] oo = _out_i64(out_offsets, n, "out_offsets")
    cdef int64_t[::1] ol = _out_i64(out_lengths, n, "out_lengths")
    cdef uint8_t[::1] rv = reasons
    cdef const uint8_t[::1] mk
    cdef bint use_mask = mask is not None
    mk = _mask_array(mask, n) if use_mask else rv    # rv: never read, but initialised
    _no_overlap(buf, cap, _base(data), data.shape[0], "frames")
    cdef const int64_t[::1] o = off
    cdef const int64_t[::1] lv = ln
    cdef const uint8_t *f
    cdef bint full = False
    cdef const uint8_t *base = _base(data)
    with nogil:
        for i in range(n):
            f = base + o[i]
            rc = ndp_parse_ex(f, <Py_ssize_t>lv[i], pflags, &pkt)
            rv[i] = <uint8_t>rc
            oo[i] = pos
            ol[i] = 0
            if rc != NDP_OK or pkt.type != ND_NS or (use_mask and not mk[i]):
                continue
            rc = ndp_build_na_reply(buf + pos, cap - pos, f, &pkt, m, m, NULL, fl, True)
            if rc == NDP_EBUF:
                full = True
                break
            if rc > 0:
                ol[i] = rc
                pos += rc
                count += 1
    if full:
        raise ValueError(f"out buffer of {cap} bytes is too small for the replies "
                         f"(full after {count})")
    return reasons, out_offsets, out_lengths, count


cdef object _mask_array(object mask, Py_ssize_t n):
    """``mask`` (n booleans or numbers; nonzero = answer) as n uint8 of 0 or 1."""
    try:
        a = np.asarray(mask)
    except (ValueError, TypeError, OverflowError) as e:
        raise ValueError(f"mask must be a 1-d array of booleans ({e})") from None
    if a.dtype.kind not in "biuf":
        raise ValueError(f"mask must be booleans or numbers, got dtype {a.dtype}")
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"mask has shape {a.shape} for {n} frames")
    return np.ascontiguousarray(a != 0, dtype=np.uint8)


cdef inline const uint8_t *_rows(object arr, Py_ssize_t n, Py_ssize_t width, str name,
                                 Py_ssize_t *stride, list keep) except? NULL:
    """(n, width) or (width,) uint8 rows; stride 0 broadcasts one row to every frame."""
    cdef addr128_t a128
    cdef bytearray b
    if isinstance(arr, str) or (width == 16 and not hasattr(arr, "__len__")):
        b = bytearray(width)
        if width == 6:
            _mac_from(arr, <uint8_t *><char *>b)
        else:                                   # an address as text or ipaddress
            addr_from_object(arr, &a128)
            addr_store(<uint8_t *><char *>b, a128)
        arr = b
    try:
        if isinstance(arr, (bytes, bytearray, memoryview)):
            arr = np.frombuffer(arr, dtype=np.uint8)
        a = np.ascontiguousarray(arr, dtype=np.uint8)
    except (ValueError, TypeError, OverflowError) as e:
        raise ValueError(f"{name} must be uint8 rows of {width} bytes ({e})") from None
    if a.ndim == 1 and a.shape[0] == width:
        stride[0] = 0
    elif a.ndim == 2 and a.shape[0] == n and a.shape[1] == width:
        stride[0] = width
    else:
        raise ValueError(f"{name} must have shape ({n}, {width}) or ({width},), got {a.shape}")
    keep.append(a)
    return <const uint8_t *>cnp.PyArray_DATA(a)


cdef object _flag_array(object flags, Py_ssize_t n):
    """NA flag bytes: one int 0..255 for all, or n of them."""
    try:
        a = np.asarray(flags)
    except (ValueError, TypeError, OverflowError) as e:
        raise ValueError(f"flags must be an int or a 1-d array of ints ({e})") from None
    if a.dtype.kind == "O" or a.dtype.kind not in "iu":
        raise ValueError(f"flags must be integers 0..255, got dtype {a.dtype}")
    if a.ndim > 1 or (a.ndim == 1 and a.shape[0] != n):
        raise ValueError(f"flags must be one int or have shape ({n},), got {a.shape}")
    bad = np.flatnonzero((a.reshape(-1) < 0) | (a.reshape(-1) > 255))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"flags[{i}]: {int(a.reshape(-1)[i])} is not a byte (0..255)")
    return np.ascontiguousarray(np.broadcast_to(a.astype(np.uint8), (n,)))


@cython.initializedcheck(False)   # every view the loop reads is assigned before it
def write_na_batch(out, targets, src_mac, dst_mac, dsts, *, srcs=None, flags=NDP_NA_OVERRIDE,
                   bint tlla=True, vlan=None, out_offsets=None, out_lengths=None):
    """Build N Neighbor Advertisements (RFC 4861 section 4.4) into one output buffer.

    Parameters
    ----------
    out : writable bytes-like
        Receives the frames back to back (86 bytes each untagged with a TLLAO).
    targets : uint8 array, shape (N, 16)
        Target addresses, network byte order.
    src_mac : MAC, 6 bytes
        Ethernet source, and the TLLAO when ``tlla``.
    dst_mac : uint8 array, shape (N, 6), or one MAC (6 bytes or text) for every frame
        Ethernet destinations.
    dsts : uint8 array, shape (N, 16), or one address (16 bytes, text) for every frame
        IPv6 destinations.
    srcs : uint8 array, shape (N, 16) or (16,), optional
        IPv6 sources; default: each frame's target (the NA is sent from the target).
    flags : int or uint8 array of shape (N,)
        R|S|O bits (0x80|0x40|0x20) per frame or for all.
    vlan : int or None
        802.1Q TCI for every frame; None for untagged.

    Returns
    -------
    out_offsets, out_lengths : numpy.ndarray of int64, shape (N,)
    """
    cdef Py_ssize_t n, i = 0, pos = 0, rc = 0, st_t, st_s, st_d, st_m, cap
    cdef uint8_t smac[6]
    cdef list keep = []
    _mac_from(src_mac, smac)
    try:
        tg = np.ascontiguousarray(targets, dtype=np.uint8)
    except (ValueError, TypeError, OverflowError) as e:
        raise ValueError(f"targets must be uint8 rows of 16 bytes ({e})") from None
    if tg.ndim != 2 or tg.shape[1] != 16:
        raise ValueError(f"targets must have shape (N, 16), got {tg.shape}")
    n = tg.shape[0]
    cdef const uint8_t *pt = _rows(tg, n, 16, "targets", &st_t, keep)
    cdef const uint8_t *ps = _rows(tg if srcs is None else srcs, n, 16, "srcs", &st_s, keep)
    cdef const uint8_t *pd = _rows(dsts, n, 16, "dsts", &st_d, keep)
    cdef const uint8_t *pm = _rows(dst_mac, n, 6, "dst_mac", &st_m, keep)
    cdef const uint8_t[::1] fv = _flag_array(flags, n)
    cdef int vt = _vlan_from(vlan)
    if out_offsets is None:
        out_offsets = np.empty(n, dtype=np.int64)
    if out_lengths is None:
        out_lengths = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] oo = _out_i64(out_offsets, n, "out_offsets")
    cdef int64_t[::1] ol = _out_i64(out_lengths, n, "out_lengths")
    if n == 0:
        return out_offsets, out_lengths
    cdef uint8_t[::1] ov = _out_view(out)
    cdef uint8_t *buf = &ov[0]
    cap = ov.shape[0]
    for a in keep:
        _no_overlap(buf, cap, <const uint8_t *>cnp.PyArray_DATA(a), a.nbytes,
                    "an input array")
    with nogil:
        for i in range(n):
            rc = ndp_build_na(buf + pos, cap - pos, pm + i * st_m, smac, vt,
                              addr_load(ps + i * st_s), addr_load(pd + i * st_d),
                              addr_load(pt + i * st_t), fv[i], smac if tlla else NULL)
            if rc < 0:
                break
            oo[i] = pos
            ol[i] = rc
            pos += rc
    if rc < 0:
        raise ValueError(f"out buffer of {cap} bytes is too small for {n} NAs (full at {i})")
    return out_offsets, out_lengths
