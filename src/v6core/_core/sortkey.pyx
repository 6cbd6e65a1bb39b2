# cython: language_level=3
"""Destination ordering keys and sorts for RFC 6724, glibc 2.36, musl 1.2.x and Go 1.19.

See ``sortkey.pxd`` for the exact rule set of each flavour and the key layouts.  This
module is arithmetic only: no I/O, no policy files.  Addresses are ``addr128_t``
(IPv4 as IPv4-mapped); precedence/label/scope values are plain integers.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.stdlib cimport qsort
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int32_t

from v6core._core.types cimport (
    addr128_t, addr_load, addr_store, addr_common_len, addr_is_v4mapped, addr_v4, addr_scope,
)
from v6core._core.addr cimport addr_from_object, addr_to_str
from v6core.errors import AddressError

cdef object _FLAVORS = {"rfc6724": SK_RFC6724, "glibc": SK_GLIBC, "musl": SK_MUSL, "go": SK_GO}
FLAVORS = ("rfc6724", "glibc", "musl", "go")
KNOWN_LOCAL_PRECEDENCE = SK_KNOWN_LOCAL_PREC
KNOWN_LOCAL_LABEL = SK_KNOWN_LOCAL_LABEL
RFC6724 = SK_RFC6724
GLIBC = SK_GLIBC
MUSL = SK_MUSL
GO = SK_GO
MAXADDRS = MUSL_MAXADDRS
NO_LABEL = SK_NO_LABEL
F_DEPRECATED = SK_F_DEPRECATED
F_HOME = SK_F_HOME
F_CAREOF = SK_F_CAREOF
F_TEMPORARY = SK_F_TEMPORARY
F_ENCAP = SK_F_ENCAP
F_OPTIMISTIC = SK_F_OPTIMISTIC


def flavor_code(flavor) -> int:
    """The integer code of a flavour name ("rfc6724", "glibc", "musl" or "go")."""
    try:
        return _FLAVORS[flavor]
    except (KeyError, TypeError):
        raise ValueError(f"unknown flavor {flavor!r}: expected one of "
                         f"{', '.join(FLAVORS)}") from None


# ------------------------------------------------------------------ policy lookups

cdef inline int32_t _first_match(const sk_prefix_t *rows, int n, addr128_t a,
                                 int32_t dflt) noexcept nogil:
    cdef int i
    for i in range(n):
        if addr_common_len(a, addr128_t(rows[i].hi, rows[i].lo)) >= rows[i].plen:
            return rows[i].val
    return dflt


cdef inline int32_t _acc_match(const uint32_t *acc, const sk_prefix_t *prog,
                               addr128_t a) noexcept nogil:
    # the accelerated first match (CompiledPolicy.accelerate): the bucket's value, or the
    # bucket's rows longer than 16 bits followed by a catch-all row
    cdef uint32_t e = acc[a.hi >> 48]
    cdef const sk_prefix_t *r
    if e & 0x80000000U:
        return <int32_t>(e & 0x7fffffffU) - 1
    r = prog + e
    while addr_common_len(a, addr128_t(r.hi, r.lo)) < r.plen:
        r += 1
    return r.val


cdef int32_t sk_precedence(const sk_policy_t *pol, addr128_t a) noexcept nogil:
    """Precedence(a) (RFC 6724 section 2.1): the value of the first matching row."""
    if pol.prec_acc != NULL:
        return _acc_match(pol.prec_acc, pol.prec_prog, a)
    return _first_match(pol.prec, pol.nprec, a, pol.prec_default)


cdef int32_t sk_label(const sk_policy_t *pol, addr128_t a) noexcept nogil:
    """Label(a) (RFC 6724 section 2.1): the value of the first matching row."""
    if pol.label_acc != NULL:
        return _acc_match(pol.label_acc, pol.label_prog, a)
    return _first_match(pol.label, pol.nlabel, a, pol.label_default)


cdef int32_t sk_scope(int flavor, const sk_policy_t *pol, addr128_t a) noexcept nogil:
    """Scope(a), RFC 6724 section 3.1 values, by the flavour's rules for IPv4."""
    cdef uint32_t v4
    cdef int i
    if flavor == SK_MUSL:
        return addr_scope(a, True)
    if addr_is_v4mapped(a) and pol.nscope4 > 0:
        v4 = addr_v4(a)
        for i in range(pol.nscope4):
            if (v4 & pol.scope4[i].mask) == pol.scope4[i].addr:
                return pol.scope4[i].scope
        return 14   # unreachable with a catch-all row; glibc appends one
    return addr_scope(a, False)


cdef inline uint32_t _musl_assemble(bint usable, int32_t dscope, int32_t sscope,
                                    int32_t dlabel, int32_t slabel, int32_t dprec,
                                    int32_t cpl, int index) noexcept nogil:
    """musl's key from the row's attributes (the one place its bit layout is written)."""
    cdef uint32_t key = 0
    if usable:
        key |= DAS_USABLE
        if dscope == sscope:
            key |= DAS_MATCHINGSCOPE
        if dlabel == slabel:
            key |= DAS_MATCHINGLABEL
    else:
        cpl = 0
    key |= (<uint32_t>dprec) << DAS_PREC_SHIFT
    key |= (<uint32_t>(15 - dscope)) << DAS_SCOPE_SHIFT
    key |= (<uint32_t>cpl) << DAS_PREFIX_SHIFT
    key |= (<uint32_t>(MUSL_MAXADDRS - index)) << DAS_ORDER_SHIFT
    return key


cdef uint32_t musl_key(const sk_policy_t *pol, addr128_t dst, addr128_t src, bint usable,
                       int index) noexcept nogil:
    """musl 1.2.x's 31-bit sort key (lookup_name.c), bit for bit; see sortkey.pxd."""
    if not usable:
        # the source-side fields are not read for an unusable row
        return _musl_assemble(False, addr_scope(dst, True), -1, SK_NO_LABEL, SK_NO_LABEL,
                              sk_precedence(pol, dst), 0, index)
    return _musl_assemble(True, addr_scope(dst, True), addr_scope(src, True),
                          sk_label(pol, dst), sk_label(pol, src), sk_precedence(pol, dst),
                          addr_common_len(src, dst), index)


cdef bint musl_skip_sort(const sk_row_t *rows, Py_ssize_t n) noexcept nogil:
    """musl returns results unsorted when there are fewer than two or all are IPv4."""
    cdef Py_ssize_t i
    if n < 2:
        return True
    for i in range(n):
        if not addr_is_v4mapped(rows[i].dst):
            return False
    return True


cdef uint64_t sk_wide_key(int flavor, const sk_policy_t *pol, addr128_t dst, addr128_t src,
                          uint32_t flags) noexcept nogil:
    """Rules 1-8 as one uint64 (larger is preferred); layout in sortkey.pxd."""
    if not (flags & SK_F_USABLE):
        # the source-side fields are not read for an unusable row
        return sk_wide_assemble(flavor, flags, sk_scope(flavor, pol, dst), -1, SK_NO_LABEL,
                                SK_NO_LABEL, sk_precedence(pol, dst))
    return sk_wide_assemble(flavor, flags, sk_scope(flavor, pol, dst),
                            sk_scope(flavor, pol, src), sk_label(pol, dst), sk_label(pol, src),
                            sk_precedence(pol, dst))


cdef void sk_fill_row(int flavor, const sk_policy_t *pol, sk_row_t *row) noexcept nogil:
    """Compute the derived fields of ``row`` from its inputs."""
    cdef bint usable = (row.flags & SK_F_USABLE) != 0
    row.flags = sk_flavor_flags(flavor, row.flags)
    row.dprec = sk_precedence(pol, row.dst)
    row.dlabel = sk_label(pol, row.dst)
    row.dscope = sk_scope(flavor, pol, row.dst)
    if usable:
        row.slabel = sk_label(pol, row.src)
        row.sscope = sk_scope(flavor, pol, row.src)
        row.cpl = sk_cpl(flavor, row.src, row.dst, row.src_plen)
    else:
        row.slabel = SK_NO_LABEL
        row.sscope = -1
        row.cpl = 0
    # the keys from the attributes just computed, rather than looking them all up again
    sk_rekey(flavor, row)


cdef void sk_rekey(int flavor, sk_row_t *row) noexcept nogil:
    """Recompute ``row.key`` from the row's derived attributes (after a caller changed
    them, e.g. ``sk_known_local``)."""
    if flavor == SK_MUSL:
        row.key = _musl_assemble((row.flags & SK_F_USABLE) != 0, row.dscope, row.sscope,
                                 row.dlabel, row.slabel, row.dprec, row.cpl, <int>row.index)
    else:
        row.key = sk_wide_assemble(flavor, row.flags, row.dscope, row.sscope, row.dlabel,
                                   row.slabel, row.dprec)


# ------------------------------------------------------------------ known-local ULA /48s
# draft-ietf-6man-rfc6724-update section 3.1 inserts a row (precedence 45, label 14) for
# each known-local ULA /48, matched before every shorter row; a /48 the table already has
# keeps its own row.  ``PolicyTable.with_known_local`` builds such a table per call; the
# bulk kernels, whose known-local set changes from lookup to lookup, apply the same
# insertion to a filled row here instead (the two are compared by tests/test_bulk.py).
# A /48 is written as the first 48 bits of the address: ``hi >> 16``.

cdef inline bint _is_ula_fd(addr128_t a) noexcept nogil:
    return (a.hi >> 56) == 0xfd


cdef inline bint _in_sorted(const uint64_t *v, Py_ssize_t n, uint64_t x) noexcept nogil:
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if v[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo < n and v[lo] == x


cdef int _cmp_u64(const void *a, const void *b) noexcept nogil:
    cdef uint64_t x = (<const uint64_t *>a)[0], y = (<const uint64_t *>b)[0]
    return (x > y) - (x < y)


cdef Py_ssize_t sk_known_local_collect(const sk_row_t *rows, Py_ssize_t n, uint64_t *out,
                                       Py_ssize_t nout, const uint64_t *skip,
                                       Py_ssize_t nskip) noexcept nogil:
    """The known-local /48 set of one lookup, sorted and distinct, in ``out``.

    ``out[0:nout]`` holds the explicit ones on entry (``known_local=``); the /48 of each
    usable row's source inside fd00::/8 is appended unless it is in the sorted ``skip``
    (the /48 rows the table already has).  ``out`` must hold ``nout + n``.  Returns the
    number of distinct /48s (O(k log k): a huge lookup never costs k**2)."""
    cdef Py_ssize_t i, k = nout, m
    cdef uint64_t p
    for i in range(n):
        if (rows[i].flags & SK_F_USABLE) and _is_ula_fd(rows[i].src):
            p = rows[i].src.hi >> 16
            if not _in_sorted(skip, nskip, p):
                out[k] = p
                k += 1
    if k < 2:
        return k
    qsort(out, k, sizeof(uint64_t), _cmp_u64)
    m = 1
    for i in range(1, k):
        if out[i] != out[m - 1]:
            out[m] = out[i]
            m += 1
    return m


cdef inline int32_t _first_match_plen(const sk_prefix_t *rows, int n, addr128_t a) noexcept nogil:
    cdef int i
    for i in range(n):
        if addr_common_len(a, addr128_t(rows[i].hi, rows[i].lo)) >= rows[i].plen:
            return rows[i].plen
    return -1


cdef bint sk_known_local(const sk_policy_t *pol, sk_row_t *row, const uint64_t *kl,
                         Py_ssize_t nkl) noexcept nogil:
    """Give a filled row (rfc6724 rules) the known-local values of the sorted /48 set
    ``kl`` (from ``sk_known_local_collect``): a destination inside one takes precedence 45
    and label 14, a source label 14, unless a row longer than /48 matches it first (the
    table's lists must be in longest-prefix-first order).  Rekeys the row; returns True
    when anything changed."""
    cdef bint changed = False
    if nkl == 0:
        return False
    if _is_ula_fd(row.dst) and _in_sorted(kl, nkl, row.dst.hi >> 16):
        if _first_match_plen(pol.prec, pol.nprec, row.dst) <= 48:
            row.dprec = SK_KNOWN_LOCAL_PREC
            changed = True
        if _first_match_plen(pol.label, pol.nlabel, row.dst) <= 48:
            row.dlabel = SK_KNOWN_LOCAL_LABEL
            changed = True
    if (row.flags & SK_F_USABLE) and _is_ula_fd(row.src) \
            and _in_sorted(kl, nkl, row.src.hi >> 16) \
            and _first_match_plen(pol.label, pol.nlabel, row.src) <= 48:
        row.slabel = SK_KNOWN_LOCAL_LABEL
        changed = True
    if changed:
        sk_rekey(SK_RFC6724, row)
    return changed


cdef int sk_decide(int flavor, const sk_row_t *a, const sk_row_t *b) noexcept nogil:
    """Compare two filled rows: -rule if ``a`` goes first, +rule if ``b`` does, 0 if equal.

    ``rule`` is the RFC 6724 section 6 rule (1-10) that decided.  For SK_MUSL the
    "rule" is the highest musl key field that differs (1, 2, 5, 6, 8, 9 or 10).
    """
    cdef uint32_t fa = a.flags, fb = b.flags, dep
    cdef bint ua = (fa & SK_F_USABLE) != 0
    cdef bint ub = (fb & SK_F_USABLE) != 0
    cdef int ra, rb
    cdef uint64_t x
    if flavor == SK_MUSL:
        x = a.key ^ b.key
        if x == 0:
            return 0
        if x & DAS_USABLE:
            ra = 1
        elif x & DAS_MATCHINGSCOPE:
            ra = 2
        elif x & DAS_MATCHINGLABEL:
            ra = 5
        elif x >> DAS_PREC_SHIFT:
            ra = 6
        elif x >> DAS_SCOPE_SHIFT:
            ra = 8
        elif x >> DAS_PREFIX_SHIFT:
            ra = 9
        else:
            ra = 10
        return -ra if a.key > b.key else ra
    # rule 1
    if ua != ub:
        return -1 if ua else 1
    if flavor == SK_GO and not ua:
        return 0                        # Go: two unusable destinations are "equal"
    if ua:
        # rule 2
        ra = a.dscope == a.sscope
        rb = b.dscope == b.sscope
        if ra != rb:
            return -2 if ra else 2
        # rule 3
        dep = SK_F_DEPRECATED
        if flavor == SK_GLIBC:
            dep |= SK_F_OPTIMISTIC
        ra = (fa & dep) != 0
        rb = (fb & dep) != 0
        if ra != rb:
            return 3 if ra else -3
        # rule 4
        ra = sk_rule4(flavor, fa, fb)
        if ra != 0:
            return 4 * ra
        # rule 5
        ra = a.dlabel == a.slabel
        rb = b.dlabel == b.slabel
        if ra != rb:
            return -5 if ra else 5
    # rule 6
    if a.dprec != b.dprec:
        return -6 if a.dprec > b.dprec else 6
    # rule 7
    if ua and (flavor != SK_GLIBC or a.ifindex != b.ifindex):
        ra = (fa & SK_F_ENCAP) == 0
        rb = (fb & SK_F_ENCAP) == 0
        if ra != rb:
            return -7 if ra else 7
    # rule 8
    if a.dscope != b.dscope:
        return -8 if a.dscope < b.dscope else 8
    # rule 9
    if ua and addr_is_v4mapped(a.dst) == addr_is_v4mapped(b.dst):
        if a.cpl != b.cpl and not (flavor == SK_GO and addr_is_v4mapped(a.dst)):
            return -9 if a.cpl > b.cpl else 9
    if flavor == SK_GO:
        return 0                        # Go has no rule 10: sort.Stable keeps the order
    # rule 10
    if a.index != b.index:
        return -10 if a.index < b.index else 10
    return 0


cdef void _msort(int flavor, const sk_row_t *rows, uint32_t *b, Py_ssize_t n,
                 uint32_t *tmp) noexcept nogil:
    # glibc 2.36 stdlib/msort.c msort_with_tmp: top-down, n1 = n / 2, left wins ties
    cdef Py_ssize_t n1, n2, i, k
    cdef uint32_t *b1
    cdef uint32_t *b2
    if n <= 1:
        return
    n1 = n // 2
    n2 = n - n1
    b1 = b
    b2 = b + n1
    _msort(flavor, rows, b1, n1, tmp)
    _msort(flavor, rows, b2, n2, tmp)
    k = 0
    while n1 > 0 and n2 > 0:
        if sk_decide(flavor, &rows[b1[0]], &rows[b2[0]]) <= 0:
            tmp[k] = b1[0]
            b1 += 1
            n1 -= 1
        else:
            tmp[k] = b2[0]
            b2 += 1
            n2 -= 1
        k += 1
    for i in range(n1):
        tmp[k] = b1[i]
        k += 1
    for i in range(k):
        b[i] = tmp[i]


cdef inline bint _go_less(const sk_row_t *rows, const uint32_t *o, Py_ssize_t i,
                          Py_ssize_t j) noexcept nogil:
    return sk_decide(SK_GO, &rows[o[i]], &rows[o[j]]) < 0


cdef inline void _go_swap(uint32_t *o, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    cdef uint32_t t = o[i]
    o[i] = o[j]
    o[j] = t


cdef void _go_insertion(const sk_row_t *rows, uint32_t *o, Py_ssize_t a,
                        Py_ssize_t b) noexcept nogil:
    cdef Py_ssize_t i, j
    for i in range(a + 1, b):
        j = i
        while j > a and _go_less(rows, o, j, j - 1):
            _go_swap(o, j, j - 1)
            j -= 1


cdef void _go_rotate(uint32_t *o, Py_ssize_t a, Py_ssize_t m, Py_ssize_t b) noexcept nogil:
    # o[a:m] and o[m:b] change places (any rotation gives the same permutation)
    cdef Py_ssize_t i = m - a, j = b - m, k
    while i != j:
        if i > j:
            for k in range(j):
                _go_swap(o, m - i + k, m + k)
            i -= j
        else:
            for k in range(i):
                _go_swap(o, m - i + k, m + j - i + k)
            j -= i
    for k in range(i):
        _go_swap(o, m - i + k, m + k)


cdef void _go_symmerge(const sk_row_t *rows, uint32_t *o, Py_ssize_t a, Py_ssize_t m,
                       Py_ssize_t b) noexcept nogil:
    # Go's sort.symMerge (Kim and Kutzner's SymMerge), comparison for comparison
    cdef Py_ssize_t i, j, h, k, mid, n, start, r, p, c, end
    if m - a == 1:
        i = m
        j = b
        while i < j:
            h = (i + j) >> 1
            if _go_less(rows, o, h, a):
                i = h + 1
            else:
                j = h
        for k in range(a, i - 1):
            _go_swap(o, k, k + 1)
        return
    if b - m == 1:
        i = a
        j = m
        while i < j:
            h = (i + j) >> 1
            if not _go_less(rows, o, m, h):
                i = h + 1
            else:
                j = h
        k = m
        while k > i:
            _go_swap(o, k, k - 1)
            k -= 1
        return
    mid = (a + b) >> 1
    n = mid + m
    if m > mid:
        start = n - b
        r = mid
    else:
        start = a
        r = m
    p = n - 1
    while start < r:
        c = (start + r) >> 1
        if not _go_less(rows, o, p - c, c):
            start = c + 1
        else:
            r = c
    end = n - start
    if start < m < end:
        _go_rotate(o, start, m, end)
    if a < start < mid:
        _go_symmerge(rows, o, a, start, mid)
    if mid < end < b:
        _go_symmerge(rows, o, mid, end, b)


cdef void _go_stable(const sk_row_t *rows, uint32_t *o, Py_ssize_t n) noexcept nogil:
    # Go 1.19 sort.Stable: insertion sort over blocks of 20, then SymMerge rounds
    cdef Py_ssize_t block = 20, a = 0, b = 20, m
    while b <= n:
        _go_insertion(rows, o, a, b)
        a = b
        b += block
    _go_insertion(rows, o, a, n)
    while block < n:
        a = 0
        b = 2 * block
        while b <= n:
            _go_symmerge(rows, o, a, a + block, b)
            a = b
            b += 2 * block
        m = a + block
        if m < n:
            _go_symmerge(rows, o, a, m, n)
        block *= 2


cdef void sk_sort(int flavor, const sk_row_t *rows, Py_ssize_t n, uint32_t *order,
                  uint32_t *tmp) noexcept nogil:
    """Write into ``order[0:n]`` the row indexes in the flavour's order.

    ``rows`` must be filled (``sk_fill_row``) with ``rows[i].index == i``; ``tmp`` is
    scratch space for ``n`` entries.
    """
    cdef Py_ssize_t i, j
    cdef uint32_t t
    for i in range(n):
        order[i] = <uint32_t>i
    if flavor == SK_MUSL:
        if musl_skip_sort(rows, n):
            return
        # keys are distinct (the index is in the low bits): any correct sort is exact
        for i in range(1, n):
            t = order[i]
            j = i
            while j > 0 and rows[order[j - 1]].key < rows[t].key:
                order[j] = order[j - 1]
                j -= 1
            order[j] = t
        return
    if flavor == SK_GO:
        _go_stable(rows, order, n)
        return
    _msort(flavor, rows, order, n, tmp)


# ------------------------------------------------------------------ Python layer

cdef bytes _pack_rows(tuple rows):
    cdef bytearray buf = bytearray(sizeof(sk_prefix_t) * max(len(rows), 1))
    cdef sk_prefix_t *p = <sk_prefix_t *><char *>buf
    cdef addr128_t a
    cdef Py_ssize_t i
    for i, (pfx, plen, val) in enumerate(rows):
        if len(pfx) != 16 or not 0 <= plen <= 128 or not 0 <= val <= 0x7fffffff:
            raise ValueError(f"bad policy row {i}: {rows[i]!r}")
        a = addr_load(<const uint8_t *>PyBytes_AS_STRING(pfx))
        p[i].hi = a.hi
        p[i].lo = a.lo
        p[i].plen = plen
        p[i].val = val
    return bytes(buf)

cdef bytes _pack_scope4(tuple rows):
    cdef bytearray buf = bytearray(sizeof(sk_scope4_t) * max(len(rows), 1))
    cdef sk_scope4_t *p = <sk_scope4_t *><char *>buf
    cdef Py_ssize_t i
    for i, (a, m, s) in enumerate(rows):
        # scopes are RFC 6724 section 3.1's 4-bit values: the keys hold 15 - scope in 4 bits
        if not (0 <= a <= 0xffffffff and 0 <= m <= 0xffffffff and 0 <= s <= 15):
            raise ValueError(f"bad scopev4 row {i}: {rows[i]!r}")
        p[i].addr = a & m
        p[i].mask = m
        p[i].scope = s
    return bytes(buf)


cdef tuple _acc_build(const sk_prefix_t *rows, int n, int32_t dflt):
    """The per-/16 index of one first-match list (CompiledPolicy.accelerate):
    ``(acc, prog)`` bytes, 65536 uint32 and a list of sk_prefix_t."""
    cdef bytearray acc = bytearray(65536 * sizeof(uint32_t))
    cdef uint32_t *ap = <uint32_t *><char *>acc
    cdef list prog = []
    cdef dict seen = {}
    cdef uint32_t t
    cdef int i
    cdef int32_t val
    cdef sk_prefix_t cur
    for t in range(65536):
        longer = []
        val = dflt
        for i in range(n):
            if rows[i].plen <= 16:
                # decides every address of the bucket, or none
                if rows[i].plen == 0 or (t >> (16 - rows[i].plen)) == (
                        rows[i].hi >> (64 - rows[i].plen)):
                    val = rows[i].val
                    break
            elif (rows[i].hi >> 48) == t:
                longer.append(i)
        if not longer:
            ap[t] = 0x80000000U | <uint32_t>(val + 1)
            continue
        key = (tuple(longer), val)
        off = seen.get(key)
        if off is None:
            off = len(prog)
            seen[key] = off
            for i in longer:
                prog.append(rows[i])
            cur.hi = 0
            cur.lo = 0
            cur.plen = 0
            cur.val = val
            prog.append(cur)
        ap[t] = <uint32_t>off
    cdef bytearray pb = bytearray(len(prog) * sizeof(sk_prefix_t))
    cdef sk_prefix_t *pp = <sk_prefix_t *><char *>pb
    for i in range(len(prog)):
        pp[i] = prog[i]
    return bytes(acc), bytes(pb)


cdef class CompiledPolicy:
    """Precedence, label and IPv4-scope lists in first-match order, compiled for C.

    Parameters
    ----------
    precedence_rows, label_rows : sequence of (prefix16, plen, value)
        ``prefix16`` is 16 network-order bytes (IPv4 as IPv4-mapped), ``plen`` 0..128,
        ``value`` 0 .. 2**31-1.  The first row containing an address gives its value.
    scope4_rows : sequence of (addr32, mask32, scope), optional
        glibc's scopev4 list (host-order IPv4 network and mask); empty means the RFC 6724
        section 3.2 rule.
    precedence_default, label_default : int
        Values for an address no row matches.
    """

    def __init__(self, precedence_rows, label_rows, scope4_rows=(), int precedence_default=0,
                 int label_default=SK_NO_LABEL):
        cdef bytes pb, lb, sb
        if self._keep is not None:
            # the bulk kernels read ``pol`` without the GIL: never swap its arrays
            raise TypeError("CompiledPolicy is immutable: __init__ cannot run a second time")
        self.precedence_rows = tuple((bytes(p), int(n), int(v)) for p, n, v in precedence_rows)
        self.label_rows = tuple((bytes(p), int(n), int(v)) for p, n, v in label_rows)
        self.scope4_rows = tuple((int(a), int(m), int(s)) for a, m, s in scope4_rows)
        pb = _pack_rows(self.precedence_rows)
        lb = _pack_rows(self.label_rows)
        sb = _pack_scope4(self.scope4_rows)
        self._keep = (pb, lb, sb)
        self.pol.prec = <const sk_prefix_t *>PyBytes_AS_STRING(pb)
        self.pol.nprec = len(self.precedence_rows)
        self.pol.label = <const sk_prefix_t *>PyBytes_AS_STRING(lb)
        self.pol.nlabel = len(self.label_rows)
        self.pol.scope4 = <const sk_scope4_t *>PyBytes_AS_STRING(sb)
        self.pol.nscope4 = len(self.scope4_rows)
        self.pol.prec_default = precedence_default
        self.pol.label_default = label_default

    cpdef accelerate(self):
        """Build (once) the per-/16 index that the bulk kernels' precedence and label
        lookups use: for each value of an address's first 16 bits, either the value
        itself (no row longer than /16 can decide inside it) or that bucket's longer rows
        in match order followed by a catch-all row with the bucket's value.  Both are
        derived from this table's rows, so a lookup gives the first matching row's value
        either way.  Tables with a value outside -1 .. 2**30 are left unaccelerated."""
        if self._acc is not None:
            return
        lo_v = min([v for _, _, v in self.precedence_rows + self.label_rows]
                   + [self.pol.prec_default, self.pol.label_default])
        hi_v = max([v for _, _, v in self.precedence_rows + self.label_rows]
                   + [self.pol.prec_default, self.pol.label_default])
        if lo_v < -1 or hi_v >= 1 << 30:
            self._acc = ()
            return
        pa, pp = _acc_build(self.pol.prec, self.pol.nprec, self.pol.prec_default)
        la, lp = _acc_build(self.pol.label, self.pol.nlabel, self.pol.label_default)
        self._acc = (pa, pp, la, lp)
        # published last: a kernel on another thread sees either NULL or a whole index
        self.pol.prec_prog = <const sk_prefix_t *>PyBytes_AS_STRING(pp)
        self.pol.label_prog = <const sk_prefix_t *>PyBytes_AS_STRING(lp)
        self.pol.prec_acc = <const uint32_t *>PyBytes_AS_STRING(pa)
        self.pol.label_acc = <const uint32_t *>PyBytes_AS_STRING(la)

    def precedence(self, address) -> int:
        """Precedence of ``address`` under this table."""
        cdef addr128_t a
        addr_from_object(address, &a)
        return sk_precedence(&self.pol, a)

    def label(self, address) -> int:
        """Label of ``address`` under this table (NO_LABEL when no row matches)."""
        cdef addr128_t a
        addr_from_object(address, &a)
        return sk_label(&self.pol, a)

    def scope(self, address, flavor="rfc6724") -> int:
        """Scope of ``address`` by ``flavor``'s rules (glibc: this table's scopev4 list)."""
        cdef addr128_t a
        addr_from_object(address, &a)
        return sk_scope(flavor_code(flavor), &self.pol, a)


cdef class SourceAddress:
    """A source address and the attributes RFC 6724 sections 5 and 6 consult.

    Parameters
    ----------
    address : str, bytes or ipaddress address
        IPv6, or IPv4 (carried as IPv4-mapped).
    prefixlen : int, optional
        The on-link prefix length as the kernel reports it (IPv4 0..32, IPv6 0..128);
        None when unknown.  Caps rule 9 (RFC 6724 section 2.2); glibc uses it for IPv4.
    deprecated, temporary, home, care_of, encapsulated, optimistic : bool
        RFC 4862 deprecated (preferred lifetime 0), RFC 8981 temporary, RFC 6275 home /
        care-of address, reached through an encapsulating transition mechanism (rule 7),
        RFC 4429 optimistic (glibc counts it as deprecated).
    ifindex : int, optional
        The interface index the address is assigned to.
    """

    def __init__(self, address, prefixlen=None, deprecated=False, temporary=False,
                 home=False, care_of=False, encapsulated=False, ifindex=None, *,
                 optimistic=False):
        addr_from_object(address, &self._a)
        cdef int maxlen = 32 if addr_is_v4mapped(self._a) else 128
        if prefixlen is None:
            self._plen = -1
        else:
            if not isinstance(prefixlen, int) or not 0 <= prefixlen <= maxlen:
                raise AddressError(f"source {address!r}: prefix length {prefixlen!r} is not "
                                   f"from 0 to {maxlen}", address)
            self._plen = prefixlen
        self._flags = ((SK_F_DEPRECATED if deprecated else 0) | (SK_F_TEMPORARY if temporary else 0)
                       | (SK_F_HOME if home else 0) | (SK_F_CAREOF if care_of else 0)
                       | (SK_F_ENCAP if encapsulated else 0)
                       | (SK_F_OPTIMISTIC if optimistic else 0))
        if ifindex is None:
            self._ifindex = SK_NO_IFINDEX
        else:
            if not isinstance(ifindex, int) or not 0 <= ifindex < 0xffffffff:
                raise AddressError(f"source {address!r}: bad interface index {ifindex!r}", address)
            self._ifindex = ifindex
        self._text = address

    @property
    def address(self) -> str:
        """The address as RFC 5952 text (IPv4 dotted)."""
        return addr_to_str(self._a, True)

    @property
    def packed(self) -> bytes:
        """16 network-order bytes (IPv4 as IPv4-mapped)."""
        return bytes([(self._a.hi >> (56 - 8 * i)) & 0xff for i in range(8)]
                     + [(self._a.lo >> (56 - 8 * i)) & 0xff for i in range(8)])

    @property
    def prefixlen(self):
        return None if self._plen < 0 else self._plen

    @property
    def deprecated(self) -> bool:
        return (self._flags & SK_F_DEPRECATED) != 0

    @property
    def temporary(self) -> bool:
        return (self._flags & SK_F_TEMPORARY) != 0

    @property
    def home(self) -> bool:
        return (self._flags & SK_F_HOME) != 0

    @property
    def care_of(self) -> bool:
        return (self._flags & SK_F_CAREOF) != 0

    @property
    def encapsulated(self) -> bool:
        return (self._flags & SK_F_ENCAP) != 0

    @property
    def optimistic(self) -> bool:
        return (self._flags & SK_F_OPTIMISTIC) != 0

    @property
    def ifindex(self):
        return None if self._ifindex == SK_NO_IFINDEX else self._ifindex

    @property
    def is_ipv4(self) -> bool:
        return addr_is_v4mapped(self._a)

    @property
    def flags(self) -> int:
        """The SK_F_* bits (see sortkey.pxd)."""
        return self._flags

    def __repr__(self):
        parts = [repr(self.address)]
        if self._plen >= 0:
            parts.append(f"prefixlen={self._plen}")
        for name in ("deprecated", "temporary", "home", "care_of", "encapsulated",
                     "optimistic"):
            if getattr(self, name):
                parts.append(f"{name}=True")
        if self._ifindex != SK_NO_IFINDEX:
            parts.append(f"ifindex={self._ifindex}")
        return f"SourceAddress({', '.join(parts)})"

    def __eq__(self, other):
        if not isinstance(other, SourceAddress):
            return NotImplemented
        cdef SourceAddress o = <SourceAddress>other
        return (self._a.hi == o._a.hi and self._a.lo == o._a.lo and self._flags == o._flags
                and self._plen == o._plen and self._ifindex == o._ifindex)

    def __hash__(self):
        return hash((self._a.hi, self._a.lo, self._flags, self._plen, self._ifindex))


cdef int _set_source(sk_row_t *row, object s) except -1:
    cdef SourceAddress sa
    if s is None:
        row.flags = 0
        row.src.hi = 0
        row.src.lo = 0
        row.src_plen = -1
        row.ifindex = SK_NO_IFINDEX
        return 0
    if type(s) is SourceAddress:
        sa = <SourceAddress>s
        row.src = sa._a
        row.flags = sa._flags | SK_F_USABLE
        row.src_plen = sa._plen
        row.ifindex = sa._ifindex
        return 0
    _addr_fast(s, &row.src)
    row.flags = SK_F_USABLE
    row.src_plen = -1
    row.ifindex = SK_NO_IFINDEX
    return 0


# Parsed text addresses, so that sorting the same names again costs a dict lookup
# instead of inet_pton (bounded; cleared when full).
cdef dict _parsed = {}
cdef enum:
    _PARSED_MAX = 4096


cdef int _addr_fast(object o, addr128_t *out) except -1:
    cdef object hit
    cdef bytes b
    if type(o) is str:
        hit = _parsed.get(o)
        if hit is not None:
            out[0] = addr_load(<const uint8_t *>PyBytes_AS_STRING(<bytes>hit))
            return 0
        addr_from_object(o, out)
        if len(_parsed) >= _PARSED_MAX:
            _parsed.clear()
        b = PyBytes_FromStringAndSize(NULL, 16)
        addr_store(<uint8_t *>PyBytes_AS_STRING(b), out[0])
        _parsed[o] = b
        return 0
    return addr_from_object(o, out)


cdef int _fill_rows(sk_row_t *rows, list dests, object sources, int flavor,
                    CompiledPolicy policy) except -1:
    cdef Py_ssize_t i, n = len(dests)
    cdef object d, s
    cdef bint is_map = isinstance(sources, dict)
    cdef bint is_seq = (not is_map) and isinstance(sources, (list, tuple))
    cdef bint is_call = (not is_map) and (not is_seq) and callable(sources)
    if is_seq and len(sources) != n:
        raise ValueError(f"{len(sources)} sources for {n} destinations")
    if not (is_map or is_seq or is_call):
        if hasattr(sources, "__getitem__"):
            is_map = True
        else:
            raise TypeError("sources must be a mapping, a sequence or a callable, not "
                            f"{type(sources).__name__}")
    for i in range(n):
        d = dests[i]
        try:
            _addr_fast(d, &rows[i].dst)
        except AddressError as e:
            raise AddressError(f"destination {i}: {e}", d, i) from None
        if is_seq:
            s = sources[i]
        elif is_call:
            s = sources(d)
        else:
            try:
                s = sources[d]
            except KeyError:
                raise AddressError(f"no source given for destination {d!r} (use None for an "
                                   "unreachable one)", d, i) from None
        try:
            _set_source(&rows[i], s)
        except AddressError as e:
            raise AddressError(f"source of destination {d!r}: {e}", s, i) from None
        rows[i].index = <uint32_t>i
        sk_fill_row(flavor, &policy.pol, &rows[i])
    return 0


cdef enum:
    _STACK_ROWS = 16


def sort_destinations(destinations, sources, int flavor, CompiledPolicy policy) -> list:
    """Return ``destinations`` (objects as given) in the flavour's order.

    ``sources``: a dict or mapping destination -> source, a sequence aligned with
    ``destinations``, or a callable; each source is None (unreachable), a
    SourceAddress, or an address.  ``flavor`` is RFC6724, GLIBC or MUSL.
    """
    cdef list dests = destinations if type(destinations) is list else list(destinations)
    cdef Py_ssize_t i, n = len(dests)
    cdef sk_row_t stack_rows[_STACK_ROWS]
    cdef uint32_t stack_order[2 * _STACK_ROWS]
    cdef sk_row_t *rows = stack_rows
    cdef uint32_t *order = stack_order
    cdef list out
    if flavor < 0 or flavor > SK_GO:
        raise ValueError(f"bad flavor code {flavor}")
    if flavor == SK_MUSL and n > MUSL_MAXADDRS:
        raise ValueError(f"musl returns at most {MUSL_MAXADDRS} addresses; got {n}")
    if n > _STACK_ROWS:
        rows = <sk_row_t *>PyMem_Malloc(n * sizeof(sk_row_t))
        order = <uint32_t *>PyMem_Malloc(2 * n * sizeof(uint32_t))
        if rows == NULL or order == NULL:
            PyMem_Free(rows)
            PyMem_Free(order)
            raise MemoryError()
    try:
        _fill_rows(rows, dests, sources, flavor, policy)
        sk_sort(flavor, rows, n, order, order + n)
        out = [None] * n
        for i in range(n):
            out[i] = dests[order[i]]
        return out
    finally:
        if rows != stack_rows:
            PyMem_Free(rows)
            PyMem_Free(order)


def analyze(destinations, sources, int flavor, CompiledPolicy policy) -> tuple:
    """Sort like ``sort_destinations`` and return what an explanation needs.

    Returns ``(order, rows, decisions)``: ``order`` the input indexes in sorted order;
    ``rows`` one dict per input destination with its attributes (dst, src, flags, prec,
    label, src_label, scope, src_scope, cpl, key); ``decisions`` for each adjacent pair of
    the result, the signed rule from ``sk_decide`` (negative: the first one won), or 0
    when musl skipped sorting.
    """
    cdef list dests = destinations if type(destinations) is list else list(destinations)
    cdef Py_ssize_t i, n = len(dests)
    cdef sk_row_t *rows
    cdef uint32_t *order
    if flavor < 0 or flavor > SK_GO:
        raise ValueError(f"bad flavor code {flavor}")
    if flavor == SK_MUSL and n > MUSL_MAXADDRS:
        raise ValueError(f"musl returns at most {MUSL_MAXADDRS} addresses; got {n}")
    rows = <sk_row_t *>PyMem_Malloc(max(n, 1) * sizeof(sk_row_t))
    order = <uint32_t *>PyMem_Malloc(2 * max(n, 1) * sizeof(uint32_t))
    if rows == NULL or order == NULL:
        PyMem_Free(rows)
        PyMem_Free(order)
        raise MemoryError()
    try:
        _fill_rows(rows, dests, sources, flavor, policy)
        sk_sort(flavor, rows, n, order, order + n)
        skipped = flavor == SK_MUSL and musl_skip_sort(rows, n)
        out_order = [order[i] for i in range(n)]
        info = []
        for i in range(n):
            usable = (rows[i].flags & SK_F_USABLE) != 0
            info.append({
                "dst": addr_to_str(rows[i].dst, True),
                "src": addr_to_str(rows[i].src, True) if usable else None,
                "flags": rows[i].flags,
                "src_plen": None if rows[i].src_plen < 0 else rows[i].src_plen,
                "ifindex": None if rows[i].ifindex == SK_NO_IFINDEX else rows[i].ifindex,
                "precedence": rows[i].dprec,
                "label": rows[i].dlabel,
                "src_label": rows[i].slabel if usable else None,
                "scope": rows[i].dscope,
                "src_scope": rows[i].sscope if usable else None,
                "cpl": rows[i].cpl if usable else None,
                "ipv4": addr_is_v4mapped(rows[i].dst),
                "key": rows[i].key,
            })
        decisions = []
        for i in range(n - 1):
            decisions.append(0 if skipped else
                             sk_decide(flavor, &rows[order[i]], &rows[order[i + 1]]))
        return out_order, info, decisions, skipped
    finally:
        PyMem_Free(rows)
        PyMem_Free(order)


def musl_sort_key(destination, source, int index, CompiledPolicy policy) -> int:
    """musl's 31-bit key for ``destination`` at input position ``index`` (0..47).

    ``source`` is None when musl's connect() fails (unusable), else an address or a
    SourceAddress (only its address counts).
    """
    cdef addr128_t d, s
    cdef bint usable = source is not None
    if not 0 <= index < MUSL_MAXADDRS:
        raise ValueError(f"index {index} is not from 0 to {MUSL_MAXADDRS - 1} (musl's MAXADDRS)")
    addr_from_object(destination, &d)
    s.hi = 0
    s.lo = 0
    if usable:
        if type(source) is SourceAddress:
            s = (<SourceAddress>source)._a
        else:
            addr_from_object(source, &s)
    return musl_key(&policy.pol, d, s, usable, index)


def wide_key(destination, source, int flavor, CompiledPolicy policy) -> int:
    """``sk_wide_key`` (rules 1-8, layout in sortkey.pxd) for one destination."""
    cdef sk_row_t row
    _set_source(&row, source)
    addr_from_object(destination, &row.dst)
    return sk_wide_key(flavor, &policy.pol, row.dst, row.src, row.flags)


def common_prefix_len(source, destination, int flavor, prefixlen=None) -> int:
    """The flavour's rule-9 CommonPrefixLen(source, destination)."""
    cdef addr128_t s, d
    addr_from_object(source, &s)
    addr_from_object(destination, &d)
    return sk_cpl(flavor, s, d, -1 if prefixlen is None else <int32_t>prefixlen)


def source_attrs(SourceAddress s) -> tuple:
    """``(packed16, flags, prefixlen or -1, ifindex or -1)`` for building rows in bulk."""
    return (s.packed, s._flags, s._plen,
            -1 if s._ifindex == SK_NO_IFINDEX else <long>s._ifindex)
