"""``v6core doctor --containers``: every namespace of the host, every resolver in it.

:func:`scan` puts the pieces together: :mod:`~v6core.doctor.containers` finds and names
the namespaces, :mod:`~v6core.doctor.nsprobe` reads each one's addresses and sources from
inside it, :mod:`~v6core.doctor.exe` names the resolver of each process and
:mod:`~v6core.doctor.verdict` says which family that resolver tries first.  The result
renders as one table for the host, or as JSON::

    {"status": "fail", "namespaces": [
      {"name": "web", "kind": "docker", "inode": 4026532291, "pids": [812, 840],
       "addresses": ["fd00::2/64 (eth0)", ...], "gai_conf": "/proc/812/root/etc/gai.conf",
       "sources": {"2001:db8:ffff::1": "fd00::2", "198.51.100.1": "172.17.0.2", ...},
       "findings": [{"name": "web", "resolver": "glibc", "first_family": "IPv4",
                     "rule": "rule 5", "reason": "...", "fix": ["..."], "status": "fail",
                     "pids": [812], "exe": "/usr/sbin/nginx", "detail": {...}}]}]}

The exit status is 1 when a finding fails (IPv4 first although global IPv6 works).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from v6core.doctor import containers, exe, nsprobe, selection
from v6core.doctor.report import Status
from v6core.doctor.system import LiveSystem, SystemView
from v6core.doctor.verdict import Verdict, judge

__all__ = ["HostReport", "NamespaceReport", "scan"]


@dataclass
class NamespaceReport:
    ns: containers.Namespace
    facts: nsprobe.NsFacts
    gai_path: str | None
    gai_note: str = ""
    resolvers: list[tuple[exe.Resolver, list[int], Verdict]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.ns.name, "kind": self.ns.kind, "inode": self.ns.inode,
            "pids": self.ns.pids, "netns": self.ns.netns_names,
            "addresses": [f"{a.address}/{a.prefixlen} ({a.ifname}"
                          + "".join(f", {w}" for w in a.flag_words()) + ")"
                          for a in self.facts.addresses],
            "sources": self.facts.sources, "probe_error": self.facts.error,
            "gai_conf": self.gai_path, "gai_conf_note": self.gai_note,
            "findings": [{
                "name": self.ns.name, "resolver": r.name, "first_family": v.first_family,
                "rule": v.rule, "reason": v.reason, "fix": v.fix, "status": v.status.label,
                "pids": pids, "exe": r.exe, "detail": r.to_dict(), "pairs": v.pairs,
            } for r, pids, v in self.resolvers],
        }


@dataclass
class HostReport:
    namespaces: list[NamespaceReport]
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> Status:
        return max((v.status for n in self.namespaces for _r, _p, v in n.resolvers),
                   default=Status.OK)

    def exit_code(self, fail_on: Status = Status.FAIL) -> int:
        return 1 if self.status >= fail_on else 0

    def to_json(self) -> str:
        return json.dumps({"status": self.status.label, "notes": self.notes,
                           "namespaces": [n.to_dict() for n in self.namespaces]}, indent=2)

    def render(self, colour: bool = False) -> str:
        def paint(text: str, code: str) -> str:
            return f"\x1b[{code}m{text}\x1b[0m" if colour else text

        rows = [("container", "resolver", "pids", "IPv6 first", "rule", "fix")]
        fixes: list[str] = []
        seen: dict[tuple[str, ...], int] = {}
        for n in self.namespaces:
            if not n.resolvers:
                why = n.facts.error or "no processes"
                rows.append((n.ns.name, "-", "-", "-", "-", why))
            for r, pids, v in n.resolvers:
                first = {"IPv6": "yes", "IPv4": "no"}.get(v.first_family or "", "?")
                fix = ""
                if v.fix:
                    k = seen.get(tuple(v.fix))
                    if k is None:
                        k = seen[tuple(v.fix)] = len(seen) + 1
                        fixes.append(f"[{k}]")
                        fixes += [f"    {ln}" for ln in v.fix]
                    fix = f"[{k}] {v.fix[0].split(':', 1)[0]}"
                elif v.status <= Status.SKIP:
                    fix = v.reason
                shown = ",".join(str(p) for p in pids[:4]) + ("..." if len(pids) > 4 else "")
                prog = r.exe.rsplit("/", 1)[-1] or "?"
                rows.append((n.ns.name, f"{prog}: {r.name}", shown, first, v.rule, fix))
        widths = [min(max(len(r[i]) for r in rows), cap)
                  for i, cap in enumerate((28, 52, 14, 10, 40, 60))]
        out = []
        for k, row in enumerate(rows):
            line = "  ".join(c[:w].ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            if k == 0:
                line = paint(line, "1")
            elif row[3] == "no":
                line = paint(line, "1;31")
            out.append(line)
        if fixes:
            out += ["", paint("fixes:", "1"), *fixes]
        out += ["", *self.notes] if self.notes else []
        out.append(f"overall: {self.status.label} ({len(self.namespaces)} namespace(s))")
        return "\n".join(out)


def _policy(view: SystemView, root: str,
            netns_names: Iterable[str] = ()) -> tuple[Any, str | None, str]:
    """(glibc policy table or None, the gai.conf path read, a note) for a container root.

    A namespace with no process but ``ip netns`` names reads /etc/netns/NAME/gai.conf
    when there is one, as ``ip netns exec NAME`` bind-mounts it over /etc/gai.conf for
    the programs it starts; else the host's."""
    from v6core.errors import PolicyError
    from v6core.policy import parse_gai_conf
    text: str | None = None
    path = "/etc/gai.conf"
    for name in netns_names:
        if "/" in name or name in (".", ".."):
            continue
        path = f"/etc/netns/{name}/gai.conf"
        text = view.read(path)
        if text is not None:
            break
    if text is None:
        croot = LiveSystem(root) if isinstance(view, LiveSystem) else None
        path = f"{root.rstrip('/')}/etc/gai.conf"
        text = croot.read(croot.realpath("/etc/gai.conf")) if croot else view.read(path)
    if text is None:
        return None, None, "no /etc/gai.conf: glibc's built-in tables"
    try:
        return parse_gai_conf(text, path=path).table, path, f"{path} read"
    except (PolicyError, ValueError) as e:
        return None, path, f"{path}: {e}"


def scan(view: SystemView | None = None,
         engine_sockets: Iterable[str] = containers.DEFAULT_ENGINE_SOCKETS,
         probe: Any = None) -> HostReport:
    """Scan the host.  ``probe`` replaces :func:`nsprobe.probe_all` (tests)."""
    view = view if view is not None else LiveSystem()
    found = containers.discover(view, engine_sockets)
    dests = list(selection.DESTINATIONS.values())
    paths = {n.inode: n.path for n in found.namespaces if n.path}
    results = (probe or nsprobe.probe_all)(paths, dests)
    cache: dict = {}
    reports = []
    for ns in found.namespaces:
        f = results.get(ns.inode) or nsprobe.NsFacts(error="not probed")
        root = f"/proc/{ns.leader}/root" if ns.leader is not None else "/"
        # the doctor's own namespace: its own /etc (the lowest pid may be hidden or live
        # in another mount namespace)
        policy, gai_path, note = _policy(view, "/" if ns.kind == "host" else root,
                                         ns.netns_names if ns.leader is None else ())
        nr = NamespaceReport(ns, f, gai_path, note)
        groups: dict[exe.Resolver, list[int]] = {}
        for pid in ns.pids:
            proc = exe.process_info(view, pid)
            r = exe.resolver_of(view, proc, root if ns.leader is not None else None, cache)
            if r.state == "exited":            # gone mid-scan: counted, not judged
                found.exited.append(pid)
                continue
            if r.state == "unreadable" and proc.exe is None and not proc.argv:
                continue                       # a kernel thread: no executable, no resolver
            groups.setdefault(r, []).append(pid)
        # where a gai.conf fix goes: for an ``ip netns`` namespace /etc/netns/NAME/, which
        # ``ip netns exec`` bind-mounts (its processes' /etc is the host's otherwise)
        fix_path = (f"/etc/netns/{ns.netns_names[0]}/gai.conf" if ns.kind == "netns"
                    else gai_path or ("/etc/gai.conf" if ns.kind == "host"
                                      else f"{root.rstrip('/')}/etc/gai.conf"))
        for r, pids in groups.items():
            nr.resolvers.append((r, pids, judge(r, f.sources, f.addresses, policy, fix_path)))
        reports.append(nr)
    notes = list(found.engine_notes)
    if found.unreadable:
        notes.append(f"{len(found.unreadable)} process(es) whose namespace could not be read "
                     f"(e.g. pid {found.unreadable[0]}): not scanned")
    if found.exited:
        notes.append(f"{len(found.exited)} process(es) exited during the scan")
    return HostReport(reports, notes)
