"""Responder configuration (TOML, CLI flags, ndppd.conf import), the kernel filter program
(run by the kernel's own BPF interpreter on a socketpair, no root) and the CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import V6CORE_PATH as SRC
from v6core.errors import ConfigError
from v6core.responder import config, io_linux

PFX = "2001:db8:f440:2:646f:636b:6572::/112"

FULL = """
[daemon]
user = "nobody"
control = "/run/x.sock"
metrics = "127.0.0.1:9431"
rate_limit = 100000
rate_limit_source = 500

[[interface]]
name = "uplink"
mac = "02:00:5e:00:53:01"

[[interface.rule]]
prefix = "2001:db8:f440:2:646f:636b:6572::/112"
exclude = ["2001:db8:f440:2:646f:636b:6572:0/128"]
source = "link-local"
dad = "defend"
unicast = false
router = true
name = "containers"

[[interface.rule]]
prefix = "2001:db8:f440:3::/64"
auto = true
source = "2001:db8:f440:2::53"
"""


def test_full_config_and_defaults():
    cfg = config.loads(FULL, "f.toml")
    assert (cfg.user, cfg.control, cfg.metrics) == ("nobody", "/run/x.sock", "127.0.0.1:9431")
    assert (cfg.rate_limit, cfg.rate_limit_source, cfg.source_slots) == (100000, 500, 4096)
    (itf,) = cfg.interfaces
    assert itf.name == "uplink" and itf.mac == bytes.fromhex("02005e005301")
    r0, r1 = itf.rules
    assert r0.prefix == "2001:db8:f440:2:646f:636b:6572:0/112"
    assert (r0.source, r0.dad, r0.unicast, r0.router, r0.override, r0.solicited, r0.name) == (
        "link-local", "defend", False, True, False, True, "containers")
    assert r1.auto and r1.source == "2001:db8:f440:2::53" and r1.name == "2001:db8:f440:3::/64"
    # defaults are the RFC 4861 ones for a proxy: S on solicited replies, O and R clear
    d = config.loads('[[interface]]\nname="a"\n[[interface.rule]]\nprefix="2001:db8::/64"\n')
    r = d.interfaces[0].rules[0]
    assert (r.source, r.router, r.override, r.solicited, r.unicast, r.dad, r.auto) == (
        "target", False, False, True, True, "ignore", False)


def test_toml_round_trip():
    cfg = config.loads(FULL, "f.toml")
    assert config.loads(config.to_toml(cfg), "again") == cfg
    assert not cfg.interfaces[0].trunk


def test_trunk_interfaces():
    cfg = config.loads(FULL.replace('name = "uplink"', 'name = "uplink"\ntrunk = true'))
    assert cfg.interfaces[0].trunk
    assert "trunk = true" in config.to_toml(cfg)
    assert config.loads(config.to_toml(cfg)) == cfg
    with pytest.raises(ConfigError, match=r"interface\[0\].trunk: expected true or false"):
        config.loads(FULL.replace('name = "uplink"', 'name = "uplink"\ntrunk = "yes"'))
    assert config.from_args(["uplink"], [PFX], trunk=True).interfaces[0].trunk


@pytest.mark.parametrize("text, message", [
    ("[[interface]]\nname='a'\n[[interface.rule]]\nprefix='nope'\n",
     "interface[0].rule[0].prefix: 'nope' is not an IPv6 prefix"),
    ("[[interface]]\nname='a'\n[[interface.rule]]\nprefix='ff02::/16'\n", "is multicast"),
    ("[[interface]]\nname='a'\n[[interface.rule]]\nprefix='2001:db8::/64'\nexclude=['2001:db9::/64']\n",
     "exclude[0]: 2001:db9::/64 is not a part of 2001:db8::/64"),
    ("[[interface]]\nname='a'\n[[interface.rule]]\nprefix='2001:db8::/64'\nsorce='target'\n",
     "unknown key 'sorce'"),
    ("[[interface]]\nname='a'\n[[interface.rule]]\nprefix='2001:db8::/64'\nsource='ff02::1'\n",
     "must be a unicast address"),
    ("[[interface]]\nname='a'\n[[interface.rule]]\nprefix='2001:db8::/64'\nmac='01:00:5e:00:00:01'\n",
     "multicast MAC"),
    ("[[interface]]\nname='a'\n[[interface.rule]]\nprefix='2001:db8::/64'\ndad='maybe'\n",
     "dad: expected"),
    ("[[interface]]\nname='a'\n", "no [[interface.rule]]"),
    ("[daemon]\nmetrics='0.0.0.0:80'\n[[interface]]\nname='a'\n[[interface.rule]]\nprefix='::/0'\n",
     "must be a localhost address"),
    ("[[interface]]\nname='a'\n[[interface.rule]]\nprefix='2001:db8::/64'\n"
     "[[interface]]\nname='a'\n[[interface.rule]]\nprefix='2001:db8::/64'\n", "appears twice"),
    ("[[interface]]\nname = \n", "f.toml: "),
    ("", "no [[interface]] tables"),
])
def test_config_errors_name_the_place(text, message):
    with pytest.raises(ConfigError) as e:
        config.loads(text, "f.toml")
    assert message in str(e.value)
    assert str(e.value).startswith("f.toml")


def test_from_args_simple_case():
    cfg = config.from_args(["uplink"], [PFX], exclude=["2001:db8:f440:2:646f:636b:6572:1/128"],
                           dad="defend")
    (r,) = cfg.interfaces[0].rules
    assert r.exclude == ("2001:db8:f440:2:646f:636b:6572:1/128",) and r.dad == "defend"
    with pytest.raises(ConfigError, match="not inside any -p prefix"):
        config.from_args(["uplink"], [PFX], exclude=["2001:db8:1::/64"])
    with pytest.raises(ConfigError, match="give an interface"):
        config.from_args([], [PFX])


NDPPD = """
# a typical ndppd.conf
route-ttl 30000
proxy eth0 {
    router no
    timeout 500
    ttl 30000
    rule 2001:db8:f440:2:646f:636b:6572::/112 {
        static
    }
    rule 2001:db8:f440:3::/64 {
        iface docker0
    }
}
proxy eth1 {
    rule 2001:db8:f440:4::/64 { auto }
}
"""


def test_ndppd_import():
    cfg, notes = config.import_ndppd(NDPPD, "ndppd.conf")
    eth0, eth1 = cfg.interfaces
    assert [r.prefix for r in eth0.rules] == [
        "2001:db8:f440:2:646f:636b:6572:0/112", "2001:db8:f440:3::/64"]
    assert [r.auto for r in eth0.rules] == [False, True]
    assert not eth0.rules[0].router                     # "router no"
    assert eth1.rules[0].router and eth1.rules[0].auto  # ndppd's default is router yes
    assert any("ndppd.conf:6: 'timeout 500'" in n for n in notes)
    assert any("iface docker0" in n for n in notes)
    assert config.loads(config.to_toml(cfg)) == cfg


@pytest.mark.parametrize("text, message", [
    ("proxy eth0 {\n rule 2001:db8::/64 {\n  static\n }\n", "ndppd.conf:4: expected '}'"),
    ("proxy eth0 {\n  rule nope { static }\n}\n", "ndppd.conf:2"),
    ("proxy eth0 {\n  router maybe\n}\n", "ndppd.conf:2: 'router' takes yes or no"),
    ("proxy eth0 {\n  rule 2001:db8::/64 {\n  }\n}\n", "ndppd.conf:2: rule 2001:db8::/64 says"),
    ("frobnicate\n", "ndppd.conf:1: unknown directive 'frobnicate'"),
    ("proxy eth0 {\n  rule 2001:db8::/64 { static bogus }\n}\n", "unknown rule option 'bogus'"),
])
def test_ndppd_import_errors(text, message):
    with pytest.raises(ConfigError) as e:
        config.import_ndppd(text, "ndppd.conf")
    assert message in str(e.value)


# -- the kernel filter, run by the kernel on an AF_UNIX socketpair (no root needed) ------


def _frame(nh=58, hlim=255, icmp_type=135, code=0, ethertype=0x86DD, vlan=None):
    eth = bytes(12)
    if vlan is not None:                       # an 802.1Q tag left in the frame
        eth += b"\x81\x00" + vlan.to_bytes(2, "big")
    eth += ethertype.to_bytes(2, "big")
    ip6 = bytes([0x60, 0, 0, 0, 0, 32, nh, hlim]) + bytes(32)
    return eth + ip6 + bytes([icmp_type, code]) + bytes(30)


def _passes(prog, frame) -> bool:
    """Whether the kernel's BPF interpreter passes ``frame`` (sent on a socketpair, with
    a known good frame after it to tell a drop from a delay)."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with a, b:
        io_linux.attach_filter(b, prog)
        marker = _frame()[:-1] + b"\x01"          # passes every program
        a.send(frame)
        a.send(b"sentinel")      # too short: every program drops it
        a.send(marker)
        b.settimeout(1)
        got = [b.recv(256)]
        if got[0] != marker:
            got.append(b.recv(256))
        assert got[-1] == marker and got[0] in (frame, marker)
        b.setblocking(False)
        with pytest.raises(BlockingIOError):
            b.recv(256)
        return got[0] == frame


@pytest.mark.parametrize("kw, passes, trunk_passes", [
    ({}, True, True),
    ({"hlim": 64}, False, False),
    # an extension-header chain in front: the codec walks it, so the filter lets it by
    ({"nh": 0}, True, True),                    # hop-by-hop
    ({"nh": 43}, True, True),                   # routing
    ({"nh": 44}, True, True),                   # fragment (the codec drops it: RFC 6980)
    ({"nh": 60}, True, True),                   # destination options
    ({"nh": 0, "hlim": 1}, False, False),       # MLD reports: hop-by-hop, hop limit 1
    ({"nh": 6}, False, False),                  # TCP
    ({"nh": 50}, False, False),                 # ESP: nothing to walk
    ({"icmp_type": 136}, False, False),
    ({"code": 1}, False, False),
    ({"ethertype": 0x0800}, False, False),
    ({"ethertype": 0x8100}, False, False),
    # a tag left in the frame: only a trunk's filter looks behind it
    ({"vlan": 100}, False, True),
    ({"vlan": 100, "nh": 0}, False, True),
    ({"vlan": 100, "hlim": 64}, False, False),
    ({"vlan": 100, "icmp_type": 136}, False, False),
    ({"vlan": 100, "ethertype": 0x0800}, False, False),
])
def test_bpf_program_in_the_kernel(kw, passes, trunk_passes):
    assert _passes(io_linux.bpf_nd_program(), _frame(**kw)) is passes
    assert _passes(io_linux.bpf_nd_program(trunk=True), _frame(**kw)) is trunk_passes


def test_bpf_program_for_nas():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with a, b:
        io_linux.attach_filter(b, io_linux.bpf_nd_program(io_linux.ICMPV6_NA))
        a.send(_frame())
        a.send(_frame(icmp_type=136))
        b.settimeout(1)
        assert b.recv(256) == _frame(icmp_type=136)


# -- the command line -------------------------------------------------------------------


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "v6core", "respond", *args],
                          capture_output=True, text=True, timeout=30, cwd=cwd,
                          env=dict(os.environ, PYTHONPATH=SRC))


def test_cli_check_config_and_import(tmp_path):
    p = tmp_path / "r.toml"
    p.write_text(FULL)
    r = _cli("--check-config", "-c", str(p))
    assert r.returncode == 0, r.stderr
    assert config.loads(r.stdout) == config.loads(FULL)
    assert "OK (1 interfaces, 2 rules)" in r.stderr
    p.write_text(FULL.replace('dad = "defend"', 'dad = "sometimes"'))
    r = _cli("--check-config", "-c", str(p))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith(f"v6core respond: error: {p}: interface[0].rule[0].dad")
    q = tmp_path / "ndppd.conf"
    q.write_text(NDPPD)
    r = _cli("--import-ndppd", str(q))
    assert r.returncode == 0, r.stderr
    assert config.loads(r.stdout) == config.import_ndppd(NDPPD)[0]
    r = _cli("--check-config", "-i", "uplink", "-p", "2001:db8::/129")
    assert r.returncode == 2 and "-p 2001:db8::/129" in r.stderr
    r = _cli("--stats", "--control", str(tmp_path / "none.sock"))
    assert r.returncode == 2 and "Traceback" not in r.stderr


DEBIAN_SAMPLE = Path("/usr/share/doc/ndppd/ndppd.conf-dist")


@pytest.mark.skipif(not DEBIAN_SAMPLE.exists(), reason="Debian's ndppd package not installed")
def test_ndppd_import_of_debians_sample():
    cfg, notes = config.import_ndppd(DEBIAN_SAMPLE.read_text(), str(DEBIAN_SAMPLE))
    (itf,) = cfg.interfaces
    assert itf.name == "eth0"
    (rule,) = itf.rules
    assert rule.prefix == "1111::/128" and rule.auto and rule.router
    assert any("'timeout 500'" in n for n in notes)


# -- command-line overrides go through the file's validation (issue 10) ------------------


def test_cli_override_of_a_config_file_is_validated(tmp_path):
    p = tmp_path / "r.toml"
    p.write_text(FULL)
    r = _cli("--check-config", "-c", str(p), "--rate-limit", "-1")
    assert r.returncode == 2, r.stdout
    assert "Traceback" not in r.stderr
    assert r.stderr.strip() == ("v6core respond: error: --rate-limit: expected an integer "
                                "from 0 to 1000000000, got -1")
    # a good override is used, and the file's other settings stay
    r = _cli("--check-config", "-c", str(p), "--rate-limit", "7", "--metrics", "[::1]:9000")
    assert r.returncode == 0, r.stderr
    cfg = config.loads(r.stdout)
    assert (cfg.rate_limit, cfg.metrics, cfg.rate_limit_source) == (7, "[::1]:9000", 500)


def _run_cli(capsys, argv):
    from v6core.cli import main
    try:
        code = main(["respond", *argv])
    except SystemExit as e:            # argparse's own errors (bad int, bad choice)
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


# each option with a strategy of values it must refuse, and the name the error must carry
_BAD = {
    "--rate-limit": st.one_of(st.integers(max_value=-1), st.integers(min_value=10**9 + 1),
                              st.text(max_size=8).filter(lambda t: not t.strip().lstrip("+-")
                                                         .isdigit())),
    "--rate-limit-source": st.one_of(st.integers(max_value=-1),
                                     st.integers(min_value=10**9 + 1)),
    "--metrics": st.one_of(st.just("10.0.0.1:9431"), st.just("127.0.0.1:0"),
                           st.just("127.0.0.1:65536"), st.just("localhost"),
                           st.text(alphabet="abc:[]0123456789.", max_size=12)),
    "--control": st.text(max_size=12).filter(lambda t: not t.startswith("/")),
    "--dad": st.text(max_size=8).filter(lambda t: t not in ("ignore", "defend")),
    "--source": st.one_of(st.just("ff02::1"), st.just("::"), st.just("192.0.2.1"),
                          st.text(alphabet="xyz:.", min_size=1, max_size=8)),
}


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), option=st.sampled_from(sorted(_BAD)), with_file=st.booleans())
def test_bad_cli_values_exit_2_naming_the_option(capsys, tmp_path, data, option, with_file):
    value = str(data.draw(_BAD[option]))
    if option in ("--dad", "--source"):
        with_file = False                    # rule options exist only without -c
    if with_file:
        p = tmp_path / "r.toml"
        p.write_text(FULL)
        argv = ["--check-config", "-c", str(p), f"{option}={value}"]
    else:
        argv = ["--check-config", "-i", "uplink", "-p", PFX, f"{option}={value}"]
    code, out, err = _run_cli(capsys, argv)
    assert code == 2, (argv, out, err)
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("v6core respond: error:"), err
    # the error names the option (argparse says "argument --dad"; a rule option's
    # message names the rule key it became)
    assert option in last or option.lstrip("-") in last, err
