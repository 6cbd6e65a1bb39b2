"""A real dockerd for tests, inside a network namespace the test made (FACTS.md "Docker").

dockerd is entered into the namespace with ``nsenter --net`` (``ip netns exec`` remounts
/sys and dockerd then finds no cgroups) and gets its own data-root, exec-root, socket
and pidfile, with ``--iptables=false --ip6tables=false --bridge=none``: it touches no
firewall, no default bridge and nothing of the host's Docker.  No registry is reachable
here, so images are made with ``docker import`` from busybox-static's binary.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

from tests.support import wait_until

__all__ = ["Dockerd", "docker_unavailable"]


def docker_unavailable() -> str | None:
    import shutil
    for tool in ("dockerd", "docker", "nsenter", "busybox"):
        if shutil.which(tool) is None:
            return (f"{tool} not found (apt-get install docker.io busybox-static "
                    "util-linux; scripts/dev test does)")
    return None


class Dockerd:
    """dockerd in ``ns`` entered with ``nsenter --net`` (``ip netns exec`` remounts /sys and
    dockerd then finds no cgroups), with its own roots, socket and pidfile, touching no
    firewall and no default bridge."""

    def __init__(self, ns, tmp: Path):
        self.ns = ns
        import tempfile
        # a short root: containerd's socket path must fit a sockaddr_un (108 bytes)
        self.root = Path(tempfile.mkdtemp(prefix="v6td-", dir="/tmp"))
        self.sock = str(self.root / "d.sock")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> None:
        log = open(self.root / "dockerd.log", "ab")  # noqa: SIM115 (lives with the process)
        self.proc = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{self.ns.name}", "dockerd",
             "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
             "-H", f"unix://{self.sock}", "--pidfile", str(self.root / "d.pid"),
             "--iptables=false", "--ip6tables=false", "--bridge=none",
             "--containerd-namespace", f"v6t{os.getpid()}",
             "--containerd-plugins-namespace", f"v6tp{os.getpid()}"],
            stdout=log, stderr=subprocess.STDOUT)

        def ok():
            if self.proc.poll() is not None:
                raise RuntimeError("dockerd exited: "
                                   + (self.root / "dockerd.log").read_text()[-2000:])
            return self.docker("version", check=False).returncode == 0
        wait_until(ok, timeout, step=0.2, what="dockerd")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None

    def cleanup(self) -> None:
        import shutil
        self.stop()
        subprocess.run(["umount", "-R", str(self.root)], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(["docker", "-H", f"unix://{self.sock}", *args],
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: {r.stderr.strip()}")
        return r

    def import_busybox(self, tag: str = "v6t-busybox") -> str:
        """An image from busybox-static's binary and its applet links (no registry here)."""
        import shutil
        import tarfile
        rootfs = self.root / "rootfs"
        (rootfs / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy(shutil.which("busybox"), rootfs / "bin" / "busybox")
        for applet in ("sh", "sleep", "ip", "ping"):
            with contextlib.suppress(FileExistsError):
                os.symlink("busybox", rootfs / "bin" / applet)
        tar = self.root / "rootfs.tar"
        with tarfile.open(tar, "w") as t:
            t.add(rootfs, arcname=".")
        self.docker("import", str(tar), tag)
        return tag
