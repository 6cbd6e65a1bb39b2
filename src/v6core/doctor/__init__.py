"""``v6core doctor``: explain this host's IPv6 choices and the usual container pitfalls.

Each check family is a module with ``check(ctx) -> list[Finding]``; all of them read the
system through a :class:`~v6core.doctor.system.SystemView` (the live host by default, a
:class:`~v6core.doctor.system.FakeSystem` in tests).

>>> from v6core.doctor import run
>>> report = run()                      # doctest: +SKIP
>>> print(report.render()); report.exit_code()   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from v6core.doctor.context import Context, Options
from v6core.doctor.report import Finding, Report, Status
from v6core.doctor.system import FakeSystem, LiveSystem, SystemView

__all__ = ["CHECKS", "run", "Context", "Options", "Finding", "Report", "Status",
           "SystemView", "LiveSystem", "FakeSystem"]

#: check families in report order: name -> module
CHECKS = {
    "libc": "v6core.doctor.libc",
    "selection": "v6core.doctor.selection",
    "source": "v6core.doctor.source",
    "ndp": "v6core.doctor.ndp",
    "sockets": "v6core.doctor.sockets",
}


def run(view: SystemView | None = None, options: Options | None = None,
        checks: Iterable[str] | None = None) -> Report:
    """Run the named check families (all by default) and return the report."""
    ctx = Context(view, options)
    report = Report()
    for name in checks or CHECKS:
        if name not in CHECKS:
            raise ValueError(f"unknown check {name!r} (known: {', '.join(CHECKS)})")
        report.extend(import_module(CHECKS[name]).check(ctx))
    return report
