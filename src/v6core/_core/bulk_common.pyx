# cython: language_level=3
"""Shared parts of the bulk kernels: argument checks, group offsets, threads, policies.

Every public function here and in the kernels refuses a bad argument with a ValueError
naming it (and the offending index): wrong dtype, shape or layout, a read-only or short
output, offsets that do not run from 0 to N without decreasing, indexes out of range.
"""

import operator
import os

cimport numpy as cnp
import numpy as np

from v6core._core.sortkey cimport SK_MUSL
from v6core._core import sortkey as _sortkey
from v6core._core import tables as _tables

cnp.import_array()

PLEN_UNKNOWN = BULK_PLEN_UNKNOWN
_INT64_MAX = (1 << 63) - 1


# ------------------------------------------------------------------ argument checks

def _describe(arr):
    return (f"{getattr(arr, 'dtype', type(arr).__name__)} shape "
            f"{getattr(arr, 'shape', '?')}")


cdef const uint8_t *bulk_rows_arg(object arr, str name, Py_ssize_t n) except? NULL:
    """A C-contiguous ``(n, 16)`` uint8 array's data (``n`` < 0: any row count)."""
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 2 \
            or arr.shape[1] != 16 or not arr.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous (N, 16) uint8 array, got "
                         f"{_describe(arr)}")
    if n >= 0 and arr.shape[0] != n:
        raise ValueError(f"{name}: expected {n} rows, got {arr.shape[0]}")
    if arr.shape[0] == 0:
        return <const uint8_t *>1   # never read
    return <const uint8_t *>cnp.PyArray_DATA(arr)


cdef const uint8_t *bulk_u8_arg(object arr, str name, Py_ssize_t n) except? NULL:
    """An optional C-contiguous ``(n,)`` uint8 array's data; NULL for None (or n == 0)."""
    if arr is None:
        return NULL
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 1 \
            or not arr.flags.c_contiguous or arr.shape[0] != n:
        raise ValueError(f"{name}: expected a C-contiguous uint8 array of length {n}, got "
                         f"{_describe(arr)}")
    if n == 0:
        return NULL
    return <const uint8_t *>cnp.PyArray_DATA(arr)


cdef Py_ssize_t bulk_nrows(object dst) except -1:
    """The row count of ``dst`` (ValueError unless it is an (N, 16) uint8 array)."""
    bulk_rows_arg(dst, "dst", -1)
    return dst.shape[0]


cdef object bulk_out_arg(object out, str name, Py_ssize_t n, object dtype):
    """``out`` checked (writable, C-contiguous, ``(n,)``, ``dtype``), or a new array."""
    if out is None:
        return np.empty(n, dtype=dtype)
    if not (isinstance(out, np.ndarray) and out.dtype == dtype and out.ndim == 1
            and out.shape[0] == n and out.flags.c_contiguous and out.flags.writeable):
        raise ValueError(f"{name}: expected a writable C-contiguous {np.dtype(dtype).name} "
                         f"array of length {n}, got {_describe(out)}"
                         + ("" if not isinstance(out, np.ndarray) or out.flags.writeable
                            else " (read-only)"))
    return out


def int_array(values, str name):
    """``values`` as a C-contiguous 1-D int64 array; ValueError naming ``name`` and the
    index when it is not a 1-D array of integers that fit in int64."""
    try:
        a = np.asarray(values)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{name}: expected a 1-D integer array ({e})") from None
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D integer array, got shape {a.shape}")
    if a.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    if a.dtype.kind == "O":
        for i, v in enumerate(a.tolist()):
            try:
                v = operator.index(v)
            except TypeError:
                raise ValueError(f"{name}[{i}]: {v!r} is not an integer") from None
            if not -_INT64_MAX - 1 <= v <= _INT64_MAX:
                raise ValueError(f"{name}[{i}]: {v} does not fit in int64")
        return np.ascontiguousarray(a.astype(np.int64))
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integers, got dtype {a.dtype}")
    if a.dtype.kind == "u" and a.dtype.itemsize == 8:
        big = np.flatnonzero(a > _INT64_MAX)
        if big.shape[0]:
            i = int(big[0])
            raise ValueError(f"{name}[{i}]: {int(a[i])} does not fit in int64")
    return np.ascontiguousarray(a, dtype=np.int64)


def check_offsets(offsets, n=None):
    """Validate group offsets: 1-D integers, starting at 0, non-decreasing, ending at ``n``
    (the row count; None: anywhere).  Returns them as C-contiguous int64."""
    offsets = int_array(offsets, "offsets")
    if offsets.shape[0] < 1:
        raise ValueError("offsets: expected a 1-D array of G + 1 group boundaries, got none")
    if offsets[0] != 0:
        raise ValueError(f"offsets: must start at 0, got offsets[0] = {int(offsets[0])}")
    if offsets.shape[0] > 1:
        bad = np.flatnonzero(offsets[1:] < offsets[:-1])
        if bad.shape[0]:
            g = int(bad[0])
            raise ValueError(f"offsets: decreasing at group {g} (offsets[{g + 1}] = "
                             f"{int(offsets[g + 1])} < offsets[{g}] = {int(offsets[g])})")
    if n is not None and offsets[-1] != n:
        raise ValueError(f"offsets: must end at the row count {n}, got "
                         f"offsets[{offsets.shape[0] - 1}] = {int(offsets[-1])}")
    return offsets


def positions(offsets, n=None):
    """Each row's position inside its group (uint32): rule 10's "order received".
    ``n``, the row count, is checked against ``offsets[-1]`` when given (None: the offsets
    alone say how many rows, and so how large the result is)."""
    offsets = check_offsets(offsets, n)
    n = int(offsets[-1])
    sizes = np.diff(offsets)
    return (np.arange(n, dtype=np.int64) - np.repeat(offsets[:-1], sizes)).astype(np.uint32)


def offsets_from_groups(groups):
    """Group offsets from a per-row group id array whose groups are contiguous runs.

    Returns ``(offsets, ids)``: int64 ``offsets`` (G + 1) and the id of each group.
    Raises ValueError naming the first group id that reappears after another group.
    """
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise ValueError(f"groups: expected a 1-D array, got shape {groups.shape}")
    n = groups.shape[0]
    if n == 0:
        return np.zeros(1, dtype=np.int64), groups[:0]
    starts = np.flatnonzero(groups[1:] != groups[:-1]) + 1
    offsets = np.empty(starts.shape[0] + 2, dtype=np.int64)
    offsets[0] = 0
    offsets[1:-1] = starts
    offsets[-1] = n
    ids = groups[offsets[:-1]]
    uniq, counts = np.unique(ids, return_counts=True)
    if uniq.shape[0] != ids.shape[0]:
        dup = uniq[np.argmax(counts > 1)].item()
        raise ValueError(f"groups: the rows of group {dup!r} are not contiguous (sort rows by "
                         "group first, keeping each group's candidate order)")
    return offsets, ids


def iter_chunks(offsets, max_rows):
    """Yield ``(g0, g1)`` ranges of whole groups holding at most ``max_rows`` rows each.

    A single group larger than ``max_rows`` is yielded alone.  Use it to stream inputs
    larger than memory (e.g. ``np.load(..., mmap_mode="r")``) through the kernels.
    """
    offsets = check_offsets(offsets)
    try:
        max_rows = operator.index(max_rows)
    except TypeError:
        raise ValueError(f"max_rows: expected an integer, got {max_rows!r}") from None
    if max_rows < 1:
        raise ValueError(f"max_rows: must be >= 1, got {max_rows}")
    max_rows = min(max_rows, _INT64_MAX - int(offsets[-1]))
    G = offsets.shape[0] - 1
    g0 = 0
    while g0 < G:
        g1 = int(np.searchsorted(offsets, offsets[g0] + max_rows, side="right")) - 1
        if g1 <= g0:
            g1 = g0 + 1
        g1 = min(g1, G)
        yield g0, g1
        g0 = g1


def as_rows(a, str name="addresses"):
    """Coerce ``a`` to a C-contiguous ``(N, 16)`` uint8 array (no copy when it already is).

    Accepts ``(N, 16)`` uint8 arrays, 1-D arrays of a 16-byte dtype (``V16``, ``S16``), or
    a sequence of address text, bytes or ``ipaddress`` objects (packed by
    ``v6core._core.addr.pack_many``; IPv4 becomes IPv4-mapped).
    """
    if isinstance(a, np.ndarray):
        if a.ndim == 1 and a.dtype.itemsize == 16 and a.dtype.kind in "VS":
            a = np.ascontiguousarray(a).view(np.uint8).reshape(-1, 16)
        if a.dtype == np.uint8 and a.ndim == 2 and a.shape[1] == 16:
            return np.ascontiguousarray(a)
        raise ValueError(f"{name}: expected an (N, 16) uint8 array, got {a.dtype} "
                         f"shape {a.shape}")
    from v6core._core.addr import pack_many
    return pack_many(a)


# ------------------------------------------------------------------ threads

def threads_for(threads, Py_ssize_t n):
    """Worker threads: ``threads``, or every available core for n >= 65536, else 1."""
    if threads is None:
        return len(os.sched_getaffinity(0)) if n >= 65536 else 1
    try:
        t = operator.index(threads)
    except TypeError:
        raise ValueError(f"threads: expected an integer, got {threads!r}") from None
    if t < 1:
        raise ValueError(f"threads: must be >= 1, got {t}")
    return min(t, 1 << 16)


_POOL = None


def pool_map(fn, ranges):
    """Run ``fn(lo, hi)`` for each range; more than one range goes to a thread pool."""
    global _POOL
    if len(ranges) == 1:
        return [fn(*ranges[0])]
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor
        _POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="v6core-bulk")
    return list(_POOL.map(lambda r: fn(*r), ranges))


def split_rows(Py_ssize_t n, int parts):
    """``[0, n)`` in at most ``parts`` ranges."""
    cdef Py_ssize_t step = (n + parts - 1) // parts if n > 0 else 1
    return [(a, min(a + step, n)) for a in range(0, n, step)]


def split_groups(offsets, int parts):
    """Split ``[0, G)`` into at most ``parts`` ranges of whole groups with similar row counts."""
    G = offsets.shape[0] - 1
    if parts <= 1 or G < 2 * parts:
        return [(0, G)]
    targets = np.linspace(offsets[0], offsets[G], parts + 1)[1:-1]
    cuts = np.searchsorted(offsets, targets).tolist()
    bounds = sorted({0, G, *[min(max(int(c), 0), G) for c in cuts]})
    return list(zip(bounds[:-1], bounds[1:]))


# ------------------------------------------------------------------ policies

BULK_FLAVORS = ("rfc6724", "glibc", "musl", "go", "rfc6724-update")

# the update changes the table only: its rules are RFC 6724's
_RULES = {"rfc6724-update": "rfc6724"}


def resolve_policy(flavor, policy):
    """``(code, CompiledPolicy, musl_fast)`` for a flavour name and optional PolicyTable
    (anything with ``compiled(flavor)``); the defaults are ``v6core._core.tables``'.
    ``musl_fast``: the table is musl's own, which the branch-free musl kernel encodes."""
    if flavor not in BULK_FLAVORS:
        _sortkey.flavor_code(flavor)         # an unknown name: "unknown flavor"
        raise ValueError(f"flavor {flavor!r} has no bulk kernel: expected one of "
                         f"{', '.join(BULK_FLAVORS)}")
    code = _sortkey.flavor_code(_RULES.get(flavor, flavor))
    if policy is None:
        cp = _tables.default_compiled(flavor)
    else:
        compiled = getattr(policy, "compiled", None)
        if compiled is None:
            raise TypeError(f"policy must be a PolicyTable, not {type(policy).__name__}")
        cp = compiled(flavor)
    cp.accelerate()             # the per-/16 index of its precedence and label rows
    fast = False
    if code == SK_MUSL:
        d = _tables.default_compiled("musl")
        fast = cp is d or (cp.precedence_rows == d.precedence_rows
                           and cp.label_rows == d.label_rows)
    return code, cp, fast


_EMPTY_U64 = np.zeros(0, dtype=np.uint64)


cdef tuple bulk_kl_fill(bulk_kl_t *kl, object flavor, object cp, object known_local,
                        bint learn_known_local):
    """Fill ``kl`` from :func:`known_local_args`; returns the arrays ``kl`` points into,
    which the caller keeps alive for as long as it uses ``kl``."""
    on, explicit, skip = known_local_args(flavor, cp, known_local, learn_known_local)
    kl.on = on
    kl.learn = learn_known_local
    kl.explicit = <const uint64_t *>cnp.PyArray_DATA(explicit)
    kl.nexplicit = explicit.shape[0]
    kl.skip = <const uint64_t *>cnp.PyArray_DATA(skip)
    kl.nskip = skip.shape[0]
    return explicit, skip


def known_local_args(flavor, cp, known_local, learn_known_local):
    """``(on, explicit, skip)`` for the rfc6724-update flavour's known-local ULA rows
    (draft-ietf-6man-rfc6724-update section 3.1) in bulk.

    ``known_local``: None, or addresses inside fd00::/8 (an (K, 16) uint8 array or a
    sequence of address text; see ``as_rows``) whose /48s are known-local.  ``explicit``
    is their sorted distinct /48s (as ``hi >> 16`` uint64) that the table does not already
    have, ``skip`` the sorted /48 rows it has.  ``on`` is False for every other flavour
    (``known_local`` must then be None or empty) and when there is nothing to insert."""
    if known_local is None:
        kl = np.zeros((0, 16), dtype=np.uint8)
    else:
        kl = as_rows(known_local, "known_local")
    if flavor != "rfc6724-update":
        if kl.shape[0]:
            raise ValueError(f"known_local: only the rfc6724-update flavour has known-local "
                             f"rows, not {flavor!r}")
        return False, _EMPTY_U64, _EMPTY_U64
    bad = np.flatnonzero(kl[:, 0] != 0xFD)
    if bad.shape[0]:
        i = int(bad[0])
        from v6core._core.addr import to_text
        raise ValueError(f"known_local[{i}]: {to_text(bytes(kl[i]))} is not inside fd00::/8 "
                         "(only locally assigned ULAs can be known-local)")
    for rows in (cp.precedence_rows, cp.label_rows):
        lens = [n for _, n, _ in rows]
        if lens != sorted(lens, reverse=True):
            raise ValueError("policy: the rfc6724-update flavour inserts known-local /48 "
                             "rows by prefix length; in bulk its table's rows must already "
                             "be in longest-prefix-first order")
    have = sorted({int.from_bytes(p[:6], "big") for p, n, _ in
                   cp.precedence_rows + cp.label_rows if n == 48})
    explicit = sorted({int.from_bytes(bytes(r[:6]), "big") for r in kl} - set(have))
    on = bool(learn_known_local) or bool(explicit)
    return (on, np.array(explicit, dtype=np.uint64), np.array(have, dtype=np.uint64))
