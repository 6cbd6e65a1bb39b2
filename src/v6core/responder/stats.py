"""Counters of the running responder as Prometheus text (exposition format 0.0.4).

Served on the control socket (``v6core respond --stats``) and, if configured, over HTTP
on a localhost port.  Metrics (all counters are totals since the daemon started):

* ``v6core_respond_received_total{interface}``: frames that passed the kernel filter;
* ``v6core_respond_answered_total{interface}``, ``v6core_respond_sent_total{interface}``;
* ``v6core_respond_dropped_total{interface,reason}``: one series per reason seen;
* ``v6core_respond_rule_answered_total{interface,rule}`` and ``..._rule_dropped_total``;
* ``v6core_respond_interface_up{interface}``: 1 while a socket is attached;
* ``v6core_respond_reloads_total``, ``v6core_respond_batches_total{interface}``;
* with the XDP fast path (``xdp``): ``v6core_respond_xdp_answered_total{interface}``
  (NAs sent from the driver; not in ``answered_total``, which counts the AF_PACKET
  path), ``v6core_respond_xdp_passed_total{interface,reason}`` (frames handed on, per
  :class:`~v6core.responder.xdp.XdpReason`), and the gauge
  ``v6core_respond_xdp_attached{interface,mode}``.  The program's per-CPU counters are
  summed;
* ``v6core_respond_kernel_dumps_total`` (full reads of the host's addresses and routes:
  start, netlink overrun, failed read) and ``v6core_respond_kernel_events_total``
  (address and route events applied in place, :mod:`~v6core.responder.kernel`).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable

from v6core.responder.engine import (
    COUNTER_BATCHES,
    COUNTER_RX,
    COUNTER_RX_ERR,
    COUNTER_RX_TRUNC,
    COUNTER_TX,
    verdict_name,
)

__all__ = ["render", "render_families", "parse", "query"]


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(lines: list[str], name: str, kind: str, help_text: str,
            samples: Iterable[tuple[dict[str, str], int]]) -> None:
    """Append one metric family: its HELP and TYPE lines, then one line per sample."""
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        pairs = ",".join(f'{k}="{_esc(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{pairs}}} {int(value)}" if pairs else f"{name} {int(value)}")


def _drops(it) -> Iterable[tuple[dict[str, str], int]]:
    c = it.port.counters
    for code in range(1, 120):
        if c[code]:
            yield {"interface": it.name, "reason": verdict_name(code)}, c[code]
    for code, name in ((COUNTER_RX_TRUNC, "rx_truncated"), (COUNTER_RX_ERR, "rx_error")):
        if c[code]:
            yield {"interface": it.name, "reason": name}, c[code]
    if getattr(it, "kernel_drops", 0):
        yield {"interface": it.name, "reason": "socket_queue_full"}, it.kernel_drops


def render(ifaces: Iterable, reloads: int) -> str:
    """Prometheus text for ``ifaces`` (objects with ``name``, ``port``, ``up`` and
    ``rule_totals()`` -> {rule name: (answered, dropped)})."""
    rows = list(ifaces)
    totals = [(it, it.rule_totals()) for it in rows]

    def per_iface(counter: int):
        return (({"interface": it.name}, it.port.counters[counter]) for it in rows)

    lines: list[str] = []
    _family(lines, "v6core_respond_received_total", "counter",
            "Frames that passed the kernel BPF filter.", per_iface(COUNTER_RX))
    _family(lines, "v6core_respond_answered_total", "counter",
            "Neighbor Advertisements built.", per_iface(0))
    _family(lines, "v6core_respond_sent_total", "counter",
            "Neighbor Advertisements the kernel accepted.", per_iface(COUNTER_TX))
    _family(lines, "v6core_respond_dropped_total", "counter",
            "Frames not answered, by reason.", (s for it in rows for s in _drops(it)))
    _family(lines, "v6core_respond_batches_total", "counter",
            "recvmmsg calls that returned frames.", per_iface(COUNTER_BATCHES))
    _family(lines, "v6core_respond_rule_answered_total", "counter", "Answers per rule.",
            (({"interface": it.name, "rule": rule}, a)
             for it, t in totals for rule, (a, _) in t.items()))
    _family(lines, "v6core_respond_rule_dropped_total", "counter",
            "Policy drops per rule after it matched.",
            (({"interface": it.name, "rule": rule}, d)
             for it, t in totals for rule, (_, d) in t.items()))
    _family(lines, "v6core_respond_interface_up", "gauge",
            "1 while a packet socket is attached.",
            (({"interface": it.name}, 1 if it.up else 0) for it in rows))
    xdp = [(it, it.xdp.counters(), it.xdp.used_mode) for it in rows
           if getattr(it, "xdp", None) is not None]
    if xdp:
        from v6core.responder.xdp import XdpReason
        _family(lines, "v6core_respond_xdp_answered_total", "counter",
                "Neighbor Advertisements sent by the XDP program (XDP_TX).",
                (({"interface": it.name}, c[XdpReason.ANSWERED]) for it, c, _ in xdp))
        _family(lines, "v6core_respond_xdp_passed_total", "counter",
                "Frames the XDP program passed on to the kernel, by reason.",
                (({"interface": it.name, "reason": r.name.lower()}, c[r])
                 for it, c, _ in xdp for r in XdpReason if r and c[r]))
        _family(lines, "v6core_respond_xdp_attached", "gauge",
                "1 while the XDP program is attached, by mode.",
                (({"interface": it.name, "mode": m or "none"}, 1 if m else 0)
                 for it, _, m in xdp))
    _family(lines, "v6core_respond_reloads_total", "counter",
            "Successful SIGHUP rule reloads.", [({}, reloads)])
    return "\n".join(lines) + "\n"


def render_families(families: Iterable[tuple[str, str, str, Iterable[tuple[dict[str, str], int]]]]
                    ) -> str:
    """Prometheus text for ``(name, kind, help, samples)`` families (the live-target
    metrics of learn and docker rules, :meth:`~.live.LiveTargets.samples`)."""
    lines: list[str] = []
    for name, kind, help_text, samples in families:
        _family(lines, name, kind, help_text, samples)
    return "\n".join(lines) + "\n"


_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\d+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], int]:
    """Read :func:`render`'s output back: {(metric, sorted label pairs): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise ValueError(f"bad metrics line: {line!r}")
        labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = int(m.group(3))
    return out


def query(control: str, timeout: float = 2.0) -> str:
    """Fetch the counters from a running daemon's control socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(control)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks).decode()
