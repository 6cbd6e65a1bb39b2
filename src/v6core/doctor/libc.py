"""C library detection and /etc/gai.conf: which resolver orders this system's addresses.

The C library is read from the ELF interpreter of /bin/sh (``/lib/ld-musl-*`` means
musl, ``ld-linux*`` glibc), else ``ldd --version``, else the presence of a musl loader.
gai.conf only matters to glibc; it is parsed and linted by :mod:`v6core`'s policy code
(issue 3), never here.
"""

from __future__ import annotations

from v6core.doctor.context import Context
from v6core.doctor.report import Finding, Status

CHECK = "libc"


def gai_lint(text: str, path: str) -> tuple[list[str], list[str], list[str]] | None:
    """(problems: errors and warnings, notes, effective-table lines) from v6core's
    gai.conf parser (glibc 2.36 semantics)."""
    from v6core.policy import parse_gai_conf

    conf = parse_gai_conf(text, path=path)
    problems = [str(d) for d in conf.diagnostics if d.severity in ("error", "warning")]
    notes = [str(d) for d in conf.diagnostics if d.severity not in ("error", "warning")]
    return problems, notes, conf.table.format().splitlines()


def check(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    lc = ctx.libc
    data = {"libc": lc.name, "version": lc.version, "interpreter": lc.interpreter}
    if lc.name is None:
        out.append(Finding(CHECK, "libc-unknown", Status.SKIP,
                           "cannot tell which C library the system's programs use",
                           evidence=lc.evidence or ["no /bin/sh, no ldd, no /lib/ld-musl-*"],
                           data=data))
    else:
        what = {"glibc": "getaddrinfo orders by RFC 3484-era tables, configurable in "
                         "/etc/gai.conf",
                "musl": "getaddrinfo orders by a fixed RFC 6724 table; nothing can "
                        "configure it (no gai.conf)"}[lc.name]
        out.append(Finding(CHECK, "libc", Status.INFO if lc.name == "musl" else Status.OK,
                           f"{lc.name}{' ' + lc.version if lc.version else ''}: {what}",
                           evidence=lc.evidence, data=data))
    path = ctx.options.gai_conf
    text = ctx.view.read(path)
    gdata: dict = {"path": path, "exists": text is not None}
    if text is None:
        if lc.name != "musl":
            out.append(Finding(CHECK, "gai-conf-absent", Status.OK,
                               "does not exist: glibc uses its built-in tables",
                               path, data=gdata))
        return out
    rows = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    ev = [f"{path}: {len(rows)} non-comment line(s)"] + [f"  {r}" for r in rows[:12]]
    gdata["lines"] = rows
    if not rows:
        out.append(Finding(CHECK, "gai-conf-empty", Status.OK,
                           "only comments: glibc uses its built-in tables",
                           path, ev, data=gdata))
        return out
    if lc.name == "musl":
        out.append(Finding(CHECK, "gai-conf-ignored", Status.WARN,
                           "exists but musl never reads it: its policy has no effect on this "
                           "system's programs", path, ev,
                           ["use v6core.getaddrinfo in Python programs to honour it "
                            "(V6CORE_GAI_CONF names the file)"], gdata))
        return out
    lint = gai_lint(text, path)
    if lint is None:
        out.append(Finding(CHECK, "gai-conf", Status.INFO,
                           f"present ({len(rows)} active line(s)); this build has no gai.conf "
                           "linter", path, ev, data=gdata))
        return out
    problems, notes, table = lint
    gdata["problems"] = problems
    gdata["notes"] = notes
    gdata["effective"] = table
    ev += [f"lint: {p}" for p in problems + notes]
    if table:
        ev.append("effective table:")
        ev += [f"  {r}" for r in table if r.strip()]
    out.append(Finding(CHECK, "gai-conf", Status.WARN if problems else Status.OK,
                       f"{len(problems)} problem(s): glibc silently does something else "
                       "than the file suggests" if problems else
                       "glibc reads every line as written",
                       path, ev, [f"v6core gai lint {path}"] if problems else [], gdata))
    return out
