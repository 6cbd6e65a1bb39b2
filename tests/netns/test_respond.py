"""`v6core respond` in a real lab (root, network namespaces): the router's kernel solicits,
the responder on the host answers for the container behind it.

Frames injected here are built by scapy and NAs are checked by scapy (an encoder and a
decoder independent of v6core's codec); reachability is the kernel's own verdict (an
ICMPv6 echo from the router).  Every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import time

import pytest
from respond_lab import (
    CPREFIX,
    CTR,
    HOST,
    HOST_CTR,
    RTR,
    Lab,
    RouterPort,
    add_spoof_filter,
    in_netns,
    ns_frame,
    spoof_filter_drops,
    wait_until,
)

pytestmark = pytest.mark.netns

CONFIG = f"""
[[interface]]
name = "uplink"

[[interface.rule]]
prefix = "{CPREFIX}"
exclude = ["2001:db8:f440:2:646f:636b:6572:7/128"]
{{extra}}
"""


def drops(lab: Lab, reason: str) -> int:
    return lab.counter("dropped_total", interface="uplink", reason=reason)


def test_ping_works_only_while_the_responder_runs(lab):
    assert not lab.ping(), "the container must be unreachable without the responder"
    lab.start("-i", "uplink", "-p", CPREFIX)
    assert lab.ping(tries=3)
    assert lab.counter("answered_total", interface="uplink") >= 1
    assert lab.counter("sent_total", interface="uplink") >= 1
    assert lab.stop() == 0
    assert not os.path.exists(lab.control), "SIGTERM must remove the control socket"
    assert not lab.ping(), "stale answers after the responder stopped"


def test_na_fields_follow_rfc4861(lab, rport):
    lab.start("-i", "uplink", "-p", CPREFIX)
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
    (na,) = rport.ask(ns_frame(lab, CTR), CTR)
    assert na.src == lab.host_mac and na.dst == lab.rtr_mac
    assert na[IPv6].src == CTR, "the NA must come from the target address"
    assert na[IPv6].dst == RTR and na[IPv6].hlim == 255
    assert (na[ICMPv6ND_NA].R, na[ICMPv6ND_NA].S, na[ICMPv6ND_NA].O) == (0, 1, 0)
    assert na[ICMPv6NDOptDstLLAddr].lladdr == lab.host_mac
    # scapy recomputes the checksum: the one on the wire must equal it
    wire = na[ICMPv6ND_NA].cksum
    del na[ICMPv6ND_NA].cksum
    assert na.__class__(bytes(na))[ICMPv6ND_NA].cksum == wire


def test_antispoofing_filter_passes_v6core_and_drops_linklocal_source(lab, rport):
    add_spoof_filter(lab.rtr)
    lab.start("-i", "uplink", "-p", CPREFIX)
    assert lab.ping(tries=3), "v6core's NA (source = target) must pass the filter"
    assert spoof_filter_drops(lab.rtr) == 0
    lab.stop()
    # the same NA from a link-local source, as ndppd and the kernel's proxy send it
    lab.start("-i", "uplink", "-p", CPREFIX, "--source", "link-local")
    from scapy.layers.inet6 import IPv6
    (na,) = rport.ask(ns_frame(lab, CTR), CTR)      # seen on the wire before netfilter
    assert na[IPv6].src == lab.linklocal(lab.host, "uplink")
    assert spoof_filter_drops(lab.rtr) == 1
    assert not lab.ping(), "the filter must drop an NA whose source is not its target"
    assert spoof_filter_drops(lab.rtr) >= 2


def test_dad_probes_ignored_by_default_and_defended_on_request(lab, rport):
    lab.start(config=CONFIG.format(extra=""))
    probe = ns_frame(lab, CTR, src="::", slla=False)
    assert rport.ask(probe, CTR) == []
    assert drops(lab, "dad_ignored") == 1
    lab.stop()
    lab.start(config=CONFIG.format(extra='dad = "defend"'))
    from scapy.layers.inet6 import ICMPv6ND_NA, IPv6
    (na,) = rport.ask(probe, CTR)
    # RFC 4861 7.2.4: to all-nodes, S clear
    assert na[IPv6].dst == "ff02::1" and na.dst == "33:33:00:00:00:01"
    assert na[ICMPv6ND_NA].S == 0 and na[IPv6].src == CTR
    # an invalid DAD probe (source link-layer option from ::) is still refused
    bad = ns_frame(lab, CTR, src="::", slla=True)
    assert rport.ask(bad, CTR) == []
    assert drops(lab, "unspec_sllao") == 1


def test_unicast_nud_answered_unless_multicast_only(lab, rport):
    lab.start("-i", "uplink", "-p", CPREFIX)
    from scapy.layers.inet6 import ICMPv6ND_NA, IPv6
    nud = ns_frame(lab, CTR, dst=CTR, slla=False)
    (na,) = rport.ask(nud, CTR)
    assert na[IPv6].dst == RTR and na[ICMPv6ND_NA].S == 1
    assert na.dst == lab.rtr_mac, "without SLLAO the reply goes to the frame's source MAC"
    lab.stop()
    lab.start("-i", "uplink", "-p", CPREFIX, "--multicast-only")
    assert rport.ask(nud, CTR) == []
    assert drops(lab, "unicast_ignored") == 1
    assert len(rport.ask(ns_frame(lab, CTR), CTR)) == 1, "multicast NS still answered"


def test_excluded_out_of_range_and_own_addresses_not_answered(lab, rport):
    lab.start(config=CONFIG.format(extra=""))
    excluded = "2001:db8:f440:2:646f:636b:6572:7"
    outside = "2001:db8:f440:2::99"              # in the router's /64, not in the /112
    for target in (excluded, outside, HOST_CTR, HOST):
        assert rport.ask(ns_frame(lab, target), target, timeout=0.3) == [] or target == HOST
    assert drops(lab, "excluded") == 1
    assert drops(lab, "no_rule") == 2           # the outside one and the host's uplink address
    assert drops(lab, "own_address") == 1       # the host's address on ctr0, inside the /112
    assert len(rport.ask(ns_frame(lab, CTR), CTR)) == 1


def test_kernel_filter_keeps_non_solicitations_out(lab, rport):
    lab.start("-i", "uplink", "-p", CPREFIX)
    before = lab.counter("received_total", interface="uplink")
    rport.send(ns_frame(lab, CTR, hlim=64))      # RFC 4861 7.1.1: hop limit must be 255
    time.sleep(0.2)
    assert lab.counter("received_total", interface="uplink") == before
    assert len(rport.ask(ns_frame(lab, CTR), CTR)) == 1
    assert lab.counter("received_total", interface="uplink") == before + 1


def _malformed(lab):
    from scapy.layers.inet6 import ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
    from scapy.packet import Raw
    good = ns_frame(lab, CTR)
    frames = {}
    p = good.copy()
    p[ICMPv6ND_NS].cksum = 0x1234
    frames["checksum"] = p
    p = good.copy()
    p[ICMPv6ND_NS].tgt = "ff02::1"
    frames["target_multicast"] = p
    frames["unspec_dst"] = ns_frame(lab, CTR, src="::", dst="ff02::1", slla=False)
    # an option of length 0 and one running past the message (raw bytes after the NS)
    p = ns_frame(lab, CTR, slla=False) / Raw(b"\x01\x00" + b"\0" * 6)
    frames["opt_len_zero"] = p
    p = ns_frame(lab, CTR, slla=False) / Raw(b"\x01\x02" + b"\0" * 6)
    frames["opt_trunc"] = p
    p = ns_frame(lab, CTR, slla=False) / ICMPv6NDOptSrcLLAddr(len=2, lladdr=lab.rtr_mac) / Raw(
        b"\0" * 8)
    frames["opt_llao_len"] = p
    # ICMP length 20 < 24: a payload length that cuts the target short
    p = good.copy()
    raw = bytearray(bytes(p))
    frames["icmp_len"] = bytes(raw[:14]) + bytes(IPv6(bytes(raw[14:]))) [:4] + struct.pack(
        "!H", 20) + bytes(raw[20:14 + 40 + 20])
    return frames


def test_malformed_frames_counted_by_reason_while_answering(lab, rport):
    lab.start("-i", "uplink", "-p", CPREFIX)
    frames = _malformed(lab)
    for frame in frames.values():
        rport.send(frame)
    assert len(rport.ask(ns_frame(lab, CTR), CTR)) == 1, "valid NS answered after the junk"
    for reason in frames:
        assert drops(lab, reason) == 1, (reason, lab.stats())
    assert lab.counter("answered_total", interface="uplink") == 1
    assert lab.proc.poll() is None


def test_interface_delete_recreate_down_up_and_mac_change(lab, rport):
    lab.start("-i", "uplink", "-p", CPREFIX)
    assert lab.ping(tries=3)
    rport.close()
    lab.host.ip("link", "del", "uplink")
    wait_until(lambda: lab.counter("interface_up", interface="uplink") == 0, 5,
               what="the responder to notice the deleted interface")
    lab.rtr.veth(lab.host, "eth0", "uplink")
    lab.rtr.ip("addr", "add", f"{RTR}/64", "dev", "eth0", "nodad")
    lab.host.ip("addr", "add", f"{HOST}/64", "dev", "uplink", "nodad")
    lab.host_mac = lab.mac(lab.host, "uplink")
    lab.rtr_mac = lab.mac(lab.rtr, "eth0")
    wait_until(lambda: lab.counter("interface_up", interface="uplink") == 1, 5,
               what="re-attach to the recreated interface")
    assert lab.ping(tries=3), "no answers after the interface was recreated"
    lab.host.ip("link", "set", "uplink", "down")
    wait_until(lambda: lab.counter("interface_up", interface="uplink") == 0, 5,
               what="detach on down")
    lab.host.ip("link", "set", "uplink", "up")
    lab.host.ip("addr", "replace", f"{HOST}/64", "dev", "uplink", "nodad")
    wait_until(lambda: lab.counter("interface_up", interface="uplink") == 1, 5,
               what="re-attach on up")
    assert lab.ping(tries=3), "no answers after down and up"
    # a new MAC is advertised at once
    lab.host.ip("link", "set", "uplink", "address", "02:00:5e:00:53:42")
    from scapy.layers.inet6 import ICMPv6NDOptDstLLAddr
    rp = RouterPort(lab)
    try:
        def new_mac():
            nas = rp.ask(ns_frame(lab, CTR), CTR, timeout=0.3)
            return nas and nas[0][ICMPv6NDOptDstLLAddr].lladdr == "02:00:5e:00:53:42"
        wait_until(new_mac, 5, what="the NA to carry the new MAC")
    finally:
        rp.close()


def test_sighup_swaps_rules_without_closing_sockets(lab, rport):
    lab.start(config=CONFIG.format(extra=""))
    assert len(rport.ask(ns_frame(lab, CTR), CTR)) == 1
    lab.write_config(CONFIG.format(extra="").replace(
        'exclude = ["2001:db8:f440:2:646f:636b:6572:7/128"]',
        f'exclude = ["{CTR}/128"]'))
    lab.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: lab.counter("reloads_total") == 1, 5, what="the reload")
    assert rport.ask(ns_frame(lab, CTR), CTR) == []
    assert drops(lab, "excluded") == 1
    other = "2001:db8:f440:2:646f:636b:6572:7"   # excluded before, answered now
    assert len(rport.ask(ns_frame(lab, other), other)) == 1
    # a broken file keeps the running rules
    lab.write_config("[[interface]]\nname = 'uplink'\n[[interface.rule]]\nprefix = 'nope'\n")
    lab.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "keeping the old rules" in lab.log_text(), 5, what="the error log")
    assert len(rport.ask(ns_frame(lab, other), other)) == 1
    assert lab.counter("reloads_total") == 1
    assert lab.log_text().count("attached") == 1, "the socket must not be reopened"
    rules = {k[1] for k in (lab.stats() or {}) if k[0] == "v6core_respond_rule_answered_total"}
    assert rules == {(("interface", "uplink"), ("rule", CPREFIX.replace("::/", ":0/")))}


def test_waits_for_a_missing_interface(lab, rport):
    lab.start("-i", "late0", "-p", CPREFIX)
    assert lab.counter("interface_up", interface="late0") == 0
    lab.host.veth(lab.ctr, "late0", "late0")
    wait_until(lambda: lab.counter("interface_up", interface="late0") == 1, 5,
               what="attach to the interface once it appears")


def test_privilege_drop_keeps_cap_net_raw_and_metrics_endpoint(lab, rport, tmp_path):
    os.chmod(tmp_path, 0o755)
    notify = tmp_path / "notify.sock"
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(str(notify))
    ns.settimeout(10)
    try:
        lab.start("-i", "uplink", "-p", CPREFIX, "--user", "nobody",
                  "--metrics", "127.0.0.1:9431", extra_env={"NOTIFY_SOCKET": str(notify)},
                  ready=False)
        assert ns.recv(4096).startswith(b"READY=1")
        lab.wait_ready()
        with open(f"/proc/{lab.proc.pid}/status") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        import pwd
        assert int(status["Uid"].split()[0]) == pwd.getpwnam("nobody").pw_uid
        assert int(status["CapEff"], 16) == 1 << 13, "only CAP_NET_RAW may remain"
        assert len(rport.ask(ns_frame(lab, CTR), CTR)) == 1
        with in_netns(lab.host.name):
            c = socket.create_connection(("127.0.0.1", 9431), timeout=2)
        with c:
            c.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            body = b""
            while chunk := c.recv(65536):
                body += chunk
        assert body.startswith(b"HTTP/1.0 200")
        assert b'v6core_respond_answered_total{interface="uplink"} 1' in body
        # the unprivileged daemon still reopens its socket on a recreated interface
        rport.close()
        lab.host.ip("link", "del", "uplink")
        lab.rtr.veth(lab.host, "eth0", "uplink")
        wait_until(lambda: lab.counter("interface_up", interface="uplink") == 1, 5,
                   what="re-attach without root")
        assert lab.stop() == 0
        assert ns.recv(4096).startswith(b"STOPPING=1")
    finally:
        ns.close()


def test_stats_command_line(lab):
    import subprocess
    import sys

    from tests.support import subprocess_env
    lab.start("-i", "uplink", "-p", CPREFIX)
    assert lab.ping(tries=3)
    r = subprocess.run([sys.executable, "-m", "v6core", "respond", "--stats", "--control",
                        lab.control], capture_output=True, text=True, timeout=20,
                       env=subprocess_env())
    assert r.returncode == 0, r.stderr
    assert 'v6core_respond_answered_total{interface="uplink"}' in r.stdout


def test_auto_rule_follows_kernel_routes(lab, rport):
    lab.start("-i", "uplink", "-p", "2001:db8:f440:2::/64", "--auto")
    # the container's /112 is routed out of ctr0: answered
    assert len(rport.ask(ns_frame(lab, CTR), CTR)) == 1
    # an address only covered by the uplink's own /64: the route leaves where the NS came in
    other = "2001:db8:f440:2::77"
    assert rport.ask(ns_frame(lab, other), other) == []
    assert drops(lab, "auto_same_if") == 1
    # a new route is picked up from rtnetlink, and its removal too
    lab.host.ip("-6", "route", "add", f"{other}/128", "dev", "ctr0")
    wait_until(lambda: len(rport.ask(ns_frame(lab, other), other, timeout=0.2)) == 1, 5,
               what="the new route to be used")
    lab.host.ip("-6", "route", "del", f"{other}/128", "dev", "ctr0")
    wait_until(lambda: rport.ask(ns_frame(lab, other), other, timeout=0.2) == [], 5,
               what="the removed route to be forgotten")
    # route churn elsewhere (a full table's worth, in miniature): applied as events,
    # never a dump of every route per event
    events = lab.counter("kernel_events_total")
    batch = "".join(f"route add 2001:db8:{i:x}::/48 dev ctr0\n" for i in range(300))
    lab.host.run("sh", "-c", f"printf '{batch}' | ip -6 -batch -")
    lab.host.ip("-6", "route", "add", f"{other}/128", "dev", "ctr0")
    wait_until(lambda: len(rport.ask(ns_frame(lab, other), other, timeout=0.2)) == 1, 5,
               what="the route added after the churn to be used")
    assert lab.counter("kernel_events_total") >= events + 301
    assert lab.counter("kernel_dumps_total") == 1, "addresses and routes dumped once, at start"


def test_configured_mac_is_advertised_frames_leave_from_the_nic(lab, rport):
    lab.start(config=CONFIG.format(extra="").replace(
        'name = "uplink"', 'name = "uplink"\nmac = "02:00:5e:00:53:77"'))
    from scapy.layers.inet6 import ICMPv6NDOptDstLLAddr, IPv6
    (na,) = rport.ask(ns_frame(lab, CTR), CTR)
    assert na[ICMPv6NDOptDstLLAddr].lladdr == "02:00:5e:00:53:77"
    assert na.src == lab.host_mac and na[IPv6].src == CTR


def test_per_source_rate_limit(lab, rport):
    lab.start("-i", "uplink", "-p", CPREFIX, "--rate-limit-source", "5")
    rport.drain()
    targets = [f"2001:db8:f440:2:646f:636b:6572:{i:x}" for i in range(0x100, 0x114)]
    for t in targets:
        rport.send(ns_frame(lab, t))
    from scapy.layers.inet6 import ICMPv6ND_NA
    answered = {p[ICMPv6ND_NA].tgt for p in rport.nas(timeout=0.5)}
    # a burst of one second's worth (5), plus at most one more as time passes
    assert 5 <= len(answered) <= 6
    assert drops(lab, "rate_source") == len(targets) - len(answered)


def test_frames_for_other_hosts_and_other_vlans_are_not_answered(lab, rport):
    # The kernel marks both PACKET_OTHERHOST: a unicast probe to another MAC (a
    # promiscuous or bridged port sees those) and a frame of a VLAN with no interface
    # here (this kernel has no 8021q module, so VLAN sub-interfaces cannot be tried).
    from scapy.layers.l2 import Dot1Q, Ether
    lab.start("-i", "uplink", "-p", CPREFIX)
    p = ns_frame(lab, CTR)
    tagged = Ether(src=p.src, dst=p.dst) / Dot1Q(vlan=100) / p.payload
    assert rport.ask(tagged, CTR, timeout=0.3) == []
    other = ns_frame(lab, CTR, dst=CTR, eth_dst="02:00:5e:00:53:99")
    assert rport.ask(other, CTR, timeout=0.3) == []
    assert lab.counter("received_total", interface="uplink") == 0
    assert len(rport.ask(p, CTR)) == 1
    assert len(rport.ask(ns_frame(lab, CTR, dst=CTR), CTR)) == 1   # unicast to our MAC


# -- solicitations the kernel's filter once kept from the engine (issue 10) ---------------


def test_ns_behind_extension_headers_is_answered(lab, rport):
    # The codec walks extension headers, so a hop-by-hop (or destination options) header
    # in front of the ICMPv6 message cannot hide a solicitation; scapy builds the frames.
    from scapy.layers.inet6 import (
        ICMPv6ND_NA,
        IPv6,
        IPv6ExtHdrDestOpt,
        IPv6ExtHdrFragment,
        IPv6ExtHdrHopByHop,
    )
    lab.start("-i", "uplink", "-p", CPREFIX)

    def behind(*ext):
        p = ns_frame(lab, CTR)
        ip = p[IPv6]
        chain = ip.payload.copy()
        for h in reversed(ext):
            chain = h / chain
        hdr = ip.copy()
        hdr.remove_payload()
        hdr.nh = {IPv6ExtHdrHopByHop: 0, IPv6ExtHdrDestOpt: 60, IPv6ExtHdrFragment: 44}[
            type(ext[0])]
        hdr.plen = None
        frame = p.__class__(src=p.src, dst=p.dst) / hdr / chain
        raw = bytes(frame)
        assert raw[14 + 6] == hdr.nh and raw[14 + 40] != 135   # the NS is not at byte 54
        return frame

    for frame in (behind(IPv6ExtHdrHopByHop()), behind(IPv6ExtHdrDestOpt()),
                  behind(IPv6ExtHdrHopByHop(), IPv6ExtHdrDestOpt())):
        nas = rport.ask(frame, CTR)
        assert len(nas) == 1, frame.summary()
        assert nas[0][IPv6].src == CTR and nas[0][ICMPv6ND_NA].tgt == CTR
    assert lab.counter("answered_total", interface="uplink") == 3
    # a fragment header gets through the filter too, and the codec drops it (RFC 6980)
    assert rport.ask(behind(IPv6ExtHdrFragment()), CTR, timeout=0.3) == []
    wait_until(lambda: drops(lab, "fragment") == 1, 2, what="the fragment drop counted")


def test_tagged_ns_answered_with_its_tag_on_a_trunk(lab):
    # This kernel has no 8021q module: the tagged frames are injected on the veth the
    # responder listens on.  The host's kernel moves the tag into the skb's metadata; the
    # responder's trunk socket (ETH_P_ALL) asks for it with PACKET_AUXDATA, and its NA
    # carries it back.
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
    from scapy.layers.l2 import Dot1Q, Ether
    lab.start("-i", "uplink", "-p", CPREFIX, "--trunk")
    rport = RouterPort(lab, tags=True)
    try:

        def tagged(p, vlan, prio=0):
            return Ether(src=p.src, dst=p.dst) / Dot1Q(vlan=vlan, prio=prio) / p.payload

        nas = rport.ask(tagged(ns_frame(lab, CTR), 100, prio=5), CTR)
        assert len(nas) == 1
        na = nas[0]
        assert Dot1Q in na and na[Dot1Q].vlan == 100 and na[Dot1Q].prio == 5
        assert na[Dot1Q].type == 0x86DD
        assert na[IPv6].src == CTR and na[ICMPv6ND_NA].tgt == CTR and na[ICMPv6ND_NA].S == 1
        assert na[ICMPv6NDOptDstLLAddr].lladdr == lab.host_mac and na.dst == lab.rtr_mac
        # unicast NUD to our MAC on another VLAN
        na = rport.ask(tagged(ns_frame(lab, CTR, dst=CTR), 7), CTR)
        assert len(na) == 1 and na[0][Dot1Q].vlan == 7
        # a tagged probe for another host's MAC is not answered
        other = ns_frame(lab, CTR, dst=CTR, eth_dst="02:00:5e:00:53:99")
        assert rport.ask(tagged(other, 100), CTR, timeout=0.3) == []
        # a tagged NS behind a hop-by-hop header, and an untagged one, still answered
        from scapy.layers.inet6 import IPv6ExtHdrHopByHop
        p = ns_frame(lab, CTR)
        hbh = (Ether(src=p.src, dst=p.dst) / Dot1Q(vlan=100)
               / IPv6(src=p[IPv6].src, dst=p[IPv6].dst, hlim=255) / IPv6ExtHdrHopByHop()
               / p[IPv6].payload)
        na = rport.ask(hbh, CTR)
        assert len(na) == 1 and na[0][Dot1Q].vlan == 100
        na = rport.ask(ns_frame(lab, CTR), CTR)
        assert len(na) == 1 and Dot1Q not in na[0]
        assert lab.counter("answered_total", interface="uplink") == 4
    finally:
        rport.close()
