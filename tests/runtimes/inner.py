"""Runs inside a world's namespaces (tests/libc/world.py): the real runtimes' answers and
v6core's predictions, as JSON ``{name: {"hosts": [...], "go": [...], "v6core_go": [...],
"java:false": [...], "v6core_java:false": [...], ...}}``."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys


def run(cmd: list[str], names: list[str]) -> dict[str, list[str] | str]:
    proc = subprocess.run([*cmd, *names], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        return {n: f"exit {proc.returncode}: {proc.stderr[-300:]}" for n in names}
    res: dict[str, list[str] | str] = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] == "!ERR":
            res[parts[0]] = " ".join(parts[2:])
        else:   # Java prints IPv6 uncompressed, perhaps with %scope
            res[parts[0]] = [str(ipaddress.ip_address(p.split("%")[0])) for p in parts[1:]]
    return res


def main() -> int:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    from v6core import PolicyTable, sort_destinations
    from v6core.resolve import host_addresses, kernel_sources

    names: dict[str, list[str]] = spec["names"]
    order = list(names)
    rt = spec["runtimes"]
    real: dict[str, dict] = {}
    if "go" in rt:
        real["go"] = run([rt["go"]], order)
    if "java" in rt:
        for opt in ("false", "true", "system"):
            real[f"java:{opt}"] = run(
                [rt["java"], f"-Djava.net.preferIPv6Addresses={opt}", "-cp", rt["java_cp"],
                 "Lookup"], order)
    if "node" in rt:
        for opt in ("verbatim", "ipv4first", "ipv6first"):
            real[f"node:{opt}"] = run([rt["node"], f"--dns-result-order={opt}", rt["node_js"]],
                                      order)
    policy = (PolicyTable.from_gai_conf("/etc/gai.conf") if os.path.exists("/etc/gai.conf")
              else PolicyTable.glibc_default())
    addrs = host_addresses()
    out = {}
    for name in order:
        hosts = [str(ipaddress.ip_address(h)) for h in names[name]]   # as the runtimes print
        srcs = kernel_sources(hosts, addresses=addrs)
        r: dict = {"hosts": hosts, "sources": [None if s is None else repr(s) for s in srcs]}
        for key, answers in real.items():
            r[key] = answers.get(name)
            flavor = "go" if key == "go" else "glibc"
            r["v6core_" + key] = sort_destinations(
                hosts, srcs, flavor=flavor, policy=None if key == "go" else policy,
                runtime=key)
        out[name] = r
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
