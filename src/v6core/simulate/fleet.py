"""The built-in dataset: a synthetic container fleet resolving a mix of services.

Deterministic for given arguments; generated block by block so that memory stays bounded
however many lookups are asked for.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from v6core._core import bulk
from v6core.errors import ConfigError
from v6core.simulate.dataset import Chunk, Dataset, Fleet

__all__ = ["PROFILES", "SERVICES", "synthetic_fleet"]

_BLOCK = 1 << 18          # lookups per generated block
_PICK = 1 << 20           # resolution of the popularity draw

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
        if k6 is not None:
            for _ in range(int(rng.integers(n6[0], n6[1] + 1))):
                answer.append(_make_address(k6, 0xFF0000 + i, rng)[0])
        if k4 is not None:
            for _ in range(int(rng.integers(n4[0], n4[1] + 1))):
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
    # popularity by table: a uniform draw's first 20 bits pick the service (inverse CDF)
    pick = np.minimum(np.searchsorted(cdf, np.arange(_PICK) / _PICK), services - 1)

    def host_of(c: Chunk) -> np.ndarray:
        assert c.host is not None
        return c.host

    def block(k: int, n: int) -> Chunk:
        # block k always holds the same lookups, whatever chunk size the caller asks for
        r = np.random.default_rng((seed, k))
        host = r.integers(0, hosts, n)
        svc = pick[(r.random(n) * _PICK).astype(np.int64)]
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
                yield Chunk(c.offsets[g0:g1 + 1] - r0, c.dst[r0:r1], host=host_of(c)[g0:g1])

    return Dataset(f"built-in container fleet (seed {seed})", lookups, chunks, fleet,
                   {"hosts": hosts, "services": services, "seed": seed})

