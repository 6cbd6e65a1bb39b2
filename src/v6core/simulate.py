"""Fleet-scale what-if: replay many lookups under several resolver policies.

A dataset is a set of hosts, each with its candidate source addresses (and flags), and a
stream of lookups, each a host and the destination candidates its name resolved to, in
the order the resolver received them.  For every lookup the kernel picks each candidate's
source (RFC 6724 section 5, :func:`v6core._core.bulk.select_sources`), orders the
candidates under each policy (:func:`v6core._core.bulk.order_groups`) and counts where
the first connection attempt goes: IPv6 or IPv4, global IPv6 or ULA, which rule decided,
and what changed between policies.  Datasets stream through in chunks of whole lookups,
so memory stays bounded however many lookups there are.

Dataset formats (see :func:`load`):

* the built-in synthetic container fleet (:func:`synthetic_fleet`);
* NumPy ``.npz`` (or a directory of ``.npy`` files, memory-mapped, for inputs larger than
  memory) with arrays ``dst`` (N, 16) uint8, ``offsets`` (L + 1) int64 and either the
  fleet form ``host`` (L,), ``host_offsets`` (H + 1), ``candidates`` (M, 16) uint8,
  ``cand_flags`` (M,) uint8, ``cand_plen`` (M,) uint8, or the resolved form ``src``
  (N, 16), ``flags`` (N,) and ``plen`` (N,) uint8;
* CSV (and Parquet when pyarrow is installed), one row per candidate in order: resolved
  form ``lookup,destination,source,prefixlen,flags`` (an empty source is unreachable), or
  fleet form ``lookup,host,destination`` with a hosts file ``host,source,prefixlen,flags``.
  ``flags`` is a ``|``-separated list of deprecated, temporary, home, care_of,
  encapsulated, optimistic.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from v6core._core import bulk
from v6core._core.addr import pack_many
from v6core.errors import ConfigError

__all__ = [
    "Chunk", "Dataset", "Policy", "Report", "synthetic_fleet", "load", "save_npz",
    "write_csv", "parse_policy", "simulate", "empty_report", "add_chunk", "merge_reports",
    "format_report", "plot_report",
    "DEST_CLASSES", "RULE_NAMES",
]

# ------------------------------------------------------------------ classification

# Destination classes of the first choice (RFC 6724 section 2.1 rows and RFC 4193 ULA).
DEST_CLASSES = ("global IPv6", "ULA", "6to4", "Teredo", "link-local/other IPv6", "IPv4")
_GLOBAL, _ULA, _6TO4, _TEREDO, _OTHER6, _IPV4 = range(6)

RULE_NAMES = {
    0: "nothing decided (1 candidate; musl all-IPv4)",
    1: "avoid unusable destinations",
    2: "prefer matching scope",
    3: "avoid deprecated addresses",
    4: "prefer home addresses",
    5: "prefer matching label",
    6: "prefer higher precedence",
    7: "prefer native transport",
    8: "prefer smaller scope",
    9: "use longest matching prefix",
    10: "leave the order unchanged",
}

FLAG_NAMES = {
    "deprecated": bulk.FLAG_DEPRECATED,
    "temporary": bulk.FLAG_TEMPORARY,
    "home": bulk.FLAG_HOME,
    "care_of": bulk.FLAG_CARE_OF,
    "encapsulated": bulk.FLAG_ENCAPSULATED,
    "optimistic": bulk.FLAG_OPTIMISTIC,
}


def classify_destinations(dst: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Class index (into DEST_CLASSES) of every row of an (N, 16) uint8 array."""
    return bulk.classify(dst, threads)


# ------------------------------------------------------------------ datasets

@dataclass
class Chunk:
    """Whole lookups: ``offsets`` (L + 1) over rows of ``dst``; either ``host`` (L,) for
    fleet datasets, or ``src``/``flags``/``plen`` per row for resolved ones."""

    offsets: np.ndarray
    dst: np.ndarray
    host: np.ndarray | None = None
    src: np.ndarray | None = None
    flags: np.ndarray | None = None
    plen: np.ndarray | None = None

    @property
    def lookups(self) -> int:
        return int(self.offsets.shape[0] - 1)


@dataclass
class Fleet:
    """Hosts and their candidate source addresses (CSR: host_offsets over candidates)."""

    host_offsets: np.ndarray
    candidates: np.ndarray
    cand_flags: np.ndarray
    cand_plen: np.ndarray
    profile: np.ndarray | None = None           # (H,) index into profile_names
    profile_names: tuple[str, ...] = ()

    @property
    def hosts(self) -> int:
        return int(self.host_offsets.shape[0] - 1)


@dataclass
class Dataset:
    """A named source of lookup chunks (see the module docstring)."""

    name: str
    lookups: int | None
    chunks: Any                                  # callable(max_rows) -> Iterator[Chunk]
    fleet: Fleet | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def iter_chunks(self, max_rows: int = 1 << 20) -> Iterator[Chunk]:
        return iter(self.chunks(max_rows))


# -- the built-in synthetic container fleet

_BLOCK = 1 << 18          # lookups per generated block

# (name, weight, source recipe): each host gets the sources its recipe lists
PROFILES = (
    ("dual-stack", 0.30, ("gua", "gua-temp", "v4-private")),
    ("container ULA + IPv4", 0.25, ("ula", "v4-docker")),
    ("IPv4 only", 0.15, ("v4-private",)),
    ("ULA + deprecated GUA", 0.10, ("gua-deprecated", "ula", "v4-private")),
    ("IPv6 only", 0.08, ("gua",)),
    ("6to4 + public IPv4", 0.06, ("6to4", "v4-public")),
    ("Teredo + IPv4", 0.06, ("teredo", "v4-private")),
)

# (name, weight, AAAA class, number of AAAA, A class, number of A)
SERVICES = (
    ("dual-stack global", 0.50, "gua", (1, 2), "v4-public", (1, 2)),
    ("IPv4 only", 0.25, None, (0, 0), "v4-public", (1, 3)),
    ("IPv6 only", 0.05, "gua", (1, 2), None, (0, 0)),
    ("internal dual-stack", 0.12, "ula", (1, 1), "v4-private", (1, 1)),
    ("6to4 dual-stack", 0.04, "6to4", (1, 1), "v4-public", (1, 1)),
    ("Teredo dual-stack", 0.04, "teredo", (1, 1), "v4-public", (1, 1)),
)


def _v4(a: int) -> bytes:
    return b"\0" * 10 + b"\xff\xff" + int(a).to_bytes(4, "big")


def _v6(hi: int, lo: int) -> bytes:
    return int(hi).to_bytes(8, "big") + int(lo).to_bytes(8, "big")


def _make_address(kind: str, n: int, rng: np.random.Generator) -> tuple[bytes, int, int]:
    """(16 bytes, prefix length, flags) for source/destination recipe ``kind``, item ``n``."""
    lo = int(rng.integers(1, 1 << 62))
    if kind in ("gua", "gua-temp", "gua-deprecated"):
        # 2001:db8:<n>::/64 (documentation space, RFC 3849)
        flags = {"gua": 0, "gua-temp": bulk.FLAG_TEMPORARY,
                 "gua-deprecated": bulk.FLAG_DEPRECATED}[kind]
        return _v6(0x20010DB800000000 | (n & 0xFFFFFFFF), lo), 64, flags
    if kind == "ula":
        return _v6(0xFD00000000000000 | (n & 0xFFFFFFFFFF), lo), 64, 0
    if kind == "6to4":
        v4 = 0xC0000200 | (n & 0xFF)                              # 192.0.2.x
        return _v6(0x2002000000000000 | (v4 << 16), lo), 48, 0
    if kind == "teredo":
        return _v6(0x2001000000000000 | (n & 0xFFFFFFFF), lo), 32, 0
    if kind == "v4-private":
        return _v4(0x0A000000 | ((n & 0xFFFF) << 8) | int(rng.integers(2, 255))), 24, 0
    if kind == "v4-docker":
        return _v4(0xAC110000 | int(rng.integers(2, 65534))), 16, 0   # 172.17/16
    if kind == "v4-public":
        base = (0xC6336400, 0xCB007100)[n & 1]                         # 198.51.100/24, 203.0.113/24
        return _v4(base | int(rng.integers(1, 255))), 24, 0
    raise ValueError(kind)


def _fleet(hosts: int, rng: np.random.Generator) -> Fleet:
    weights = np.array([w for _, w, _ in PROFILES])
    profile = rng.choice(len(PROFILES), size=hosts, p=weights / weights.sum())
    cands: list[bytes] = []
    flags: list[int] = []
    plens: list[int] = []
    offsets = [0]
    for h in range(hosts):
        for kind in PROFILES[profile[h]][2]:
            a, plen, f = _make_address(kind, h, rng)
            cands.append(a)
            plens.append(plen)
            flags.append(f)
        offsets.append(len(cands))
    return Fleet(np.array(offsets, np.int64),
                 np.frombuffer(b"".join(cands), np.uint8).reshape(-1, 16).copy(),
                 np.array(flags, np.uint8), np.array(plens, np.uint8),
                 profile.astype(np.int16), tuple(p[0] for p in PROFILES))


def _services(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    weights = np.array([s[1] for s in SERVICES])
    kinds = rng.choice(len(SERVICES), size=n, p=weights / weights.sum())
    rows: list[bytes] = []
    offsets = [0]
    for i in range(n):
        _, _, k6, n6, k4, n4 = SERVICES[kinds[i]]
        answer = []
        for _ in range(int(rng.integers(n6[0], n6[1] + 1)) if k6 else 0):
            answer.append(_make_address(k6, 0xFF0000 + i, rng)[0])
        for _ in range(int(rng.integers(n4[0], n4[1] + 1)) if k4 else 0):
            answer.append(_make_address(k4, i, rng)[0])
        rng.shuffle(answer)                   # the order the resolver received them
        rows.extend(answer)
        offsets.append(len(rows))
    return (np.array(offsets, np.int64),
            np.frombuffer(b"".join(rows), np.uint8).reshape(-1, 16).copy())


def synthetic_fleet(lookups: int = 1_000_000, hosts: int = 2000, services: int = 5000,
                    seed: int = 0) -> Dataset:
    """The built-in dataset: a container fleet resolving a mix of services.

    Hosts follow :data:`PROFILES` (dual-stack, Docker-style ULA + IPv4 containers, IPv4
    only, a deprecated global address beside a ULA, IPv6 only, 6to4, Teredo); services
    follow :data:`SERVICES` (dual-stack global, IPv4 only, IPv6 only, internal ULA +
    private IPv4, 6to4 and Teredo destinations).  Lookups pick a host uniformly and a
    service by a Zipf-like popularity.  Addresses come from documentation prefixes
    (2001:db8::/32, 192.0.2/24, 198.51.100/24, 203.0.113/24) and private space.  The
    same arguments give the same dataset.
    """
    if lookups < 0 or hosts < 1 or services < 1:
        raise ConfigError("synthetic fleet: lookups must be >= 0, hosts and services >= 1")
    rng = np.random.default_rng(seed)
    fleet = _fleet(hosts, rng)
    svc_off, svc_dst = _services(services, rng)
    svc_size = np.diff(svc_off)
    svc_v16 = svc_dst.view("V16").ravel()
    pop = 1.0 / np.arange(1, services + 1) ** 0.9
    cdf = np.cumsum(pop / pop.sum())

    def block(k: int, n: int) -> Chunk:
        # block k always holds the same lookups, whatever chunk size the caller asks for
        r = np.random.default_rng((seed, k))
        host = r.integers(0, hosts, n)
        svc = np.minimum(np.searchsorted(cdf, r.random(n)), services - 1)
        sizes = svc_size[svc]
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum(sizes, out=offsets[1:])
        rows = np.repeat(svc_off[svc] - offsets[:-1], sizes) + np.arange(offsets[-1])
        dst = svc_v16.take(rows).view(np.uint8).reshape(-1, 16)
        return Chunk(offsets, dst, host=host)

    def chunks(max_rows: int) -> Iterator[Chunk]:
        for k, start in enumerate(range(0, lookups, _BLOCK)):
            c = block(k, min(_BLOCK, lookups - start))
            if c.offsets[-1] <= max_rows:
                yield c
                continue
            for g0, g1 in bulk.iter_chunks(c.offsets, max_rows):
                r0, r1 = int(c.offsets[g0]), int(c.offsets[g1])
                yield Chunk(c.offsets[g0:g1 + 1] - r0, c.dst[r0:r1], host=c.host[g0:g1])

    return Dataset(f"built-in container fleet (seed {seed})", lookups, chunks, fleet,
                   {"hosts": hosts, "services": services, "seed": seed})


# -- NumPy

_FLEET_KEYS = ("host", "host_offsets", "candidates", "cand_flags", "cand_plen")
_RESOLVED_KEYS = ("src", "flags", "plen")


def save_npz(dataset: Dataset, path: str | os.PathLike[str], max_rows: int = 1 << 22) -> None:
    """Write ``dataset`` as one ``.npz`` (all chunks concatenated)."""
    parts = list(dataset.iter_chunks(max_rows))
    arrays: dict[str, np.ndarray] = {}
    offs = [np.zeros(1, np.int64)]
    base = 0
    for c in parts:
        offs.append(c.offsets[1:] + base)
        base += int(c.offsets[-1])
    arrays["offsets"] = np.concatenate(offs)
    arrays["dst"] = (np.concatenate([c.dst for c in parts]) if parts
                     else np.zeros((0, 16), np.uint8))
    if dataset.fleet is not None:
        f = dataset.fleet
        arrays["host"] = (np.concatenate([c.host for c in parts]) if parts
                          else np.zeros(0, np.int64))
        arrays.update(host_offsets=f.host_offsets, candidates=f.candidates,
                      cand_flags=f.cand_flags, cand_plen=f.cand_plen)
        if f.profile is not None:
            arrays["profile"] = f.profile
            arrays["profile_names"] = np.array(f.profile_names)
    else:
        for k in _RESOLVED_KEYS:
            arrays[k] = np.concatenate([getattr(c, k) for c in parts])
    np.savez(path, **arrays)


def _load_numpy(path: str) -> Dataset:
    if os.path.isdir(path):
        names = {os.path.splitext(f)[0]: os.path.join(path, f) for f in os.listdir(path)
                 if f.endswith(".npy")}
        arrays: Any = {k: np.load(p, mmap_mode="r") for k, p in names.items()}
    else:
        try:
            arrays = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise ConfigError(f"{path}: not a NumPy .npz file ({e})") from None
    keys = set(arrays.keys())
    for k in ("dst", "offsets"):
        if k not in keys:
            raise ConfigError(f"{path}: missing array {k!r} (have: {', '.join(sorted(keys))})")
    dst = arrays["dst"]
    offsets = np.asarray(arrays["offsets"], dtype=np.int64)
    if dst.ndim != 2 or dst.shape[1] != 16 or dst.dtype != np.uint8:
        raise ConfigError(f"{path}: dst must be an (N, 16) uint8 array, got {dst.dtype} "
                          f"{dst.shape}")
    try:
        bulk.check_offsets(offsets, dst.shape[0])
    except ValueError as e:
        raise ConfigError(f"{path}: {e}") from None
    fleet = None
    if set(_FLEET_KEYS) <= keys:
        profile = arrays["profile"] if "profile" in keys else None
        names = tuple(str(x) for x in arrays["profile_names"]) if "profile_names" in keys else ()
        fleet = Fleet(np.asarray(arrays["host_offsets"], np.int64),
                      np.ascontiguousarray(arrays["candidates"], np.uint8),
                      np.ascontiguousarray(arrays["cand_flags"], np.uint8),
                      np.ascontiguousarray(arrays["cand_plen"], np.uint8),
                      None if profile is None else np.asarray(profile), names)
        host = arrays["host"]
        if host.shape[0] != offsets.shape[0] - 1:
            raise ConfigError(f"{path}: host has {host.shape[0]} entries for "
                              f"{offsets.shape[0] - 1} lookups")
    elif not set(_RESOLVED_KEYS) <= keys:
        raise ConfigError(f"{path}: needs either {', '.join(_FLEET_KEYS)} (fleet form) or "
                          f"{', '.join(_RESOLVED_KEYS)} (resolved form)")

    def chunks(max_rows: int) -> Iterator[Chunk]:
        for g0, g1 in bulk.iter_chunks(offsets, max_rows):
            r0, r1 = int(offsets[g0]), int(offsets[g1])
            c = Chunk(offsets[g0:g1 + 1] - r0, np.ascontiguousarray(dst[r0:r1]))
            if fleet is not None:
                c.host = np.asarray(arrays["host"][g0:g1], dtype=np.int64)
            else:
                c.src = np.ascontiguousarray(arrays["src"][r0:r1], dtype=np.uint8)
                c.flags = np.ascontiguousarray(arrays["flags"][r0:r1], dtype=np.uint8)
                c.plen = np.ascontiguousarray(arrays["plen"][r0:r1], dtype=np.uint8)
            yield c

    return Dataset(os.path.basename(os.path.normpath(path)), offsets.shape[0] - 1, chunks,
                   fleet)


# -- CSV and Parquet

def _parse_flags(text: str, where: str) -> int:
    f = 0
    for name in filter(None, (t.strip().lower() for t in text.split("|"))):
        bit = FLAG_NAMES.get(name.replace("-", "_"))
        if bit is None:
            raise ConfigError(f"{where}: unknown flag {name!r} (known: "
                              f"{', '.join(FLAG_NAMES)})")
        f |= bit
    return f


def _parse_plen(text: str, where: str) -> int:
    if text is None or text.strip() == "":
        return bulk.PLEN_UNKNOWN
    try:
        v = int(text)
    except ValueError:
        raise ConfigError(f"{where}: prefix length {text!r} is not a number") from None
    if not 0 <= v <= 128:
        raise ConfigError(f"{where}: prefix length {v} is not from 0 to 128")
    return v


def _pack(values: list[str], where: Any) -> np.ndarray:
    from v6core.errors import AddressError
    try:
        return pack_many(values) if values else np.zeros((0, 16), np.uint8)
    except AddressError as e:
        i = e.index if e.index is not None else 0
        raise ConfigError(f"{where(i)}: {e}") from None


def _records_csv(path: str) -> Iterator[tuple[int, dict[str, str]]]:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:
            raise ConfigError(f"{path}: empty file, expected a header line")
        for rec in reader:
            yield reader.line_num, rec


def _records_parquet(path: str) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") \
            from None
    line = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=65536):
        cols = {n: batch.column(i).to_pylist() for i, n in enumerate(batch.schema.names)}
        for j in range(batch.num_rows):
            line += 1
            yield line, {k: ("" if v[j] is None else str(v[j])) for k, v in cols.items()}


def _records(path: str) -> Iterator[tuple[int, dict[str, str]]]:
    if path.endswith(".parquet") or path.endswith(".pq"):
        return _records_parquet(path)
    return _records_csv(path)


def _need(rec: dict[str, str], col: str, where: str) -> str:
    v = rec.get(col)
    if v is None:
        raise ConfigError(f"{where}: missing column {col!r} (have: {', '.join(rec)})")
    return v


def _load_hosts(path: str) -> tuple[Fleet, dict[str, int]]:
    by_host: dict[str, list[tuple[str, int, int, int]]] = {}
    for line, rec in _records(path):
        where = f"{path}:{line}"
        h = _need(rec, "host", where).strip()
        src = _need(rec, "source", where).strip()
        by_host.setdefault(h, []).append(
            (src, _parse_plen(rec.get("prefixlen", ""), where),
             _parse_flags(rec.get("flags", "") or "", where), line))
    index = {h: i for i, h in enumerate(by_host)}
    texts, plens, flags, lines, offsets = [], [], [], [], [0]
    for rows in by_host.values():
        for src, p, f, line in rows:
            texts.append(src)
            plens.append(p)
            flags.append(f)
            lines.append(line)
        offsets.append(len(texts))
    cands = _pack(texts, lambda i: f"{path}:{lines[i]}")
    return Fleet(np.array(offsets, np.int64), cands, np.array(flags, np.uint8),
                 np.array(plens, np.uint8)), index


def _load_table(path: str, hosts_path: str | None) -> Dataset:
    if not os.path.exists(path):
        raise ConfigError(f"{path}: no such file")
    fleet, host_index = (None, None)
    if hosts_path is not None:
        if not os.path.exists(hosts_path):
            raise ConfigError(f"{hosts_path}: no such file")
        fleet, host_index = _load_hosts(hosts_path)

    def chunks(max_rows: int) -> Iterator[Chunk]:
        buf: dict[str, list[Any]] = {k: [] for k in ("dst", "src", "plen", "flags", "line")}
        sizes: list[int] = []
        hosts: list[int] = []
        last: str | None = None
        seen: set[str] = set()

        def flush() -> Chunk:
            offsets = np.zeros(len(sizes) + 1, np.int64)
            np.cumsum(sizes, out=offsets[1:])
            lines = buf["line"]
            c = Chunk(offsets, _pack(buf["dst"], lambda i: f"{path}:{lines[i]}"))
            if fleet is not None:
                c.host = np.array(hosts, np.int64)
            else:
                srcs = [s or "::" for s in buf["src"]]
                c.src = _pack(srcs, lambda i: f"{path}:{lines[i]}")
                c.flags = np.array(buf["flags"], np.uint8)
                c.plen = np.array(buf["plen"], np.uint8)
            for v in buf.values():
                v.clear()
            sizes.clear()
            hosts.clear()
            return c

        for line, rec in _records(path):
            where = f"{path}:{line}"
            lk = _need(rec, "lookup", where).strip()
            if lk != last:
                if lk in seen:
                    raise ConfigError(f"{where}: lookup {lk!r} continues after other lookups; "
                                      "keep each lookup's candidates on consecutive rows")
                if sizes and len(buf["dst"]) >= max_rows:
                    yield flush()
                seen.add(lk)
                last = lk
                sizes.append(0)
                if fleet is not None:
                    h = _need(rec, "host", where).strip()
                    if h not in host_index:
                        raise ConfigError(f"{where}: host {h!r} is not in {hosts_path}")
                    hosts.append(host_index[h])
            sizes[-1] += 1
            buf["dst"].append(_need(rec, "destination", where).strip())
            buf["line"].append(line)
            if fleet is None:
                src = _need(rec, "source", where).strip()
                buf["src"].append(src)
                f = _parse_flags(rec.get("flags", "") or "", where)
                buf["flags"].append((f | bulk.FLAG_USABLE) if src else 0)
                buf["plen"].append(_parse_plen(rec.get("prefixlen", ""), where))
        if sizes:
            yield flush()

    return Dataset(os.path.basename(path), None, chunks, fleet)


def load(path: str | None = None, *, hosts: str | None = None, lookups: int = 1_000_000,
         seed: int = 0, fleet_hosts: int = 2000) -> Dataset:
    """Open a dataset: None for the built-in fleet, else .npz / .npy directory / CSV /
    Parquet (by extension); ``hosts`` names the hosts file of a fleet-form CSV/Parquet."""
    if path is None:
        return synthetic_fleet(lookups=lookups, hosts=fleet_hosts, seed=seed)
    path = os.fspath(path)
    if path.endswith(".npz") or os.path.isdir(path):
        if not os.path.exists(path):
            raise ConfigError(f"{path}: no such file")
        return _load_numpy(path)
    return _load_table(path, hosts)


def write_csv(dataset: Dataset, lookups_path: str, hosts_path: str | None = None) -> None:
    """Write ``dataset`` as CSV (fleet form when it has hosts, else resolved form)."""
    from v6core._core.addr import to_text_many

    def flag_text(f: int) -> str:
        return "|".join(n for n, b in FLAG_NAMES.items() if f & b)

    fleet = dataset.fleet
    with open(lookups_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["lookup", "host", "destination"] if fleet is not None else
                   ["lookup", "destination", "source", "prefixlen", "flags"])
        lk = 0
        for c in dataset.iter_chunks():
            dst = to_text_many(c.dst)
            src = to_text_many(c.src) if fleet is None else None
            for g in range(c.lookups):
                for r in range(int(c.offsets[g]), int(c.offsets[g + 1])):
                    if fleet is not None:
                        w.writerow([lk, f"h{int(c.host[g])}", dst[r]])
                    else:
                        usable = c.flags[r] & bulk.FLAG_USABLE
                        w.writerow([lk, dst[r], src[r] if usable else "",
                                    "" if c.plen[r] == bulk.PLEN_UNKNOWN else int(c.plen[r]),
                                    flag_text(int(c.flags[r]) & ~bulk.FLAG_USABLE)])
                lk += 1
    if fleet is not None:
        if hosts_path is None:
            raise ValueError("a fleet dataset needs hosts_path")
        cand = to_text_many(fleet.candidates)
        with open(hosts_path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["host", "source", "prefixlen", "flags"])
            for h in range(fleet.hosts):
                for i in range(int(fleet.host_offsets[h]), int(fleet.host_offsets[h + 1])):
                    p = int(fleet.cand_plen[i])
                    w.writerow([f"h{h}", cand[i], "" if p == bulk.PLEN_UNKNOWN else p,
                                flag_text(int(fleet.cand_flags[i]))])


# ------------------------------------------------------------------ policies

@dataclass
class Policy:
    """A named resolver policy: a flavour and an optional PolicyTable."""

    name: str
    flavor: str
    table: Any = None
    spec: str = ""


def parse_policy(spec: str) -> Policy:
    """``FLAVOR`` or ``FLAVOR:GAI.CONF`` (glibc semantics of the file for its tables), e.g.
    ``glibc``, ``musl``, ``rfc6724``, ``glibc:/etc/gai.conf``."""
    flavor, _, conf = spec.partition(":")
    flavor = flavor.strip().lower()
    if flavor not in bulk.FLAVORS:
        raise ConfigError(f"policy {spec!r}: unknown flavor {flavor!r} (expected "
                          f"{', '.join(bulk.FLAVORS)}, optionally :GAI.CONF)")
    if not conf:
        return Policy(flavor, flavor, None, spec)
    if not os.path.isfile(conf):
        raise ConfigError(f"policy {spec!r}: {conf}: no such file")
    from v6core.policy import PolicyTable
    table = PolicyTable.from_gai_conf(conf)
    return Policy(f"{flavor}+{os.path.basename(conf)}", flavor, table, spec)


# ------------------------------------------------------------------ the simulation

@dataclass
class PolicyStats:
    lookups: int = 0
    reachable: int = 0
    first_class: np.ndarray = field(default_factory=lambda: np.zeros(len(DEST_CLASSES), np.int64))
    first_src_ula: int = 0
    rule: np.ndarray = field(default_factory=lambda: np.zeros(11, np.int64))
    exact: int = 0
    changed: int = 0
    # family transition against the baseline: [base v6/v4/none] x [this v6/v4/none]
    moves: np.ndarray = field(default_factory=lambda: np.zeros((3, 3), np.int64))
    by_profile: np.ndarray | None = None         # (profiles, 3): v6, v4, none


@dataclass
class Report:
    dataset: str
    policies: list[Policy]
    stats: list[PolicyStats]
    lookups: int = 0
    candidates: int = 0
    seconds: float = 0.0
    profile_names: tuple[str, ...] = ()
    profile_lookups: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def share(x: float) -> float:
            return round(float(x) / self.lookups, 6) if self.lookups else 0.0

        out: dict[str, Any] = {
            "dataset": self.dataset, "lookups": self.lookups, "candidates": self.candidates,
            "seconds": round(self.seconds, 3), "baseline": self.policies[0].name
            if self.policies else None, "policies": {},
        }
        for p, s in zip(self.policies, self.stats, strict=True):
            v6 = int(s.first_class[:_IPV4].sum())
            d: dict[str, Any] = {
                "flavor": p.flavor, "spec": p.spec,
                "first_ipv6": v6, "first_ipv4": int(s.first_class[_IPV4]),
                "no_reachable": s.lookups - s.reachable,
                "share_ipv6": share(v6), "share_ipv4": share(s.first_class[_IPV4]),
                "first_class": {n: int(v) for n, v in zip(DEST_CLASSES, s.first_class, strict=True)},
                "first_from_ula_source": s.first_src_ula,
                "decided_by_rule": {str(i): int(v) for i, v in enumerate(s.rule) if v},
                "exact_path_lookups": s.exact,
                "changed_vs_baseline": s.changed,
                "moves_vs_baseline": {
                    f"{a}->{b}": int(s.moves[i, j])
                    for i, a in enumerate(("ipv6", "ipv4", "none"))
                    for j, b in enumerate(("ipv6", "ipv4", "none")) if i != j and s.moves[i, j]},
            }
            if s.by_profile is not None and self.profile_names:
                d["ipv6_share_by_profile"] = {
                    n: round(float(s.by_profile[i, 0]) / max(int(self.profile_lookups[i]), 1), 6)
                    for i, n in enumerate(self.profile_names)}
            out["policies"][p.name] = d
        return out


def _family(cls: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """0 IPv6, 1 IPv4, 2 nothing reachable."""
    fam = np.where(cls == _IPV4, 1, 0).astype(np.int64)
    fam[~usable] = 2
    return fam


def empty_report(dataset: Dataset, policies: Sequence[Policy]) -> Report:
    """A report with every count at zero, shaped for ``dataset`` and ``policies``."""
    if not policies:
        raise ConfigError("no policy to simulate")
    fleet = dataset.fleet
    nprof = len(fleet.profile_names) if fleet is not None and fleet.profile is not None else 0
    stats = [PolicyStats(by_profile=np.zeros((nprof, 3), np.int64) if nprof else None)
             for _ in policies]
    report = Report(dataset.name, list(policies), stats, meta=dict(dataset.meta))
    if nprof:
        report.profile_names = fleet.profile_names
        report.profile_lookups = np.zeros(nprof, np.int64)
    return report


def add_chunk(report: Report, chunk: Chunk, fleet: Fleet | None,
              threads: int | None = None) -> None:
    """Run every policy of ``report`` over ``chunk`` and add the counts to ``report``."""
    policies, stats = report.policies, report.stats
    nprof = len(report.profile_names)
    if chunk.lookups == 0:
        return
    if chunk.host is not None:
        if fleet is None:
            raise ConfigError(f"{report.dataset}: lookups name hosts but no hosts were given")
        row_host = np.repeat(chunk.host, np.diff(chunk.offsets))
        res = bulk.select_sources(chunk.dst, row_host, fleet.host_offsets,
                                  fleet.candidates, fleet.cand_flags, fleet.cand_plen,
                                  threads=threads)
        src, flags, plen = res.src, res.flags, res.plen
    else:
        src, flags, plen = chunk.src, chunk.flags, chunk.plen
    cls = classify_destinations(chunk.dst, threads)
    src_ula = (src[:, 0] & 0xFE) == 0xFC
    usable_row = (flags & bulk.FLAG_USABLE) != 0
    nonempty = np.diff(chunk.offsets) > 0
    prof = fleet.profile[chunk.host] if nprof and chunk.host is not None else None
    if prof is not None:
        report.profile_lookups += np.bincount(prof[nonempty], minlength=nprof)
    base_first = None
    base_fam = None
    for k, (pol, st) in enumerate(zip(policies, stats, strict=True)):
        r = bulk.order_groups(chunk.dst, src, flags, plen, offsets=chunk.offsets,
                              flavor=pol.flavor, policy=pol.table, want_order=False,
                              threads=threads)
        first = r.first[nonempty]
        fc = cls[first]
        fu = usable_row[first]
        st.lookups += first.shape[0]
        st.reachable += int(fu.sum())
        st.first_class += np.bincount(fc[fu], minlength=len(DEST_CLASSES))
        st.first_src_ula += int((src_ula[first] & fu).sum())
        st.rule += np.bincount(r.rule[nonempty], minlength=11)[:11]
        st.exact += int((r.exact[nonempty] != 0).sum())
        fam = _family(fc, fu)
        if prof is not None:
            st.by_profile += np.bincount(prof[nonempty] * 3 + fam,
                                         minlength=3 * nprof).reshape(nprof, 3)
        if k == 0:
            base_first, base_fam = first, fam
        else:
            st.changed += int((first != base_first).sum())
            st.moves += np.bincount(base_fam * 3 + fam, minlength=9).reshape(3, 3)
    report.lookups += int(nonempty.sum())
    report.candidates += int(chunk.offsets[-1])


def merge_reports(into: Report, other: Report) -> Report:
    """Add the counts of ``other`` (same policies) into ``into``; returns ``into``."""
    for a, b in zip(into.stats, other.stats, strict=True):
        for name in ("lookups", "reachable", "first_src_ula", "exact", "changed"):
            setattr(a, name, getattr(a, name) + getattr(b, name))
        a.first_class += b.first_class
        a.rule += b.rule
        a.moves += b.moves
        if a.by_profile is not None and b.by_profile is not None:
            a.by_profile += b.by_profile
    into.lookups += other.lookups
    into.candidates += other.candidates
    if into.profile_lookups is not None and other.profile_lookups is not None:
        into.profile_lookups += other.profile_lookups
    return into


def simulate(dataset: Dataset, policies: Sequence[Policy], *, threads: int | None = None,
             max_rows: int = 1 << 20, progress: Any = None) -> Report:
    """Run every policy over every lookup of ``dataset``; the first policy is the baseline
    that the others are compared with.  ``progress(n_lookups_done)`` is called per chunk.
    Memory is bounded by ``max_rows`` candidate rows per chunk."""
    report = empty_report(dataset, policies)
    t0 = time.perf_counter()
    for chunk in dataset.iter_chunks(max_rows):
        add_chunk(report, chunk, dataset.fleet, threads)
        if progress is not None:
            progress(chunk.lookups)
    report.seconds = time.perf_counter() - t0
    return report


# ------------------------------------------------------------------ output

def _pct(n: float, d: float) -> str:
    return f"{100.0 * n / d:5.1f}%" if d else "    -"


def format_report(rep: Report) -> str:
    """A table a person reads: one column per policy."""
    names = [p.name for p in rep.policies]
    w = max(9, *(len(n) + 1 for n in names))
    lw = 40
    lines = []
    head = (f"v6core simulate: {rep.lookups:,} lookups, {rep.candidates:,} candidate "
            f"addresses ({rep.dataset}) in {rep.seconds:.2f} s")
    lines.append(head)
    lines.append("")

    def row(label: str, values: Iterable[str]) -> None:
        lines.append(f"{label:<{lw}}" + "".join(f"{v:>{w}}" for v in values))

    row("first connection attempt goes to", names)
    row("  IPv6", [_pct(s.first_class[:_IPV4].sum(), rep.lookups) for s in rep.stats])
    row("  IPv4", [_pct(s.first_class[_IPV4], rep.lookups) for s in rep.stats])
    row("  nothing reachable", [_pct(s.lookups - s.reachable, rep.lookups) for s in rep.stats])
    lines.append("by destination")
    for i, n in enumerate(DEST_CLASSES):
        if any(s.first_class[i] for s in rep.stats):
            row(f"  {n}", [_pct(s.first_class[i], rep.lookups) for s in rep.stats])
    row("  ...from a ULA source", [_pct(s.first_src_ula, rep.lookups) for s in rep.stats])
    lines.append("rule that decided the first place")
    for i in range(11):
        if any(s.rule[i] for s in rep.stats):
            row(f"  {i:>2} {RULE_NAMES[i]}"[:lw - 1],
                [_pct(s.rule[i], rep.lookups) for s in rep.stats])
    if any(s.exact for s in rep.stats):
        row("  exact pairwise path (rule 9 ties)", [f"{s.exact:,}" for s in rep.stats])
    if len(rep.stats) > 1:
        lines.append(f"compared with {names[0]}")
        row("  first choice changed", ["-"] + [_pct(s.changed, rep.lookups)
                                              for s in rep.stats[1:]])
        for (i, j), label in (((0, 1), "IPv6 -> IPv4"), ((1, 0), "IPv4 -> IPv6")):
            row(f"  {label}", ["-"] + [_pct(s.moves[i, j], rep.lookups) for s in rep.stats[1:]])
    if rep.profile_names and rep.profile_lookups is not None:
        lines.append("IPv6 first, by host profile")
        for i, n in enumerate(rep.profile_names):
            tot = int(rep.profile_lookups[i])
            if tot:
                row(f"  {n} ({tot:,})"[:lw - 1],
                    [_pct(s.by_profile[i, 0], tot) for s in rep.stats])
    return "\n".join(lines)


def plot_report(rep: Report, path: str) -> None:
    """Write a PNG: first-choice shares and deciding rules per policy (needs matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("--plot needs matplotlib (pip install 'v6core[plot]')") from None
    names = [p.name for p in rep.policies]
    n = max(rep.lookups, 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    bottom = np.zeros(len(names))
    for i, cname in enumerate(DEST_CLASSES):
        vals = np.array([s.first_class[i] / n * 100 for s in rep.stats])
        if vals.any():
            ax1.bar(names, vals, bottom=bottom, label=cname)
            bottom += vals
    none = np.array([(s.lookups - s.reachable) / n * 100 for s in rep.stats])
    ax1.bar(names, none, bottom=bottom, label="nothing reachable", color="lightgrey")
    ax1.set_ylabel("% of lookups")
    ax1.set_title("first connection attempt")
    ax1.legend(fontsize=7, loc="lower right")
    x = np.arange(11)
    width = 0.8 / max(len(names), 1)
    for k, s in enumerate(rep.stats):
        ax2.bar(x + k * width, s.rule / n * 100, width, label=names[k])
    ax2.set_xticks(x + 0.4 - width / 2, [str(i) for i in range(11)])
    ax2.set_xlabel("RFC 6724 rule that decided (0: nothing to decide)")
    ax2.set_title("deciding rule")
    ax2.legend(fontsize=7)
    fig.suptitle(f"v6core simulate: {rep.lookups:,} lookups ({rep.dataset})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def progress_bar(total: int | None, enabled: bool | None = None) -> Any:
    """A tqdm bar on stderr (when tqdm is installed and stderr is a terminal, or forced)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit=" lookups", unit_scale=True, file=sys.stderr,
                dynamic_ncols=True, leave=False)


def report_json(rep: Report) -> str:
    return json.dumps(rep.to_dict(), indent=2)
