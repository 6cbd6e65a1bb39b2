"""Reading and writing datasets: NumPy (.npz, or a directory of .npy files, memory-mapped)
and tables (CSV, and Parquet when pyarrow is installed).  The formats are described in
:mod:`v6core.simulate`.  Every user mistake is a :class:`~v6core.errors.ConfigError` that
names the file (and line, for tables).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from v6core._core import bulk
from v6core._core.addr import pack_many
from v6core.errors import ConfigError
from v6core.simulate.dataset import FLAG_NAMES, Chunk, Dataset, Fleet
from v6core.simulate.fleet import synthetic_fleet
from v6core.simulate.runtimes import parse_runtime_values

__all__ = ["load", "save_npz", "write_csv"]

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
    np.savez(path, **arrays)  # type: ignore[arg-type]


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
        pnames: tuple[str, ...] = (tuple(str(x) for x in arrays["profile_names"])
                                   if "profile_names" in keys else ())
        fleet = Fleet(np.asarray(arrays["host_offsets"], np.int64),
                      np.ascontiguousarray(arrays["candidates"], np.uint8),
                      np.ascontiguousarray(arrays["cand_flags"], np.uint8),
                      np.ascontiguousarray(arrays["cand_plen"], np.uint8),
                      None if profile is None else np.asarray(profile), pnames)
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
    fleet: Fleet | None = None
    host_index: dict[str, int] = {}
    if hosts_path is not None:
        if not os.path.exists(hosts_path):
            raise ConfigError(f"{hosts_path}: no such file")
        fleet, host_index = _load_hosts(hosts_path)

    def chunks(max_rows: int) -> Iterator[Chunk]:
        buf: dict[str, list[Any]] = {k: [] for k in ("dst", "src", "plen", "flags", "line")}
        sizes: list[int] = []
        hosts: list[int] = []
        rts: list[str] = []          # the optional runtime column, per lookup
        rt_lines: list[int] = []
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
            if rts:
                c.runtime = parse_runtime_values(rts, lambda i: f"{path}:{rt_lines[i]}")
            for v in buf.values():
                v.clear()
            sizes.clear()
            hosts.clear()
            rts.clear()
            rt_lines.clear()
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
                if "runtime" in rec:
                    rts.append(rec["runtime"] or "")
                    rt_lines.append(line)
                if fleet is not None:
                    h = _need(rec, "host", where).strip()
                    if h not in host_index:
                        raise ConfigError(f"{where}: host {h!r} is not in {hosts_path}")
                    hosts.append(host_index[h])
            elif "runtime" in rec and (rec["runtime"] or "") != rts[-1]:
                raise ConfigError(f"{where}: runtime {rec['runtime']!r} differs from "
                                  f"{rts[-1]!r} on the lookup's first row (one runtime per "
                                  "lookup)")
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
            src = to_text_many(c.src) if fleet is None and c.src is not None else []
            hosts: Any = c.host
            for g in range(c.lookups):
                for r in range(int(c.offsets[g]), int(c.offsets[g + 1])):
                    if fleet is not None:
                        w.writerow([lk, f"h{int(hosts[g])}", dst[r]])
                    else:
                        fl: Any = c.flags
                        pl: Any = c.plen
                        usable = fl[r] & bulk.FLAG_USABLE
                        w.writerow([lk, dst[r], src[r] if usable else "",
                                    "" if pl[r] == bulk.PLEN_UNKNOWN else int(pl[r]),
                                    flag_text(int(fl[r]) & ~bulk.FLAG_USABLE)])
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
