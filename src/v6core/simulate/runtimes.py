"""The runtime mix of a fleet: which process resolves each lookup, and what its runtime
does on top of (or instead of) the C library's order, in bulk.

A process is one of :data:`RUNTIMES`:

``glibc`` / ``musl``
    A C program: the C library's own order (Debian/Ubuntu-based images, Alpine images).
``go``
    A ``CGO_ENABLED=0`` binary (most ``FROM scratch`` / distroless images): Go's own
    RFC 6724 sort (the ``go`` flavour); it never reads gai.conf.
``java``
    ``InetAddress.getAllByName`` with the default ``java.net.preferIPv6Addresses=false``
    on glibc: repeats dropped, then IPv4 first (stable).
``node``
    ``dns.lookup(name, {all: true})`` on glibc, ``verbatim`` (the default since Node 17):
    glibc's order unchanged.

A policy of the simulation says what one resolver does; it applies to the processes
that use that resolver (:func:`applies`): a ``glibc`` policy (e.g. a gai.conf fix) to
glibc, Java and Node processes, ``musl`` to musl ones, ``go`` to Go ones, and
``rfc6724`` / ``rfc6724-update`` to every process (the world in which every resolver
adopted it).  Every other process keeps its runtime's own resolver.  So the gai.conf fix
helps only the glibc-based processes, and the draft update helps Go only in the
``rfc6724-update`` row, which models Go adopting it ("go" is today's Go).

The Java/Node step runs in bulk (:func:`reorder_groups`: a vectorised stable partition
per group, no Python per row); the simulation needs only each group's first row after
the step, which :func:`first_after_step` finds without reordering.  Both are written
independently of :meth:`v6core.runtime.Runtime.reorder`, and tests compare them with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from v6core.errors import ConfigError

__all__ = ["RUNTIMES", "DEFAULT_MIX", "GENERIC_MIX", "LIBC_OF", "applies", "assign",
           "step_changes_first",
           "family_first", "first_after_step", "is_ipv4",
           "mix_table", "parse_mix", "parse_runtime_values", "reorder_groups"]

RUNTIMES = ("glibc", "musl", "go", "java", "node")
GLIBC, MUSL, GO, JAVA, NODE = range(5)

# The C library under each runtime's order (Go: its own sort).
LIBC_OF = {"glibc": "glibc", "musl": "musl", "go": "go", "java": "glibc", "node": "glibc"}

# Built-in shares of processes making lookups, per host profile (fleet.PROFILES).  They
# are a plausible picture of a container fleet, not a measurement:
# - Go is the largest single share in container platforms (Kubernetes, Docker, Prometheus,
#   most operators and sidecars are CGO_ENABLED=0 static binaries in scratch/distroless);
# - musl is what Alpine-based images use, common for small services;
# - Java and Node run most application back ends, on Debian-based (glibc) images;
# - plain glibc programs (curl, Python, Ruby, nginx) make up the rest.
# Hosts that are less container-heavy (dual-stack, IPv4-only VMs) lean to glibc.
GENERIC_MIX = {"go": 0.30, "java": 0.15, "node": 0.15, "glibc": 0.25, "musl": 0.15}
DEFAULT_MIX: dict[str, dict[str, float]] = {
    "dual-stack": {"go": 0.20, "java": 0.20, "node": 0.15, "glibc": 0.35, "musl": 0.10},
    "container ULA + IPv4": {"go": 0.35, "java": 0.15, "node": 0.15, "glibc": 0.15,
                             "musl": 0.20},
    "IPv4 only": {"go": 0.20, "java": 0.25, "node": 0.15, "glibc": 0.30, "musl": 0.10},
    "ULA + deprecated GUA": {"go": 0.35, "java": 0.15, "node": 0.15, "glibc": 0.15,
                             "musl": 0.20},
    "IPv6 only": {"go": 0.40, "java": 0.10, "node": 0.15, "glibc": 0.20, "musl": 0.15},
    "6to4 + public IPv4": GENERIC_MIX,
    "Teredo + IPv4": GENERIC_MIX,
}


def applies(flavor: str, runtime: str) -> bool:
    """Whether a policy of ``flavor`` describes the resolver ``runtime``'s processes use."""
    if flavor in ("rfc6724", "rfc6724-update"):
        return True
    return LIBC_OF[runtime] == flavor


def step_changes_first(runtime: str) -> bool:
    """Whether ``runtime``'s default step (first_after_step) can change which row comes
    first: Java's (IPv4 first); Node's default ``verbatim`` keeps the C library's order."""
    return runtime == "java"


def parse_mix(spec: str) -> dict[str, float]:
    """``go=0.3,java=0.2,...`` -> shares (normalised); ConfigError naming a bad part."""
    out: dict[str, float] = {}
    for part in spec.split(","):
        name, eq, val = part.strip().partition("=")
        name = name.strip().lower()
        if name not in RUNTIMES or not eq:
            raise ConfigError(f"runtime mix {spec!r}: {part.strip()!r} is not RUNTIME=SHARE "
                              f"with RUNTIME one of {', '.join(RUNTIMES)}")
        try:
            v = float(val)
        except ValueError:
            raise ConfigError(f"runtime mix {spec!r}: share {val!r} of {name} is not a "
                              "number") from None
        if not v >= 0 or v == float("inf"):
            raise ConfigError(f"runtime mix {spec!r}: share {val!r} of {name} is not a "
                              "finite number >= 0")
        out[name] = v
    total = sum(out.values())
    if total <= 0:
        raise ConfigError(f"runtime mix {spec!r}: the shares add up to 0")
    return {k: v / total for k, v in out.items()}


def mix_table(profile_names: Sequence[str], mix: Mapping[str, float] | None = None
              ) -> np.ndarray:
    """(P + 1, 5) cumulative shares: one row per profile (the built-in default per
    profile, or ``mix`` for all) and a last row for lookups without a profile."""
    rows = []
    for name in [*profile_names, None]:
        m = mix if mix is not None else DEFAULT_MIX.get(name or "", GENERIC_MIX)
        w = np.array([m.get(r, 0.0) for r in RUNTIMES], np.float64)
        rows.append(np.cumsum(w / w.sum()))
    t = np.array(rows)
    t[:, -1] = 1.0
    return t


def _u53(index: np.ndarray, seed: int) -> np.ndarray:
    """A deterministic uniform integer in [0, 2**53) per lookup index (splitmix64's
    finaliser, top 53 bits), so chunks agree however a dataset is split."""
    z = index.astype(np.uint64)
    with np.errstate(over="ignore"):
        z += np.uint64((seed * 0x9E3779B97F4A7C15) & (2**64 - 1))
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    z >>= np.uint64(11)
    return z


def _uniform(index: np.ndarray, seed: int) -> np.ndarray:
    """The draw of :func:`_u53` as a float in [0, 1) (exact: a 53-bit integer / 2**53)."""
    return _u53(index, seed).astype(np.float64) * (1.0 / (1 << 53))


# the thresholds of mix-table row p sit at p << _ROW_SHIFT, above every 53-bit draw
_ROW_SHIFT = 54


def assign(first_lookup: int, profile: np.ndarray | None, n: int, cum: np.ndarray,
           seed: int = 0) -> np.ndarray:
    """The runtime code (index into RUNTIMES) of lookups ``first_lookup .. + n - 1``,
    drawn from ``cum`` (:func:`mix_table`) by each lookup's profile (None: the last row).

    A lookup with draw ``u`` (:func:`_uniform`) gets the number of its row's cumulative
    shares ``c`` with ``u >= c`` (at most the last runtime).  ``u = u53 / 2**53``
    exactly, so ``u >= c`` is ``u53 >= ceil(c * 2**53)``: integer thresholds, and one
    ``searchsorted`` over every row's thresholds (row ``p``'s offset by ``p << 54``, the
    draw likewise) counts them."""
    u53 = _u53(np.arange(first_lookup, first_lookup + n, dtype=np.int64), seed)
    rows, k = cum.shape
    last = len(RUNTIMES) - 1
    prof = (np.full(n, rows - 1, np.int64) if profile is None
            else np.asarray(profile).astype(np.int64))
    if (rows > 1 << (63 - _ROW_SHIFT) or not np.isfinite(cum).all()
            or (np.diff(cum, axis=1) < 0).any() or (cum < 0).any()):
        # not thresholds in order (never from mix_table): count directly
        u = u53.astype(np.float64) * (1.0 / (1 << 53))
        return np.minimum((u[:, None] >= cum[prof]).sum(axis=1), last).astype(np.uint8)
    if n:
        lo, hi = int(prof.min()), int(prof.max())
        if lo < -rows or hi >= rows:
            raise IndexError(f"a profile has no row in the mix table of {rows} rows")
        if lo < 0:
            prof[prof < 0] += rows             # numpy's negative indexes, as cum[prof]
    # ceil(c * 2**53) < 2**54 (a share above 1 is never reached, whatever its size)
    thr = np.ceil(np.minimum(cum, 1.5) * float(1 << 53)).astype(np.uint64)
    thr += (np.arange(rows, dtype=np.uint64) << np.uint64(_ROW_SHIFT))[:, None]
    u53 += prof.astype(np.uint64) << np.uint64(_ROW_SHIFT)
    code = np.searchsorted(thr.ravel(), u53, side="right")
    prof *= k
    code -= prof
    np.minimum(code, last, out=code)
    return code.astype(np.uint8)


def parse_runtime_values(values: Sequence[str], where: Callable[[int], str]) -> np.ndarray:
    """Runtime names (one per lookup) -> codes; ConfigError naming the row and the value
    when one is not a runtime (``where(i)`` says "file:line")."""
    codes = {r: i for i, r in enumerate(RUNTIMES)}
    out = np.empty(len(values), np.uint8)
    for i, v in enumerate(values):
        c = codes.get(str(v).strip().lower())
        if c is None:
            raise ConfigError(f"{where(i)}: runtime {v!r} is not one of {', '.join(RUNTIMES)}")
        out[i] = c
    return out


def reorder_groups(order: np.ndarray, offsets: np.ndarray, dst: np.ndarray, runtime: str,
                   option: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The Java or Node step on a C library's order, for every group at once.

    ``order`` (N,) row indexes, group by group (``offsets``), in the C library's order;
    ``dst`` the (N, 16) rows.  Returns ``(order, offsets)``: Java drops a repeated
    address within a group (keeping its first place) and, unless ``option`` is
    ``system``, moves IPv4 (``false``, the default) or IPv6 (``true``) first, stably;
    Node's ``ipv4first`` / ``ipv6first`` move a family first, ``verbatim`` keeps it all.
    """
    order = np.asarray(order, np.int64)
    offsets = np.asarray(offsets, np.int64)
    n = order.shape[0]
    sizes = np.diff(offsets)
    gid = np.repeat(np.arange(sizes.shape[0], dtype=np.int64), sizes)
    first = family_first(runtime, option)            # a bad runtime or option raises
    if runtime == "java" and n:
        halves = dst[order].view(">u8").reshape(n, 2)
        pos = np.arange(n, dtype=np.int64)
        idx = np.lexsort((pos, halves[:, 1], halves[:, 0], gid))
        same = ((gid[idx][1:] == gid[idx][:-1])
                & (halves[idx, 0][1:] == halves[idx, 0][:-1])
                & (halves[idx, 1][1:] == halves[idx, 1][:-1]))
        keep = np.ones(n, bool)
        keep[idx[1:][same]] = False
        order, gid = order[keep], gid[keep]
        offsets = np.zeros_like(offsets)
        np.cumsum(np.bincount(gid, minlength=sizes.shape[0]), out=offsets[1:])
    if first is None or not order.shape[0]:
        return order, offsets
    v4 = is_ipv4(dst[order])
    later = v4 if first == 6 else ~v4
    perm = np.lexsort((later, gid))          # stable: by group, then family, then order
    return order[perm], offsets


def first_after_step(first: np.ndarray, order: np.ndarray, offsets: np.ndarray,
                     dst: np.ndarray | None, runtime: str, option: str | None = None, *,
                     v4: np.ndarray | None = None, groups: np.ndarray | None = None
                     ) -> np.ndarray:
    """Each group's first row after the runtime's step, without the step itself.

    ``first`` (G,) int64 the C library's first row per group (-1: empty, or not ordered;
    stays -1), ``order`` (N,) its order, group by group (``offsets``), ``dst`` the
    (N, 16) rows or ``v4`` (N,) bool, whether each row is IPv4 (IPv4-mapped).
    ``groups`` (G,) bool: step only these groups (the others keep ``first``).

    When the step puts a family first, the first row is the first row of that family in
    the C library's order, or, with none of it, the order's first row; otherwise it is
    the order's first row.  Java's de-duplication keeps first occurrences, so it never
    changes which row is first (nor which row of a family is).
    """
    fam = family_first(runtime, option)
    first = np.asarray(first, np.int64)
    if fam is None:
        return first
    order = np.asarray(order, np.int64)
    offsets = np.asarray(offsets, np.int64)
    if v4 is None:
        if dst is None:
            raise ValueError("first_after_step needs dst or v4")
        v4 = is_ipv4(dst)
    hit = np.asarray(v4, bool).take(order)
    if fam == 6:
        np.logical_not(hit, out=hit)
    # positions in the order of the wanted family's rows (ascending)
    pos = np.flatnonzero(hit)
    todo = first >= 0
    if groups is not None:
        todo &= np.asarray(groups, bool)
    grp = np.flatnonzero(todo)
    out = first.copy()
    if not grp.shape[0] or not pos.shape[0]:
        return out
    # each group's first such position at or after its start, if before its end
    j = np.searchsorted(pos, offsets[grp])
    np.minimum(j, pos.shape[0] - 1, out=j)
    m = pos[j]
    found = (m >= offsets[grp]) & (m < offsets[grp + 1])
    out[grp[found]] = order[m[found]]
    return out


def family_first(runtime: str, option: str | None = None) -> int | None:
    """4 or 6 when ``runtime`` (``java`` or ``node``) with ``option`` (None: its default)
    puts one family first, None when it keeps the C library's order; ValueError for
    another runtime or option."""
    if runtime == "java":
        table: dict[str, int | None] = {"false": 4, "true": 6, "system": None}
        option = option or "false"
    elif runtime == "node":
        table = {"verbatim": None, "ipv4first": 4, "ipv6first": 6}
        option = option or "verbatim"
    else:
        raise ValueError(f"runtime {runtime!r} has no step on top of a C library")
    if option not in table:
        raise ValueError(f"runtime {runtime!r}: unknown option {option!r} "
                         f"(valid: {', '.join(table)})")
    return table[option]


def is_ipv4(dst: np.ndarray) -> np.ndarray:
    """(N,) bool: which rows of an (N, 16) uint8 array are IPv4 (::ffff:0:0/96)."""
    return (dst[:, :10] == 0).all(axis=1) & (dst[:, 10] == 0xFF) & (dst[:, 11] == 0xFF)
