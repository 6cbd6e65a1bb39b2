"""Findings and the report: status, evidence and fix for each check; text and JSON.

``--json`` prints one object::

    {"status": "fail",                       # the worst status of any finding
     "counts": {"skip": 0, "ok": 6, "info": 1, "warn": 0, "fail": 1},
     "findings": [{"check": "sockets", "id": "ipv4-only-listener", "status": "fail",
                   "subject": "tcp/80 (nginx)", "summary": "...",
                   "evidence": ["tcp  0.0.0.0:80  nginx[812]"],
                   "fix": ["listen on [::]:80 too: ...", "nginx: add `listen [::]:80;` ..."],
                   "data": {...}}]}          # the same facts, machine-readable, per check

``check`` is one of libc, selection, source, ndp, sockets; ``id`` names the situation
and is stable.  The exit status is 1 when a finding is ``fail`` (or ``warn`` with
``--fail-on warn``), else 0.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Status", "Finding", "Report"]


class Status(enum.IntEnum):
    """How a finding stands; ordered so that ``max`` gives the worst."""

    SKIP = 0      # the check could not look (missing file, no permission)
    OK = 1
    INFO = 2      # nothing wrong, but worth knowing (e.g. how to pin a source)
    WARN = 3      # likely to surprise someone; exit status stays 0 unless --fail-on warn
    FAIL = 4      # a misconfiguration with a known effect; exit status 1

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass
class Finding:
    """One result of one check.

    ``check`` is the family (``sockets``, ``ndp``, ``source``, ``libc``, ``selection``),
    ``id`` a stable machine-readable name of the situation (``ipv4-only-listener``,
    ``forwarding-ignores-ra`` ...), ``subject`` what it is about (an interface, a port),
    ``evidence`` the lines read from the system that led to it, ``fix`` commands or
    configuration lines that resolve it (empty when nothing needs doing), ``data`` the
    same facts in machine-readable form for ``--json``.
    """

    check: str
    id: str
    status: Status
    summary: str
    subject: str | None = None
    evidence: list[str] = field(default_factory=list)
    fix: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check, "id": self.id, "status": self.status.label,
            "subject": self.subject, "summary": self.summary, "evidence": list(self.evidence),
            "fix": list(self.fix), "data": self.data,
        }


_COLOURS = {Status.SKIP: "2", Status.OK: "32", Status.INFO: "36", Status.WARN: "33",
            Status.FAIL: "1;31"}

_TITLES = {
    "libc": "C library and gai.conf",
    "selection": "Address selection (which family is tried first)",
    "source": "Source address per interface",
    "ndp": "Neighbor discovery",
    "sockets": "Listening sockets",
}


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding) -> Finding:
        self.findings.append(finding)
        return finding

    def extend(self, findings: list[Finding]) -> None:
        self.findings.extend(findings)

    @property
    def status(self) -> Status:
        return max((f.status for f in self.findings), default=Status.OK)

    def by_check(self, check: str) -> list[Finding]:
        return [f for f in self.findings if f.check == check]

    def find(self, id: str) -> list[Finding]:
        return [f for f in self.findings if f.id == id]

    def exit_code(self, fail_on: Status = Status.FAIL) -> int:
        """1 when any finding is at ``fail_on`` or worse, else 0."""
        return 1 if any(f.status >= fail_on for f in self.findings) else 0

    def to_json(self) -> str:
        counts = {s.label: sum(1 for f in self.findings if f.status == s) for s in Status}
        return json.dumps({
            "status": self.status.label, "counts": counts,
            "findings": [f.to_dict() for f in self.findings],
        }, indent=2)

    def render(self, colour: bool = False, verbose: bool = False) -> str:
        """The readable report: one section per check family, each finding with its
        status, evidence and fix.  ``colour`` adds ANSI colours (for a terminal only).
        OK and SKIP findings show their evidence only with ``verbose``."""

        def paint(text: str, code: str) -> str:
            return f"\x1b[{code}m{text}\x1b[0m" if colour else text

        out: list[str] = []
        seen = []
        for f in self.findings:
            if f.check not in seen:
                seen.append(f.check)
        for check in seen:
            out.append(paint(_TITLES.get(check, check), "1"))
            for f in self.by_check(check):
                tag = paint(f"[{f.status.label.upper():>4}]", _COLOURS[f.status])
                subject = f"{f.subject}: " if f.subject else ""
                out.append(f"  {tag} {subject}{f.summary}")
                if f.status >= Status.INFO or verbose:
                    for line in f.evidence:
                        out.append(f"         {paint('-', '2')} {line}")
                if f.fix:
                    out.append(f"         {paint('fix:', '1')}")
                    for line in f.fix:
                        out.append(f"           {line}")
            out.append("")
        counts = ", ".join(f"{sum(1 for f in self.findings if f.status == s)} {s.label}"
                           for s in sorted(Status, reverse=True))
        out.append(f"overall: {paint(self.status.label, _COLOURS[self.status])} ({counts})")
        return "\n".join(out)
