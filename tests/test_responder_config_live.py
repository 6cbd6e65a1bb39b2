"""The learn and docker modes' configuration: the rule keys, the [daemon] keys and the
command-line flags that reach the same validator (issue 13)."""

from __future__ import annotations

import pytest

from tests.test_responder_config import _run_cli
from v6core.errors import ConfigError
from v6core.responder import config

PFX = "2001:db8:f440:2:646f:636b:6572::/112"


def doc(daemon: str = "", rule: str = "") -> str:
    return (f"[daemon]\n{daemon}\n[[interface]]\nname = \"uplink\"\n"
            f"[[interface.rule]]\nprefix = \"{PFX}\"\n{rule}\n")


GOOD_DAEMON = """docker_socket = "/run/podman/podman.sock"
live_entries = 1
learn_ttl = 604800
learn_negative_ttl = 0
learn_timeout_ms = 10
learn_rate = 100000
learn_pending = 1048576
"""


def test_good_values_are_kept_and_round_trip():
    cfg = config.loads(doc(GOOD_DAEMON, "learn = true"))
    assert (cfg.docker_socket, cfg.live_entries, cfg.learn_ttl, cfg.learn_negative_ttl,
            cfg.learn_timeout_ms, cfg.learn_rate, cfg.learn_pending) == (
        "/run/podman/podman.sock", 1, 604800, 0, 10, 100000, 1 << 20)
    (rule,) = cfg.interfaces[0].rules
    assert rule.learn and not rule.docker
    assert config.loads(config.to_toml(cfg)) == cfg
    d = config.loads(doc("", "docker = true"))
    assert d.interfaces[0].rules[0].docker and not d.interfaces[0].rules[0].learn
    # the defaults, as documented in config.py's sample
    assert (d.docker_socket, d.live_entries, d.learn_ttl, d.learn_negative_ttl,
            d.learn_timeout_ms, d.learn_rate, d.learn_pending) == (
        "/var/run/docker.sock", 65536, 300, 10, 1000, 100, 1024)


def _int_msg(key: str, lo: int, hi: int, got: str) -> str:
    return f"<config>: [daemon] {key}: expected an integer from {lo} to {hi}, got {got}"


RANGES = {"live_entries": (1, 1 << 24), "learn_ttl": (1, 604800),
          "learn_negative_ttl": (0, 86400), "learn_timeout_ms": (10, 60000),
          "learn_rate": (1, 100000), "learn_pending": (1, 1 << 20)}

BAD_DAEMON = [
    *[(f"{k} = {lo - 1}", _int_msg(k, lo, hi, str(lo - 1))) for k, (lo, hi) in RANGES.items()],
    *[(f"{k} = {hi + 1}", _int_msg(k, lo, hi, str(hi + 1))) for k, (lo, hi) in RANGES.items()],
    *[(f"{k} = true", _int_msg(k, lo, hi, "True")) for k, (lo, hi) in RANGES.items()],
    *[(f'{k} = "5"', _int_msg(k, lo, hi, "'5'")) for k, (lo, hi) in RANGES.items()],
    *[(f"{k} = 1.5", _int_msg(k, lo, hi, "1.5")) for k, (lo, hi) in RANGES.items()],
    ('docker_socket = "docker.sock"', "<config>: [daemon] docker_socket: 'docker.sock' must "
     "be an absolute unix socket path (at most 107 bytes)"),
    ('docker_socket = "/' + "x" * 107 + '"', "<config>: [daemon] docker_socket: '/" + "x" * 107
     + "' must be an absolute unix socket path (at most 107 bytes)"),
    ("docker_socket = 3", "<config>: [daemon] docker_socket: 3 must be an absolute unix "
     "socket path (at most 107 bytes)"),
    ("learn_ttls = 3", "<config>: [daemon]: unknown key 'learn_ttls'"),
]


@pytest.mark.parametrize("line, message", BAD_DAEMON)
def test_bad_daemon_values_name_key_and_value(line, message):
    with pytest.raises(ConfigError) as e:
        config.loads(doc(line))
    assert str(e.value).startswith(message), str(e.value)


@pytest.mark.parametrize("rule, message", [
    ("learn = 1", "<config>: interface[0].rule[0].learn: expected true or false, got 1"),
    ('docker = "yes"', "<config>: interface[0].rule[0].docker: expected true or false, "
     "got 'yes'"),
    ("learn = true\ndocker = true", "<config>: interface[0].rule[0]: learn and docker "
     "exclude each other; choose one"),
])
def test_bad_rule_values(rule, message):
    with pytest.raises(ConfigError) as e:
        config.loads(doc("", rule))
    assert str(e.value) == message


def test_cli_flags_reach_the_rules_and_daemon(capsys):
    code, out, err = _run_cli(capsys, ["--check-config", "-i", "uplink", "-p", PFX, "--learn",
                                       "--learn-ttl", "60"])
    assert code == 0, err
    cfg = config.loads(out)
    assert cfg.interfaces[0].rules[0].learn and cfg.learn_ttl == 60
    code, out, err = _run_cli(capsys, ["--check-config", "-i", "uplink", "-p", PFX, "--docker",
                                       "--docker-socket", "/run/d.sock"])
    assert code == 0, err
    cfg = config.loads(out)
    assert cfg.interfaces[0].rules[0].docker and cfg.docker_socket == "/run/d.sock"


@pytest.mark.parametrize("argv, message", [
    (["--learn-ttl", "0"], "--learn-ttl: expected an integer from 1 to 604800, got 0"),
    (["--learn-ttl", "604801"], "--learn-ttl: expected an integer from 1 to 604800, got 604801"),
    (["--learn-ttl", "soon"], "argument --learn-ttl: invalid int value: 'soon'"),
    (["--docker-socket", "docker.sock"],
     "--docker-socket: 'docker.sock' must be an absolute unix socket path"),
    (["--learn", "--docker"], "argument --docker: not allowed with argument --learn"),
])
def test_bad_cli_values_exit_2_through_the_same_validator(capsys, argv, message):
    code, out, err = _run_cli(capsys, ["--check-config", "-i", "uplink", "-p", PFX, *argv])
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert message in err.strip().splitlines()[-1], err


def test_cli_daemon_flags_override_a_file_and_are_validated(capsys, tmp_path):
    p = tmp_path / "r.toml"
    p.write_text(doc("learn_ttl = 30", "learn = true"))
    code, out, err = _run_cli(capsys, ["--check-config", "-c", str(p), "--learn-ttl", "90"])
    assert code == 0, err
    assert config.loads(out).learn_ttl == 90
    code, out, err = _run_cli(capsys, ["--check-config", "-c", str(p), "--learn-ttl", "-5"])
    assert code == 2 and "Traceback" not in err
    assert err.strip().endswith("--learn-ttl: expected an integer from 1 to 604800, got -5")
    code, out, err = _run_cli(capsys, ["--check-config", "-c", str(p), "--learn"])
    assert code == 2 and "Traceback" not in err
    assert "--learn and --docker go with -i/-p" in err
