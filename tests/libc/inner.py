"""Runs inside a world's namespaces (see world.py): the real libcs' answers and v6core's.

Prints JSON ``{name: {"hosts": [...], "glibc": [...], "musl": [...], "v6core_glibc":
[...], "v6core_musl": [...], "musl_keys": [...], "wrapper_glibc": [...], "sources":
[...]}}``.  The probes run once per libc with every name (glibc reads gai.conf once per
process, which is fine: one world has one gai.conf).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys


def probe(exe: str, names: list[str]) -> dict[str, list[str] | str]:
    proc = subprocess.run([exe, *names], capture_output=True, text=True, timeout=20)
    res: dict[str, list[str] | str] = {}
    if proc.returncode < 0:          # the C library crashed (e.g. on a gai.conf line)
        return {n: f"CRASH signal {-proc.returncode}" for n in names}
    proc.check_returncode()
    out = proc.stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] == "!ERR":
            res[parts[0]] = " ".join(parts[2:])
        else:
            res[parts[0]] = parts[1:]
    return res


def main() -> int:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    import v6core
    from v6core import PolicyTable, musl_sort_key, sort_destinations
    from v6core.resolve import host_addresses, kernel_sources

    names: dict[str, list[str]] = spec["names"]
    order = list(names)
    glibc = probe(spec["probes"]["glibc"], order)
    musl = probe(spec["probes"]["musl"], order)
    if os.path.exists("/etc/gai.conf"):
        policy = PolicyTable.from_gai_conf("/etc/gai.conf")
    else:
        policy = PolicyTable.glibc_default()
    addrs = host_addresses()
    result = {}
    for name in order:
        hosts = names[name]
        srcs = kernel_sources(hosts, addresses=addrs)
        if isinstance(glibc.get(name), str) and glibc[name].startswith("CRASH"):
            wrapped = "skipped: glibc crashes in this world"   # it would crash us too
        else:
            try:
                wrapped = [e[4][0]
                           for e in v6core.getaddrinfo(name, None, type=socket.SOCK_STREAM)]
            except OSError as e:
                wrapped = f"error: {e}"
        result[name] = {
            "hosts": hosts,
            "glibc": glibc.get(name),
            "musl": musl.get(name),
            "v6core_glibc": sort_destinations(hosts, srcs, flavor="glibc", policy=policy),
            "v6core_musl": sort_destinations(hosts, srcs, flavor="musl")
            if len(hosts) <= 48 else None,
            "musl_keys": [musl_sort_key(d, s, i) for i, (d, s) in enumerate(zip(hosts, srcs, strict=False))]
            if len(hosts) <= 48 else None,
            "wrapper_glibc": wrapped,
            "sources": [None if s is None else repr(s) for s in srcs],
        }
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
