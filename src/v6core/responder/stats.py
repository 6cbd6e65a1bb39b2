"""Counters of the running responder as Prometheus text (exposition format 0.0.4).

Served on the control socket (``v6core respond --stats``) and, if configured, over HTTP
on a localhost port.  Metrics (all counters are totals since the daemon started):

* ``v6core_respond_received_total{interface}``: frames that passed the kernel filter;
* ``v6core_respond_answered_total{interface}``, ``v6core_respond_sent_total{interface}``;
* ``v6core_respond_dropped_total{interface,reason}``: one series per reason seen;
* ``v6core_respond_rule_answered_total{interface,rule}`` and ``..._rule_dropped_total``;
* ``v6core_respond_interface_up{interface}``: 1 while a socket is attached;
* ``v6core_respond_reloads_total``, ``v6core_respond_batches_total{interface}``.
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

__all__ = ["render", "parse", "query"]


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(ifaces: Iterable, reloads: int) -> str:
    """Prometheus text for ``ifaces`` (objects with ``name``, ``port``, ``up`` and
    ``rule_totals()`` -> {rule name: (answered, dropped)})."""
    lines = [
        "# HELP v6core_respond_received_total Frames that passed the kernel BPF filter.",
        "# TYPE v6core_respond_received_total counter",
    ]
    rows = list(ifaces)
    for it in rows:
        lines.append(f'v6core_respond_received_total{{interface="{_esc(it.name)}"}} '
                     f"{int(it.port.counters[COUNTER_RX])}")
    lines += ["# HELP v6core_respond_answered_total Neighbor Advertisements built.",
              "# TYPE v6core_respond_answered_total counter"]
    for it in rows:
        lines.append(f'v6core_respond_answered_total{{interface="{_esc(it.name)}"}} '
                     f"{int(it.port.counters[0])}")
    lines += ["# HELP v6core_respond_sent_total Neighbor Advertisements the kernel accepted.",
              "# TYPE v6core_respond_sent_total counter"]
    for it in rows:
        lines.append(f'v6core_respond_sent_total{{interface="{_esc(it.name)}"}} '
                     f"{int(it.port.counters[COUNTER_TX])}")
    lines += ["# HELP v6core_respond_dropped_total Frames not answered, by reason.",
              "# TYPE v6core_respond_dropped_total counter"]
    for it in rows:
        c = it.port.counters
        for code in range(1, 120):
            if c[code]:
                lines.append(f'v6core_respond_dropped_total{{interface="{_esc(it.name)}",'
                             f'reason="{verdict_name(code)}"}} {int(c[code])}')
        for code, name in ((COUNTER_RX_TRUNC, "rx_truncated"), (COUNTER_RX_ERR, "rx_error")):
            if c[code]:
                lines.append(f'v6core_respond_dropped_total{{interface="{_esc(it.name)}",'
                             f'reason="{name}"}} {int(c[code])}')
        if getattr(it, "kernel_drops", 0):
            lines.append(f'v6core_respond_dropped_total{{interface="{_esc(it.name)}",'
                         f'reason="socket_queue_full"}} {it.kernel_drops}')
    lines += ["# HELP v6core_respond_batches_total recvmmsg calls that returned frames.",
              "# TYPE v6core_respond_batches_total counter"]
    for it in rows:
        lines.append(f'v6core_respond_batches_total{{interface="{_esc(it.name)}"}} '
                     f"{int(it.port.counters[COUNTER_BATCHES])}")
    lines += ["# HELP v6core_respond_rule_answered_total Answers per rule.",
              "# TYPE v6core_respond_rule_answered_total counter"]
    totals = [(it, it.rule_totals()) for it in rows]
    for it, t in totals:
        for rule, (a, _) in t.items():
            lines.append(f'v6core_respond_rule_answered_total{{interface="{_esc(it.name)}",'
                         f'rule="{_esc(rule)}"}} {a}')
    lines += ["# HELP v6core_respond_rule_dropped_total Policy drops per rule after it matched.",
              "# TYPE v6core_respond_rule_dropped_total counter"]
    for it, t in totals:
        for rule, (_, d) in t.items():
            lines.append(f'v6core_respond_rule_dropped_total{{interface="{_esc(it.name)}",'
                         f'rule="{_esc(rule)}"}} {d}')
    lines += ["# HELP v6core_respond_interface_up 1 while a packet socket is attached.",
              "# TYPE v6core_respond_interface_up gauge"]
    for it in rows:
        lines.append(f'v6core_respond_interface_up{{interface="{_esc(it.name)}"}} '
                     f"{1 if it.up else 0}")
    lines += ["# HELP v6core_respond_reloads_total Successful SIGHUP rule reloads.",
              "# TYPE v6core_respond_reloads_total counter",
              f"v6core_respond_reloads_total {reloads}"]
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
