"""`v6core respond --learn` and `--docker` in the namespace lab (root).

Reachability is the router kernel's own verdict (an ICMPv6 echo after a real
solicitation); NAs are dissected by scapy.  Every wait is bounded.
"""

from __future__ import annotations

import pytest
from respond_lab import CPREFIX, CTR, ns_frame, wait_until

pytestmark = pytest.mark.netns

UNUSED = "2001:db8:f440:2:646f:636b:6572:9"


def unsolicited(nas: list, target: str) -> list:
    from scapy.layers.inet6 import ICMPv6ND_NA, IPv6
    return [p for p in nas if p[IPv6].dst == "ff02::1" and p[ICMPv6ND_NA].S == 0
            and p[IPv6].src == target]


def test_learn_answers_live_not_unused_and_withdraws_after_ttl(lab, rport):
    lab.start("-i", "uplink", "-p", CPREFIX, "--learn", "--learn-ttl", "3")
    # an unknown target: the first NS is not answered, it makes the host solicit on ctr0
    from scapy.layers.inet6 import ICMPv6ND_NA
    first = rport.ask(ns_frame(lab, CTR), CTR, timeout=0.3)
    assert not [p for p in first if p[ICMPv6ND_NA].S], "unknown targets are not answered"
    # the container answers the downstream NS: the target is live, and announced
    nas = first + rport.nas(CTR, timeout=1.5)
    assert unsolicited(nas, CTR), "the router must see an unsolicited NA for the target"
    assert rport.ask(ns_frame(lab, CTR), CTR), "a live target must be answered"
    assert lab.ping(tries=3), "the router must reach the learned container"
    # a unicast NUD probe for it is answered too
    assert rport.ask(ns_frame(lab, CTR, dst=CTR, eth_dst=lab.host_mac), CTR)
    # an unused address: solicited downstream, unanswered there, never answered upstream
    for _ in range(3):
        assert rport.ask(ns_frame(lab, UNUSED), UNUSED, timeout=0.6) == []
    assert lab.counter("downstream_solicitations_total", outcome="timeout") >= 1
    assert lab.counter("live_targets", mode="learn") == 1
    # the container goes away: withdrawn once its TTL ran out and a last NS went unanswered
    lab.ctr.ip("addr", "flush", "dev", "eth0", "scope", "global")
    lab.flush()
    wait_until(lambda: lab.counter("live_targets", mode="learn") == 0, 8,
               what="the learned target to expire")
    assert rport.ask(ns_frame(lab, CTR), CTR, timeout=0.6) == []
    assert lab.counter("withdrawals_total") == 1
    assert lab.counter("announcements_total") == 3   # RFC 4861 7.2.6: three, 1 s apart


def test_learn_from_kernel_neighbour_events(lab, rport):
    lab.start("-i", "uplink", "-p", CPREFIX, "--learn")
    # traffic from the host to the container makes the kernel's entry REACHABLE
    lab.host.run("ping", "-6", "-c", "1", "-W", "1", CTR, check=False)
    wait_until(lambda: lab.counter("learned_total", evidence="neighbour") >= 1, 5,
               what="a neighbour event")
    assert rport.ask(ns_frame(lab, CTR), CTR), "learned from the neighbour table"
    assert lab.counter("downstream_solicitations_total", outcome="sent") == 0


def test_learn_from_a_dad_probe_downstream(lab, rport):
    lab.start("-i", "uplink", "-p", CPREFIX, "--learn")
    # the first miss opens the downstream watch (and solicits an unused address)
    rport.ask(ns_frame(lab, UNUSED), UNUSED, timeout=1.2)
    new = "2001:db8:f440:2:646f:636b:6572:7"
    lab.ctr.sysctl("net.ipv6.conf.eth0.accept_dad", "1")
    lab.ctr.sysctl("net.ipv6.conf.eth0.dad_transmits", "1")
    lab.ctr.ip("addr", "add", f"{new}/112", "dev", "eth0")
    wait_until(lambda: lab.counter("learned_total", evidence="dad") >= 1, 5,
               what="the DAD probe to be seen")
    assert rport.ask(ns_frame(lab, new), new)


@pytest.fixture
def dockerd(lab, tmp_path):
    from tests.dockerlab import Dockerd, docker_unavailable
    why = docker_unavailable()
    if why:
        print(f"SKIP: {why}")
        pytest.skip(why)
    d = Dockerd(lab.host, tmp_path)
    try:
        d.start()
    except (RuntimeError, TimeoutError) as e:
        d.cleanup()
        print(f"SKIP: dockerd does not start here: {e}")
        pytest.skip(f"dockerd does not start here: {e}")
    yield d
    d.docker("rm", "-f", "c1", check=False)
    d.cleanup()


def test_docker_mode_follows_containers(lab, rport, dockerd):
    from respond_lab import DPREFIX
    image = dockerd.import_busybox()
    dockerd.docker("network", "create", "--ipv6", "--subnet", DPREFIX, "v6t")
    addr = DPREFIX.replace("::/112", "::5")
    unused = DPREFIX.replace("::/112", "::9")
    lab.start("-i", "uplink", "-p", DPREFIX, "--docker", "--docker-socket", dockerd.sock)
    wait_until(lambda: lab.counter("docker_connected") == 1, 10, what="the event stream")
    assert not lab.ping(addr), "no container yet"
    rport.drain()
    dockerd.docker("run", "-d", "--name", "c1", "--network", "v6t", "--ip6", addr,
                   image, "sleep", "600")
    nas = rport.nas(addr, timeout=2.5)
    assert unsolicited(nas, addr), "the router must see the unsolicited NA on start"
    assert lab.ping(addr, tries=3), "the router reaches the running container"
    assert rport.ask(ns_frame(lab, unused), unused) == [], "an unused address is not answered"
    # dockerd restarts (the container dies with it): the responder reconnects
    dockerd.stop()
    dockerd.start()
    wait_until(lambda: lab.counter("docker_connected") == 1, 40, step=0.2,
               what="the reconnection")
    wait_until(lambda: rport.ask(ns_frame(lab, addr), addr) == [], 10,
               what="the dead container's address to be withdrawn")
    dockerd.docker("start", "c1")
    wait_until(lambda: rport.ask(ns_frame(lab, addr), addr), 10, what="the restarted container")
    dockerd.docker("rm", "-f", "c1")
    wait_until(lambda: rport.ask(ns_frame(lab, addr), addr) == [], 10,
               what="the address to be withdrawn after docker rm -f")
    assert not lab.ping(addr)


def test_learn_keeps_neighbour_entries_from_a_burst(lab, rport):
    """A burst of neighbour events larger than the event socket holds (16384 permanent
    entries added at once, then flushed, then 256 others added) loses events (ENOBUFS);
    the entries must still be learned, from the neighbour table the daemon re-reads when
    events were lost, and answered."""
    import ipaddress
    lab.start("-i", "uplink", "-p", CPREFIX, "--learn", "--learn-ttl", "3600")
    base = int(ipaddress.IPv6Address(CPREFIX.split("/")[0])) + 0x100

    def add(first: int, n: int) -> None:
        batch = lab.tmp / "neigh.batch"
        batch.write_text("".join(
            f"neigh replace {ipaddress.IPv6Address(base + i)} lladdr 02:00:00:00:00:99 "
            "dev ctr0 nud permanent\n" for i in range(first, first + n)))
        lab.host.ip("-6", "-batch", str(batch))

    def learned() -> int:
        return lab.counter("learned_total", evidence="neighbour")

    add(0, 16384)
    wait_until(lambda: learned() >= 16384, 60, what="16384 targets learned from one burst")
    lab.host.ip("-6", "neigh", "flush", "dev", "ctr0", "nud", "permanent")
    add(20000, 256)
    wait_until(lambda: learned() >= 16384 + 256, 60,
               what="the 256 entries added right after a flush of 16384")
    for i in (20000, 20127, 20255):
        t = str(ipaddress.IPv6Address(base + i))
        assert rport.ask(ns_frame(lab, t), t, timeout=1.0), f"{t} must be answered"
