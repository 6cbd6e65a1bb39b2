"""Listening sockets: which services listen on IPv4 only, IPv6 only or both.

Read from /proc/net/{tcp,tcp6,udp,udp6}; whether an AF_INET6 wildcard socket also takes
IPv4 (IPV6_V6ONLY off) comes from inet_diag through the system view, else from the
``net.ipv6.bindv6only`` default (said so in the evidence).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict

from v6core.doctor import facts
from v6core.doctor.context import Context
from v6core.doctor.report import Finding, Status

CHECK = "sockets"

# per-program hints for adding the missing IPv6 listener, by /proc/PID/comm
_HINTS = {
    "nginx": "nginx: add `listen [::]:{port};` beside `listen {port};` in the server block",
    "sshd": "sshd: `AddressFamily any` and `ListenAddress ::` (or drop ListenAddress 0.0.0.0)",
    "apache2": "Apache: `Listen {port}` (no address) listens on both families",
    "httpd": "Apache: `Listen {port}` (no address) listens on both families",
    "redis-server": "redis: `bind 0.0.0.0 ::` (or `bind 127.0.0.1 ::1` for local only)",
    "postgres": "PostgreSQL: `listen_addresses = '*'` (or '127.0.0.1,::1' for local only)",
    "mysqld": "MySQL/MariaDB: `bind-address = ::` (takes IPv4 too)",
    "mariadbd": "MySQL/MariaDB: `bind-address = ::` (takes IPv4 too)",
    "node": "Node.js: `server.listen({port}, '::')` (dual-stack unless ipv6Only is set)",
    "python": "Python: socket.create_server(('::', {port}), family=socket.AF_INET6, "
              "dualstack_ipv6=True)",
    "python3": "Python: socket.create_server(('::', {port}), family=socket.AF_INET6, "
               "dualstack_ipv6=True)",
    "docker-proxy": "Docker: publish with `-p [::]:{port}:...` and enable IPv6 in daemon.json "
                    "(\"ipv6\": true, \"ip6tables\": true)",
}


def _local_port_range(ctx: Context) -> tuple[int, int]:
    text = ctx.view.read("/proc/sys/net/ipv4/ip_local_port_range") or ""
    try:
        lo, hi = (int(x) for x in text.split())
        return lo, hi
    except ValueError:
        return 32768, 60999


def _kind(s: facts.Socket) -> str:
    ip = ipaddress.ip_address(s.address)
    if ip.is_unspecified:
        return "any"
    if ip.is_loopback:
        return "loopback"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return "mapped"
    return "address"


def _fmt(s: facts.Socket) -> str:
    return f"[{s.address}]:{s.port}" if s.family == 6 else f"{s.address}:{s.port}"


def check(ctx: Context) -> list[Finding]:
    socks, missing = facts.sockets(ctx.view)
    out: list[Finding] = []
    if missing:
        out.append(Finding(CHECK, "proc-net-unreadable", Status.SKIP,
                           "some socket tables could not be read",
                           evidence=[f"cannot read {p}" for p in missing]))
    listeners = [s for s in socks if s.listening and s.port != 0]
    lo_eph, hi_eph = _local_port_range(ctx)
    # unconnected UDP sockets on ephemeral ports are clients waiting for replies
    listeners = [s for s in listeners if not (s.proto == "udp" and lo_eph <= s.port <= hi_eph)]
    v6only = ctx.view.v6only_sockets()
    bindv6only_text = ctx.view.read("/proc/sys/net/ipv6/bindv6only")
    default_v6only = (bindv6only_text or "0").strip() == "1"
    has_v6 = ctx.has_routable_ipv6()

    groups: dict[tuple[str, int], list[facts.Socket]] = defaultdict(list)
    for s in listeners:
        groups[(s.proto, s.port)].append(s)
    owners = facts.socket_owners(ctx.view, {s.inode for s in listeners})

    for (proto, port), group in sorted(groups.items()):
        evidence = []
        v4 = [s for s in group if s.family == 4]
        v6 = [s for s in group if s.family == 6]
        dual = []
        for s in v6:
            line = f"{proto}6 {_fmt(s)}"
            if _kind(s) == "any":
                known = v6only.get(s.inode) if v6only is not None else None
                only = default_v6only if known is None else known
                if known is None:
                    line += (" (IPV6_V6ONLY unknown: inet_diag unavailable; assuming the "
                             f"net.ipv6.bindv6only={int(default_v6only)} default)")
                else:
                    line += " IPV6_V6ONLY=1 (IPv6 only)" if only else " IPV6_V6ONLY=0 (dual-stack)"
                if not only:
                    dual.append(s)
            evidence.append(line + _owner(owners, s))
        for s in v4:
            evidence.append(f"{proto}  {_fmt(s)}" + _owner(owners, s))
        names = sorted({owners[s.inode].split("[")[0] for s in group if s.inode in owners})
        who = f" ({', '.join(names)})" if names else ""
        data = {"proto": proto, "port": port, "ipv4": [s.address for s in v4],
                "ipv6": [s.address for s in v6], "dual_stack": [s.address for s in dual],
                "owners": [owners[s.inode] for s in group if s.inode in owners]}
        subject = f"{proto}/{port}{who}"
        takes_v4 = bool(v4) or bool(dual) or any(_kind(s) == "mapped" for s in v6)
        v6_real = [s for s in v6 if _kind(s) != "mapped"]
        if v6_real and takes_v4:
            data["stack"] = "dual"
            out.append(Finding(CHECK, "dual-stack-listener", Status.OK,
                               "listens on IPv4 and IPv6", subject, evidence, data=data))
        elif v6_real:
            data["stack"] = "ipv6"
            out.append(Finding(
                CHECK, "ipv6-only-listener", Status.INFO,
                "listens on IPv6 only (IPV6_V6ONLY or IPv6 addresses only): IPv4 clients are "
                "refused", subject, evidence,
                fix=[f"if IPv4 clients should reach it: clear IPV6_V6ONLY on [::]:{port} "
                     "(one dual-stack socket) or add a listener on 0.0.0.0:"
                     f"{port}"], data=data))
        else:
            data["stack"] = "ipv4"
            loopback_only = all(_kind(s) == "loopback" for s in v4)
            fix = _fixes(names, port, loopback_only)
            if loopback_only:
                out.append(Finding(
                    CHECK, "loopback-ipv4-only-listener", Status.WARN,
                    f"listens on IPv4 loopback only: 'localhost' resolves to ::1 first, so "
                    f"clients of localhost:{port} are refused on ::1 "
                    + ("before falling back to 127.0.0.1" if proto == "tcp" else
                       "and UDP clients get no answer"),
                    subject, evidence, fix, data))
            else:
                status = Status.FAIL if has_v6 else Status.INFO
                why = ("this host has IPv6 addresses, so clients that try IPv6 first "
                       "(RFC 6724) are refused or time out before falling back"
                       if has_v6 else "this host has no routable IPv6 address yet")
                out.append(Finding(
                    CHECK, "ipv4-only-listener", status,
                    f"listens on IPv4 only: a dual-stack listen directive is missing; {why}",
                    subject, evidence, fix, data))
    if not groups and not missing:
        out.append(Finding(CHECK, "no-listeners", Status.OK, "no listening sockets"))
    return out


def _owner(owners: dict[int, str], s: facts.Socket) -> str:
    o = owners.get(s.inode)
    return f"  {o}" if o else f"  (inode {s.inode}, uid {s.uid})"


def _fixes(names: list[str], port: int, loopback: bool) -> list[str]:
    addr = "[::1]" if loopback else "[::]"
    fix = [f"listen on {addr}:{port} too: bind an AF_INET6 socket to "
           f"{'::1' if loopback else '::'} port {port}"
           + ("" if loopback else " with IPV6_V6ONLY=0 (one socket takes both families), or "
              "a second socket with IPV6_V6ONLY=1 beside the IPv4 one")]
    for n in names:
        hint = _HINTS.get(n)
        if hint:
            fix.append(hint.format(port=port))
    return fix
