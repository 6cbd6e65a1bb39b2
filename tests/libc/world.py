"""Resolver worlds for the differential tests against the real glibc and musl.

A :class:`World` is one address configuration: veth addresses (both families), routes,
an /etc/gai.conf and an /etc/hosts with many names.  :func:`run_world` builds it inside
``unshare -m -n`` (an overlay on /etc, so the host's files are never touched), runs the
C probe built with gcc (glibc) and with musl-gcc (musl) on every name, and, inside the
same namespace, ``inner.py``, which asks v6core for the order it predicts.  Everything
comes back as JSON; the tests compare.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import PYTHON
from tests.support import V6CORE_PATH as SRC

HERE = Path(__file__).resolve().parent


@dataclass
class World:
    name: str
    v4: list[str] = field(default_factory=list)            # "192.0.2.2/24"
    v6: list[str] = field(default_factory=list)            # "2001:db8:1::2/64 [deprecated]"
    default4: bool = True
    default6: bool = True
    routes: list[str] = field(default_factory=list)        # extra "ip route" arguments
    gai_conf: str | None = ""                              # None: no /etc/gai.conf at all
    ipv6: bool = True                                      # False: IPv6 off on v0
    names: dict[str, list[str]] = field(default_factory=dict)

    def hosts(self) -> str:
        lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost"]
        for name, addrs in self.names.items():
            for a in addrs:
                lines.append(f"{a} {name}")
        return "\n".join(lines) + "\n"

    def setup_commands(self) -> list[str]:
        cmds = [
            "sysctl -qw net.ipv6.conf.all.accept_dad=0",
            "sysctl -qw net.ipv6.conf.default.accept_dad=0",
            "ip link set lo up",
            "ip link add v0 type veth peer name v1",
            *([] if self.ipv6 else ["sysctl -qw net.ipv6.conf.v0.disable_ipv6=1"]),
            "ip link set v0 up",
            "ip link set v1 up",
        ]
        for a in self.v4:
            cmds.append(f"ip addr add {a} dev v0")
        for spec in self.v6:
            parts = spec.split()
            extra = " nodad"
            if "deprecated" in parts[1:]:
                extra += " preferred_lft 0 valid_lft forever"
            if "home" in parts[1:]:
                extra += " home"
            cmds.append(f"ip -6 addr add {parts[0]} dev v0{extra}")
        if self.default4:
            cmds.append("ip route add default dev v0")
        if self.default6 and self.ipv6:
            cmds.append("ip -6 route add default dev v0")
        for r in self.routes:
            cmds.append(f"ip {r}")
        return cmds


def build_probes(outdir: Path) -> dict[str, Path]:
    """Compile probe.c with gcc (glibc) and musl-gcc -static (musl)."""
    src = HERE / "probe.c"
    out = {}
    for lib, cc, extra in (("glibc", "gcc", []), ("musl", "musl-gcc", ["-static"])):
        exe = outdir / f"probe-{lib}"
        subprocess.run([cc, "-O2", "-Wall", *extra, "-o", str(exe), str(src)], check=True,
                       capture_output=True, timeout=60)
        out[lib] = exe
    return out


def missing_tools() -> str | None:
    if os.geteuid() != 0:
        return "needs root (unshare -m -n)"
    for tool in ("unshare", "ip", "gcc", "musl-gcc", "mount"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return None


def run_world(world: World, probes: dict[str, Path], tmp: Path,
              timeout: float = 30.0, inner: Path | None = None,
              extra: dict | None = None) -> dict:
    """Build ``world`` in fresh namespaces; return ``{name: {...}}`` (see inner.py).

    ``inner`` replaces inner.py (tests/runtimes/ runs its own); ``extra`` is merged into
    the spec it reads.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    files = {
        "hosts": world.hosts(),
        "nsswitch.conf": "hosts: files\n",
        "host.conf": "multi on\n",
        "resolv.conf": "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
    }
    if world.gai_conf is not None:
        files["gai.conf"] = world.gai_conf
    for fname, text in files.items():
        (tmp / fname).write_text(text)
    spec = {"names": world.names, "probes": {k: str(v) for k, v in probes.items()},
            "gai_conf": world.gai_conf is not None, **(extra or {})}
    (tmp / "spec.json").write_text(json.dumps(spec))
    q = shlex.quote
    lines = [
        "set -e",
        "mount --make-rprivate /",
        f"mkdir -p {q(str(tmp / 'ovl'))}",
        f"mount -t tmpfs v6core-ovl {q(str(tmp / 'ovl'))}",
        f"mkdir {q(str(tmp / 'ovl' / 'u'))} {q(str(tmp / 'ovl' / 'w'))}",
        f"mount -t overlay overlay -o lowerdir=/etc,upperdir={tmp / 'ovl' / 'u'},"
        f"workdir={tmp / 'ovl' / 'w'} /etc",
        "rm -f /etc/gai.conf",
    ]
    for fname in files:
        lines.append(f"cat {q(str(tmp / fname))} > /etc/{fname}")
    lines += world.setup_commands()
    lines.append(f"exec {q(os.environ.get('V6CORE_PYTHON', PYTHON))} "
                 f"{q(str(inner or HERE / 'inner.py'))} {q(str(tmp / 'spec.json'))}")
    (tmp / "world.sh").write_text("\n".join(lines) + "\n")
    env = dict(os.environ, PYTHONPATH=str(SRC))
    env.pop("V6CORE_GAI_CONF", None)
    proc = subprocess.run(["unshare", "-m", "-n", "sh", str(tmp / "world.sh")],
                          capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"world {world.name} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout)
