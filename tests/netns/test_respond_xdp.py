"""`v6core respond --xdp` in the lab: the same checks as the AF_PACKET path, answered
from the driver (generic XDP on the host's veth; native mode where the router's end has
an XDP program, since native XDP_TX frames on veth are dropped otherwise).

Which path answered is read from the daemon's counters: ``xdp_answered_total`` counts
the program's XDP_TX, ``answered_total`` the AF_PACKET path's.  Skips with the reason
printed where the XDP path is not built or root is missing.
"""

from __future__ import annotations

import os
import signal
from importlib import resources

import pytest
from respond_lab import (
    CPREFIX,
    CTR,
    HOST,
    HOST_CTR,
    RTR,
    Lab,
    add_spoof_filter,
    ns_frame,
    spoof_filter_drops,
    wait_until,
)
from test_respond import CONFIG, _malformed

from v6core.responder.xdp import unavailable

REASON = unavailable()
if REASON:
    print(f"\ntests/netns/test_respond_xdp.py skipped: {REASON}")
pytestmark = [pytest.mark.netns, pytest.mark.skipif(bool(REASON), reason=REASON or "")]

XDP_CONFIG = CONFIG.format(extra="").replace('name = "uplink"\n',
                                             'name = "uplink"\nxdp = "generic"\n')


def xdp_on(lab: Lab) -> str:
    """What ``ip link`` shows of XDP on the host's uplink ("" when none)."""
    out = lab.host.ip("link", "show", "dev", "uplink").stdout
    return " ".join(w for w in out.split() if w.startswith("xdp") or w.startswith("prog/xdp"))


def xdp_answered(lab: Lab) -> int:
    return lab.counter("xdp_answered_total", interface="uplink")


def xdp_passed(lab: Lab, reason: str) -> int:
    return lab.counter("xdp_passed_total", interface="uplink", reason=reason)


def drops(lab: Lab, reason: str) -> int:
    return lab.counter("dropped_total", interface="uplink", reason=reason)


def test_ping_through_the_antispoof_filter_answered_by_xdp(lab):
    add_spoof_filter(lab.rtr)
    assert not lab.ping()
    lab.start("-i", "uplink", "-p", CPREFIX, "--xdp", "generic")
    assert "xdpgeneric" in xdp_on(lab)
    assert lab.counter("xdp_attached", interface="uplink", mode="generic") == 1
    assert lab.ping(tries=3)
    assert xdp_answered(lab) >= 1
    assert lab.counter("answered_total", interface="uplink") == 0, \
        "the AF_PACKET path must not have seen the solicitations XDP answered"
    assert spoof_filter_drops(lab.rtr) == 0
    assert lab.stop() == 0
    assert xdp_on(lab) == "", "SIGTERM must detach the program"
    assert not lab.ping(), "stale answers after the responder stopped"


def test_auto_chooses_native_and_logs_it(lab):
    # native XDP_TX on veth needs an XDP program on the peer: a copy of ours, which with
    # empty maps passes everything
    obj = resources.files("v6core.responder") / "bpf" / "xdp_ndp.o"
    lab.rtr.ip("link", "set", "dev", "eth0", "xdpdrv", "obj", str(obj), "sec", "xdp")
    lab.start("-i", "uplink", "-p", CPREFIX, "--xdp")
    assert "attached in native mode (chosen automatically)" in lab.log_text()
    assert "xdpdrv" in xdp_on(lab) or "xdp " in xdp_on(lab) + " "
    assert lab.ping(tries=3)
    assert xdp_answered(lab) >= 1
    assert lab.stop() == 0
    assert xdp_on(lab) == ""


def test_na_bytes_dad_nud_excludes_and_own_address(lab, rport):
    lab.start(config=XDP_CONFIG)
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
    # multicast NS: from the target, S set, our MAC
    (na,) = rport.ask(ns_frame(lab, CTR), CTR)
    assert (na.src, na.dst) == (lab.host_mac, lab.rtr_mac)
    assert (na[IPv6].src, na[IPv6].dst, na[IPv6].hlim) == (CTR, RTR, 255)
    assert (na[ICMPv6ND_NA].R, na[ICMPv6ND_NA].S, na[ICMPv6ND_NA].O) == (0, 1, 0)
    assert na[ICMPv6NDOptDstLLAddr].lladdr == lab.host_mac
    wire = na[ICMPv6ND_NA].cksum
    del na[ICMPv6ND_NA].cksum
    assert na.__class__(bytes(na))[ICMPv6ND_NA].cksum == wire
    assert xdp_answered(lab) == 1
    # unicast NUD without SLLAO: to the frame's source MAC
    (na,) = rport.ask(ns_frame(lab, CTR, dst=CTR, slla=False), CTR)
    assert na.dst == lab.rtr_mac and na[IPv6].dst == RTR
    assert xdp_answered(lab) == 2
    # DAD probe: handed to the engine, which ignores it
    assert rport.ask(ns_frame(lab, CTR, src="::", slla=False), CTR) == []
    assert xdp_passed(lab, "dad") == 1 and drops(lab, "dad_ignored") == 1
    # excluded, outside, the host's own addresses: passed and not answered by v6core
    excluded = "2001:db8:f440:2:646f:636b:6572:7"
    outside = "2001:db8:f440:2::99"
    for target in (excluded, outside, HOST_CTR, HOST):
        assert rport.ask(ns_frame(lab, target), target, timeout=0.3) == [] or target == HOST
    assert xdp_passed(lab, "excluded") == 1 and drops(lab, "excluded") == 1
    assert xdp_passed(lab, "no_rule") == 2 and drops(lab, "no_rule") == 2
    assert xdp_passed(lab, "own") == 1 and drops(lab, "own_address") == 1
    assert xdp_answered(lab) == 2 and lab.counter("answered_total", interface="uplink") == 0


def test_malformed_frames_stay_unanswered(lab, rport):
    lab.start("-i", "uplink", "-p", CPREFIX, "--xdp", "generic")
    frames = _malformed(lab)
    for name, frame in frames.items():
        assert rport.ask(frame, CTR, timeout=0.2) == [], name
    assert len(rport.ask(ns_frame(lab, CTR), CTR)) == 1, "valid NS answered after the junk"
    assert xdp_answered(lab) == 1
    for reason in frames:
        assert drops(lab, reason) == 1, (reason, lab.stats())   # the engine saw each one
    assert lab.proc.poll() is None


def test_crash_detaches_and_a_stale_program_is_replaced(lab):
    lab.start("-i", "uplink", "-p", CPREFIX, "--xdp", "generic")
    assert xdp_on(lab)
    lab.proc.send_signal(signal.SIGKILL)
    lab.proc.wait(5)
    lab.logf.close()
    lab.proc = None
    wait_until(lambda: xdp_on(lab) == "", 3, what="the kernel to drop the BPF link")
    # a program of ours attached the legacy way (as an older run or `ip link` leaves it)
    obj = resources.files("v6core.responder") / "bpf" / "xdp_ndp.o"
    lab.host.ip("link", "set", "dev", "uplink", "xdpgeneric", "obj", str(obj), "sec", "xdp")
    assert "xdpgeneric" in xdp_on(lab)
    if os.path.exists(lab.control):
        os.unlink(lab.control)
    lab.start("-i", "uplink", "-p", CPREFIX, "--xdp", "generic")
    assert "replacing a stale v6core XDP program" in lab.log_text()
    assert lab.ping(tries=3) and xdp_answered(lab) >= 1
    assert lab.stop() == 0
    assert xdp_on(lab) == ""


def test_sighup_refreshes_the_maps(lab, rport):
    other = "2001:db8:f440:2:646f:636b:6572:5/128"
    cfg = XDP_CONFIG
    lab.start(config=cfg)
    assert len(rport.ask(ns_frame(lab, CTR), CTR)) == 1 and xdp_answered(lab) == 1
    lab.write_config(cfg.replace('exclude = ["2001:db8:f440:2:646f:636b:6572:7/128"]',
                                 f'exclude = ["{other}"]'))
    lab.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: lab.counter("reloads_total") == 1, 5, what="the reload")
    assert rport.ask(ns_frame(lab, CTR), CTR) == [], "CTR is excluded after the reload"
    assert xdp_passed(lab, "excluded") == 1 and xdp_answered(lab) == 1


def test_a_foreign_xdp_program_is_left_alone(lab, tmp_path):
    # a minimal XDP_PASS program of someone else's, built with clang like ours
    import shutil
    import subprocess
    if shutil.which("clang") is None:
        pytest.skip("clang is needed to build a foreign XDP program")
    src = tmp_path / "other.c"
    src.write_text('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n'
                   'SEC("xdp") int someone_else(struct xdp_md *c) { return XDP_PASS; }\n'
                   'char _l[] SEC("license") = "GPL";\n')
    arch = subprocess.run(["clang", "-print-multiarch"], capture_output=True, text=True).stdout
    subprocess.run(["clang", "-O2", "-target", "bpf", f"-I/usr/include/{arch.strip()}", "-c",
                    str(src), "-o", str(tmp_path / "other.o")], check=True)
    lab.host.ip("link", "set", "dev", "uplink", "xdpgeneric", "obj", str(tmp_path / "other.o"),
                "sec", "xdp")
    proc = lab.start("-i", "uplink", "-p", CPREFIX, "--xdp", "generic", ready=False)
    assert proc.wait(10) == 2
    assert "already runs XDP program 'someone_else'" in lab.log_text()
    assert "someone_else" in lab.host.ip("link", "show", "dev", "uplink").stdout
